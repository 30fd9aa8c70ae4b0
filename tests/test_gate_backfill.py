"""``slokit gate`` against a real Prometheus serving a backfilled TSDB.

Four hours of the example service's traffic are written as OpenMetrics, turned into blocks by
``promtool tsdb create-blocks-from openmetrics`` and served by the real Prometheus of each tool set. The
timeline (minutes from its start): healthy until 120, then 20 minutes of 20 % 5xx (the availability
rollback trigger, 5 % for 10m, holds), healthy again, 2 % 5xx from 180 to 210 (four times the 0.5 % budget,
below the trigger), healthy to the end. ``--at`` replays a stage at a past time, so every verdict is
exact: promote, hold (too early, burning, a breach shorter than its ``for``, no data, no ``--since``),
roll back, and Prometheus unreachable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate_helpers import GateRun, backfilled_prometheus, gate, with_stages
from rollout_traffic import Mix
from slokit import stack, toolchain

TIMELINE = [(120, Mix()), (20, Mix(errors=0.2)), (40, Mix()), (30, Mix(errors=0.02)), (30, Mix())]
STAGES = """
{percent: 0, duration: 30m, description: internal whitelist}
{percent: 5, duration: 1h}
{percent: 25, duration: 1h}
{percent: 50, duration: 1h}
{percent: 100}
"""


class Backfilled:
    def __init__(self, url: str, spec: Path, start: float) -> None:
        self.url, self.spec, self.start = url, spec, start

    def gate(self, stage: int, since_min: float | None, at_min: float, *extra: str) -> GateRun:
        args = ["--at", f"{self.start + at_min * 60:.0f}", "--json", *extra]
        if since_min is not None:
            args += ["--since", f"{self.start + since_min * 60:.0f}"]
        return gate(self.spec, self.url, stage, *args)


@pytest.fixture(scope="module", params=[ts.name for ts in toolchain.toolsets()])
def prometheus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    tmp = tmp_path_factory.mktemp(f"backfill-{request.param}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLOKIT_TOOLS", request.param)
        spec = with_stages(tmp / "onboarding.yaml", STAGES)
        start = (time.time() // 60) * 60 - 5 * 3600  # ends an hour ago, well inside the retention
        with backfilled_prometheus(tmp, spec, TIMELINE, start) as url:
            yield Backfilled(url, spec, start)


def test_promote_after_the_stage_duration_on_healthy_traffic(prometheus: Backfilled) -> None:
    run = prometheus.gate(2, 10, 80)
    assert run.code == 0, run.out + run.err
    assert run.report["verdict"] == "promote"
    assert set(run.outcomes().values()) == {"ok"}
    assert {c["kind"] for c in run.report["checks"]} == {"time", "trigger", "burn"}


def test_hold_while_too_early(prometheus: Backfilled) -> None:
    run = prometheus.gate(2, 10, 40)
    assert run.code == 10, run.out + run.err
    assert run.outcomes()["duration"] == "hold"
    assert [o for n, o in run.outcomes().items() if n != "duration"] == ["ok"] * (len(run.outcomes()) - 1)


def test_roll_back_when_a_trigger_held_for_its_for(prometheus: Backfilled) -> None:
    run = prometheus.gate(3, 105, 150)  # too early as well: roll back wins
    assert run.code == 20, run.out + run.err
    outcomes = run.outcomes()
    assert outcomes["availability-error-ratio-above-5pct"] == "rollback"
    assert outcomes["latency-p95-above-1s"] == "ok"
    assert outcomes["duration"] == "hold"


def test_hold_on_a_breach_shorter_than_its_for(prometheus: Backfilled) -> None:
    run = prometheus.gate(3, 105, 126)  # the 5m ratio crossed 5 % a few minutes ago
    assert run.code == 10, run.out + run.err
    assert run.outcomes()["availability-error-ratio-above-5pct"] == "hold"


def test_hold_while_burning_under_the_triggers(prometheus: Backfilled) -> None:
    run = prometheus.gate(3, 175, 238)
    assert run.code == 10, run.out + run.err
    outcomes = run.outcomes()
    assert outcomes["duration"] == "ok"
    assert outcomes["availability-error-ratio-above-5pct"] == "ok"
    assert outcomes["availability"] == "hold"
    burn = next(c for c in run.report["checks"] if c["kind"] == "burn" and c["name"] == "availability")
    # 30 of the stage's 63 minutes at 2 % 5xx, the rest at 0.1 %, of the unscoped requests, which are 10/11
    # of all (the conflicts SLO's step updates are the rest): about 0.9 %, nearly twice the 0.5 % budget
    assert burn["value"] == pytest.approx((30 * 0.02 + 33 * 0.001) / 63 / 1.1 / 0.005, rel=0.05)


def test_no_data_is_hold_never_promote(prometheus: Backfilled) -> None:
    run = prometheus.gate(2, -180, -60)
    assert run.code == 10, run.out + run.err
    burns = [c for c in run.report["checks"] if c["kind"] == "burn"]
    assert burns and all(c["outcome"] == "hold" and "no data" in c["detail"] for c in burns)


def test_without_since_the_gate_never_promotes(prometheus: Backfilled) -> None:
    run = prometheus.gate(2, None, 80)
    assert run.code == 10, run.out + run.err
    assert run.outcomes()["duration"] == "hold"


def test_text_output_has_one_line_per_condition_and_a_verdict(prometheus: Backfilled) -> None:
    run = gate(prometheus.spec, prometheus.url, 3, "--since", f"{prometheus.start + 105 * 60:.0f}",
               "--at", f"{prometheus.start + 150 * 60:.0f}", child=True)
    assert run.code == 20
    lines = run.out.strip().splitlines()
    assert lines[0].startswith("onboarding stage 3 (25%), since ")
    assert lines[-1] == "verdict: rollback (exit 20)"
    assert len(lines) == 2 + 1 + 2 + 4  # header, time, two triggers, four SLOs, verdict
    assert any(line.split()[0] == "ROLLBACK" and "availability" in line for line in lines)


def test_unreachable_prometheus_is_exit_3(tmp_path: Path) -> None:
    spec = with_stages(tmp_path / "onboarding.yaml", STAGES)
    run = gate(spec, f"http://{stack.HOST}:{stack.free_port()}", 2, "--since", "2h", child=True)
    assert run.code == 3, run.out + run.err
    assert run.out == ""
    assert "cannot get an answer from Prometheus" in run.err and "connection refused" in run.err
    assert "Traceback" not in run.err
