"""Dashboard links in alerts: absolute with ``grafana.url``; without it left out of notifications, and said once."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from slokit.alertmanager.check import check_alertmanager
from slokit.cli import main
from slokit.pipeline import generate
from slokit.rules.build import service_groups
from slokit.spec import load_or_raise
from slokit.writers import write_tree
from test_cli import GOOD

GRAFANA = 'grafana: {url: "https://grafana.example.com"}\n'
#: A service that routes pages and tickets, without Grafana's address.
SPEC = GOOD.replace(GRAFANA, "")


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pay.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_warns_once_without_grafana_url(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC)
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 0
    lines = [x for x in result.stderr.splitlines() if "grafana.url" in x]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{spec}:1:10: grafana.url: warning: ")
    assert "PagerDuty and Slack notifications carry no dashboard link" in lines[0]
    assert "1 warning(s)" in result.stdout

    with_url = CliRunner().invoke(main, ["validate", str(_spec(tmp_path, SPEC + GRAFANA))])
    assert with_url.exit_code == 0 and "grafana.url" not in with_url.stderr


def test_no_warning_when_nothing_is_routed(tmp_path: Path) -> None:
    text = SPEC[:SPEC.index("routing:")] + SPEC[SPEC.index("slos:"):]
    result = CliRunner().invoke(main, ["validate", str(_spec(tmp_path, text))])
    assert "grafana.url" not in result.stderr


def _annotations(tmp_path: Path, text: str) -> list[dict[str, str]]:
    (service,) = load_or_raise([_spec(tmp_path, text)])
    return [r["annotations"] for g in service_groups(service) for r in g["rules"] if "alert" in r]


def test_alerts_carry_only_an_absolute_dashboard_url(tmp_path: Path) -> None:
    without = _annotations(tmp_path, SPEC)
    assert without and all("dashboard_url" not in a for a in without)
    with_url = _annotations(tmp_path, SPEC + GRAFANA)
    assert with_url and all(a["dashboard_url"] == "https://grafana.example.com/d/slokit-pay/slos-pay"
                            for a in with_url)


def test_check_warns_without_grafana_url(tmp_path: Path) -> None:
    (service,) = load_or_raise([_spec(tmp_path, SPEC)])
    out = tmp_path / "out"
    write_tree(out, generate([service]), ["alerts", "dashboards", "runbooks"])
    warnings = [r for r in check_alertmanager(out, [service]) if "dashboard links" in r.target]
    assert len(warnings) == 1 and warnings[0].level == "warning" and not warnings[0].ok
    assert "grafana.url is not set" in warnings[0].detail
