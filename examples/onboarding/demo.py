"""``make demo``: the onboarding service, Prometheus and Alertmanager live on 127.0.0.1, then an incident.

What it does, in order:

1. Copies the spec (default ``slo/onboarding.yaml``) into a temporary folder with its routing pointed at a
   local receiver that stands in for PagerDuty and Slack (fake routing key, webhook URL in a temporary
   ``api_url_file``) and ``evaluation_interval: 5s``, and runs the real ``slokit generate`` on it. The
   generated Alertmanager timings are shortened to seconds; nothing else is changed.
2. Starts the example service, Alertmanager, Prometheus (1s scrapes) and the traffic generator, each on a
   port checked free first.
3. Prints the live status of every SLO from Prometheus' HTTP API (SLI over the SLO window, error budget
   left, burn rate), injects an incident (errors, slow requests, conflicts, cache misses), and prints every
   alert's state in Prometheus and in Alertmanager's API and what the receiver recorded for its group
   (never a guess), each resolution, and each notification the receiver gets with its runbook link.
4. Clears the faults (with ``--duration``, with 60 % of it left) and keeps running until ``--duration`` is
   over or Ctrl-C, prints what was received and resolved, then stops every process it started, by pid,
   and removes its temporary folder.

With ``slo/onboarding.yaml`` the burn-rate alerts fire within a minute of the incident (they have no
``for``) while the guardrails (``for: 5m`` and more) stay pending. ``--spec tests/e2e/onboarding.yaml``
uses guardrails with ``for: 0s`` over 10s, which fire and resolve within seconds.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

from examples.onboarding.traffic import Traffic
from slokit import stack
from slokit.prometheus_client import PrometheusError
from slokit.spec import SpecError, load_or_raise
from slokit.spec.model import SLO
from slokit.stack import LocalStack, Notification, NotificationReceiver, StackError

ROOT = Path(__file__).resolve().parents[2]
INCIDENT: dict[str, float] = {"error_ratio": 0.2, "slow_ratio": 0.35, "latency": 0.4, "conflict_ratio": 0.5,
                              "cache_miss_ratio": 0.7}
HEALTHY: dict[str, float] = dict.fromkeys(INCIDENT, 0.0)


#: Shortest ``--duration``: a baseline, an incident and a recovery of a few evaluations each.
MIN_DURATION = 60.0
#: With ``--duration``, the shares of it the baseline and the incident get at most; the rest is recovery,
#: so that alerts have time to resolve (and their resolutions to be delivered) before the end.
BASELINE_SHARE, INCIDENT_SHARE = 0.15, 0.25


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def phases(duration: float | None, baseline: float, incident: float) -> tuple[float, float, float | None]:
    """``(baseline, incident, recovery)`` seconds; recovery None runs until Ctrl-C.

    Within a ``duration`` the incident stops with at least 60 % of it left, so the fast alerts resolve
    and their resolutions arrive before the demo ends.
    """
    if duration is None:
        return baseline, incident, None
    if duration < MIN_DURATION:
        raise ValueError(f"--duration must be at least {MIN_DURATION:g}s (baseline, incident and recovery)")
    base, inc = min(baseline, duration * BASELINE_SHARE), min(incident, duration * INCIDENT_SHARE)
    return base, inc, duration - base - inc


def budget_left_if_healthy(window_ratio: float | None, history_s: float, slo: SLO) -> float | None:
    """Error budget left over the whole SLO window if the part the stack has not seen was healthy.

    The stack starts empty, so Prometheus' SLO-window ratio covers only the demo's minutes, and its
    ``slo:error_budget_remaining:ratio`` reads as if those minutes were the whole 30 days (-2455 % after
    an incident). Scaling the bad share by the history's part of the window gives what the incident
    really spent: bounded by 1 - history / (window x budget), a few percent for a few minutes.
    """
    if window_ratio is None:
        return None
    spent = window_ratio * min(1.0, history_s * 1000 / slo.window.ms) / float(slo.error_budget)
    return 1 - spent


def _key(labels: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _group(labels: Mapping[str, Any]) -> tuple[Any, ...]:
    """What Alertmanager groups notifications by (``alertname, service, slo``) plus the severity."""
    return tuple(labels.get(k) for k in ("alertname", "service", "slo", "severity"))


def _delivered(n: Notification) -> tuple[Any, ...]:
    """The group key of a notification (Slack's title and PagerDuty's details name all four)."""
    return (n.alertname, n.service, n.slo, n.severity)


def alert_lines(prometheus: Sequence[Mapping[str, Any]], alertmanager: Sequence[Mapping[str, Any]],
                notifications: Sequence[Notification], started: float) -> list[str]:
    """One line per alert: its state in Prometheus, in Alertmanager (active, or suppressed and by what),
    and what the receiver actually got for its group, read from the receiver's record, never inferred.
    ``started`` is the demo's start on the receiver's clock (``time.time()``)."""
    held = {_key(a["labels"]): a["status"] for a in alertmanager}
    lines = []
    for alert in sorted(prometheus, key=lambda x: (x["state"], _key(x["labels"]))):
        labels = alert["labels"]
        windows = f" {labels['long_window']}/{labels['short_window']}" if "long_window" in labels else ""
        status = held.get(_key(labels))
        if status is None:
            am = "not in Alertmanager yet" if alert["state"] == "firing" else "pending, not sent"
        elif status.get("inhibitedBy"):
            am = "Alertmanager: inhibited (a page of this SLO fires)"
        else:
            am = f"Alertmanager: {status.get('state', '?')}"
        got = [n for n in notifications if _delivered(n) == _group(labels)]
        sent = ", ".join(f"{n.integration} {n.status} at {n.received_at - started:.0f}s" for n in got[-2:])
        lines.append(f"  ALERT {labels.get('alertname')}{windows} {labels.get('severity')} {labels.get('slo')}: "
                     f"{alert['state']} (value {float(alert['value']):.4g}); {am}; "
                     f"received: {sent or 'nothing yet'}")
    return lines


class Demo:
    def __init__(self, args: argparse.Namespace, echo: Callable[[str], None] = print) -> None:
        self.args = args
        self.echo = echo
        self.seen_notifications = 0
        self.started = time.monotonic()
        self.started_wall = time.time()  # the receiver stamps notifications with time.time()
        self.history_started = self.started
        #: Alerts seen firing, by labels, so that their resolution in Prometheus is printed once.
        self.firing: dict[tuple[tuple[str, str], ...], Mapping[str, Any]] = {}
        self.resolved: list[str] = []

    def elapsed(self) -> str:
        return f"[{time.monotonic() - self.started:5.0f}s]"

    def run(self, resources: ExitStack) -> None:
        a = self.args
        stack.binaries()
        for port, what in ((a.app_port, "the onboarding service"), (a.prometheus_port, "Prometheus"),
                           (a.alertmanager_port, "Alertmanager"), (a.receiver_port, "the notification receiver")):
            stack.ensure_port_free(port, what)
        work = Path(tempfile.mkdtemp(prefix="slokit-demo-"))
        if not a.keep:
            resources.callback(shutil.rmtree, work, True)

        self.receiver = NotificationReceiver(a.receiver_port).start()
        resources.callback(self.receiver.stop)
        spec = stack.local_routing_spec(a.spec, work / "spec" / a.spec.name, self.receiver, work / "secrets",
                                        evaluation_interval=a.evaluation_interval)
        (self.service,) = load_or_raise([spec])
        out = work / "out"
        stack.generate([spec], out)
        am_config = work / "alertmanager.yml"
        am_config.write_text(stack.with_timings((out / "alerts" / "alertmanager.yml").read_text()))
        self.echo(f"generated rules, routing, dashboards and runbooks from {a.spec} into {out}")

        app_url = f"http://127.0.0.1:{a.app_port}"
        app = stack.start_process("onboarding service", [
            sys.executable, "-m", "examples.onboarding.app", "--port", str(a.app_port), "--spec", str(spec),
        ], work / "app.log", cwd=ROOT)
        resources.callback(app.stop)
        stack.wait_http_ok(app, f"{app_url}/health")
        local = LocalStack(work, rule_files=stack.rule_files(out), alertmanager_config=am_config,
                           scrape={self.service.selector.get("job", self.service.name): f"127.0.0.1:{a.app_port}"},
                           prometheus_port=a.prometheus_port, alertmanager_port=a.alertmanager_port,
                           evaluation_interval=a.evaluation_interval)
        resources.callback(local.close)
        local.start()
        self.prom, self.am = local.prometheus, local.alertmanager
        traffic = Traffic(app_url, rate=a.rate, workers=4)
        resources.callback(traffic.stop)
        traffic.start()

        self.echo(f"service       {app_url}   (pid {app.pid}; fault knobs: {app_url}/admin/faults)")
        for proc, url in zip(local.processes, (local.alertmanager_url, local.prometheus_url), strict=True):
            self.echo(f"{proc.name:<13} {url}   (pid {proc.pid})")
        self.echo(f"receiver      {self.receiver.url}   (PagerDuty: /pagerduty, Slack: /slack)")
        self.echo(f"traffic       {a.rate:g} requests/s; logs and data in {work}")
        self.echo("Ctrl-C stops everything." + (f" Ends by itself after {a.duration:g}s." if a.duration else ""))
        self.echo("The stack starts empty: every window holds only the demo's traffic, so the SLO-window figures "
                  "are scaled to the whole window (budget left*), and slow tiers stay firing long after the faults.")

        self.history_started = time.monotonic()
        baseline, incident, _ = phases(a.duration, a.baseline, a.incident)
        self.phase("baseline: healthy traffic", baseline)
        self.echo(f"\n{self.elapsed()} INCIDENT: injecting faults {INCIDENT} for {incident:.0f}s")
        stack.send_json(f"{app_url}/admin/faults", INCIDENT)
        self.phase("incident", incident)
        self.echo(f"\n{self.elapsed()} RECOVERY: faults cleared; an alert resolves once its short window "
                  "holds few enough bad events (the 1h/5m page first; slower tiers take longer)")
        stack.send_json(f"{app_url}/admin/faults", HEALTHY)
        remaining = None if a.duration is None else max(0.0, a.duration - (time.monotonic() - self.started))
        self.phase("recovery", remaining)
        self.summary(traffic)

    def phase(self, name: str, seconds: float | None) -> None:
        """Print status every ``--every`` seconds for ``seconds`` (None: until Ctrl-C), bounded by --duration."""
        end = None if seconds is None else time.monotonic() + seconds
        if self.args.duration is not None:
            hard = self.started + self.args.duration
            end = hard if end is None else min(end, hard)
        while end is None or time.monotonic() < end:
            time.sleep(min(self.args.every, max(0.0, (end or float("inf")) - time.monotonic())))
            self.report(name)

    def report(self, phase: str) -> None:
        self.echo(f"\n{self.elapsed()} {phase}")
        history = time.monotonic() - self.history_started
        self.echo(f"  {'SLO':<14} {'objective':>9} {'SLI':>9} {'budget left*':>13} {'burn rate':>10}")
        for s in stack.slo_status(self.prom, self.service):
            slo = self.service.slo(s.slo)
            left = budget_left_if_healthy(None if s.sli is None else 1 - s.sli, history, slo)
            self.echo(f"  {s.slo:<14} {_pct(s.objective):>9} {_pct(s.sli):>9} {_pct(left):>13} "
                      f"{_rate(s.burn_rate):>10}")
        self.echo(f"  * of the whole SLO window, counting the part before the demo's {history:.0f}s as healthy "
                  "(Prometheus' own figure treats those seconds as the whole window)")
        notes = self.receiver.notifications()
        alerts = self.prom.alerts()
        for line in alert_lines(alerts, self.am.alerts(), notes, self.started_wall):
            self.echo(line)
        now_firing = {_key(a["labels"]): a["labels"] for a in alerts if a["state"] == "firing"}
        for key, labels in self.firing.items():
            if key not in now_firing:
                windows = f" {labels['long_window']}/{labels['short_window']}" if "long_window" in labels else ""
                line = f"{labels.get('alertname')}{windows} {labels.get('severity')} {labels.get('slo')}"
                self.resolved.append(f"{line} at {time.monotonic() - self.started:.0f}s")
                self.echo(f"  RESOLVED in Prometheus: {line}")
        self.firing = now_firing
        for n in notes[self.seen_notifications:]:
            self.echo(f"  -> {n.integration} received {n.status.upper()}: {n.severity} {n.service}/{n.slo}"
                      f"{' ' + n.alertname if n.alertname else ''}  runbook: {n.runbook_url}")
        self.seen_notifications = len(notes)

    def summary(self, traffic: Traffic) -> None:
        notes = self.receiver.notifications()
        self.echo(f"\n{self.elapsed()} done: {traffic.total()} requests sent, {len(notes)} notifications "
                  "received (as the receiver recorded them):")
        for n in notes:
            self.echo(f"  {n.received_at - self.started_wall:5.0f}s {n.describe()}")
        delivered = sum(1 for n in notes if n.status == "resolved")
        still = [a for a in self.prom.alerts() if a["state"] == "firing"]
        self.echo(f"  resolved in Prometheus within the demo: {', '.join(self.resolved) or 'none'}")
        self.echo(f"  resolutions delivered: {delivered}; alerts still firing at the end: {len(still)}" + (
            " (a tier whose short window still holds the incident; Alertmanager sends a group's resolution "
            "once all of its alerts resolved)" if still else ""))


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run the onboarding service with Prometheus and Alertmanager on "
                                            "127.0.0.1 and inject an incident.")
    p.add_argument("--spec", type=Path, default=ROOT / "slo" / "onboarding.yaml")
    p.add_argument("--app-port", type=int, default=8000)
    p.add_argument("--prometheus-port", type=int, default=9090)
    p.add_argument("--alertmanager-port", type=int, default=9093)
    p.add_argument("--receiver-port", type=int, default=9099)
    p.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    p.add_argument("--baseline", type=float, default=30.0, help="seconds of healthy traffic first (default 30)")
    p.add_argument("--incident", type=float, default=90.0, help="seconds the faults last (default 90)")
    p.add_argument("--duration", type=float, default=None,
                   help=f"stop after this many seconds in all, at least {MIN_DURATION:g} (default: run until "
                        f"Ctrl-C); the baseline and the incident then get at most {BASELINE_SHARE:.0%} and "
                        f"{INCIDENT_SHARE:.0%} of it, the rest is recovery")
    p.add_argument("--every", type=float, default=10.0, help="seconds between status reports (default 10)")
    p.add_argument("--evaluation-interval", default="5s", help="rule evaluation interval (default 5s)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, generated files)")
    args = p.parse_args(argv)
    try:
        phases(args.duration, args.baseline, args.incident)
    except ValueError as exc:
        p.error(str(exc))
    # Ctrl-C raises KeyboardInterrupt even when started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    demo = Demo(args)
    resources = ExitStack()
    code = 0
    try:
        demo.run(resources)
    except KeyboardInterrupt:
        print("\nstopping everything ...", file=sys.stderr)
    except (StackError, SpecError, OSError, PrometheusError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        code = 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        resources.close()
    print("stopped every process the demo started.", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
