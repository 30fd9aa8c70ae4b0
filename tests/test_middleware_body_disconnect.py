"""A client that leaves while still sending the request body is a client disconnect (499), never a 500.

Driven by hand (a raw ASGI app whose ``receive`` yields part of the body, then ``http.disconnect``) and
through a real server (uvicorn in a subprocess on 127.0.0.1; a raw socket sends the headers and half the
body, then closes): the counter holds exactly one 499 and no 500, and the app sees the server's messages
unchanged.
"""

from __future__ import annotations

import asyncio
import io
import socket
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router

from slokit import stack
from slokit.middleware import SlokitMiddleware, SlokitWSGIMiddleware
from slokit.semconv import OTEL, UNMATCHED_ROUTE


def _count(registry: CollectorRegistry, status: int, route: str = UNMATCHED_ROUTE) -> float:
    return registry.get_sample_value(OTEL.duration_count, {
        OTEL.method_label: "POST", OTEL.route_label: route, OTEL.status_label: str(status)}) or 0.0


def _total(registry: CollectorRegistry) -> float:
    return sum(s.value for f in registry.collect() for s in f.samples if s.name == OTEL.duration_count)


def _call(app: Any) -> list[dict[str, Any]]:
    """One POST whose body stops half-way: one chunk with more to come, then the client is gone."""
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/upload", "raw_path": b"/upload", "root_path": "",
             "query_string": b"", "headers": [(b"host", b"test"), (b"content-length", b"1000")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    messages = iter([{"type": "http.request", "body": b"x" * 500, "more_body": True}, {"type": "http.disconnect"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_raw_app_that_returns_on_the_disconnect_is_counted_as_client_closed() -> None:
    received: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:  # read the body as an ASGI app must, and give up when the client has gone
            message = await receive()
            received.append(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    registry = CollectorRegistry()
    assert _call(SlokitMiddleware(app, registry=registry)) == []
    assert [m["type"] for m in received] == ["http.request", "http.disconnect"]  # passed on unchanged
    assert received[0]["body"] == b"x" * 500
    assert (_count(registry, 499), _count(registry, 500), _total(registry)) == (1, 0, 1)


def test_a_raw_app_that_raises_on_the_disconnect_is_counted_as_client_closed() -> None:
    class Gone(Exception):
        pass

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        raise Gone

    registry = CollectorRegistry()
    with pytest.raises(Gone):  # re-raised unchanged
        _call(SlokitMiddleware(app, registry=registry))
    assert (_count(registry, 499), _count(registry, 500), _total(registry)) == (1, 0, 1)


def test_starlette_reading_the_body_is_counted_as_client_closed() -> None:
    async def upload(request: Request) -> Response:
        return PlainTextResponse(str(len(await request.body())))

    registry = CollectorRegistry()
    app = SlokitMiddleware(Router(routes=[Route("/upload", upload, methods=["POST"])]), registry=registry)
    with pytest.raises(ClientDisconnect):
        _call(app)
    assert (_count(registry, 499, "/upload"), _count(registry, 500, "/upload"), _total(registry)) == (1, 0, 1)


def test_a_server_error_after_the_whole_body_is_still_a_500() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("bug")

    registry = CollectorRegistry()
    scope = {"type": "http", "method": "POST", "path": "/upload", "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"done", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent")

    with pytest.raises(RuntimeError):
        asyncio.run(SlokitMiddleware(app, registry=registry)(scope, receive, send))
    assert (_count(registry, 499), _count(registry, 500)) == (0, 1)


APP = """
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from slokit.middleware import SlokitMiddleware, metrics_app


async def upload(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


app = Starlette(routes=[Route("/upload", upload, methods=["POST"]), Route("/metrics", metrics_app())],
                middleware=[Middleware(SlokitMiddleware)])
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "bodyapp.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    port = stack.free_port()
    proc = stack.start_process("uvicorn", [sys.executable, "-m", "uvicorn", "bodyapp:app", "--host", "127.0.0.1",
                                           "--port", str(port), "--log-level", "warning"],
                               tmp_path / "uvicorn.log", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    try:
        stack.wait_http_ok(proc, f"http://127.0.0.1:{port}/metrics", timeout=30)
        yield port
    finally:
        proc.stop()


def _metric(port: int, status: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    want = {OTEL.method_label: "POST", OTEL.route_label: "/upload", OTEL.status_label: str(status)}
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == OTEL.duration_count and s.labels == want)


def _abandon_upload(port: int) -> None:
    """Send the headers and half the body, then close; wait (20 s at most) for the server to count it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n"
                  b"Content-Length: 1000\r\n\r\n" + b"x" * 500)
        time.sleep(0.3)  # let the app start reading the body before the client leaves
    deadline = time.monotonic() + 20
    while not any(_metric(port, code) for code in (400, 499, 500)) and time.monotonic() < deadline:
        time.sleep(0.1)


def test_uvicorn_client_closing_mid_body_is_one_499(server: int) -> None:
    _abandon_upload(server)
    assert _metric(server, 499) == 1
    assert _metric(server, 500) == 0
    # The server still answers a whole request afterwards, counted with its own status.
    req = urllib.request.Request(f"http://127.0.0.1:{server}/upload", data=b"y" * 10, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.read() == b"10"
    assert (_metric(server, 200), _metric(server, 499), _metric(server, 500)) == (1, 1, 0)


# --- WSGI: the same client, reading wsgi.input ----------------------------------------------------------


class _Socket(io.RawIOBase):
    """A server's ``wsgi.input`` whose client sent 500 of its 1000 bytes: short reads, or an OSError."""

    def __init__(self, *, fail: bool) -> None:
        self.left, self.fail = 500, fail

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if not self.left:
            if self.fail:
                raise ConnectionResetError("connection reset by peer")
            return 0
        n = min(len(b), self.left)
        b[:n] = b"x" * n
        self.left -= n
        return n


def _wsgi_call(app: Any, stream: Any) -> tuple[list[str], bytes]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/upload", "SERVER_NAME": "test", "SERVER_PORT": "80",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "CONTENT_LENGTH": "1000",
               "CONTENT_TYPE": "application/octet-stream", "wsgi.input": stream, "wsgi.errors": sys.stderr}
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    body = app(environ, start_response)
    try:
        return statuses, b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()


@pytest.mark.parametrize("fail", [False, True], ids=["short-body", "read-error"])
def test_flask_reading_a_body_the_client_abandoned_is_one_499(fail: bool) -> None:
    flask = pytest.importorskip("flask")
    from slokit.middleware.flask import instrument_flask

    app = flask.Flask("upload")

    @app.post("/upload")
    def upload() -> str:
        return str(len(flask.request.get_data()))

    registry = CollectorRegistry()
    instrument_flask(app, registry=registry)
    statuses, _ = _wsgi_call(app.wsgi_app, io.BufferedReader(_Socket(fail=fail)))
    assert statuses == ["400 BAD REQUEST"]  # Werkzeug's ClientDisconnected, sent as the app made it
    assert (_count(registry, 499, "/upload"), _count(registry, 400, "/upload"), _count(registry, 500, "/upload"),
            _total(registry)) == (1, 0, 0, 1)


def test_a_raw_wsgi_app_raising_on_the_read_error_is_one_499() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read(1000)
        environ["wsgi.input"].read(1000)
        raise AssertionError("the second read raises")

    registry = CollectorRegistry()
    with pytest.raises(ConnectionResetError):  # re-raised unchanged
        _wsgi_call(SlokitWSGIMiddleware(app, registry=registry), io.BufferedReader(_Socket(fail=True)))
    assert (_count(registry, 499), _count(registry, 500), _total(registry)) == (1, 0, 1)


def test_a_wsgi_app_that_read_the_whole_body_keeps_its_status() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        data = environ["wsgi.input"].read(1000)
        assert environ["wsgi.input"].read(10) == b""  # reading past the end is no disconnect
        start_response("503 Service Unavailable", [])
        return [data]

    registry = CollectorRegistry()
    stream = io.BytesIO(b"x" * 1000)
    statuses, body = _wsgi_call(SlokitWSGIMiddleware(app, registry=registry), stream)
    assert statuses == ["503 Service Unavailable"] and body == b"x" * 1000
    assert (_count(registry, 503), _count(registry, 499), _total(registry)) == (1, 0, 1)


def test_a_wsgi_app_answering_a_short_body_is_one_499() -> None:
    """Django's request.body reads once, read(Content-Length), and answers whatever it got."""
    def app(environ: Any, start_response: Any) -> list[bytes]:
        data = environ["wsgi.input"].read(1000)
        start_response("200 OK", [])
        return [b"%d" % len(data)]

    registry = CollectorRegistry()
    statuses, body = _wsgi_call(SlokitWSGIMiddleware(app, registry=registry), io.BufferedReader(_Socket(fail=False)))
    assert statuses == ["200 OK"] and body == b"500"  # the app's answer passes unchanged
    assert (_count(registry, 499), _count(registry, 200), _total(registry)) == (1, 0, 1)


@pytest.mark.parametrize("how", ["chunks", "lines", "readinto", "iterate"])
def test_a_whole_body_read_in_pieces_is_no_disconnect(how: str) -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        stream, got = environ["wsgi.input"], b""
        if how == "chunks":
            while piece := stream.read(64):
                got += piece
        elif how == "lines":
            while line := stream.readline():
                got += line
        elif how == "readinto":
            buf = bytearray(1000)
            got = bytes(buf[:stream.readinto(buf)])
        else:
            got = b"".join(stream)
        start_response("200 OK", [])
        return [got]

    registry = CollectorRegistry()
    payload = b"line\n" * 200
    statuses, body = _wsgi_call(SlokitWSGIMiddleware(app, registry=registry), io.BytesIO(payload))
    assert statuses == ["200 OK"] and body == payload
    assert (_count(registry, 200), _count(registry, 499)) == (1, 0)


GUNICORN_APP = """
import flask

from slokit.middleware.flask import instrument_flask

app = flask.Flask("upload")


@app.post("/upload")
def upload():
    return str(len(flask.request.get_data()))


instrument_flask(app, metrics_path="/metrics")
"""


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[int]:
    pytest.importorskip("gunicorn")
    (tmp_path / "bodyapp.py").write_text(textwrap.dedent(GUNICORN_APP), encoding="utf-8")
    port = stack.free_port()
    proc = stack.start_process("gunicorn", [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                            "bodyapp:app"], tmp_path / "gunicorn.log", cwd=tmp_path,
                               env={"PYTHONPATH": str(tmp_path)})
    try:
        stack.wait_http_ok(proc, f"http://127.0.0.1:{port}/metrics", timeout=30)
        yield port
    finally:
        proc.stop()


def test_gunicorn_client_closing_mid_body_is_one_499(gunicorn: int) -> None:
    _abandon_upload(gunicorn)
    assert (_metric(gunicorn, 499), _metric(gunicorn, 400), _metric(gunicorn, 500)) == (1, 0, 0)
