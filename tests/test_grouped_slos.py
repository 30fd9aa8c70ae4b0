"""Grouped SLOs (``group_by``): one SLO written once, evaluated and alerted per value of its grouping labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_helpers import counter, each_toolset, promtool_test, run_promtool
from slokit.alertmanager.config import build as alertmanager_config
from slokit.artifacts import Options
from slokit.rules.render import emit_rules
from slokit.spec import load_services
from slokit.spec.model import Service

SPEC = """service: shop
owner: team-shop
selector: {job: shop}
slos:
  - name: availability
    objective: 99.5
    group_by: [market]
    sli: {http_errors: {status: "5.."}}
    alerts:
      - {error_ratio_above: 5%, for: 5m, severity: page}
      - {p95_above: 1s, for: 10m, severity: ticket}
  - name: routes
    objective: 99
    group_by: [http_route]
    sli: {http_latency: {threshold: 250ms}}
  - name: checkout
    objective: 99.9
    group_by: [market]
    sli:
      ratio:
        bad: 'sum by (market) (rate(payments_failed_total[{{window}}]))'
        total: 'sum by (market) (rate(payments_total[{{window}}]))'
  - name: plain
    objective: 99
    sli: {http_errors: {status: "5.."}}
"""


def _load(tmp_path: Path, text: str) -> tuple[Any, str]:
    path = tmp_path / "shop.yaml"
    path.write_text(text, encoding="utf-8")
    return load_services([path]), str(path)


@pytest.fixture
def shop(tmp_path: Path) -> Service:
    result, _ = _load(tmp_path, SPEC)
    assert result.ok, "\n".join(map(str, result.errors))
    (service,) = result.services
    return service


def test_a_label_that_only_the_scrape_can_add_is_a_warning_not_an_error(tmp_path: Path) -> None:
    result, path = _load(tmp_path, SPEC)
    warnings = [str(d) for d in result.warnings if "group_by" in d.path]
    assert warnings == [
        f"{path}:7:16: slos[0].group_by[0]: warning: 'market' is not a label the middleware writes "
        "(http_request_method, http_response_status_code, http_route) nor one of the selector's: it must come "
        "from the scrape (a target label or relabelling); series without it form one group with an empty value"]


@pytest.mark.parametrize(("group_by", "sli", "message"), [
    ("[service]", '{http_errors: {status: "5.."}}', "label 'service' is set by slokit and cannot group an SLO"),
    ("[tier]", '{http_errors: {status: "5.."}}', "'tier' is also a spec label with a fixed value"),
    ("[http_response_status_code]", '{http_errors: {status: "5.."}}', "tells bad from all requests"),
    ("[outcome]", "{cache_misses: {cache: c}}", "tells misses from all lookups"),
    ("[market, market]", '{http_errors: {status: "5.."}}', "'market' is listed twice"),
    ("[market]", "{ratio: {bad: 'sum(rate(e[{{window}}]))', total: 'sum by (market) (rate(t[{{window}}]))'}}",
     "the bad query aggregates 'market' away"),
    ("[2bad]", '{http_errors: {status: "5.."}}', "is not a valid Prometheus label name"),
])
def test_grouping_labels_are_checked_at_their_line(tmp_path: Path, group_by: str, sli: str, message: str) -> None:
    text = f"""service: shop
owner: team-shop
labels: {{tier: "1"}}
slos:
  - name: a
    objective: 99
    group_by: {group_by}
    sli: {sli}
"""
    result, path = _load(tmp_path, text)
    assert not result.ok
    (error,) = result.errors
    assert str(error.loc).startswith(f"{path}:7:") and error.path.startswith("slos[0].group_by")
    assert message in error.message


def test_recording_rules_keep_the_grouping_labels(shop: Service) -> None:
    rules = {(g["name"], r.get("record") or r["alert"]): r for g in yaml.safe_load(
        emit_rules([shop], Options())["alerts/shop.rules.yml"])["groups"] for r in g["rules"]}
    total = rules[("shop/availability", "slo:sli_total:rate5m")]["expr"]
    assert total == 'sum by (market) (rate(http_server_request_duration_seconds_count{job="shop"}[5m]))'
    assert "sum by (le, market) (rate(" in rules[("shop/availability", "SLOLatencyP95High")]["expr"]
    bad = rules[("shop/availability", "slo:sli_bad:rate5m")]["expr"]
    assert bad.endswith('or on (market) slo:sli_total:rate5m{service="shop", slo="availability"} * 0)')
    assert rules[("shop/plain", "slo:sli_total:rate5m")]["expr"].startswith("sum(rate(")
    summary = rules[("shop/availability", "SLOErrorBudgetBurn")]["annotations"]["summary"]
    assert summary.startswith("shop availability (market={{ $labels.market }}): ")


def _fr_outage(service: Service, slo: str) -> list[dict[str, str]]:
    """fr: an hour of healthy traffic then only errors; us: healthy throughout (100 requests a minute)."""
    if slo == "checkout":
        return [
            {"series": 'payments_total{market="fr"}', "values": counter([(120, 100)])},
            {"series": 'payments_failed_total{market="fr"}', "values": counter([(60, 0), (60, 100)])},
            {"series": 'payments_total{market="us"}', "values": counter([(120, 100)])},
        ]
    name = service.metrics.duration_count
    return [
        {"series": f'{name}{{job="shop", market="fr", http_response_status_code="200"}}',
         "values": counter([(60, 100), (60, 0)])},
        {"series": f'{name}{{job="shop", market="fr", http_response_status_code="500"}}',
         "values": counter([(60, 0), (60, 100)])},
        {"series": f'{name}{{job="shop", market="us", http_response_status_code="200"}}',
         "values": counter([(120, 100)])},
    ]


@each_toolset
@pytest.mark.parametrize("slo", ["availability", "checkout"])
def test_one_markets_outage_pages_for_that_market_only(shop: Service, tmp_path: Path, slo: str) -> None:
    """Independent of the generated tests: promtool over hand-written series of two markets."""
    page = ('count(ALERTS{{alertname="SLOErrorBudgetBurn", service="shop", slo="{slo}", severity="page", '
            'long_window="1h", alertstate="firing", market="{market}"}})')
    tests = [{
        "interval": "1m",
        "input_series": _fr_outage(shop, slo),
        "promql_expr_test": [
            {"expr": page.format(slo=slo, market="fr"), "eval_time": "59m", "exp_samples": []},
            {"expr": page.format(slo=slo, market="fr"), "eval_time": "65m",
             "exp_samples": [{"labels": "{}", "value": 1}]},
            {"expr": page.format(slo=slo, market="us"), "eval_time": "65m", "exp_samples": []},
            {"expr": f'slo:error_budget_remaining:ratio{{slo="{slo}", market="us"}} == bool 1', "eval_time": "65m",
             "exp_samples": [{"labels": f'{{market="us", service="shop", slo="{slo}"}}', "value": 1}]},
            # The cost of a group, as docs/spec.md states it: 13 recorded series for a 30d SLO.
            {"expr": f'count({{__name__=~"slo:.+", service="shop", slo="{slo}", market="us"}})', "eval_time": "65m",
             "exp_samples": [{"labels": "{}", "value": 13}]},
        ],
        "alert_rule_test": [],
    }]
    promtool_test(tmp_path, shop, tests)


@each_toolset
def test_generated_tests_prove_the_split_and_pass_promtool(shop: Service, tmp_path: Path) -> None:
    files = emit_rules([shop], Options())
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    generated = yaml.safe_load(files["alerts/shop.rules.test.yml"])
    grouped = [t["name"] for t in generated["tests"] if "grouped by" in t["name"]]
    assert grouped == [
        "availability: grouped by market: a total outage of group a fires the page tier 1h/5m for group a only; "
        "group b, healthy, stays quiet",
        "routes: grouped by http_route: a total outage of group a fires the page tier 1h/5m for group a only; "
        "group b, healthy, stays quiet",
        "checkout: grouped by market: a total outage of group a fires the page tier 1h/5m for group a only; "
        "group b, healthy, stays quiet",
    ]
    # Only the grouped scenarios: the file's other scenarios are the ungrouped SLOs' own tests.
    generated["tests"] = [t for t in generated["tests"] if "grouped by" in t["name"]]
    only = tmp_path / "alerts" / "grouped.test.yml"
    only.write_text(yaml.safe_dump(generated, sort_keys=False), encoding="utf-8")
    proc = run_promtool("test", "rules", str(only))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_alertmanager_groups_and_inhibits_per_group(shop: Service) -> None:
    config = alertmanager_config([shop])
    assert config["route"]["group_by"] == ["alertname", "service", "slo", "http_route", "market"]
    (inhibit,) = config["inhibit_rules"]
    assert inhibit["equal"] == ["service", "slo", "http_route", "market"]


def test_dashboard_has_a_variable_per_grouping_label_and_the_worst_groups(shop: Service) -> None:
    from slokit.dashboards.service import build

    board = build(shop)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    for label in ("market", "http_route"):
        assert variables[label]["query"] == f'label_values(slo:sli_error:ratio_rate5m{{service="shop"}}, {label})'
        assert variables[label]["allValue"] == ".*"
    titles = [p["title"] for p in board["panels"]]
    assert "Worst groups by market (SLI over 30d)" in titles and "Worst groups by http_route (SLI over 30d)" in titles
    assert not any(t.startswith("Worst groups") and "plain" in t for t in titles)
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    assert any(e.startswith("bottomk(10, 1 - slo:sli_error:ratio_rate30d{") and 'market=~"$market"' in e
               for e in exprs)
    assert any(e.startswith("min(slo:error_budget_remaining:ratio{") for e in exprs)
    assert any(e.startswith("max(slo:burn_rate:ratio{") for e in exprs)
