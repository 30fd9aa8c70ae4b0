"""Rules and promtool tests are generated for any valid SLO, not only the example's."""

from __future__ import annotations

import os
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_helpers import d, make_service
from slokit import catalog, toolchain
from slokit.artifacts import Options
from slokit.rules.render import emit_rules
from slokit.spec.model import SLO, CacheMisses, Guardrail, HttpErrors, HttpLatency, RatioQueries

SLIS = st.sampled_from([
    HttpErrors("5.."), HttpErrors("409", route="/r/{id}", method="PATCH"), HttpLatency(d("250ms")),
    CacheMisses("c"), RatioQueries(total="sum(rate(t_total[{{window}}]))", bad="sum(rate(f_total[{{window}}]))"),
    RatioQueries(total='sum(rate(r_total{job="x"}[{{window}}]))',
                 good='sum(rate(r_total{job="x",code="200"}[{{window}}]))'),
])
OBJECTIVES = st.sampled_from(["50", "80", "90", "95", "99", "99.5", "99.9", "99.99"])
WINDOWS = st.sampled_from(["1d", "7d", "28d", "30d", "90d"])
# Few levels, `for`s and windows, so guardrails sharing name, severity and rollback flag (and level, `for`
# or everything) come up often.
GUARDS = st.lists(st.builds(
    lambda kind, level, for_, sev, rb, w: Guardrail(kind, kind, d(for_), sev, threshold=Fraction(level, 100),
                                                    rollback=rb, window=d(w)),
    st.sampled_from(["error_ratio_above", "good_ratio_below"]), st.one_of(st.sampled_from([1, 2]), st.integers(1, 99)),
    st.sampled_from(["0s", "5m", "1h"]), st.sampled_from(["page", "ticket"]), st.booleans(),
    st.sampled_from(["5m", "30m"])), max_size=4)


@settings(max_examples=40, deadline=None)
@given(sli=SLIS, objective=OBJECTIVES, window=WINDOWS, guards=GUARDS, burn=st.booleans(),
       min_events=st.sampled_from([0, 10, 5000]), absent=st.booleans())
def test_any_slo_gets_rules_and_tests(sli: object, objective: str, window: str, guards: list[Guardrail], burn: bool,
                                      min_events: int, absent: bool) -> None:
    slo = SLO(name="s", objective=Fraction(objective) / 100, window=d(window), sli=sli,  # type: ignore[arg-type]
              alerts=tuple(guards), burn_rate=burn, min_events=min_events, absent_for=d("10m") if absent else None)
    service = make_service(slo)
    files = emit_rules([service], Options())
    rules = [r for g in yaml.safe_load(files["alerts/svc.rules.yml"])["groups"] for r in g["rules"]]
    alerts = [r for r in rules if "alert" in r]
    assert len(alerts) == len(catalog.alerts_for(service, slo))
    # Tiers sharing a severity differ in their windows, guardrail twins in their levels: no two alerts write
    # the same ALERTS series.
    keys = [(r["alert"], tuple(sorted(r["labels"].items()))) for r in alerts]
    assert len(set(keys)) == len(keys)
    for name in ("alerts/svc.rules.test.yml", "alerts/svc.rules.steady.test.yml"):
        tests = yaml.safe_load(files[name])
        assert tests["rule_files"] == ["svc.rules.yml"]
        for t in tests["tests"]:
            for check in t["promql_expr_test"]:
                assert int(check["eval_time"].removesuffix("m")) >= 0


# Specs drawn at random are generated once, then their promtool tests run on every tool set: the generated
# assertions must hold on Prometheus 2.x and 3.x alike. Few examples (each costs a promtool run per tool set
# and file), several SLOs each; SLOKIT_SPEC_EXAMPLES raises the count for a longer hunt.
SLO_DRAWS = st.builds(
    lambda sli, objective, window, guards, burn, min_events: (sli, objective, window, guards, burn, min_events),
    SLIS, OBJECTIVES, WINDOWS, GUARDS, st.booleans(), st.sampled_from([0, 10, 5000]))


@settings(max_examples=int(os.environ.get("SLOKIT_SPEC_EXAMPLES", "4")), deadline=None)
@given(draws=st.lists(SLO_DRAWS, min_size=1, max_size=3))
def test_any_specs_generated_tests_pass_on_every_tool_set(draws: list[tuple[Any, ...]]) -> None:
    slos = tuple(SLO(name=f"s{i}", objective=Fraction(objective) / 100, window=d(window), sli=sli, alerts=tuple(guards),
                     burn_rate=burn, min_events=min_events)
                 for i, (sli, objective, window, guards, burn, min_events) in enumerate(draws))
    service = make_service(*slos)
    files = emit_rules([service], Options())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for name, text in files.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text, encoding="utf-8")
        for ts in toolchain.toolsets():
            promtool = toolchain.installed_dir(ts)
            assert promtool is not None, f"tool set {ts.name} is not installed (make test installs it)"
            for name in ("alerts/svc.rules.test.yml", "alerts/svc.rules.steady.test.yml"):
                proc = subprocess.run([str(promtool / "promtool"), "test", "rules", str(out / name)],
                                      capture_output=True, text=True, timeout=600, check=False)
                assert proc.returncode == 0, f"{ts.name} {name}:\n{proc.stdout}{proc.stderr}"
