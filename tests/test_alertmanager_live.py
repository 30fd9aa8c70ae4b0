"""The generated config inside a real Alertmanager 0.25 (Debian's ``prometheus-alertmanager``).

Alertmanager runs on 127.0.0.1 with an ephemeral port and no cluster listener, and is stopped by its
process id. PagerDuty's ``url`` and the Slack webhook (read from its ``api_url_file``) point at a
recorder on 127.0.0.1, so nothing leaves the machine. Timings are shortened through ``render``'s
``timings`` (the seam a demo stack uses too); everything else is the generated config.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from slokit import toolchain
from slokit.alertmanager.config import Timing, render
from slokit.spec import load_or_raise
from slokit.spec.model import PagerDuty, Receiver, Routing, Service, Severity, Slack

ROOT = Path(__file__).resolve().parent.parent
FAKE_KEY = "fake-routing-key-7c1d"
FAST: dict[Severity | None, Timing] = {None: Timing("1s", "1s", "1h"), "page": Timing("1s", "1s", "1h"),
                                       "ticket": Timing("2s", "1s", "1h")}

pytestmark = pytest.mark.usefixtures("toolset")  # Alertmanager's API and config checks differ between releases


@dataclass
class Recorder:
    """Records the JSON bodies POSTed to it, by path."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, path: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = [body for p, body in self.received if p == path]
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"{count} notification(s) on {path} expected, got {len(got)}: {self.received}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def recorder() -> Iterator[tuple[Recorder, str]]:
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with rec.lock:
                rec.received.append((self.path, body))
            self.send_response(202 if self.path == "/pd" else 200)
            self.end_headers()
            self.wfile.write(b"{}" if self.path == "/pd" else b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Running:
    base: str

    def post(self, alerts: list[dict[str, Any]]) -> None:
        req = urllib.request.Request(f"{self.base}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.base}/api/v2/alerts", timeout=5) as resp:
            result: list[dict[str, Any]] = json.load(resp)
            return result


@pytest.fixture()
def alertmanager(tmp_path: Path, recorder: tuple[Recorder, str]) -> Iterator[tuple[Running, Recorder]]:
    rec, url = recorder
    (tmp_path / "pd-key").write_text(FAKE_KEY)
    (tmp_path / "slack-webhook").write_text(f"{url}/slack")
    (onboarding,) = load_or_raise([ROOT / "slo" / "onboarding.yaml"])
    # With Grafana's address, so that notifications carry the dashboard link too.
    service: Service = replace(onboarding, grafana_url="https://grafana.example.com", routing=Routing(
        page=Receiver(pagerduty=PagerDuty(str(tmp_path / "pd-key"), url=f"{url}/pd")),
        ticket=Receiver(slack=Slack("#onboarding-alerts", str(tmp_path / "slack-webhook")))))
    config = tmp_path / "alertmanager.yml"
    config.write_text(render([service], FAST))
    with started(config, tmp_path) as running:
        yield running, rec


@contextmanager
def started(config: Path, tmp_path: Path, cwd: Path | None = None) -> Iterator[Running]:
    """Alertmanager with ``config`` on a free port of 127.0.0.1 (started in ``cwd``), stopped by its pid."""
    port = free_port()
    proc = subprocess.Popen(
        [toolchain.path("prometheus-alertmanager"), f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=(tmp_path / "alertmanager.log").open("w"))
    running = Running(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, (tmp_path / "alertmanager.log").read_text()
            try:
                urllib.request.urlopen(f"{running.base}/-/ready", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "Alertmanager did not become ready"
                time.sleep(0.1)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


ANNOTATIONS = {"summary": "onboarding availability: error ratio above 5% for 10m (rollback trigger)",
               "description": "Error ratio 7.42% over 5m, above 5%.",
               "runbook_url": "https://runbooks.example.com/onboarding/availability.md#x",
               "dashboard_url": "https://grafana.example.com/d/slokit-onboarding/slos-onboarding"}


def alert(**labels: str) -> dict[str, Any]:
    return {"labels": {"service": "onboarding", "team": "growth", **labels}, "annotations": ANNOTATIONS}


def test_page_inhibits_the_ticket_of_the_same_slo_only(alertmanager: tuple[Running, Recorder]) -> None:
    am, rec = alertmanager
    am.post([
        alert(alertname="SLOErrorRatioHigh", slo="availability", severity="page", rollback="true"),
        alert(alertname="SLOErrorBudgetBurn", slo="availability", severity="ticket"),
        alert(alertname="SLOErrorBudgetBurn", slo="latency", severity="ticket"),
        {"labels": {"alertname": "Foreign", "severity": "page"}, "annotations": {}},
        {"labels": {"alertname": "ForeignTicket", "severity": "ticket"}, "annotations": {}},
    ])
    # The inhibitor learns of the page asynchronously after the post, so read the states until they settle.
    deadline = time.monotonic() + 10
    while True:
        state = {(a["labels"]["alertname"], a["labels"].get("slo"), a["labels"]["severity"]):
                 (a["status"]["state"], [r["name"] for r in a["receivers"]]) for a in am.alerts()}
        if state.get(("SLOErrorBudgetBurn", "availability", "ticket"), ("",))[0] == "suppressed" \
                or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert state == {
        ("SLOErrorRatioHigh", "availability", "page"): ("active", ["growth/page"]),
        ("SLOErrorBudgetBurn", "availability", "ticket"): ("suppressed", ["growth/ticket"]),
        ("SLOErrorBudgetBurn", "latency", "ticket"): ("active", ["growth/ticket"]),
        ("Foreign", None, "page"): ("active", ["unrouted"]),
        # A page without service and slo labels does not count as "equal" to everything.
        ("ForeignTicket", None, "ticket"): ("active", ["unrouted"]),
    }
    # The suppressed ticket is never sent; the other ticket is, through the webhook URL read from its file.
    rec.wait_for("/slack", 1)
    time.sleep(2)  # past both tickets' group_wait: the inhibited one must still be missing
    (slack,) = rec.wait_for("/slack", 1)
    assert slack["channel"] == "#onboarding-alerts"
    (attachment,) = slack["attachments"]
    assert attachment["title"] == "[FIRING:1] ticket: onboarding / latency SLOErrorBudgetBurn"
    assert "7.42%" in attachment["text"] and "<" + ANNOTATIONS["dashboard_url"] + "|Dashboard>" in attachment["text"]


def test_pagerduty_event_reads_the_key_file_and_carries_links(alertmanager: tuple[Running, Recorder]) -> None:
    am, rec = alertmanager
    page = alert(alertname="SLOErrorRatioHigh", slo="availability", severity="page", rollback="true")
    am.post([page])
    (event,) = rec.wait_for("/pd", 1)
    assert event["routing_key"] == FAKE_KEY and event["event_action"] == "trigger"
    payload = event["payload"]
    assert payload["severity"] == "critical"
    assert payload["summary"] == f"{ANNOTATIONS['summary']} (page)"  # service, SLO and rollback said once
    details = payload["custom_details"]
    # One quoted line per alert, passed on as text by every release (0.30+ would restructure unquoted text).
    alerts = [json.loads(line) for line in details["alerts"].splitlines()]
    assert details["team"] == "growth" and len(alerts) == 1 and "7.42%" in alerts[0]
    assert [link["href"] for link in event["links"]] == [ANNOTATIONS["runbook_url"], ANNOTATIONS["dashboard_url"]]
    # Resolution is delivered too.
    page["endsAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    am.post([page])
    resolved = rec.wait_for("/pd", 2)[-1]
    assert resolved["event_action"] == "resolve" and resolved["dedup_key"] == event["dedup_key"]


def test_relative_key_files_are_read_from_alertmanagers_working_directory(
        tmp_path: Path, recorder: tuple[Recorder, str]) -> None:
    """What `slokit check` says of a relative routing_key_file, proven on the real binary: Alertmanager reads
    it relative to the directory it was started in, not to the folder of its config file."""
    rec, url = recorder
    conf_dir, work_dir = tmp_path / "conf", tmp_path / "work"
    conf_dir.mkdir()
    work_dir.mkdir()
    (conf_dir / "pd-key").write_text("key-beside-the-config")
    (work_dir / "pd-key").write_text("key-in-the-working-directory")
    (onboarding,) = load_or_raise([ROOT / "slo" / "onboarding.yaml"])
    service = replace(onboarding, routing=Routing(page=Receiver(pagerduty=PagerDuty("pd-key", url=f"{url}/pd"))))
    config = conf_dir / "alertmanager.yml"
    config.write_text(render([service], FAST))
    with started(config, tmp_path, cwd=work_dir) as running:
        running.post([alert(alertname="SLOErrorRatioHigh", slo="availability", severity="page")])
        (event,) = rec.wait_for("/pd", 1)
    assert event["routing_key"] == "key-in-the-working-directory"
