"""Imported SLOs page on the outage the original's semantics imply, proved with promtool.

Each Sloth (and Sloth-OpenSLO) example that converts is imported, and its generated rules are run by promtool
over series its original queries read: an hour of healthy traffic, then every event bad. Sloth's page tier
(SRE Workbook: 2 % of a 30d budget in 1h, burn rate 14.4) must page within the time the Workbook gives for a
100 % error rate, 14.4 x (1 - objective) x 1h, and not during the healthy hour; an SLO whose Sloth alerts
are disabled must stay quiet although its recorded error ratio shows the outage.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from peers import need, peer_files
from rules_helpers import counter, run_promtool
from slokit.importers import openslo, sloth
from slokit.importers.draft import Draft
from slokit.rules.build import service_groups
from slokit.spec import load_services
from slokit.spec.model import SLO, RatioQueries, Service

HEALTHY_MIN = 60
OUTAGE_MIN = 60
PAGE_FACTOR = Fraction(144, 10)  # Workbook page tier on a 30d window: 2 % of the budget in 1h
SLACK_MIN = 3  # rate() needs two samples and rules are evaluated once a minute

CONVERTED_SLOTH = ["getting-started.yml", "k8s-getting-started.yml", "multifile.yml", "k8s-multifile.yml",
                   "kubernetes-apiserver.yml", "home-wifi.yml", "k8s-home-wifi.yml", "raw-home-wifi.yml",
                   "no-alerts.yml", "contrib-slo-plugins.yml", "contrib-denominator-corrected.yaml",
                   "slo-plugin-getting-started.yml", "slo-plugin-k8s-getting-started.yml"]
CONVERTED_OPENSLO = ["openslo-getting-started.yml", "openslo-kubernetes-apiserver.yml"]


def _good_bad(metric: str, labels: str, bad_label: str, good_label: str) -> list[dict[str, str]]:
    return [
        {"series": f"{metric}{{{labels}{bad_label}}}", "values": counter([(HEALTHY_MIN, 0), (OUTAGE_MIN, 100)])},
        {"series": f"{metric}{{{labels}{good_label}}}", "values": counter([(HEALTHY_MIN, 100), (OUTAGE_MIN, 0)])},
    ]


def series_for(queries: str) -> list[dict[str, str]]:
    """Series the original queries read: healthy for an hour, then every event bad (a total outage)."""
    job = re.search(r'job="([^"]+)"', queries)
    if "http_request_duration_seconds_count" in queries:
        assert job is not None
        return _good_bad("http_request_duration_seconds_count", f'job="{job.group(1)}", ', 'code="500"', 'code="200"')
    if "apiserver_request_total" in queries:
        return _good_bad("apiserver_request_total", "", 'code="500"', 'code="200"')
    if "apiserver_request_duration_seconds" in queries:  # every request slower than every threshold
        fast = counter([(HEALTHY_MIN, 100), (OUTAGE_MIN, 0)])
        return [
            {"series": 'apiserver_request_duration_seconds_count{verb="GET"}',
             "values": counter([(HEALTHY_MIN + OUTAGE_MIN, 100)])},
            {"series": 'apiserver_request_duration_seconds_bucket{verb="GET", le="0.4"}', "values": fast},
            {"series": 'apiserver_request_duration_seconds_bucket{verb="GET", le="5"}', "values": fast},
        ]
    if "unifipoller_client_satisfaction_ratio" in queries:  # every client fully satisfied, then not at all
        values = f"1+0x{HEALTHY_MIN - 1} 0+0x{OUTAGE_MIN}"
        return [{"series": f'unifipoller_client_satisfaction_ratio{{client="{c}"}}', "values": values}
                for c in ("a", "b")]
    raise AssertionError(f"no outage series for {queries}")


def _imported(tmp_path: Path, drafts: list[Draft]) -> tuple[Service, ...]:
    folder = tmp_path / "slo"
    folder.mkdir()
    for d in drafts:
        (folder / f"{d.service}.yaml").write_text(d.text("import"), encoding="utf-8")
    result = load_services([folder])
    assert result.ok, "\n".join(map(str, result.errors))
    return result.services


def _expr(slo: SLO, service: Service, query: str, minute: int, value: int | None) -> dict[str, Any]:
    sel = f'service="{service.name}", slo="{slo.name}"'
    return {"expr": query.replace("SEL", sel), "eval_time": f"{minute}m",
            "exp_samples": [] if value is None else [{"labels": "{}", "value": value}]}


def _tests(service: Service, slo: SLO, queries: str) -> dict[str, Any]:
    page = 'count(ALERTS{SEL, severity="page", long_window="1h", alertstate="firing"})'
    any_alert = 'count(ALERTS{SEL, alertstate="firing"})'
    detect = float(PAGE_FACTOR * slo.error_budget) * 60  # minutes of 100 % errors until the 1h ratio crosses
    by = HEALTHY_MIN + math.ceil(detect) + SLACK_MIN
    exprs = [
        _expr(slo, service, any_alert, HEALTHY_MIN - 1, None),
        _expr(slo, service, "min(slo:sli_error:ratio_rate5m{SEL}) > bool 0.999", HEALTHY_MIN + 10, 1),
    ]
    if slo.burn_rate:
        exprs.append(_expr(slo, service, page, by, 1))
        if detect > 2 * SLACK_MIN:
            exprs.append(_expr(slo, service, page, HEALTHY_MIN + math.floor(detect) - SLACK_MIN, None))
    else:
        exprs.append(_expr(slo, service, any_alert, by, None))
    return {"name": f"{service.name}/{slo.name}: total outage after {HEALTHY_MIN}m healthy", "interval": "1m",
            "input_series": series_for(queries), "promql_expr_test": exprs}


def _prove(tmp_path: Path, services: tuple[Service, ...]) -> int:
    tests, groups = [], []
    for service in services:
        groups.extend(service_groups(service))
        for slo in service.slos:
            assert isinstance(slo.sli, RatioQueries)
            tests.append(_tests(service, slo, " ".join(filter(None, (slo.sli.bad, slo.sli.good, slo.sli.total)))))
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    (tmp_path / "outage.test.yml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}, sort_keys=False), encoding="utf-8")
    proc = run_promtool("test", "rules", str(tmp_path / "outage.test.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return len(tests)


#: Sloth's home-wifi SLIs are subqueries (``sum_over_time((count(x < 0.75))[{{window}}:])``). Every window of the
#: rules is now read from the raw series, so the 30d window evaluates a 30d subquery each minute, which exceeds
#: Prometheus' per-query sample limit: the import is right, the rules are too costly for that SLI shape.
SUBQUERY_LIMIT = pytest.mark.xfail(strict=True, reason="30d subquery exceeds the query sample limit")
SLOTH_CASES = [pytest.param(n, marks=SUBQUERY_LIMIT) if "home-wifi" in n and "raw" not in n else n
               for n in CONVERTED_SLOTH]


@pytest.mark.parametrize("name", SLOTH_CASES)
def test_imported_sloth_slo_pages_on_its_outage(name: str, tmp_path: Path) -> None:
    (file,) = [need(p) for p in peer_files("sloth", name)]
    result = sloth.convert(str(file), file.read_text(encoding="utf-8"))
    assert not result.diagnostics
    assert _prove(tmp_path, _imported(tmp_path, result.drafts)) >= 1


@pytest.mark.parametrize("name", CONVERTED_OPENSLO)
def test_imported_sloth_openslo_slo_pages_on_its_outage(name: str, tmp_path: Path) -> None:
    (file,) = [need(p) for p in peer_files("sloth", name)]
    result = openslo.convert([(str(file), file.read_text(encoding="utf-8"))])
    assert not result.diagnostics
    assert _prove(tmp_path, _imported(tmp_path, result.drafts)) >= 1


def test_every_converted_example_has_an_outage_proof() -> None:
    """The lists above are every Sloth example the import converts: none escapes the promtool proof."""
    files = [p for p in peer_files("sloth", "*.y*ml") if p is not None]
    if not files:
        pytest.skip("the peers' example files are not there")
    converts = {p.name for p in files if not sloth.convert(str(p), p.read_text(encoding="utf-8")).diagnostics}
    assert converts == set(CONVERTED_SLOTH)
