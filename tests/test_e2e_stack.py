"""End to end: the example service, the real Prometheus and Alertmanager, the artifacts of `slokit generate`.

One run of about a minute (the processes are started once): faults are on from the first request (10 %
errors, 50 % conflicts on step updates, 50 % cache misses), so the 5m recorded SLI of each SLO covers fault
traffic only and must equal the share the generator saw. Then the faults stop, every alert must resolve
and its resolution reach the receiver, and at last every request the generator sent must be in
Prometheus, exactly, per method, route and status.

While the page fires, the availability ticket must be held in Alertmanager (suppressed, inhibited by the
page) and absent from Slack. Once the faults stop, the 10s error ratio falls through the band between the
ticket's 1 % and the page's 5 %: the page resolves first and the ticket may then legitimately reach Slack
for a few seconds, so nothing is asserted about it after that point.

The spec is tests/e2e/onboarding.yaml (guardrail alerts with `for: 0s` over 10s, 1s evaluation) with its
routing pointed at a local receiver; Alertmanager's generated timings are shortened to seconds
(`slokit.stack.with_timings`), nothing else in its config changes.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest

from slokit import catalog, links, stack, toolchain
from slokit.prometheus_client import PrometheusClient, PrometheusError
from slokit.report.collect import collect
from slokit.report.period import resolve
from slokit.spec import load_or_raise
from slokit.stack import LocalStack, Notification, NotificationReceiver, StackError

ROOT = Path(__file__).resolve().parent.parent
E2E_SPEC = ROOT / "tests" / "e2e" / "onboarding.yaml"
ERROR_RATIO, CONFLICT_RATIO, MISS_RATIO = 0.10, 0.50, 0.50
RATE = 40.0
#: Absolute tolerance between a recorded SLI and the generator's own count: rate() extrapolation at the
#: edges of a series that began inside the window shifts a ratio by about half a scrape's worth of events.
SLI_TOLERANCE = 0.02
#: How long each awaited event may take (alerts fire in about 5 s and resolve in about 12 s).
WAIT = 45.0

T = TypeVar("T")


def _examples() -> tuple[ModuleType, ModuleType]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("examples.onboarding.faults"), importlib.import_module("examples.onboarding.traffic")


def wait_for(what: str, probe: Callable[[], T | None], explain: Callable[[], str], timeout: float = WAIT) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None and found is not False:
            return found
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{explain()}")


class Live:
    """The running pieces of one end-to-end run."""

    def __init__(self, tmp: Path, resources: ExitStack) -> None:
        stack.binaries()  # before anything starts: a missing binary fails at once
        faults, traffic = _examples()
        self.receiver = NotificationReceiver().start()
        resources.callback(self.receiver.stop)
        spec = stack.local_routing_spec(E2E_SPEC, tmp / "spec" / "onboarding.yaml", self.receiver, tmp / "secrets")
        out = tmp / "out"
        stack.generate([spec], out)
        am_config = tmp / "alertmanager.yml"
        am_config.write_text(stack.with_timings((out / "alerts" / "alertmanager.yml").read_text()))
        app_port = stack.free_port()
        self.app_url = f"http://127.0.0.1:{app_port}"
        self.app = stack.start_process(
            "onboarding app", [sys.executable, "-m", "examples.onboarding.app", "--port", str(app_port),
                               "--spec", str(spec)], tmp / "app.log", cwd=ROOT)
        resources.callback(self.app.stop)
        stack.wait_http_ok(self.app, f"{self.app_url}/health")
        self.stack = LocalStack(tmp, rule_files=stack.rule_files(out), alertmanager_config=am_config,
                                scrape={"onboarding": f"127.0.0.1:{app_port}"})
        resources.callback(self.stack.close)
        self.stack.start()
        self.prom, self.am = self.stack.prometheus, self.stack.alertmanager
        self.faults_module = faults
        self.traffic = traffic.Traffic(self.app_url, rate=RATE, workers=4)
        resources.callback(self.traffic.stop)

    def processes(self) -> list[stack.Process]:
        return [self.app, *self.stack.processes]

    def set_faults(self, **knobs: float) -> None:
        stack.send_json(f"{self.app_url}/admin/faults", knobs)

    def notes(self, integration: str, slo: str, status: str) -> list[Notification]:
        return [n for n in self.receiver.notifications()
                if n.integration == integration and n.slo == slo and n.status == status]

    def explain(self) -> str:
        try:
            alerts = [(a["labels"].get("alertname"), a["labels"].get("slo"), a["labels"].get("severity"), a["state"])
                      for a in self.prom.alerts()]
        except (OSError, StackError, PrometheusError) as exc:
            alerts = [("Prometheus unreachable", str(exc), "", "")]
        got = "\n".join(f"  {n.describe()}" for n in self.receiver.notifications()) or "  (none)"
        return (f"Prometheus alerts: {alerts}\nnotifications received:\n{got}\n"
                f"traffic: {dict(self.traffic.counts())} failures {dict(self.traffic.failures())}")

    def recorded(self, name: str, slo: str) -> float | None:
        return self.prom.value(f'{name}{{service="onboarding", slo="{slo}"}}')


@pytest.fixture
def live(tmp_path: Path, toolset: toolchain.ToolSet) -> Iterator[Live]:
    with ExitStack() as resources:
        try:
            running = Live(tmp_path, resources)
        except StackError as exc:
            problem = str(exc)
        else:
            problem = ""
        if problem:
            pytest.fail(f"the live stack could not start: {problem}", pytrace=False)
        yield running
    left = [f"{p.name} (pid {p.pid})" for p in running.processes() if p.running()]
    assert not left, f"still running after the test: {left}"


def expected_alert(slo_name: str, severity: str) -> tuple[str, str]:
    """The alert name and runbook link the catalogue gives the SLO's (single) alert of ``severity``."""
    (service,) = load_or_raise([E2E_SPEC])
    slo = service.slo(slo_name)
    (alert,) = [a for a in catalog.alerts_for(service, slo) if a.severity == severity]
    return alert.name, links.runbook_url(service, slo, alert.anchor)


def _labels(alert: dict[str, Any]) -> dict[str, str]:
    return dict(alert["labels"])


def test_faults_fire_route_inhibit_record_and_resolve(live: Live) -> None:
    live.set_faults(error_ratio=ERROR_RATIO, conflict_ratio=CONFLICT_RATIO, cache_miss_ratio=MISS_RATIO)
    live.traffic.start()

    # 5xx burst -> the availability page on PagerDuty, with its labels and runbook link.
    page = wait_for("the availability page on the PagerDuty receiver",
                    lambda: next(iter(live.notes("pagerduty", "availability", "firing")), None), live.explain)
    assert (page.service, page.slo, page.severity) == ("onboarding", "availability", "page")
    assert page.runbook_url == expected_alert("availability", "page")[1]
    assert page.runbook_url.startswith("https://runbooks.example.com/onboarding/availability.md#")
    assert page.body["routing_key"] == "local-receiver-fake-routing-key"

    # 409 burst and cache-miss burst -> tickets on Slack.
    for slo in ("conflicts", "cache-hits"):
        ticket = wait_for(f"the {slo} ticket on the Slack receiver",
                          lambda slo=slo: next(iter(live.notes("slack", slo, "firing")), None), live.explain)
        name, runbook = expected_alert(slo, "ticket")
        assert (ticket.service, ticket.severity, ticket.alertname) == ("onboarding", "ticket", name)
        assert ticket.runbook_url == runbook

    # The availability ticket fired with the page and is held back by the inhibition rule.
    def inhibited_ticket() -> dict[str, Any] | None:
        for alert in live.am.alerts():
            labels = _labels(alert)
            if (labels.get("slo"), labels.get("severity")) == ("availability", "ticket"):
                return alert
        return None

    ticket = wait_for("the availability ticket in Alertmanager", inhibited_ticket, live.explain)
    page_alerts = [a for a in live.am.alerts() if (_labels(a).get("slo"), _labels(a).get("severity"))
                   == ("availability", "page")]
    assert page_alerts and page_alerts[0]["status"]["state"] == "active", live.explain()
    assert ticket["status"]["state"] == "suppressed", ticket
    assert ticket["status"]["inhibitedBy"] == [page_alerts[0]["fingerprint"]], ticket
    time.sleep(6)  # longer than the ticket route's group_wait: an uninhibited ticket would have been sent
    assert not [n for n in live.receiver.notifications() if n.slo == "availability" and n.integration == "slack"], (
        live.explain())

    # Recorded SLIs equal the shares the generator saw (faults were on from the first request).
    counts = live.traffic.counts()
    total = sum(counts.values())
    errors = sum(n for (_, _, status), n in counts.items() if status >= 500)
    patches = sum(n for (method, _, _), n in counts.items() if method == "PATCH")
    conflicts = sum(n for (method, _, status), n in counts.items() if method == "PATCH" and status == 409)
    assert errors / total == pytest.approx(ERROR_RATIO, abs=0.01)  # the knob is applied exactly
    expected = {"availability": errors / total, "conflicts": conflicts / patches, "cache-hits": MISS_RATIO,
                "latency": 0.0}
    for slo, want in expected.items():
        got = live.recorded("slo:sli_error:ratio_rate5m", slo)
        assert got is not None and got == pytest.approx(want, abs=SLI_TOLERANCE), (
            f"{slo}: recorded 5m error ratio {got}, the generator saw {want:.4f}")
    # The demo's status line reads the same recorded series: SLI over the SLO window, budget left, burn rate.
    (service,) = load_or_raise([E2E_SPEC])
    status = {s.slo: s for s in stack.slo_status(live.prom, service)}
    availability = status["availability"]
    assert availability.sli == pytest.approx(1 - expected["availability"], abs=SLI_TOLERANCE), availability
    assert availability.burn_rate == pytest.approx(expected["availability"] / 0.005, rel=0.2), availability
    assert availability.budget_remaining is not None and availability.budget_remaining < 0, (
        "10 % errors against a 0.5 % budget overspend it")
    assert status["latency"].sli == pytest.approx(1.0, abs=SLI_TOLERANCE), status["latency"]
    # `slokit report` reads the same Prometheus: the day's SLI per SLO is the generator's share, from the
    # recorded series, and the page that fired is listed.
    now = datetime.now(UTC)
    with PrometheusClient(live.stack.prometheus_url) as client:
        report = {s.slo: s for s in collect(client, [service], resolve("1d", now, now), now).slos}
    for slo, want in expected.items():
        assert report[slo].source == "recorded", report[slo]
        assert report[slo].period_sli == pytest.approx(1 - want, abs=SLI_TOLERANCE), report[slo]
    assert report["availability"].verdict == "breached"
    assert {(a.alertname, a.severity) for a in report["availability"].alerts} >= {
        (expected_alert("availability", "page")[0], "page")}, report["availability"].alerts

    # Faults stop: every alert resolves and the resolutions are delivered.
    live.set_faults(error_ratio=0, conflict_ratio=0, cache_miss_ratio=0)
    wait_for("the availability page's resolution on PagerDuty",
             lambda: live.notes("pagerduty", "availability", "resolved") or None, live.explain)
    for slo in ("conflicts", "cache-hits"):
        wait_for(f"the {slo} ticket's resolution on Slack",
                 lambda slo=slo: live.notes("slack", slo, "resolved") or None, live.explain)
    wait_for("no alert left firing in Prometheus",
             lambda: not any(a["state"] == "firing" for a in live.prom.alerts()), live.explain)

    # Nothing lost: every answered request is in Prometheus, exactly, per method, route and status.
    live.traffic.stop()
    assert not live.traffic.failures(), live.traffic.failures()
    sent = live.traffic.counts()
    query = ("sum by (http_request_method, http_route, http_response_status_code) "
             '(http_server_request_duration_seconds_count{job="onboarding"})')

    def scraped() -> Counter[tuple[str, str, int]]:
        return Counter({(s.labels["http_request_method"], s.labels["http_route"],
                         int(s.labels["http_response_status_code"])): int(s.value) for s in live.prom.query(query)})

    wait_for("Prometheus to scrape the last requests", lambda: scraped() == sent or None,
             lambda: f"sent {dict(sent)}\nin Prometheus {dict(scraped())}", timeout=10)
    by_status: Counter[int] = Counter()
    for (_, _, status), n in scraped().items():
        by_status[status] += n
    assert by_status == live.traffic.by_status()
    assert set(by_status) == {200, 409, 500}
