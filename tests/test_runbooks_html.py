"""The static HTML site: spec text comes out escaped, anchors and links work, the folder guard holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from runbooks_specs import PAYMENTS
from slokit import links
from slokit.catalog import alerts_for
from slokit.cli import main
from slokit.runbooks.site import MARKER, html_path, site
from slokit.spec import load_or_raise
from slokit.spec.model import Service

HREF = re.compile(r'href="([^"]*)"')
ID = re.compile(r'<a id="([^"]+)"></a>')


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "payments.yaml"
    hostile = PAYMENTS.replace(
        'mitigation: "Fail over', 'mitigation: "<img src=x onerror=alert(1)> <a id=\\"evil\\" href=\\"javascript:x\\">'
        '[click](javascript:alert(1)) Fail over'
    )
    path.write_text(hostile, encoding="utf-8")
    return path


@pytest.fixture
def payments(spec: Path) -> Service:
    (service,) = load_or_raise([spec])
    return service


def test_spec_html_is_escaped_everywhere(payments: Service) -> None:
    pages = site([payments])
    checkout = pages["payments-api/checkout_errors.html"]
    assert "&lt;script&gt;alert(" in checkout
    assert "&lt;img src=x onerror=alert(1)&gt;" in checkout
    for name, text in pages.items():
        assert "<script" not in text, name
        assert "<img" not in text, name
        assert "<b>" not in text, name
        assert 'href="javascript:' not in text, name
        assert 'id="evil"' not in text, name
    assert "<title>Runbook: payments-api / checkout_errors</title>" in checkout


def test_every_alert_anchor_is_a_real_element(payments: Service) -> None:
    pages = site([payments])
    for slo in payments.slos:
        ids = ID.findall(pages[html_path(links.runbook_page(payments, slo))])
        for alert in alerts_for(payments, slo):
            assert alert.anchor in ids


def test_links_point_at_html_pages_that_exist(payments: Service) -> None:
    pages = site([payments])
    for name, text in pages.items():
        if not name.endswith(".html"):
            continue
        for href in HREF.findall(text):
            if href.startswith(("http://", "https://")):
                continue
            target, _, anchor = href.partition("#")
            assert not target.endswith(".md"), f"{name}: {href}"
            resolved = (Path("/site") / name).parent.joinpath(target).resolve() if target else Path("/site") / name
            rel = resolved.relative_to("/site").as_posix()
            assert rel in pages, f"{name} links to missing {href}"
            if anchor:
                assert anchor in ID.findall(pages[rel]), f"{name} links to missing anchor {href}"


def test_cli_writes_the_site_and_replaces_only_its_own_folder(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    runner = CliRunner()
    first = runner.invoke(main, ["runbooks", "--html", str(out), str(spec)])
    assert first.exit_code == 0, first.output
    assert (out / "index.html").is_file() and (out / "payments-api" / "ledger.html").is_file()
    assert (out / MARKER).is_file()
    stale = out / "payments-api" / "gone.html"
    stale.write_text("old")
    again = runner.invoke(main, ["runbooks", "--html", str(out), str(spec)])
    assert again.exit_code == 0, again.output
    assert not stale.exists()

    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    refused = runner.invoke(main, ["runbooks", "--html", str(foreign), str(spec)])
    assert refused.exit_code == 2
    assert "not an earlier runbooks site" in refused.output
    assert (foreign / "keep.txt").read_text() == "mine"


def test_cli_bad_spec_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("service: x\nowner: y\nslos: [{name: a, objective: 120, sli: {http_errors: {status: '5..'}}}]\n")
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["runbooks", "--html", str(out), str(bad)])
    assert result.exit_code == 1
    assert "objective" in result.output
    assert not out.exists()
