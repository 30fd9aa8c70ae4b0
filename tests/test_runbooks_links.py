"""Every alert's runbook_url lands on an existing page and anchor; every index links every page."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from runbooks_specs import EDGE, MINIMAL, PAYMENTS
from slokit import links
from slokit.artifacts import Options
from slokit.catalog import alerts_for
from slokit.pipeline import generate
from slokit.runbooks import emit
from slokit.spec import load_or_raise
from slokit.spec.model import Service

ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
_MD = MarkdownIt("commonmark").enable("table")


def load(tmp_path: Path, text: str, name: str) -> tuple[Service, ...]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_or_raise([path])


@pytest.fixture
def services(onboarding: Service, tmp_path: Path) -> tuple[Service, ...]:
    return (onboarding, *load(tmp_path, PAYMENTS, "payments.yaml"), *load(tmp_path, MINIMAL, "minimal.yaml"),
            *load(tmp_path, EDGE, "edge.yaml"))


def anchors(page: str) -> list[str]:
    return ANCHOR.findall(page)


def resolve(service: Service, url: str) -> tuple[str, str]:
    """Strip the service's published base from a runbook_url and map the page to runbooks/<service>/."""
    base = (service.runbook_url or f"{links.RUNBOOKS_DIR}/{service.name}").rstrip("/") + "/"
    assert url.startswith(base), url
    path, sep, anchor = url[len(base):].partition("#")
    assert sep, f"{url} has no anchor"
    return f"{links.RUNBOOKS_DIR}/{service.name}/{path}", anchor


def page_links(page: str) -> list[str]:
    hrefs = []
    for block in _MD.parse(page):
        for tok in block.children or ():
            if tok.type == "link_open":
                hrefs.append(str(tok.attrGet("href")))
    return hrefs


def test_every_alert_url_resolves_to_a_file_and_its_anchor(services: tuple[Service, ...]) -> None:
    files = emit(services, Options())
    checked = 0
    for service in services:
        for slo in service.slos:
            for alert in alerts_for(service, slo):
                path, anchor = resolve(service, links.runbook_url(service, slo, alert.anchor))
                assert path in files, f"{alert.name} of {service.name}/{slo.name}: {path} not generated"
                assert anchor in anchors(files[path]), f"{path} has no anchor {anchor}"
                checked += 1
    # onboarding 6 + 6 + 4 + 3 (tiers that cannot fire at 90 % and 80 % are left out), payments-api
    # 11 + 5 + 1 (burn_rate: false on ledger), search_1 4 tiers + 2 guardrails of the same level, edge2
    # 3 + 1, 4, 3 + 1 (the 3d tier does not fit a 1d window).
    assert checked == 19 + 17 + 6 + 12


def test_anchors_are_unique_and_each_alert_has_its_own_section(services: tuple[Service, ...]) -> None:
    files = emit(services, Options())
    for service in services:
        for slo in service.slos:
            page = files[f"runbooks/{links.runbook_page(service, slo)}"]
            ids = anchors(page)
            assert len(ids) == len(set(ids)), f"duplicate anchors on {service.name}/{slo.name}: {ids}"
            for alert in alerts_for(service, slo):
                heading = f'### <a id="{alert.anchor}"></a>'
                assert page.count(heading) == 1, heading


def test_urls_without_a_published_base_stay_repo_relative(tmp_path: Path) -> None:
    (service,) = load(tmp_path, MINIMAL, "minimal.yaml")
    slo = service.slo("hits")
    alert = alerts_for(service, slo)[0]
    assert links.runbook_url(service, slo, alert.anchor) == f"runbooks/search_1/hits.md#{alert.anchor}"


def test_trailing_slash_in_the_base_does_not_double(tmp_path: Path) -> None:
    (service,) = load(tmp_path, PAYMENTS, "payments.yaml")
    url = links.runbook_url(service, service.slo("ledger"), "x")
    assert url == "https://wiki.example.com/sre/runbooks/ledger.md#x"


def test_runbook_url_is_the_services_folder_so_the_service_is_not_repeated(onboarding: Service) -> None:
    """The example's ``runbook_url`` already ends in the service: links must not add it again."""
    url = links.runbook_url(onboarding, onboarding.slo("availability"), "a")
    assert url == "https://runbooks.example.com/onboarding/availability.md#a"


def test_html_format_links_to_the_pages_the_html_site_publishes(tmp_path: Path) -> None:
    from slokit.runbooks.site import site

    text = PAYMENTS.replace("runbook_url:", "runbook_format: html\nrunbook_url:")
    (service,) = load(tmp_path, text, "payments.yaml")
    published = site([service])
    for slo in service.slos:
        for alert in alerts_for(service, slo):
            url = links.runbook_url(service, slo, alert.anchor)
            page = url.removeprefix("https://wiki.example.com/sre/runbooks/").partition("#")[0]
            assert page == f"{slo.name}.html"
            assert f'<a id="{alert.anchor}"></a>' in published[f"{service.name}/{page}"]


def test_output_is_the_two_indexes_and_one_page_per_slo(services: tuple[Service, ...]) -> None:
    files = emit(services, Options())
    expected = {"runbooks/README.md"}
    for service in services:
        expected.add(f"runbooks/{service.name}/README.md")
        expected |= {f"runbooks/{service.name}/{slo.name}.md" for slo in service.slos}
    assert set(files) == expected


def test_every_relative_link_points_at_an_existing_page_and_anchor(services: tuple[Service, ...]) -> None:
    files = emit(services, Options())
    for path, text in files.items():
        for href in page_links(text):
            if "://" in href:
                continue
            target, _, anchor = href.partition("#")
            target_path = posixpath.normpath(posixpath.join(posixpath.dirname(path), target)) if target else path
            assert target_path in files, f"{path} links to missing {href}"
            if anchor:
                assert anchor in anchors(files[target_path]), f"{path} links to missing anchor {href}"


def test_indexes_link_every_page_and_every_alert(services: tuple[Service, ...]) -> None:
    files = emit(services, Options())
    top = set(page_links(files["runbooks/README.md"]))
    for service in services:
        assert f"{service.name}/README.md" in top
        listing = set(page_links(files[f"runbooks/{service.name}/README.md"]))
        for slo in service.slos:
            assert f"{service.name}/{slo.name}.md" in top
            assert f"{slo.name}.md" in listing
            for alert in alerts_for(service, slo):
                assert f"{slo.name}.md#{alert.anchor}" in listing


def test_generate_includes_the_runbooks(onboarding: Service) -> None:
    files = generate([onboarding])
    assert "runbooks/onboarding/availability.md" in files
    assert "runbooks/README.md" in files
