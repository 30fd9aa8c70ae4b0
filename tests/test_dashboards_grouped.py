"""A service dashboard with grouped and ungrouped SLOs: lines named by their group, and a grouping
variable that filters only the SLOs grouped by its label.

promtool evaluates every panel query as Grafana sends it, once with ``market`` on "All" and once with one
market chosen, over series where the grouped SLOs have two markets and the ungrouped SLO none (as the
rules record it): an ungrouped row keeps its data whatever market is chosen, a grouped row shows the
chosen market's series only, and each of its per-group lines carries the label its legend names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_helpers import run_promtool
from slokit import series
from slokit.dashboards import queries, service
from slokit.spec.model import SLO, Service
from test_dashboards_structure import all_panels, load

SPEC = """service: shop
owner: team-shop
selector: {job: shop}
labels: {tier: "1"}
slos:
  - name: availability
    objective: 99.5
    group_by: [market]
    sli: {http_errors: {status: "5.."}}
    alerts:
      - {error_ratio_above: 5%, for: 5m, severity: page}
      - {error_ratio_above: 20%, for: 5m, severity: page, window: 10m}
      - {p95_above: 1s, for: 10m, severity: ticket}
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
    alerts:
      - {error_ratio_above: 5%, for: 5m, severity: page}
"""
MARKETS = ("fr", "us")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return load(tmp_path_factory.mktemp("spec"), "shop", SPEC)


def _rows(svc: Service, board: dict[str, Any]) -> list[tuple[SLO, dict[str, Any]]]:
    """Each panel of an SLO (its row, and its panels in the rollout row by title) with that SLO."""
    out: list[tuple[SLO, dict[str, Any]]] = []
    current: SLO | None = None
    for panel in all_panels(board):
        if panel["type"] == "row":
            current = next((s for s in svc.slos if panel["title"].startswith(f"{s.name}: ")), None)
            continue
        owner = current or next((s for s in svc.slos if panel["title"].startswith(f"{s.name}: ")), None)
        if owner is not None:
            out.append((owner, panel))
    return out


def _series(svc: Service) -> list[dict[str, str]]:
    """What the rules record (per market for the grouped SLOs) and the middleware writes (with the market)."""
    out: list[dict[str, str]] = []
    for slo in svc.slos:
        for market in MARKETS if slo.group_by else ("",):
            labels = {series.SERVICE_LABEL: svc.name, series.SLO_LABEL: slo.name, **svc.labels}
            if market:
                labels["market"] = market
            sel = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            names = [series.error_ratio(w) for w in {*queries.recorded_windows(slo), slo.window}]
            for name in (*names, series.BUDGET_REMAINING, series.BURN_RATE):
                out.append({"series": f"{name}{{{sel}}}", "values": "0.01x40"})
    m = svc.metrics
    for market in MARKETS:
        base = f'job="shop", market="{market}", http_route="/", http_request_method="GET"'
        out.append({"series": f'{m.duration_count}{{{base}, http_response_status_code="200"}}', "values": "0+90x40"})
        out.append({"series": f'{m.duration_count}{{{base}, http_response_status_code="503"}}', "values": "0+10x40"})
        for le, n in (("0.5", 50), ("1.0", 90), ("+Inf", 100)):
            out.append({"series": f'{m.duration_bucket}{{{base}, le="{le}"}}', "values": f"0+{n}x40"})
    return out


def _as_sent(expr: str, market: str) -> str:
    """The query Grafana sends: ``$market`` as chosen (".*" for All), every other variable on All."""
    expr = re.sub(r"\$\{?market\}?", market, expr)
    return re.sub(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?", ".*", expr)


def test_grouped_lines_have_a_legend_per_group_and_others_do_not(shop: Service) -> None:
    board = service.build(shop)
    seen = 0
    for slo, panel in _rows(shop, board):
        if panel["type"] != "timeseries":
            continue
        for target in panel["targets"]:
            legend = target["legendFormat"]
            assert ("market={{market}}: " in legend) == bool(slo.group_by), (panel["title"], legend)
            seen += bool(slo.group_by)
    assert seen >= 6  # SLI over time (2 lines) x 2 SLOs, the 5m and 10m error ratios, the p95


@pytest.mark.parametrize("chosen", [".*", "fr"], ids=["all-markets", "one-market"])
def test_ungrouped_rows_keep_their_data_when_a_market_is_chosen(shop: Service, tmp_path: Path, chosen: str) -> None:
    board = service.build(shop)
    markets = MARKETS if chosen == ".*" else (chosen,)
    tests: list[dict[str, Any]] = []
    for slo, panel in _rows(shop, board):
        for target in panel["targets"]:
            expr = _as_sent(target["expr"], chosen)
            # one line per market, each labelled with its market (what the legend shows), or a table row each
            per_group = "{{market}}" in (target.get("legendFormat") or "") or panel["type"] == "table"
            if slo.group_by and per_group:
                expected = [{"labels": f'{{market="{m}"}}', "value": 1} for m in markets]
            else:  # an ungrouped SLO, or a grouped SLO's worst group: one value
                expected = [{"labels": "{}", "value": 1}]
            tests.append({"expr": f"count by (market) ({expr})", "eval_time": "30m", "exp_samples": expected})
    assert len(tests) >= 15
    doc = {"rule_files": [], "evaluation_interval": "1m",
           "tests": [{"interval": "1m", "input_series": _series(shop), "promql_expr_test": tests}]}
    path = tmp_path / "grouped.test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000), encoding="utf-8")
    proc = run_promtool("test", "rules", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_the_grouping_variable_filters_only_the_slos_grouped_by_it(shop: Service) -> None:
    board = service.build(shop)
    for slo, panel in _rows(shop, board):
        for target in panel["targets"]:
            assert ("$market" in target["expr"]) == bool(slo.group_by), (panel["title"], target["expr"])
