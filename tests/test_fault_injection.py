"""`gate`, `report`, `check --prometheus` and `push` against a misbehaving server (a stand-in, on purpose).

:class:`Misbehaving` answers Prometheus' and Grafana's API paths the way broken or hostile servers do: one
byte a second (status line and headers included), partial answers with ``warnings``, HTTP 200 answers of the
wrong shape (``data`` null or a list, a value that is not a number, a result without ``metric``, JSON nested
deeper than a recursive parser goes), NaN, +Inf or negative values, a storm of 5xx, redirects. It quotes the
credentials it was sent in its error messages and redirect targets, raw, base64, URL- and hex-encoded, as
careless servers do.

Every run asserts the documented exit code (3: Prometheus unusable; push: 3 unreachable, 4 token refused, 8
server failing, 9 rejected/redirected), a bounded time (generous: the timeout is 2 s), no secret in any
output, no traceback, and that the gate never exits 0 on any of these.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from click.testing import CliRunner

from gate_helpers import EXAMPLE_SPEC, with_stages
from slokit import transport
from slokit.cli import main

TOKEN = "glsa_FaultCanary7c1e9b2d4a6f8e0c"
TENANT = "tenant-canary-5d3f"
SECRETS = (TOKEN, TENANT, base64.b64encode(f"Bearer {TOKEN}".encode()).decode()[8:30], quote(TOKEN)[:20],
           TOKEN.encode().hex()[:20], TENANT.encode().hex()[:20])
#: Seconds every command may take here: the timeout is 2 s and 1 retry, so a bounded command ends well within.
BOUND = 30.0
NOW = 1_796_000_000.0


def _matrix(params: dict[str, str], value: str) -> dict[str, Any]:
    start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
    n = min(int((end - start) / step) + 1, 2_000)
    return {"resultType": "matrix", "result": [
        {"metric": {"job": "onboarding"}, "values": [[start + i * step, value] for i in range(n)]}]}


class _Handler(BaseHTTPRequestHandler):
    server: Misbehaving
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(parse_qs(urlsplit(self.path).query))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self._answer(parse_qs(urlsplit(self.path).query) | parse_qs(raw))

    def _answer(self, query: dict[str, list[str]]) -> None:
        mode = self.server.mode
        params = {k: v[0] for k, v in query.items()}
        path = urlsplit(self.path).path
        auth = self.headers.get("Authorization", "")
        tenant = self.headers.get("X-Scope-OrgID") or ""
        echoed = (f"{auth} {base64.b64encode(auth.encode()).decode()} {quote(auth)} {tenant} "
                  f"{auth.encode().hex()} {tenant.encode().hex().upper()}")
        if mode == "trickle":
            self._trickle(b'{"status":"success","data":{"resultType":"vector","result":[]}}')
            return
        if mode == "storm":
            self._send(503, {"status": "error", "errorType": "unavailable", "error": f"overloaded, seen {echoed}",
                             "message": f"overloaded, seen {echoed}"})
            return
        if mode == "redirect":
            self._send(302, {}, {"Location": f"https://login.example.com/?token={quote(auth)}&t={TENANT}"})
            return
        if mode == "unauthorized":
            self._send(401, {"status": "error", "errorType": "unauthorized", "error": f"invalid: {echoed}",
                             "message": f"invalid API key {echoed}"})
            return
        if mode == "flood":  # an answer without end (64 MiB here), at the speed of the loopback
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.close_connection = True
            with contextlib.suppress(OSError):
                for _ in range(1024):
                    self.wfile.write(b" " * 65536)
            return
        if mode == "deep":  # valid JSON nested deeper than a recursive parser goes
            self._send(200, {"status": "success", "data": {"resultType": "matrix", "result": []}},
                       nested=100_000)
            return
        if path.startswith("/api/v1/"):
            self._prometheus(path, params, mode)
        else:
            self._grafana(path, mode, echoed)

    def _prometheus(self, path: str, params: dict[str, str], mode: str) -> None:
        body: dict[str, Any] = {"status": "success"}
        expr = params.get("query", "")
        # Healthy numbers unless the mode says otherwise: many events, a tiny burn, no trigger breached.
        value = {"nan": "NaN", "inf": "+Inf", "negative": "-5"}.get(mode)
        # The gate reads bad events (their queries end in "or vector(0)") and all events of the stage.
        bad = "vector(0)" in expr
        if mode == "negative-burn" and bad:  # events as healthy, bad events below zero: a negative burn
            value = "-5"
        if path.endswith("/query_range"):
            body["data"] = ({"resultType": "matrix", "result": []} if "ALERTS" in expr or ">" in expr.replace(">=", "")
                            else _matrix(params, value or ("1" if bad else "100000")))
        elif path.endswith("/query"):
            number = value or ("0.01" if ">= 0" in expr else "100000")
            body["data"] = {"resultType": "vector", "result": [{"metric": {"job": "onboarding"},
                                                                "value": [NOW, number]}]}
        elif path.endswith("/metadata"):
            body["data"] = {}
        else:
            body["data"] = []
        if mode == "partial":
            body["warnings"] = ["partial response: store 10.0.0.7:10901 unavailable"]
        elif mode == "data-null":
            body["data"] = None
        elif mode == "data-list":
            body["data"] = []
        elif mode == "non-numeric":
            body["data"] = {"resultType": "vector", "result": [{"metric": {}, "value": [NOW, {"x": 1}]}]}
        elif mode == "no-metric":
            body["data"] = {"resultType": "vector", "result": [{"value": [NOW, "1"]}]}
        self._send(200, body)

    def _grafana(self, path: str, mode: str, echoed: str) -> None:
        if mode == "not-json":
            data = b"<html>gateway ok</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if path == "/api/health":
            self._send(200, {"database": "ok", "version": f"stand-in {echoed}"})
            return
        self._send(200, {"message": "not the shape slokit expects"})

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, nested: int = 0) -> None:
        data = json.dumps(body).encode()
        if nested:
            data = data[:-1] + b', "deep": ' + b"[" * nested + b"]" * nested + b"}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _trickle(self, body: bytes) -> None:
        """The whole answer, status line and headers included, one byte a second."""
        data = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                + b"\r\n\r\n" + body)
        try:
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                if self.server.stopping.wait(1.0):
                    return
        except OSError:
            return
        self.close_connection = True


class Misbehaving(ThreadingHTTPServer):
    """The misbehaving server (NOT Prometheus, NOT Grafana) on 127.0.0.1, in a thread; ``mode`` picks the fault."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "healthy"
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def server() -> Iterator[Misbehaving]:
    srv = Misbehaving()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stopping.set()
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("faults")
    token = tmp / "token"
    token.write_text(TOKEN + "\n")
    spec = with_stages(tmp / "onboarding.yaml", "{percent: 5, duration: 1h}\n{percent: 100}")
    out = tmp / "out"
    generated = CliRunner().invoke(main, ["generate", str(spec), "--out", str(out)])
    assert generated.exit_code == 0, generated.output
    return {"token": token, "spec": spec, "out": out}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    seconds: float


def run(server: Misbehaving, mode: str, argv: list[str], env: dict[str, str] | None = None) -> Run:
    server.mode = mode
    started = time.monotonic()
    result = CliRunner().invoke(main, argv, env=env)
    seconds = time.monotonic() - started
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    out = result.stdout + result.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    for secret in SECRETS:
        assert secret not in out, f"{mode}: a secret reached the output:\n{out}"
    assert seconds < BOUND, f"{mode}: {seconds:.1f}s"
    return Run(result.exit_code, out, seconds)


def prometheus_argv(command: str, server: Misbehaving, files: dict[str, Path]) -> list[str]:
    auth = ["--prometheus", server.url, "--prometheus-bearer-token-file", str(files["token"]),
            "--prometheus-header", f"X-Scope-OrgID: {TENANT}", "--timeout", "2", "--retries", "1"]
    spec = str(files["spec"])
    if command == "gate":
        return ["gate", spec, "--service", "onboarding", "--stage", "1", "--since", f"{NOW - 7200:.0f}",
                "--at", f"{NOW:.0f}", "--backoff", "0.1", *auth]
    if command == "report":
        return ["report", spec, "--period", "1d", "--at", f"{NOW:.0f}", "--backoff", "0.1", "--quiet", *auth]
    return ["check", spec, *auth]


UNUSABLE = ["trickle", "storm", "redirect", "unauthorized", "data-null", "data-list", "non-numeric", "no-metric",
            "deep"]


def test_the_healthy_stand_in_promotes(server: Misbehaving, files: dict[str, Path]) -> None:
    """The faults below are what makes the difference: the same server, healthy, lets the gate promote."""
    result = run(server, "healthy", prometheus_argv("gate", server, files))
    assert result.code == 0, result.out


@pytest.mark.parametrize("command", ["gate", "report", "check"])
@pytest.mark.parametrize("mode", UNUSABLE)
def test_an_unusable_prometheus_is_exit_3_in_bounded_time(server: Misbehaving, files: dict[str, Path],
                                                          command: str, mode: str) -> None:
    result = run(server, mode, prometheus_argv(command, server, files))
    assert result.code == 3, result.out
    expected = {
        "trickle": "no complete answer within 2s", "storm": "HTTP 503", "redirect": "redirected to",
        "unauthorized": "refused the credentials (HTTP 401", "data-null": "data that is not a JSON object",
        "data-list": "data that is not a JSON object", "non-numeric": "a value that is not a number",
        "no-metric": "a result without metric", "deep": "without a Prometheus API answer",
    }[mode]
    assert expected in result.out


@pytest.mark.parametrize("mode", ["partial", "nan", "inf"])
def test_the_gate_holds_on_partial_or_impossible_data(server: Misbehaving, files: dict[str, Path], mode: str) -> None:
    result = run(server, mode, prometheus_argv("gate", server, files))
    assert result.code == 10, result.out


def test_the_gate_holds_on_negative_values(server: Misbehaving, files: dict[str, Path]) -> None:
    assert run(server, "negative", prometheus_argv("gate", server, files)).code == 10
    result = run(server, "negative-burn", prometheus_argv("gate", server, files))
    assert result.code == 10, result.out


@pytest.mark.parametrize("mode", ["partial", "nan", "inf", "negative"])
def test_the_report_never_says_met_on_partial_or_impossible_data(server: Misbehaving, files: dict[str, Path],
                                                                 mode: str) -> None:
    result = run(server, mode, [*prometheus_argv("report", server, files), "--format", "json"])
    assert result.code in (1, 4), result.out
    assert '"verdict": "met"' not in result.out


@pytest.mark.parametrize("mode", ["partial", "nan", "inf", "negative"])
def test_the_live_check_reads_partial_or_impossible_data_without_crashing(server: Misbehaving,
                                                                          files: dict[str, Path], mode: str) -> None:
    result = run(server, mode, prometheus_argv("check", server, files))
    assert result.code in (0, 1), result.out
    if mode == "partial":
        assert "WARN prometheus: answers complete" in result.out


@pytest.mark.parametrize(("mode", "code", "expected"), [
    ("trickle", 3, "no complete answer within 2s"),
    ("storm", 8, "HTTP 503"),
    ("redirect", 9, "redirected to"),
    ("unauthorized", 4, "401 Unauthorized"),
    ("not-json", 8, "not JSON"),
    ("deep", 8, "not JSON"),
    ("healthy", 8, "not a JSON list"),  # /api/folders answers an object
])
def test_push_against_a_misbehaving_grafana(server: Misbehaving, files: dict[str, Path], mode: str, code: int,
                                            expected: str) -> None:
    result = run(server, mode, ["push", str(files["spec"]), "--out", str(files["out"]), "--timeout", "2",
                                "--retries", "1", "--backoff", "0.1"],
                 env={"GRAFANA_URL": server.url, "GRAFANA_TOKEN": TOKEN})
    assert result.code == code, result.out
    assert expected in result.out


def test_push_with_retries_0_is_bounded_by_the_timeout(server: Misbehaving, files: dict[str, Path]) -> None:
    """Issue 18: ``push --timeout 2 --retries 0`` against a trickle took 40 s."""
    result = run(server, "trickle", ["push", str(files["spec"]), "--out", str(files["out"]), "--timeout", "2",
                                     "--retries", "0"], env={"GRAFANA_URL": server.url, "GRAFANA_TOKEN": TOKEN})
    assert result.code == 3 and result.seconds < 10, (result.seconds, result.out)


@pytest.mark.parametrize(("argv", "message"), [
    (["push", "--token-file", "/dev/zero"], "the Grafana token file /dev/zero is not a regular file"),
    (["report", "--post-slack", "--slack-webhook-file", "/dev/zero"],
     "the Slack webhook file /dev/zero is not a regular file"),
    (["report", "--prometheus-basic-auth-file", "/dev/zero"], "the Prometheus basic auth file /dev/zero is not a "
                                                              "regular file"),
])
def test_secret_files_are_read_bounded(server: Misbehaving, files: dict[str, Path], argv: list[str],
                                       message: str) -> None:
    command, *rest = argv
    result = run(server, "healthy", [command, str(EXAMPLE_SPEC), "--out" if command == "push" else "--prometheus",
                                     str(files["out"]) if command == "push" else server.url, *rest],
                 env={"GRAFANA_URL": server.url})
    assert result.code == 2, result.out
    assert message in result.out


def test_a_big_secret_file_is_refused(server: Misbehaving, files: dict[str, Path], tmp_path: Path) -> None:
    big = tmp_path / "token"
    big.write_text("x" * 100_000)
    result = run(server, "healthy", ["gate", str(files["spec"]), "--service", "onboarding", "--stage", "1",
                                     "--prometheus", server.url, "--prometheus-bearer-token-file", str(big)])
    assert result.code == 2 and "larger than 64 KiB" in result.out


def test_a_fifo_as_a_secret_file_is_refused_without_waiting(server: Misbehaving, files: dict[str, Path],
                                                            tmp_path: Path) -> None:
    fifo = tmp_path / "token"
    os.mkfifo(fifo)  # nothing ever writes to it: reading it would wait forever
    result = run(server, "healthy", ["push", str(EXAMPLE_SPEC), "--out", str(files["out"]), "--token-file", str(fifo)],
                 env={"GRAFANA_URL": server.url})
    assert result.code == 2 and f"the Grafana token file {fifo} is not a regular file" in result.out
    assert result.seconds < 10


def test_the_slack_post_of_report_is_bounded_by_its_timeout_and_retries(server: Misbehaving, files: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    """``report --timeout 1 --retries 0 --post-slack`` against a webhook that never answers: one attempt of
    at most a second or so, not Slack's own three attempts of 10 s (which took 32 s)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections queue up; nothing is ever answered
        webhook = tmp_path / "webhook"
        webhook.write_text(f"http://127.0.0.1:{silent.getsockname()[1]}/services/T0/B0/{TOKEN}\n")
        argv = ["report", str(files["spec"]), "--prometheus", server.url, "--period", "1d", "--at", f"{NOW:.0f}",
                "--quiet", "--timeout", "1", "--retries", "0", "--post-slack", "--slack-webhook-file", str(webhook)]
        result = run(server, "healthy", argv)
    assert result.code in (1, 5), result.out  # the stand-in's numbers breach: 1 wins over 5
    assert "posting to the Slack webhook of" in result.out and "no complete answer within 1s" in result.out
    assert "attempts" not in result.out
    assert result.seconds < 15, result.seconds


@pytest.mark.parametrize("command", ["gate", "report", "check", "push"])
def test_an_endless_answer_is_cut_at_the_size_limit(server: Misbehaving, files: dict[str, Path], command: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A server flooding its answer fills memory within any deadline (1.8 GB in 3 s over the loopback): the
    answer is read up to a limit (lowered here to 1 MiB), then the command ends as with any unusable server."""
    monkeypatch.setattr(transport, "ANSWER_LIMIT", 1 << 20)
    argv = (["push", str(files["spec"]), "--out", str(files["out"]), "--timeout", "2", "--retries", "1"]
            if command == "push" else prometheus_argv(command, server, files))
    result = run(server, "flood", argv, env={"GRAFANA_URL": server.url, "GRAFANA_TOKEN": TOKEN})
    assert result.code == 3, result.out
    assert "an answer larger than 1 MiB" in result.out
