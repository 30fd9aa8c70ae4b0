"""The dashboards on top of the real recording rules: raw middleware series in, panel numbers out.

``test_dashboards_promtool`` checks the queries against hand-made recorded series; this test closes the
loop with the rule file ``slokit generate`` writes for the example: promtool evaluates those recording
rules over synthetic raw traffic (5 % server errors, 20 % conflicts on the steps route, 10 % of requests
slower than 300 ms, 80 % cache hits), and each dashboard query must show the share that traffic implies.
It is skipped until the rules emitter is part of the pipeline.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_helpers import run_promtool
from slokit import series
from slokit.dashboards import OVERVIEW_FILE, file_name
from slokit.pipeline import generate
from slokit.promql import selector
from slokit.semconv import CACHE_HIT, CACHE_MISS
from slokit.spec.model import SLO, Service
from test_dashboards_structure import all_panels, substitute_variables

GRID = 1 / 1024  # compare on a binary grid: long sums leave float noise
EVAL_AT = "90m"
STEPS_ROUTE = "/api/onboarding/steps/{id}"

# Per minute, per route: (status, count). 1200 requests, 60 of them 5xx, 120 conflicts on the steps route.
TRAFFIC = {("/api/onboarding/progress", "GET"): (("200", 540), ("503", 60)),
           (STEPS_ROUTE, "PATCH"): (("200", 480), ("409", 120))}
# Cumulative per minute per route at or under each bound: 90 % within 300 ms, 95 % within 500 ms.
BUCKETS = (("0.1", 300), ("0.3", 540), ("0.5", 570), ("1.0", 600), ("+Inf", 600))
CACHE = ((CACHE_HIT, 480), (CACHE_MISS, 120))

#: The bad share each example SLO sees in that traffic.
BAD_SHARE = {"availability": 60 / 1200, "latency": 0.1, "conflicts": 120 / 600, "cache-hits": 120 / 600}


def grid(x: float) -> float:
    return round(x / GRID) * GRID


def input_series(svc: Service) -> list[dict[str, str]]:
    m = svc.metrics
    out = []
    for (route, method), statuses in TRAFFIC.items():
        base = {**svc.selector, m.route_label: route, m.method_label: method}
        for status, per_minute in statuses:
            out.append({"series": m.duration_count + selector({**base, m.status_label: status}),
                        "values": f"0+{per_minute}x100"})
        for bound, per_minute in BUCKETS:
            out.append({"series": m.duration_bucket + selector({**base, "le": bound}), "values": f"0+{per_minute}x100"})
    for outcome, per_minute in CACHE:
        lbl = {**svc.selector, m.cache_label: "step-definitions", m.outcome_label: outcome}
        out.append({"series": m.cache_lookups_total + selector(lbl), "values": f"0+{per_minute}x100"})
    return out


def expected(slo: SLO, title: str, target: dict[str, Any]) -> float | None:
    """What the panel query should show for ``slo`` (None: not covered here)."""
    bad = BAD_SHARE[slo.name]
    budget = float(slo.error_budget)
    if title.startswith("SLI") or title.endswith("hit rate (step-definitions)"):
        return 1 - bad
    if title.startswith("Error budget remaining"):
        return 1 - bad / budget
    if title.startswith("Burn rate"):
        return bad / budget
    if title.startswith(f"{slo.name}: ") and target["legendFormat"] == "5m" and "latency" not in title:
        return bad
    if title.startswith(f"{slo.name}: p95"):
        return 0.5
    return None


@pytest.fixture(scope="module")
def generated(onboarding: Service) -> dict[str, str]:
    out = generate([onboarding])
    if not any(p.endswith(".rules.yml") for p in out):
        pytest.skip("no rules emitter registered in the pipeline yet")
    return out


def run(tmp: Path, rules: str, svc: Service, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    (tmp / "rules.yml").write_text(rules, encoding="utf-8")
    doc = {"rule_files": ["rules.yml"], "evaluation_interval": "1m",
           "tests": [{"interval": "1m", "input_series": input_series(svc), "promql_expr_test": tests}]}
    (tmp / "test.yml").write_text(yaml.safe_dump(doc, sort_keys=False, width=1000), encoding="utf-8")
    return run_promtool("test", "rules", "test.yml", cwd=tmp)


def test_service_panels_show_what_the_traffic_implies(onboarding, generated, tmp_path) -> None:
    board = json.loads(generated[f"dashboards/{file_name(onboarding)}"])
    rules = generated[f"alerts/{onboarding.name}.rules.yml"]
    tests: list[dict[str, Any]] = []
    current: SLO | None = None
    for panel in all_panels(board):
        if panel["type"] == "row":
            current = next((s for s in onboarding.slos if panel["title"].startswith(f"{s.name}: ")), None)
            continue
        owner = current or next((s for s in onboarding.slos if panel["title"].startswith(f"{s.name}: ")), None)
        for target in panel["targets"]:
            if panel["title"] == "Request rate":
                value: float | None = sum(c for sts in TRAFFIC.values() for _, c in sts) / 60
            elif owner is None:
                continue
            else:
                value = expected(owner, panel["title"], target)
            if value is None:
                continue
            tests.append({"expr": f"round({substitute_variables(target['expr'])}, {GRID})", "eval_time": EVAL_AT,
                          "exp_samples": [{"labels": _labels(onboarding, owner, target["expr"]),
                                           "value": grid(value)}]})
    assert len(tests) >= 5 * len(onboarding.slos)
    proc = run(tmp_path, rules, onboarding, tests)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _labels(svc: Service, slo: SLO | None, expr: str) -> str:
    """Recorded series keep service, slo and the spec labels; raw aggregations keep none."""
    if slo is None or not expr.lstrip("1 -").startswith("slo:"):
        return "{}"
    return selector({series.SERVICE_LABEL: svc.name, series.SLO_LABEL: slo.name, **svc.labels, **slo.labels})


def test_overview_rows_come_from_the_rules(onboarding, generated, tmp_path) -> None:
    board = json.loads(generated[f"dashboards/{OVERVIEW_FILE}"])
    (table,) = [p for p in board["panels"] if p["type"] == "table"]
    tests = []
    for target in table["targets"]:
        values = {
            "A": lambda slo: float(slo.objective),
            "B": lambda slo: 1 - BAD_SHARE[slo.name],
            "C": lambda slo: 1 - BAD_SHARE[slo.name] / float(slo.error_budget),
        }.get(target["refId"])
        if values is None:
            continue  # firing alerts depend on the alert rules' timing, tested with the rules
        samples = [{"labels": selector({series.SERVICE_LABEL: onboarding.name, series.SLO_LABEL: slo.name}),
                    "value": grid(values(slo))} for slo in onboarding.slos]
        tests.append({"expr": f"round({substitute_variables(target['expr'])}, {GRID})", "eval_time": EVAL_AT,
                      "exp_samples": samples})
    assert len(tests) == 3
    proc = run(tmp_path, generated[f"alerts/{onboarding.name}.rules.yml"], onboarding, tests)
    assert proc.returncode == 0, proc.stdout + proc.stderr
