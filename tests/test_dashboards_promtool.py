"""The dashboards' queries evaluated by the real ``promtool test rules`` on synthetic series.

No rule file is involved: the input series stand in for what the recording rules and the middleware
write (recorded ratios, budget and burn-rate series labelled ``service``/``slo`` plus the spec labels;
raw duration histograms with the service's selector), next to decoys that a correct query must not
pick up (another service's series, another job, another route, pending and foreign alerts). Each
panel's query, as written in the dashboard JSON, must return exactly the expected samples, so a wrong
selector, a missing matcher or an unescaped label value fails here.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_helpers import run_promtool as promtool
from slokit import catalog, series
from slokit.artifacts import Options
from slokit.dashboards import OVERVIEW_FILE, emit, file_name, service
from slokit.promql import selector
from slokit.spec import load_or_raise
from slokit.spec.model import SLO, CacheMisses, HttpErrors, HttpLatency, RatioQueries, Service
from slokit.spec.units import Duration, format_number
from test_dashboards_structure import EXAMPLE, PAYMENTS, SEARCH, all_panels, load, substitute_variables

EVAL_AT = "30m"
GRID = 1 / 1024  # exact in binary, so rounding to it gives the same float in Go and Python
REQUESTS_PER_MINUTE = 600  # 10 requests per second per series set
ERRORS_PER_MINUTE = 60  # of which status 503
# Cumulative requests per minute at or under each bound: the distribution of every histogram below.
BUCKETS = (("0.1", 300), ("0.25", 540), ("0.5", 600), ("+Inf", REQUESTS_PER_MINUTE))


def expected_quantile(q: float) -> float:
    """histogram_quantile's linear interpolation, done by hand on BUCKETS."""
    rank = q * BUCKETS[-1][1]
    lower, below = 0.0, 0
    for bound, count in BUCKETS:
        if count >= rank:
            return lower + (float(bound) - lower) * (rank - below) / (count - below)
        lower, below = float(bound), count
    raise AssertionError("rank beyond the last bucket")


def labels_text(name: str, labels: Mapping[str, str]) -> str:
    return f"{name}{selector(labels)}"


@dataclass
class Case:
    """Input series and expected results of one promtool test group."""

    series: list[dict[str, str]] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, labels: Mapping[str, str], values: str) -> None:
        self.series.append({"series": labels_text(name, labels), "values": values})

    def expect(self, expr: str, samples: list[tuple[str, float]], what: str) -> None:
        self.tests.append({
            "expr": substitute_variables(expr),
            "eval_time": EVAL_AT,
            "exp_samples": [{"labels": lbl, "value": v} for lbl, v in samples],
            "_what": what,
        })


@dataclass(frozen=True)
class Synthetic:
    """The values given to one SLO's recorded series (distinct per SLO, so mix-ups show)."""

    window_ratio: float
    ratio_5m: float
    ratio_1h: float
    budget: float
    burn: float

    @classmethod
    def of(cls, i: int) -> Synthetic:
        n = i + 1
        return cls(n / 1000, 2 * n / 1000, 3 * n / 1000, 0.5 - n / 10, 1.5 + n)


def slo_labels(svc: Service, slo: SLO) -> dict[str, str]:
    return {series.SERVICE_LABEL: svc.name, series.SLO_LABEL: slo.name, **svc.labels}


def add_recorded(case: Case, svc: Service, slo: SLO, v: Synthetic) -> None:
    lbl = slo_labels(svc, slo)
    case.add(series.error_ratio(slo.window), lbl, f"{v.window_ratio}x40")
    case.add(series.error_ratio(service.queries.SHORT_WINDOW), lbl, f"{v.ratio_5m}x40")
    case.add(series.error_ratio(service.queries.BURN_WINDOW), lbl, f"{v.ratio_1h}x40")
    case.add(series.BUDGET_REMAINING, lbl, f"{v.budget}x40")
    case.add(series.BURN_RATE, lbl, f"{v.burn}x40")
    case.add(series.OBJECTIVE, lbl, f"{float(slo.objective)}x40")


def add_decoys(case: Case, svc: Service) -> None:
    """Series of another service and another SLO with the same names: no service panel may show them."""
    for slo in svc.slos:
        for lbl in ({**slo_labels(svc, slo), series.SERVICE_LABEL: "decoy"},
                    {**slo_labels(svc, slo), series.SLO_LABEL: f"{slo.name}-decoy"}):
            for name in (series.error_ratio(slo.window), series.error_ratio(service.queries.SHORT_WINDOW),
                         series.error_ratio(service.queries.BURN_WINDOW), series.BUDGET_REMAINING,
                         series.BURN_RATE):
                case.add(name, lbl, "0.9x40")


def http_labels(svc: Service, slo: SLO | None) -> dict[str, str]:
    m = svc.metrics
    route = method = None
    if slo is not None and isinstance(slo.sli, HttpErrors | HttpLatency):
        route, method = slo.sli.route, slo.sli.method
    return {**svc.selector, m.route_label: route or "/", m.method_label: method or "GET"}


def http_label_sets(svc: Service) -> list[dict[str, str]]:
    """One series set per route/method an SLI scopes, plus the unscoped rest of the traffic (route "/")."""
    texts = {json.dumps(http_labels(svc, slo), sort_keys=True) for slo in (None, *svc.slos)}
    return [json.loads(t) for t in sorted(texts)]


def add_http(case: Case, svc: Service) -> None:
    """The middleware's series for every scoped route, with decoys that correct queries filter out."""
    m = svc.metrics
    for lbl in http_label_sets(svc):
        for bound, per_minute in BUCKETS:
            case.add(m.duration_bucket, {**lbl, "le": bound}, f"0+{per_minute}x40")
        case.add(m.duration_count, {**lbl, m.status_label: "200"}, f"0+{REQUESTS_PER_MINUTE - ERRORS_PER_MINUTE}x40")
        case.add(m.duration_count, {**lbl, m.status_label: "503"}, f"0+{ERRORS_PER_MINUTE}x40")
    # Another job, slow and failing: it must show up in none of this service's panels.
    if svc.selector:
        other = {**http_labels(svc, None), **{k: f"{v}-other" for k, v in svc.selector.items()}}
        for bound, per_minute in (("0.1", 0), ("0.25", 0), ("0.5", 0), ("+Inf", 6000)):
            case.add(m.duration_bucket, {**other, "le": bound}, f"0+{per_minute}x40")
        case.add(m.duration_count, {**other, m.status_label: "503"}, "0+6000x40")
    # Another route of the same job, slow and failing: panels scoped to a route must not see it. Only
    # added when no panel reads the whole service, whose numbers it would rightly change.
    if not any(isinstance(slo.sli, HttpLatency) and not slo.sli.route for slo in svc.slos):
        decoy = {**http_labels(svc, None), m.route_label: "/decoy"}
        for bound, per_minute in (("0.1", 0), ("0.25", 0), ("0.5", 0), ("+Inf", 600)):
            case.add(m.duration_bucket, {**decoy, "le": bound}, f"0+{per_minute}x40")


def raw_error_ratio(slo: SLO) -> float:
    """The bad share the raw series above give an SLO's SLI (for windows the rules do not record)."""
    sli = slo.sli
    if isinstance(sli, HttpErrors):
        return ERRORS_PER_MINUTE / REQUESTS_PER_MINUTE if re.fullmatch(sli.status, "503") else 0.0
    if isinstance(sli, HttpLatency):
        good = dict(BUCKETS)[format_number(sli.threshold.seconds)]
        return (REQUESTS_PER_MINUTE - good) / REQUESTS_PER_MINUTE
    raise AssertionError(f"no raw series for a {sli.kind} SLI in this test")


def rows_of(board: dict[str, Any], svc: Service) -> Iterator[tuple[SLO | None, dict[str, Any]]]:
    """Each non-row panel with the SLO whose row it is in (None in the rollout row)."""
    current: SLO | None = None
    for panel in all_panels(board):
        if panel["type"] == "row":
            current = next((s for s in svc.slos if panel["title"].startswith(f"{s.name}: ")), None)
            continue
        yield current, panel


def good_share(slo: SLO) -> bool:
    return isinstance(slo.sli, CacheMisses) or (isinstance(slo.sli, RatioQueries) and slo.sli.good is not None)


def service_case(svc: Service, board: dict[str, Any]) -> Case:
    case = Case()
    values = {slo.name: Synthetic.of(i) for i, slo in enumerate(svc.slos)}
    for slo in svc.slos:
        add_recorded(case, svc, slo, values[slo.name])
    add_decoys(case, svc)
    if any(isinstance(slo.sli, HttpErrors | HttpLatency) for slo in svc.slos):
        add_http(case, svc)
    for slo, panel in rows_of(board, svc):
        title = panel["title"]
        for target in panel["targets"]:
            expr, ref = target["expr"], target["refId"]
            if slo is not None:
                v, lbl = values[slo.name], slo_labels(svc, slo)
                bare = selector(lbl)
                expected = {
                    f"SLI ({slo.window})": [(bare, 1 - v.window_ratio)],
                    f"Error budget remaining ({slo.window})": [(labels_text(series.BUDGET_REMAINING, lbl), v.budget)],
                    "Burn rate (1h)": [(labels_text(series.BURN_RATE, lbl), v.burn)],
                    "SLI over time": [(bare, 1 - (v.ratio_5m if ref == "A" else v.ratio_1h))],
                }[title]
            elif title == "Request rate":
                expected = [("{}", len(http_label_sets(svc)) * REQUESTS_PER_MINUTE / 60)]
            elif " latency" in title:
                # Interpolation leaves float noise (0.37499999999999983); compare on a binary grid.
                q = int(target["legendFormat"].split()[0].removeprefix("p")) / 100
                expr = f"round({expr}, {GRID})"
                expected = [("{}", round(expected_quantile(q) / GRID) * GRID)]
            else:
                owner = next(s for s in svc.slos if title.startswith(f"{s.name}: "))
                v, lbl = values[owner.name], slo_labels(svc, owner)
                window = Duration.parse(target["legendFormat"])
                if window == service.queries.SHORT_WINDOW:
                    name, bad = labels_text(series.error_ratio(window), lbl), v.ratio_5m
                else:
                    assert window not in service.queries.recorded_windows(owner), "only 5m is synthesised"
                    # Raw rates over a longer window: compare on the binary grid, as for quantiles.
                    expr, name, bad = f"round({expr}, {GRID})", "{}", round(raw_error_ratio(owner) / GRID) * GRID
                if good_share(owner):
                    bad = 1 - bad
                    name = selector(lbl) if name != "{}" else name
                expected = [(name, bad)]
            case.expect(expr, expected, f"{svc.name}: {title} {ref}")
    return case


def overview_case(services: tuple[Service, ...], board: dict[str, Any]) -> Case:
    case = Case()
    rows: list[tuple[Service, SLO, Synthetic]] = []
    for svc in services:
        for i, slo in enumerate(svc.slos):
            v = Synthetic.of(i)
            add_recorded(case, svc, slo, v)
            rows.append((svc, slo, v))
    # A firing page for each service's first SLO; a pending alert and someone else's alert do not count.
    for svc in services:
        first, second = svc.slos[0], svc.slos[-1]
        case.add("ALERTS", {"alertname": catalog.BURN_ALERT, "alertstate": "firing", "severity": "page",
                            **slo_labels(svc, first)}, "1x40")
        case.add("ALERTS", {"alertname": catalog.BURN_ALERT, "alertstate": "firing", "severity": "ticket",
                            **slo_labels(svc, first)}, "1x40")
        case.add("ALERTS", {"alertname": catalog.BURN_ALERT, "alertstate": "pending", "severity": "page",
                            **slo_labels(svc, second)}, "1x40")
        case.add("ALERTS", {"alertname": "HostDown", "alertstate": "firing", **slo_labels(svc, second)}, "1x40")
    (table,) = [p for p in board["panels"] if p["type"] == "table"]
    for target in table["targets"]:
        ref = target["refId"]
        samples = []
        for svc, slo, v in rows:
            lbl = selector({series.SERVICE_LABEL: svc.name, series.SLO_LABEL: slo.name})
            value = {
                "A": float(slo.objective),
                "B": 1 - v.window_ratio,
                "C": v.budget,
                "D": 2.0 if slo is svc.slos[0] else 0.0,
            }[ref]
            samples.append((lbl, value))
        case.expect(target["expr"], samples, f"overview {ref}")
    return case


def run_promtool(case: Case, tmp: Path) -> subprocess.CompletedProcess[str]:
    tests = [{k: v for k, v in t.items() if k != "_what"} for t in case.tests]
    doc = {"rule_files": [], "evaluation_interval": "1m",
           "tests": [{"interval": "1m", "input_series": case.series, "promql_expr_test": tests}]}
    path = tmp / "dashboards.test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000), encoding="utf-8")
    return promtool("test", "rules", str(path), cwd=tmp)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> tuple[Service, ...]:
    tmp = tmp_path_factory.mktemp("specs")
    (example,) = load_or_raise([EXAMPLE])
    return (example, load(tmp, "payments", PAYMENTS), load(tmp, "search", SEARCH))


@pytest.fixture(scope="module")
def boards(services: tuple[Service, ...]) -> dict[str, dict[str, Any]]:
    return {path: json.loads(text) for path, text in emit(services, Options()).items() if path.endswith(".json")}


@pytest.mark.parametrize("index", [0, 1, 2], ids=["onboarding", "payments", "search"])
def test_service_dashboard_queries_return_the_expected_samples(services, boards, index, tmp_path) -> None:
    svc = services[index]
    case = service_case(svc, boards[f"dashboards/{file_name(svc)}"])
    assert len(case.tests) >= 4 * len(svc.slos)
    proc = run_promtool(case, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_overview_queries_return_every_slo(services, boards, tmp_path) -> None:
    case = overview_case(services, boards[f"dashboards/{OVERVIEW_FILE}"])
    proc = run_promtool(case, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_query_without_its_service_matcher_fails(services, boards, tmp_path) -> None:
    """The evaluation above can fail: drop the service matcher from one query and the decoys leak in."""
    svc = services[0]
    case = service_case(svc, boards[f"dashboards/{file_name(svc)}"])
    broken = next(t for t in case.tests if t["_what"].endswith("Burn rate (1h) A"))
    broken["expr"] = re.sub(r'service="[^"]*", ', "", broken["expr"])
    proc = run_promtool(case, tmp_path)
    assert proc.returncode != 0 and "decoy" in proc.stdout + proc.stderr

