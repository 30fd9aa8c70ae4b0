"""WSGI middleware with Flask and Django: route templates, exact status, every request counted once."""

from __future__ import annotations

import io
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from slokit.middleware import ROUTE_ENVIRON_KEY, SlokitWSGIMiddleware, metrics_wsgi_app
from slokit.middleware._instruments import HttpInstruments
from slokit.semconv import OTEL, OTHER_METHOD, UNMATCHED_ROUTE

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def call(app: WSGIApp, path: str, method: str = "GET", *, read: int | None = None) -> tuple[int, bytes]:
    """Serve one request like a WSGI server: iterate the body (``read`` chunks at most), then close it."""
    environ: Environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        status[:] = [line]
        return lambda data: None

    body = app(environ, start_response)
    chunks: list[bytes] = []
    try:
        for n, chunk in enumerate(body):
            if read is not None and n >= read:
                break
            chunks.append(chunk)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return int(status[0][:3]), b"".join(chunks)


def count(registry: CollectorRegistry, route: str, status: int, method: str = "GET") -> float:
    labels = {OTEL.method_label: method, OTEL.route_label: route, OTEL.status_label: str(status)}
    return registry.get_sample_value(OTEL.duration_count, labels) or 0.0


def total(registry: CollectorRegistry) -> float:
    return sum(s.value for f in registry.collect() for s in f.samples if s.name == OTEL.duration_count)


def duration_sum(registry: CollectorRegistry) -> float:
    return sum(s.value for f in registry.collect() for s in f.samples if s.name == OTEL.duration_sum)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


class Boom(RuntimeError):
    pass


def plain_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """A bare WSGI app that names its own route, as a framework integration would."""
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise Boom("before the response")
    if path.startswith("/items/"):
        environ[ROUTE_ENVIRON_KEY] = "/items/{id}"
        start_response("409 Conflict", [("Content-Type", "text/plain")])
        return [b"taken"]
    if path == "/stream":
        environ[ROUTE_ENVIRON_KEY] = "/stream"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return slow_chunks(4, 0.03)
    if path == "/broken-stream":
        environ[ROUTE_ENVIRON_KEY] = "/broken-stream"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return broken_chunks()
    if path in ("/metrics", "/healthz"):
        start_response("200 OK", [])
        return [b"ok"]
    start_response("404 Not Found", [])
    return [b"no"]


def slow_chunks(n: int, pause: float) -> Iterator[bytes]:
    for i in range(n):
        time.sleep(pause)
        yield b"%d" % i


def broken_chunks() -> Iterator[bytes]:
    yield b"half"
    raise Boom("mid-stream")


def test_route_from_environ_and_exact_status(registry: CollectorRegistry) -> None:
    app = SlokitWSGIMiddleware(plain_app, registry=registry)
    assert call(app, "/items/1", "PUT")[0] == 409
    assert call(app, "/items/2", "PUT")[0] == 409
    for n in range(10):
        assert call(app, f"/random/{n}")[0] == 404
    assert count(registry, "/items/{id}", 409, "PUT") == 2
    assert count(registry, UNMATCHED_ROUTE, 404) == 10


def test_exception_is_500_and_reraised_unchanged(registry: CollectorRegistry) -> None:
    app = SlokitWSGIMiddleware(plain_app, registry=registry)
    with pytest.raises(Boom, match="before the response"):
        call(app, "/boom")
    with pytest.raises(Boom, match="mid-stream"):
        call(app, "/broken-stream")
    assert count(registry, UNMATCHED_ROUTE, 500) == 1
    assert count(registry, "/broken-stream", 500) == 1
    assert total(registry) == 2


def test_client_gone_mid_stream_is_counted_once(registry: CollectorRegistry) -> None:
    app = SlokitWSGIMiddleware(plain_app, registry=registry)
    call(app, "/stream", read=1)
    assert count(registry, "/stream", 200) == 1
    assert total(registry) == 1


def test_streaming_is_measured_to_the_last_chunk_and_close_is_not(registry: CollectorRegistry) -> None:
    class SlowClose:
        def __init__(self, body: Iterable[bytes]) -> None:
            self.body = body

        def __iter__(self) -> Iterator[bytes]:
            return iter(self.body)

        def close(self) -> None:
            time.sleep(0.6)  # teardown work after the response: not latency

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        return SlowClose(plain_app(environ, start_response))

    call(SlokitWSGIMiddleware(app, registry=registry), "/stream")
    assert 0.11 <= duration_sum(registry) < 0.5  # the 0.6 s close() is not in it
    assert total(registry) == 1


def test_excluded_paths_and_unknown_methods(registry: CollectorRegistry) -> None:
    app = SlokitWSGIMiddleware(plain_app, registry=registry)
    call(app, "/metrics")
    call(app, "/healthz")
    call(app, "/items/1", "SPACEJUMP")
    assert total(registry) == 1
    assert count(registry, "/items/{id}", 409, OTHER_METHOD) == 1


def test_failure_in_recording_is_logged_once_and_swallowed(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: HttpInstruments, method: str, route: str, status: int) -> Any:
        raise RuntimeError("cannot record")

    monkeypatch.setattr(HttpInstruments, "_child", broken)
    app = SlokitWSGIMiddleware(plain_app, registry=registry)
    with caplog.at_level(logging.ERROR, logger="slokit.middleware"):
        assert call(app, "/items/1") == (409, b"taken")
        assert call(app, "/items/2") == (409, b"taken")
    assert len(caplog.records) == 1


def test_threads_give_exactly_n(registry: CollectorRegistry) -> None:
    app = SlokitWSGIMiddleware(plain_app, registry=registry, in_flight=True)
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda n: call(app, f"/items/{n}")[0], range(2000)))
    assert statuses == [409] * 2000
    assert count(registry, "/items/{id}", 409) == 2000
    assert registry.get_sample_value(OTEL.active_requests or "") == 0.0


def test_metrics_wsgi_app(registry: CollectorRegistry) -> None:
    call(SlokitWSGIMiddleware(plain_app, registry=registry), "/items/1")
    status, body = call(metrics_wsgi_app(registry), "/metrics")
    assert status == 200
    assert b'http_route="/items/{id}"' in body
    assert b"_created" not in body


# --- Flask ----------------------------------------------------------------------------------------------


def flask_app(registry: CollectorRegistry) -> Any:
    from flask import Flask, abort

    from slokit.middleware.flask import instrument_flask

    app = Flask("svc")
    app.config["PROPAGATE_EXCEPTIONS"] = True

    @app.before_request
    def rate_limit() -> Any:
        from flask import request

        if request.headers.get("X-Flood"):
            return "slow down", 429
        return None

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> str:
        return f"user {user_id}"

    @app.patch("/steps/<step_id>")
    def step(step_id: str) -> Any:
        abort(409)

    @app.get("/boom")
    def boom() -> str:
        raise Boom("flask handler")

    instrument_flask(app, registry=registry, metrics_path="/metrics")
    return app


def test_flask_url_rule_status_and_exceptions(registry: CollectorRegistry) -> None:
    app = flask_app(registry)
    client = app.test_client()
    # buffered: read the whole body and close it, as a WSGI server does
    assert client.get("/users/1", buffered=True).status_code == 200
    assert client.get("/users/2", buffered=True).status_code == 200
    assert client.patch("/steps/a", buffered=True).status_code == 409
    assert client.get("/users/3", headers={"X-Flood": "1"}, buffered=True).status_code == 429
    assert client.get("/nothing/here", buffered=True).status_code == 404
    with pytest.raises(Boom):
        client.get("/boom", buffered=True)
    assert count(registry, "/users/<int:user_id>", 200) == 2
    assert count(registry, "/steps/<step_id>", 409, "PATCH") == 1
    assert count(registry, "/users/<int:user_id>", 429) == 1
    assert count(registry, UNMATCHED_ROUTE, 404) == 1
    assert count(registry, "/boom", 500) == 1
    assert total(registry) == 6
    scrape = client.get("/metrics", buffered=True)
    assert scrape.status_code == 200
    assert b'http_response_status_code="429",http_route="/users/<int:user_id>"} 1.0' in scrape.data
    assert total(registry) == 6  # the scrape is not measured


# --- Django ---------------------------------------------------------------------------------------------


def django_urls() -> list[Any]:
    from django.http import HttpResponse
    from django.urls import include, path

    def order(request: Any, pk: int) -> HttpResponse:
        return HttpResponse("conflict", status=409)

    def report(request: Any, year: int) -> HttpResponse:
        return HttpResponse("ok")

    def crash(request: Any) -> HttpResponse:
        raise Boom("django view")

    from slokit.middleware.django import metrics_view

    return [
        path("metrics", metrics_view),
        path("orders/<int:pk>/", order),
        path("reports/", include([path("<int:year>/", report)])),
        path("crash/", crash),
    ]


@pytest.fixture(scope="module")
def django_wsgi() -> WSGIApp:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["127.0.0.1"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=["slokit.middleware.django.SlokitRouteMiddleware"],
            SECRET_KEY="test-only",
            LOGGING_CONFIG=None,
        )
        django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


urlpatterns: list[Any] = []


def test_django_resolver_route_and_status(registry: CollectorRegistry, django_wsgi: WSGIApp) -> None:
    urlpatterns[:] = django_urls()
    app = SlokitWSGIMiddleware(django_wsgi, registry=registry)
    assert call(app, "/orders/5/", "POST")[0] == 409
    assert call(app, "/orders/6/", "POST")[0] == 409
    assert call(app, "/reports/2024/")[0] == 200
    assert call(app, "/crash/")[0] == 500  # Django turns the exception into its 500 page
    assert call(app, "/wp-login.php")[0] == 404
    assert count(registry, "/orders/<int:pk>/", 409, "POST") == 2
    assert count(registry, "/reports/<int:year>/", 200) == 1
    assert count(registry, "/crash/", 500) == 1
    assert count(registry, UNMATCHED_ROUTE, 404) == 1
    assert total(registry) == 5
    status, body = call(app, "/metrics")  # the default registry: these requests went to `registry`
    assert status == 200
    assert b"# TYPE" in body
    assert total(registry) == 5


def test_cache_outcomes_from_a_response_header(registry: CollectorRegistry) -> None:
    seen: list[list[tuple[str, str]]] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("x-cache-lookups", "users=miss")])
        return [b"ok"]

    def server_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append(headers)
        return lambda data: None

    wrapped = SlokitWSGIMiddleware(app, registry=registry, cache_header="X-Cache-Lookups")
    body = wrapped({"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}, server_start_response)
    list(body)
    assert seen == [[("Content-Type", "text/plain")]]
    labels = {OTEL.cache_label: "users", OTEL.outcome_label: "miss"}
    assert registry.get_sample_value(OTEL.cache_lookups_total, labels) == 1.0
