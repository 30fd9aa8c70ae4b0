"""End to end: ``slokit gate`` drives the example service through its five rollout stages, live.

The example service runs with the real Prometheus and Alertmanager (``slokit.stack``) and the spec of the
end-to-end test (tests/e2e/onboarding.yaml: 1s evaluation, guardrails over 10s) with the guide's five stages
shortened to seconds and the availability rollback trigger held for 4s. For every stage, as a pipeline
would: right after the flag is raised the gate says hold (too early); once the stage's duration has passed
it says promote. At 25 % an incident (20 % of requests fail) is injected: while the trigger has not held
for 4s the gate may only hold, then it must say roll back (exit 20), whereupon the kill switch (faults off)
is pulled; once the 10s windows are clean, stage 3 is run again and the rollout completes at 100 %.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from gate_helpers import GateRun, gate, with_stages
from slokit import stack
from slokit.stack import LocalStack, NotificationReceiver

ROOT = Path(__file__).resolve().parent.parent
E2E_SPEC = ROOT / "tests" / "e2e" / "onboarding.yaml"
STAGES = """
{percent: 0, duration: 10s, description: internal whitelist}
{percent: 5, duration: 10s}
{percent: 25, duration: 12s}
{percent: 50, duration: 10s}
{percent: 100}
"""
TRIGGER = "availability-error-ratio-above-5pct"
INCIDENT_STAGE = 3


class Rollout:
    def __init__(self, tmp: Path, resources: ExitStack) -> None:
        stack.binaries()
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        traffic = importlib.import_module("examples.onboarding.traffic")
        receiver = NotificationReceiver().start()
        resources.callback(receiver.stop)
        base = with_stages(tmp / "base.yaml", STAGES, source=E2E_SPEC)
        text = base.read_text().replace("{error_ratio_above: 5%, for: 0s,", "{error_ratio_above: 5%, for: 4s,")
        assert "for: 4s" in text
        base.write_text(text)
        self.spec = stack.local_routing_spec(base, tmp / "spec" / "onboarding.yaml", receiver, tmp / "secrets")
        out = tmp / "out"
        stack.generate([self.spec], out)
        am_config = tmp / "alertmanager.yml"
        am_config.write_text(stack.with_timings((out / "alerts" / "alertmanager.yml").read_text()))
        port = stack.free_port()
        self.app_url = f"http://{stack.HOST}:{port}"
        app = stack.start_process("onboarding app", [sys.executable, "-m", "examples.onboarding.app", "--port",
                                                     str(port), "--spec", str(self.spec)], tmp / "app.log", cwd=ROOT)
        resources.callback(app.stop)
        stack.wait_http_ok(app, f"{self.app_url}/health")
        self.stack = LocalStack(tmp, rule_files=stack.rule_files(out), alertmanager_config=am_config,
                                scrape={"onboarding": f"{stack.HOST}:{port}"})
        resources.callback(self.stack.close)
        self.stack.start()
        self.processes = [app, *self.stack.processes]
        self.traffic = traffic.Traffic(self.app_url, rate=40, workers=4)
        resources.callback(self.traffic.stop)

    def faults(self, **knobs: float) -> None:
        stack.send_json(f"{self.app_url}/admin/faults", knobs)

    def gate(self, stage: int, since: float) -> GateRun:
        return gate(self.spec, self.stack.prometheus_url, stage, "--since", f"{since:.3f}", "--json")


@pytest.fixture
def rollout(tmp_path: Path) -> Iterator[Rollout]:
    with ExitStack() as resources:
        running = Rollout(tmp_path, resources)
        yield running
    left = [f"{p.name} (pid {p.pid})" for p in running.processes if p.running()]
    assert not left, f"still running after the test: {left}"


def _until(rollout: Rollout, stage: int, since: float, want: int, allowed: set[int], timeout: float) -> GateRun:
    """Ask the gate until it answers ``want``; any answer outside ``allowed`` on the way fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        run = rollout.gate(stage, since)
        assert run.code in allowed | {want}, f"stage {stage}: exit {run.code}\n{run.out}{run.err}"
        if run.code == want:
            return run
        assert time.monotonic() < deadline, f"stage {stage}: no exit {want} within {timeout}s\n{run.out}{run.err}"
        time.sleep(0.5)


def _stage(rollout: Rollout, stage: int, duration: float) -> None:
    since = time.time()  # the flag goes to the stage's share now
    if duration:
        early = rollout.gate(stage, since)
        assert time.time() < since + duration, "the gate took longer than the stage: the check proves nothing"
        assert early.code == 10, early.out + early.err
        assert early.outcomes()["duration"] == "hold"
        time.sleep(max(0.0, since + duration - time.time()))
    done = _until(rollout, stage, since, 0, {10}, timeout=15)
    assert done.report["verdict"] == "promote" and set(done.outcomes().values()) == {"ok"}


def test_gate_drives_the_rollout_through_five_stages_and_rolls_back_an_incident(rollout: Rollout) -> None:
    rollout.traffic.start()
    time.sleep(4)  # a few scrapes, so every SLO has events
    durations = {1: 10.0, 2: 10.0, 3: 12.0, 4: 10.0, 5: 0.0}
    for stage in (1, 2):
        _stage(rollout, stage, durations[stage])

    since = time.time()
    rollout.faults(error_ratio=0.2)
    back = _until(rollout, INCIDENT_STAGE, since, 20, {10}, timeout=30)
    assert back.outcomes()[TRIGGER] == "rollback"
    assert back.report["percent"] == 25
    rollout.faults(error_ratio=0)  # the kill switch
    time.sleep(12)  # the guardrails' 10s windows no longer hold the incident

    for stage in (3, 4, 5):
        _stage(rollout, stage, durations[stage])
    rollout.traffic.stop()
    assert not rollout.traffic.failures(), rollout.traffic.failures()
