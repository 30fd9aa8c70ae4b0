"""The live stack's parts without the binaries: the example app, its fault knobs, the receiver, timings, errors."""

from __future__ import annotations

import importlib
import json
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from slokit import stack
from slokit.alertmanager.config import render
from slokit.check_common import run_tool
from slokit.spec.model import Service
from slokit.stack import LocalStack, NotificationReceiver, StackError

ROOT = Path(__file__).resolve().parent.parent


def _module(name: str) -> ModuleType:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(name)


faults_mod = _module("examples.onboarding.faults")
app_mod = _module("examples.onboarding.app")


REGISTRY = CollectorRegistry()


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- fault knobs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.0, 0.01, 0.1, 0.25, 1 / 3, 0.5, 0.9, 1.0])
def test_a_share_says_yes_exactly_that_often(share: float) -> None:
    s = faults_mod.Share(share)
    yes = sum(s.next() for _ in range(3000))
    assert abs(yes - share * 3000) <= 1


def test_knobs_are_checked_before_any_is_applied() -> None:
    f = faults_mod.Faults()
    with pytest.raises(ValueError, match="error_ratio must be between 0 and 1"):
        f.update({"conflict_ratio": 0.5, "error_ratio": 2})
    assert f.conflicts.value == 0
    with pytest.raises(ValueError, match="unknown knob"):
        f.update({"errors": 0.1})
    f = faults_mod.Faults.from_env({"ONBOARDING_ERROR_RATIO": "0.2", "ONBOARDING_LATENCY": "0.5"})
    assert f.as_dict()["error_ratio"] == 0.2 and f.latency == 0.5


# --- the example app -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_and_faults() -> tuple[TestClient, object]:
    faults = faults_mod.Faults()
    client = TestClient(app_mod.create_app(faults, registry=REGISTRY))
    client.get("/health")  # builds the middleware stack, so cache lookups count in REGISTRY from here on
    return client, faults


def test_optimistic_locking_answers_409_with_the_current_version(app_and_faults: tuple[TestClient, object]) -> None:
    client, _ = app_and_faults
    version = next(s["version"] for s in client.get("/api/onboarding").json()["steps"] if s["id"] == 2)
    ok = client.patch("/api/onboarding/steps/2", json={"version": version, "done": True})
    assert ok.status_code == 200 and ok.json()["version"] == version + 1 and ok.json()["done"] is True
    stale = client.patch("/api/onboarding/steps/2", json={"version": version, "done": False})
    assert stale.status_code == 409 and stale.json()["version"] == version + 1
    assert client.patch("/api/onboarding/steps/99", json={"version": 1, "done": True}).status_code == 404
    assert client.patch("/api/onboarding/steps/2", json={"done": True}).status_code == 400


def test_knobs_inject_errors_conflicts_and_cache_misses(app_and_faults: tuple[TestClient, object]) -> None:
    client, faults = app_and_faults
    route = {"http_route": "/api/onboarding", "http_request_method": "GET"}
    errors_before = _count("http_server_request_duration_seconds_count", http_response_status_code="500", **route)
    miss_before = _count("cache_lookups_total", cache="step-definitions", outcome="miss")
    hit_before = _count("cache_lookups_total", cache="step-definitions", outcome="hit")
    faults.update({"error_ratio": 0.25, "cache_miss_ratio": 0.5})  # type: ignore[attr-defined]
    try:
        statuses = [client.get("/api/onboarding").status_code for _ in range(40)]
    finally:
        faults.update({"error_ratio": 0, "cache_miss_ratio": 0})  # type: ignore[attr-defined]
    assert statuses.count(500) == 10
    assert _count("http_server_request_duration_seconds_count", http_response_status_code="500", **route) \
        - errors_before == 10
    # 30 answered reads looked up 4 step definitions each; half of the lookups found the entry evicted.
    misses = _count("cache_lookups_total", cache="step-definitions", outcome="miss") - miss_before
    hits = _count("cache_lookups_total", cache="step-definitions", outcome="hit") - hit_before
    assert (hits, misses) == (60, 60)


def test_fault_knobs_refuse_clients_off_loopback_and_are_not_measured(
    app_and_faults: tuple[TestClient, object],
) -> None:
    client, _ = app_and_faults
    before = _count("http_server_request_duration_seconds_count", http_route="/admin/faults",
                    http_request_method="GET", http_response_status_code="403")
    answer = client.get("/admin/faults")  # TestClient's peer is "testclient", not a loopback address
    assert answer.status_code == 403
    assert _count("http_server_request_duration_seconds_count", http_route="/admin/faults",
                  http_request_method="GET", http_response_status_code="403") == before == 0


# --- receiver, timings, errors -------------------------------------------------------------------------


def _post(url: str, body: object) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return int(resp.status)


def test_receiver_reads_pagerduty_and_slack_messages() -> None:
    receiver = NotificationReceiver().start()
    try:
        assert _post(receiver.pagerduty_url, {
            "routing_key": "k", "event_action": "resolve",
            "payload": {"custom_details": {"service": "s", "slo": "a", "severity": "page", "runbook_url": "R"}},
        }) == 202
        assert _post(receiver.slack_url, {"attachments": [{
            "title": "[FIRING:2] ticket: s / cache-hits SLOGoodRatioLow", "title_link": "T"}]}) == 200
        pd, slack = receiver.notifications()
    finally:
        receiver.stop()
    assert (pd.integration, pd.status, pd.service, pd.slo, pd.severity, pd.runbook_url) == (
        "pagerduty", "resolved", "s", "a", "page", "R")
    assert (slack.status, slack.service, slack.slo, slack.severity, slack.alertname, slack.runbook_url) == (
        "firing", "s", "cache-hits", "ticket", "SLOGoodRatioLow", "T")


def test_fast_timings_change_only_timings_and_amtool_accepts_the_result(onboarding: Service,
                                                                        tmp_path: Path) -> None:
    generated = render([onboarding])
    fast = stack.with_timings(generated)
    before, after = yaml.safe_load(generated), yaml.safe_load(fast)
    assert after["receivers"] == before["receivers"] and after["inhibit_rules"] == before["inhibit_rules"]
    ticket = next(r for r in after["route"]["routes"][0]["routes"] if r["matchers"] == ['severity="ticket"'])
    assert (ticket["group_wait"], ticket["group_interval"]) == ("5s", "2s")
    assert after["route"]["group_wait"] == "1s"
    path = tmp_path / "alertmanager.yml"
    path.write_text(fast)
    result = run_tool(["amtool", "check-config", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StackError, match=f"port {port} on 127.0.0.1 .*Prometheus.* already in use"):
            LocalStack(Path("/nonexistent"), rule_files=[], alertmanager_config=Path("x"), scrape={},
                       prometheus_port=port).start()
        with pytest.raises(StackError, match=f"port {port} .*already in use"):
            NotificationReceiver(port)


def test_a_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLOKIT_ALERTMANAGER", str(tmp_path / "no-such-alertmanager"))
    with pytest.raises(StackError, match=r"SLOKIT_ALERTMANAGER=.*no-such-alertmanager is not an executable file"):
        LocalStack(tmp_path, rule_files=[], alertmanager_config=tmp_path / "x", scrape={}).start()
    # No tool set installed and nothing on PATH: the message says how to install them.
    monkeypatch.delenv("SLOKIT_ALERTMANAGER")
    monkeypatch.delenv("SLOKIT_PROMETHEUS", raising=False)
    monkeypatch.delenv("SLOKIT_TOOLS", raising=False)
    monkeypatch.setenv("SLOKIT_TOOLS_DIR", str(tmp_path / "no-tools"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(StackError, match=r"prometheus not found .*install-tools\.sh"):
        LocalStack(tmp_path, rule_files=[], alertmanager_config=tmp_path / "x", scrape={}).start()
    assert not list(tmp_path.iterdir())  # nothing was started or written


def test_demo_refuses_a_port_in_use_before_starting_anything() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "examples.onboarding.demo", "--alertmanager-port", str(port),
                               "--duration", "60"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 (for Alertmanager) is already in use" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_stack_module_imports_on_its_own() -> None:
    proc = subprocess.run([sys.executable, "-c", "import slokit.stack"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


demo_mod = _module("examples.onboarding.demo")


def test_a_short_demo_stops_the_incident_early_enough_to_recover() -> None:
    assert demo_mod.phases(None, 30, 90) == (30, 90, None)
    baseline, incident, recovery = demo_mod.phases(150, 30, 90)
    assert baseline + incident + recovery == 150 and recovery >= 0.6 * 150 and incident > 0
    with pytest.raises(ValueError, match="at least"):
        demo_mod.phases(30, 30, 90)


def test_budget_left_is_bounded_by_the_demos_share_of_the_window(onboarding: Service) -> None:
    """A 20 % error ratio over 5 minutes of a 30d, 99.5 % SLO spends 20 % x (300 s / 30 d) / 0.5 % of the
    budget (about 2.3 %), not the -3900 % Prometheus reads when those minutes are all the data it has."""
    slo = onboarding.slo("availability")
    left = demo_mod.budget_left_if_healthy(0.2, 300, slo)
    assert left == pytest.approx(1 - 0.2 * 300 / (30 * 86400) / 0.005)
    assert 0.97 < left < 1
    assert demo_mod.budget_left_if_healthy(None, 300, slo) is None
    assert demo_mod.budget_left_if_healthy(0.0, 300, slo) == 1


def test_alert_lines_say_what_the_receiver_got_not_what_inhibition_suggests() -> None:
    """A ticket Alertmanager inhibits now, but that reached Slack before the page started, is shown with
    that delivery; a page's PagerDuty message is matched by the alert name its details carry."""
    ticket = {"alertname": "SLOErrorBudgetBurn", "service": "onboarding", "slo": "availability",
              "severity": "ticket", "long_window": "1d", "short_window": "2h"}
    page = {**ticket, "severity": "page", "long_window": "1h", "short_window": "5m"}
    prom = [{"labels": ticket, "state": "firing", "value": "0.2"}, {"labels": page, "state": "firing", "value": "0.2"}]
    am = [{"labels": ticket, "status": {"state": "suppressed", "inhibitedBy": ["x"]}},
          {"labels": page, "status": {"state": "active", "inhibitedBy": []}}]
    slack = stack.Notification("slack", "firing", "onboarding", "availability", "ticket", "SLOErrorBudgetBurn",
                               "R", 112.0, {})
    pd = stack.Notification("pagerduty", "firing", "onboarding", "availability", "page", "SLOErrorBudgetBurn", "R",
                            130.0, {})
    lines = demo_mod.alert_lines(prom, am, [slack, pd], started=100.0)
    (t_line,) = [x for x in lines if "1d/2h" in x]
    assert "Alertmanager: inhibited" in t_line and "received: slack firing at 12s" in t_line
    (p_line,) = [x for x in lines if "1h/5m" in x]
    assert "Alertmanager: active" in p_line and "received: pagerduty firing at 30s" in p_line
    assert "received: nothing yet" in demo_mod.alert_lines(prom, am, [], started=100.0)[0]
    other = {**page, "alertname": "SLOErrorRatioHigh"}
    (line,) = demo_mod.alert_lines([{"labels": other, "state": "pending", "value": "0.1"}], [], [pd], started=100.0)
    assert "pending, not sent; received: nothing yet" in line


def test_the_demo_ends_with_resolutions_and_prints_what_the_receiver_got() -> None:
    """The demo itself, with the fast spec and the shortest --duration: alerts fire during the incident
    and resolve, and their resolutions are delivered, all before the demo ends."""
    stack.binaries()
    ports = [str(stack.free_port()) for _ in range(4)]
    proc = subprocess.run([sys.executable, "-m", "examples.onboarding.demo", "--spec", str(ROOT / "tests" / "e2e" /
                           "onboarding.yaml"), "--duration", "60", "--every", "5", "--app-port", ports[0],
                           "--prometheus-port", ports[1], "--alertmanager-port", ports[2], "--receiver-port", ports[3]],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    summary = out[out.index("done: "):]
    assert " firing " in summary and " resolved " in summary, out
    assert "resolved in Prometheus within the demo: none" not in summary, out
    delivered = int(re.search(r"resolutions delivered: (\d+)", summary).group(1))  # type: ignore[union-attr]
    assert delivered >= 1, out
    assert "budget left*" in out
    for left in re.findall(r"^  \S+ +\S+% +\S+% +(-?\d+\.\d+)% ", out, flags=re.M):
        assert 0 <= float(left) <= 100, out
