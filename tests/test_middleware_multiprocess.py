"""Multiprocess mode under a real gunicorn: counts from all workers add up, dead workers' gauges go away."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from slokit.semconv import OTEL

APP = """
import os
from slokit.middleware import ROUTE_ENVIRON_KEY, SlokitWSGIMiddleware, metrics_wsgi_app

metrics = metrics_wsgi_app()


def app(environ, start_response):
    if environ["PATH_INFO"] == "/metrics":
        return metrics(environ, start_response)
    environ[ROUTE_ENVIRON_KEY] = "/work/{n}"
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Pid", str(os.getpid()))])
    return [b"ok"]


application = SlokitWSGIMiddleware(app, in_flight=True, latency_thresholds=[0.3])
"""

CONF = """
from slokit.middleware import child_exit, on_starting  # noqa: F401  (gunicorn reads them by name)

bind = "127.0.0.1:{port}"
workers = 2
worker_class = "sync"
graceful_timeout = 5
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def scrape(port: int) -> dict[str, float]:
    _, _, body = get(port, "/metrics")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == OTEL.duration_count and s.labels[OTEL.route_label] == "/work/{n}":
                samples["count"] = s.value
            elif s.name == OTEL.duration_bucket and s.labels.get("le") == "0.3":
                samples["le_0.3"] = s.value
            elif s.name == OTEL.active_requests:
                samples["in_flight"] = s.value
    return samples


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    port = free_port()
    (tmp_path / "svc.py").write_text(textwrap.dedent(APP))
    (tmp_path / "gunicorn.conf.py").write_text(CONF.format(port=port))
    mp_dir = tmp_path / "mp"
    mp_dir.mkdir()
    (mp_dir / "counter_99999.db").write_bytes(b"stale file of an earlier run")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(mp_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "svc:application"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "gunicorn.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(port, "/metrics")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "gunicorn.log").read_text()) from None
                time.sleep(0.1)
        yield port, proc, mp_dir
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def live_gauge_files(mp_dir: Path) -> set[str]:
    return {p.name for p in mp_dir.glob("gauge_livesum_*.db")}


def test_gunicorn_workers_aggregate_and_child_exit_cleans_up(
    gunicorn: tuple[int, subprocess.Popen[bytes], Path],
) -> None:
    port, proc, mp_dir = gunicorn
    assert not (mp_dir / "counter_99999.db").exists()  # on_starting emptied the directory
    pids = set()
    sent = 0
    # The kernel may hand a busy machine's connections to one worker for a while: go on until both workers
    # have served (each then has its live gauge file), within a bound.
    deadline = time.monotonic() + 30
    while sent < 120 or (len(live_gauge_files(mp_dir)) < 2 and time.monotonic() < deadline):
        status, headers, _ = get(port, f"/work/{sent}")
        assert status == 200
        pids.add(headers["X-Pid"])
        sent += 1
    assert scrape(port) == {"count": sent, "le_0.3": sent, "in_flight": 0}

    # Ask the arbiter for one worker fewer: the worker exits and child_exit drops its live gauge file.
    before = live_gauge_files(mp_dir)
    assert len(before) == 2, (before, pids)
    proc.send_signal(signal.SIGTTOU)
    deadline = time.monotonic() + 20
    while len(live_gauge_files(mp_dir)) >= max(len(before), 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    gone = before - live_gauge_files(mp_dir)
    assert len(gone) == 1, (before, live_gauge_files(mp_dir))
    # The dead worker's requests are still counted: counters never go backwards.
    for n in range(30):
        assert get(port, f"/work/{n}")[0] == 200
    assert scrape(port) == {"count": sent + 30, "le_0.3": sent + 30, "in_flight": 0}
