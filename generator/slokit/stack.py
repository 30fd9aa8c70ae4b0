"""A local Prometheus and Alertmanager running slokit's generated artifacts, for the demo and end-to-end tests.

Everything binds to 127.0.0.1 and each process gets its own temporary data directory. Processes are
stopped by their pid (terminate, wait, kill after a timeout) when the stack closes, also on errors and
Ctrl-C; they run in their own session so that a terminal's Ctrl-C reaches only the caller, which then
stops them in order. A :class:`NotificationReceiver` stands in for PagerDuty and Slack: the spec's
routing is rewritten to point at it (PagerDuty's ``url``, the Slack webhook URL inside ``api_url_file``)
and it records every notification Alertmanager sends.

The generated Alertmanager timings (tickets wait 5 minutes, groups flush every 5-30 minutes) suit
production; :func:`with_timings` replaces only those values so that notifications arrive in seconds.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from slokit import promql, toolchain
from slokit.alertmanager.config import Timing
from slokit.prometheus_client import PrometheusClient
from slokit.spec.model import Service
from slokit.transport import RetryPolicy, Timeouts

HOST = "127.0.0.1"

#: Alertmanager timings for a local stack: pages flush after 1s, tickets after 5s so that a page crossing
#: its line a few evaluations after the ticket still inhibits it first; resolutions within 2s.
FAST_TIMINGS: Mapping[str | None, Timing] = {
    None: Timing("1s", "2s", "1h"),
    "page": Timing("1s", "2s", "1h"),
    "ticket": Timing("5s", "2s", "1h"),
}


class StackError(RuntimeError):
    """The stack could not start or answer: a missing binary, a port in use, a process that died."""


# --- processes and ports -----------------------------------------------------------------------------------


def binaries() -> tuple[str, str]:
    """Paths of ``prometheus`` and ``prometheus-alertmanager`` of the tool set in force (:mod:`slokit.toolchain`);
    StackError names the one missing."""
    try:
        return toolchain.path("prometheus"), toolchain.path("prometheus-alertmanager")
    except toolchain.ToolMissing as exc:
        raise StackError(str(exc)) from exc


def free_port() -> int:
    """An ephemeral port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def ensure_port_free(port: int, what: str) -> None:
    """Fail clearly when something listens on ``port``; connections of a stopped server (TIME_WAIT) do not
    count, as the servers themselves bind with SO_REUSEADDR."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as exc:
            raise StackError(f"port {port} on {HOST} (for {what}) is already in use: {exc.strerror}") from None


@dataclass
class Process:
    """A child process started by the stack, with its output in ``log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate by pid, wait, kill if it does not exit in time."""
        if self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout)


def start_process(name: str, argv: Sequence[str], log: Path, *, cwd: Path | None = None,
                  env: Mapping[str, str] | None = None) -> Process:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        popen = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
            env=None if env is None else {**os.environ, **env}, start_new_session=True,
        )
    return Process(name, popen, log)


def wait_http_ok(proc: Process, url: str, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200; fail at once, with the log's last lines, if the process exits."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not proc.running():
            raise StackError(f"{proc.name} exited with code {proc.popen.returncode} before it was ready "
                             f"({url}); last lines of {proc.log}:\n{proc.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise StackError(f"{proc.name} did not answer {url} within {timeout:.0f}s ({last}); last lines of "
                     f"{proc.log}:\n{proc.log_tail()}")


# --- HTTP APIs ----------------------------------------------------------------------------------------------


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def send_json(url: str, body: object, method: str = "PUT", timeout: float = 5.0) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


class AlertmanagerAPI:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert Alertmanager holds, inhibited and silenced ones included (``status.state``,
        ``status.inhibitedBy``)."""
        return list(get_json(f"{self.base_url}/api/v2/alerts"))


# --- the notification receiver ---------------------------------------------------------------------------

_SLACK_TITLE = re.compile(r"^\[(?P<status>FIRING|RESOLVED)(?::\d+)?\] (?P<severity>\S+): (?P<service>\S+) / "
                          r"(?P<slo>\S+) (?P<alertname>\S+)$")


@dataclass(frozen=True)
class Notification:
    """One message Alertmanager delivered, read back from PagerDuty's or Slack's payload."""

    integration: str  # "pagerduty" or "slack"
    status: str  # "firing" or "resolved"
    service: str | None
    slo: str | None
    severity: str | None
    alertname: str | None
    runbook_url: str | None
    received_at: float
    body: Mapping[str, Any] = field(repr=False)

    def describe(self) -> str:
        name = f" {self.alertname}" if self.alertname else ""
        return (f"{self.integration:<9} {self.status:<8} {self.severity}: {self.service}/{self.slo}{name} "
                f"runbook {self.runbook_url}")


def parse_pagerduty(body: Mapping[str, Any], at: float) -> Notification:
    """An Events API v2 message as Alertmanager sends it (``event_action`` trigger or resolve)."""
    payload = body.get("payload") or {}
    details = payload.get("custom_details") or {}
    runbook = details.get("runbook_url") or next(
        (link.get("href") for link in body.get("links") or () if link.get("text") == "Runbook"), None)
    return Notification(
        integration="pagerduty",
        status="resolved" if body.get("event_action") == "resolve" else "firing",
        service=details.get("service"), slo=details.get("slo"), severity=details.get("severity"),
        alertname=details.get("alertname"), runbook_url=runbook, received_at=at, body=body,
    )


def parse_slack(body: Mapping[str, Any], at: float) -> Notification:
    """A Slack webhook message with slokit's title (``[FIRING:1] ticket: service / slo AlertName``)."""
    attachment = (body.get("attachments") or [{}])[0]
    m = _SLACK_TITLE.match(str(attachment.get("title", "")).strip())
    fields = m.groupdict() if m else {}
    return Notification(
        integration="slack", status=fields.get("status", "firing").lower(), service=fields.get("service"),
        slo=fields.get("slo"), severity=fields.get("severity"), alertname=fields.get("alertname"),
        runbook_url=attachment.get("title_link"), received_at=at, body=body,
    )


class NotificationReceiver:
    """Stands in for PagerDuty (``POST /pagerduty``) and a Slack webhook (``POST /slack``) on 127.0.0.1."""

    def __init__(self, port: int = 0) -> None:
        if port:
            ensure_port_free(port, "the notification receiver")
        self._lock = threading.Lock()
        self._received: list[Notification] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw.decode(errors="replace")}
                at = time.time()
                path = self.path.split("?", 1)[0].rstrip("/")
                if path.endswith("/pagerduty"):
                    note = parse_pagerduty(body, at)
                elif path.endswith("/slack"):
                    note = parse_slack(body, at)
                else:
                    self.send_error(404)
                    return
                with receiver._lock:
                    receiver._received.append(note)
                answer = b'{"status":"success","message":"Event processed"}' if "pagerduty" in path else b"ok"
                self.send_response(202 if "pagerduty" in path else 200)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the caller prints what it needs
                pass

        self._server = ThreadingHTTPServer((HOST, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="notification-receiver",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    @property
    def pagerduty_url(self) -> str:
        return f"{self.url}/pagerduty"

    @property
    def slack_url(self) -> str:
        return f"{self.url}/slack"

    def start(self) -> NotificationReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self._received)


# --- configuration ----------------------------------------------------------------------------------------


def local_routing_spec(source: Path, dest: Path, receiver: NotificationReceiver, secrets: Path, *,
                       evaluation_interval: str | None = None) -> Path:
    """Copy a spec with its routing pointed at ``receiver``: pages to its PagerDuty endpoint, tickets to its
    Slack webhook. The secret files are written under ``secrets`` (a fake routing key, the webhook URL)."""
    data = yaml.safe_load(source.read_text())
    if not isinstance(data, dict):
        raise StackError(f"{source}: not a spec (a mapping at the top level)")
    secrets.mkdir(parents=True, exist_ok=True)
    key_file = secrets / "pagerduty-routing-key"
    key_file.write_text("local-receiver-fake-routing-key\n")
    webhook_file = secrets / "slack-webhook-url"
    webhook_file.write_text(receiver.slack_url)
    ticket = ((data.get("routing") or {}).get("ticket") or {}).get("slack") or {}
    data["routing"] = {
        "page": {"pagerduty": {"routing_key_file": str(key_file), "url": receiver.pagerduty_url}},
        "ticket": {"slack": {"channel": ticket.get("channel", "#slo-alerts"), "api_url_file": str(webhook_file)}},
    }
    if evaluation_interval is not None:
        data["evaluation_interval"] = evaluation_interval
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def generate(specs: Sequence[Path], out: Path, *options: str) -> None:
    """Run the real ``slokit generate`` (a separate process, exactly as a user would), with ``options`` such as
    ``--target vmalert``."""
    proc = subprocess.run([sys.executable, "-m", "slokit", "generate", "--out", str(out), *options,
                           *map(str, specs)],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise StackError(f"slokit generate failed (exit {proc.returncode}):\n{proc.stderr.strip()}")


def _severity_of(route: Mapping[str, Any]) -> str | None:
    for m in route.get("matchers") or ():
        found = re.fullmatch(r'\s*severity\s*=\s*"?([a-z]+)"?\s*', str(m))
        if found:
            return found.group(1)
    return None


def with_timings(config_text: str, timings: Mapping[str | None, Timing] = FAST_TIMINGS) -> str:
    """The generated Alertmanager config with every route's group_wait/group_interval/repeat_interval
    replaced by ``timings`` (keyed by the route's severity matcher; None for the root); nothing else changes."""
    config = yaml.safe_load(config_text)

    def walk(route: dict[str, Any], inherited: str | None) -> None:
        severity = _severity_of(route) or inherited
        if any(k in route for k in ("group_wait", "group_interval", "repeat_interval")):
            route.update(timings.get(severity, timings[None]).as_dict())
        for child in route.get("routes") or ():
            walk(child, severity)

    walk(config["route"], None)
    config["route"].update(timings[None].as_dict())
    return yaml.safe_dump(config, sort_keys=False, width=1000)


def prometheus_config(*, scrape: Mapping[str, str], rule_files: Sequence[Path], alertmanager: str,
                      scrape_interval: str = "1s", evaluation_interval: str = "1s") -> str:
    """``prometheus.yml``: one job per ``scrape`` entry (job name -> host:port), the rule files, one
    Alertmanager."""
    config = {
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": scrape_interval,
                   "evaluation_interval": evaluation_interval},
        "rule_files": [str(p) for p in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}
                           for job, target in scrape.items()],
    }
    return yaml.safe_dump(config, sort_keys=False)


# --- the stack --------------------------------------------------------------------------------------------


def start_alertmanager(binary: str, config: Path, workdir: Path, port: int) -> Process:
    """One Alertmanager on 127.0.0.1:``port``, data under ``workdir``, no gossip (a single local instance)."""
    return start_process("Alertmanager", [
        binary, f"--config.file={config}", f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address={HOST}:{port}", "--cluster.listen-address=",
    ], workdir / "alertmanager.log")


class LocalStack:
    """Prometheus and Alertmanager on 127.0.0.1 with the given rules and Alertmanager config.

    Use as a context manager; ports of 0 are picked free, given ports are checked free first.
    """

    def __init__(self, workdir: Path, *, rule_files: Sequence[Path], alertmanager_config: Path,
                 scrape: Mapping[str, str], prometheus_port: int = 0, alertmanager_port: int = 0,
                 scrape_interval: str = "1s", evaluation_interval: str = "1s") -> None:
        self.workdir = workdir
        self.rule_files = tuple(rule_files)
        self.alertmanager_config = alertmanager_config
        self.scrape = dict(scrape)
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self._ports = (prometheus_port, alertmanager_port)
        self.processes: list[Process] = []
        self.prometheus_port = 0
        self.alertmanager_port = 0

    @property
    def prometheus_url(self) -> str:
        return f"http://{HOST}:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{HOST}:{self.alertmanager_port}"

    @property
    def prometheus(self) -> PrometheusClient:
        """A client of this stack's Prometheus (short timeouts: it is local)."""
        return PrometheusClient(self.prometheus_url, timeouts=Timeouts(connect=2.0, read=10.0),
                                retry=RetryPolicy(attempts=2, backoff=0.2))

    @property
    def alertmanager(self) -> AlertmanagerAPI:
        return AlertmanagerAPI(self.alertmanager_url)

    def start(self) -> LocalStack:
        prometheus, alertmanager = binaries()
        for port, what in zip(self._ports, ("Prometheus", "Alertmanager"), strict=True):
            if port:
                ensure_port_free(port, what)
        self.prometheus_port = self._ports[0] or free_port()
        self.alertmanager_port = self._ports[1] or free_port()
        try:
            am = start_alertmanager(alertmanager, self.alertmanager_config, self.workdir, self.alertmanager_port)
            self.processes.append(am)
            config = self.workdir / "prometheus.yml"
            config.write_text(prometheus_config(
                scrape=self.scrape, rule_files=self.rule_files, alertmanager=f"{HOST}:{self.alertmanager_port}",
                scrape_interval=self.scrape_interval, evaluation_interval=self.evaluation_interval))
            prom = start_process("Prometheus", [
                prometheus, f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
                f"--web.listen-address={HOST}:{self.prometheus_port}",
            ], self.workdir / "prometheus.log")
            self.processes.append(prom)
            wait_http_ok(am, f"{self.alertmanager_url}/-/ready")
            wait_http_ok(prom, f"{self.prometheus_url}/-/ready")
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop every process, newest first, by pid; safe to call twice."""
        while self.processes:
            self.processes.pop().stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def rule_files(out: Path) -> list[Path]:
    """The generated plain Prometheus rule files (``out/alerts/<service>.rules.yml``)."""
    files = sorted((out / "alerts").glob("*.rules.yml"))
    if not files:
        raise StackError(f"no rule files were generated under {out / 'alerts'}")
    return files


# --- live SLO status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SLOStatus:
    service: str
    slo: str
    objective: float
    #: Good share over the SLO window; None before there is any traffic.
    sli: float | None
    budget_remaining: float | None
    burn_rate: float | None


def slo_status(api: PrometheusClient, service: Service) -> Iterator[SLOStatus]:
    """Every SLO's SLI, budget remaining and current burn rate, read from the recorded series."""
    # Imported here: slokit.series imported before slokit.spec runs into an import cycle (series -> spec.units
    # -> spec/__init__ -> grammar -> series); by now the spec package is loaded.
    from slokit import series

    for slo in service.slos:
        sel = promql.selector({series.SERVICE_LABEL: service.name, series.SLO_LABEL: slo.name})
        ratio = api.value(series.error_ratio(slo.window) + sel)
        yield SLOStatus(
            service=service.name, slo=slo.name, objective=float(slo.objective),
            sli=None if ratio is None else 1 - ratio,
            budget_remaining=api.value(series.BUDGET_REMAINING + sel),
            burn_rate=api.value(series.BURN_RATE + sel),
        )
