"""ASGI middleware: every request counted exactly once, with the route template and the exact status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import string
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, Router

from slokit.middleware import SlokitMiddleware, metrics_app
from slokit.middleware._instruments import HttpInstruments
from slokit.semconv import CLASSIC, OTEL, OTHER_METHOD, STANDARD_METHODS, UNMATCHED_ROUTE

Scope = dict[str, Any]


class Client:
    """Calls an ASGI app in-process, like a server would, and keeps what it sent."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def call(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        fail_send_at: int | None = None,
        disconnect_after: float | None = None,
        spec_version: str = "2.4",
    ) -> list[dict[str, Any]]:
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": spec_version},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"test")],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 80),
        }
        sent: list[dict[str, Any]] = []
        first = True
        gone = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": b"", "more_body": False}
            if disconnect_after is not None:
                await asyncio.sleep(disconnect_after)
                return {"type": "http.disconnect"}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if fail_send_at is not None and len(sent) >= fail_send_at:
                raise OSError("client went away")
            sent.append(message)

        await self.app(scope, receive, send)
        return sent

    def get(self, path: str, method: str = "GET") -> int:
        messages = asyncio.run(self.call(method, path))
        return int(messages[0]["status"])


def count(registry: CollectorRegistry, route: str, status: int, method: str = "GET") -> float:
    value = registry.get_sample_value(
        OTEL.duration_count,
        {OTEL.method_label: method, OTEL.route_label: route, OTEL.status_label: str(status)},
    )
    return value or 0.0


def total(registry: CollectorRegistry) -> float:
    return sum(s.value for family in registry.collect() for s in family.samples if s.name == OTEL.duration_count)


def series(registry: CollectorRegistry) -> set[tuple[str, ...]]:
    return {
        tuple(sorted(s.labels.items()))  # type: ignore[misc]
        for family in registry.collect()
        for s in family.samples
        if s.name == OTEL.duration_count
    }


def duration_sum(registry: CollectorRegistry) -> float:
    return sum(s.value for family in registry.collect() for s in family.samples if s.name == OTEL.duration_sum)


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def conflict(request: Request) -> Response:
    return PlainTextResponse("taken", status_code=409)


class Boom(RuntimeError):
    pass


async def boom(request: Request) -> Response:
    raise Boom("handler failed")


def routes() -> list[Route]:
    return [
        Route("/users/{user_id:int}", ok),
        Route("/orders/{order_id}", conflict, methods=["POST"]),
        Route("/boom", boom),
        Route("/metrics", ok),
        Route("/healthz", ok),
    ]


def instrumented(registry: CollectorRegistry, **options: Any) -> Starlette:
    return Starlette(routes=routes(), middleware=[Middleware(SlokitMiddleware, registry=registry, **options)])


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_route_label_is_the_template_never_the_raw_path(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry))
    for user in (1, 2, 3):
        assert client.get(f"/users/{user}") == 200
    assert count(registry, "/users/{user_id}", 200) == 3
    assert len(series(registry)) == 1


def test_unmatched_requests_share_one_label(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry))
    for n in range(25):
        assert client.get(f"/scan/{n}/wp-admin.php") == 404
    assert count(registry, UNMATCHED_ROUTE, 404) == 25
    assert len(series(registry)) == 1


def test_status_code_is_exact(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry))
    assert client.get("/orders/7", "POST") == 409
    assert count(registry, "/orders/{order_id}", 409, "POST") == 1


def test_method_not_allowed_keeps_the_route(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry))
    assert client.get("/orders/7", "GET") == 405
    assert count(registry, "/orders/{order_id}", 405) == 1


def test_unknown_methods_collapse_to_one_value(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry))
    client.get("/users/1", "BREW")
    client.get("/users/1", "PROPFIND")
    assert {dict(s)[OTEL.method_label] for s in series(registry)} == {OTHER_METHOD}
    assert total(registry) == 2


class Gate:
    """Inner middleware answering before routing: 401 without a token, 429 on /limited."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/limited"):
            await PlainTextResponse("slow down", status_code=429)(scope, receive, send)
        elif scope["type"] == "http" and scope["path"].startswith("/private"):
            await PlainTextResponse("who are you", status_code=401)(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def test_responses_of_inner_middleware_are_counted(registry: CollectorRegistry) -> None:
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(SlokitMiddleware, registry=registry), Middleware(Gate)],
    )
    client = Client(app)
    assert client.get("/limited/users/1") == 429
    assert client.get("/private/x") == 401
    assert count(registry, UNMATCHED_ROUTE, 429) == 1
    assert count(registry, UNMATCHED_ROUTE, 401) == 1


def test_exception_counts_as_500_and_is_reraised_unchanged_when_outermost(registry: CollectorRegistry) -> None:
    raised = Boom("exact object")

    async def endpoint(request: Request) -> Response:
        raise raised

    app = SlokitMiddleware(Router(routes=[Route("/boom", endpoint)]), registry=registry)
    with pytest.raises(Boom) as info:
        asyncio.run(Client(app).call("GET", "/boom"))
    assert info.value is raised
    assert count(registry, "/boom", 500) == 1
    assert total(registry) == 1


def test_exception_inside_starlette_is_counted_once(registry: CollectorRegistry) -> None:
    # Starlette's ServerErrorMiddleware sends a 500 and then re-raises: one request, one count.
    client = Client(instrumented(registry))
    with pytest.raises(Boom):
        asyncio.run(client.call("GET", "/boom"))
    assert count(registry, "/boom", 500) == 1
    assert total(registry) == 1


async def chunks(n: int, pause: float) -> AsyncIterator[bytes]:
    for i in range(n):
        await asyncio.sleep(pause)
        yield b"chunk %d\n" % i


def test_client_disconnect_mid_response_is_counted_once(registry: CollectorRegistry) -> None:
    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks(5, 0))

    app = SlokitMiddleware(Router(routes=[Route("/stream", stream)]), registry=registry)
    # The server's send fails on the third message (start, chunk, chunk): the client went away.
    with pytest.raises(ClientDisconnect):  # Starlette turns the server's OSError into this
        asyncio.run(Client(app).call("GET", "/stream", fail_send_at=2))
    assert count(registry, "/stream", 200) == 1
    assert total(registry) == 1


def test_disconnect_noticed_by_the_app_is_counted_once(registry: CollectorRegistry) -> None:
    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks(50, 0.01))

    app = SlokitMiddleware(Router(routes=[Route("/stream", stream)]), registry=registry)
    # Before ASGI 2.4, Starlette stops streaming when receive() reports the disconnect, and returns normally.
    sent = asyncio.run(Client(app).call("GET", "/stream", disconnect_after=0.05, spec_version="2.0"))
    assert len(sent) < 50
    assert count(registry, "/stream", 200) == 1
    assert total(registry) == 1


def test_disconnect_before_any_response_is_counted_as_client_closed(registry: CollectorRegistry) -> None:
    app = SlokitMiddleware(Router(routes=[Route("/users/{user_id:int}", ok)]), registry=registry)
    with pytest.raises(OSError):
        asyncio.run(Client(app).call("GET", "/users/1", fail_send_at=0))
    assert count(registry, "/users/{user_id}", 499) == 1
    assert total(registry) == 1


def test_background_tasks_are_not_latency(registry: CollectorRegistry) -> None:
    ran: list[bool] = []

    async def slow_cleanup() -> None:
        await asyncio.sleep(0.6)
        ran.append(True)

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(slow_cleanup))

    client = Client(SlokitMiddleware(Router(routes=[Route("/job", endpoint)]), registry=registry))
    assert client.get("/job") == 200
    assert ran == [True]
    assert count(registry, "/job", 200) == 1
    assert duration_sum(registry) < 0.4  # the 0.6 s background task is not in it


def test_streaming_is_measured_to_the_last_chunk(registry: CollectorRegistry) -> None:
    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks(4, 0.05))

    client = Client(SlokitMiddleware(Router(routes=[Route("/stream", stream)]), registry=registry))
    assert client.get("/stream") == 200
    assert duration_sum(registry) >= 0.19


def test_metrics_and_health_are_excluded_by_default(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry))
    assert client.get("/metrics") == 200
    assert client.get("/healthz") == 200
    assert total(registry) == 0


def test_exclusions_are_configurable(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry, exclude_paths=["/users/1"]))
    client.get("/metrics")
    client.get("/users/1")
    assert count(registry, "/metrics", 200) == 1
    assert total(registry) == 1


def test_a_failure_in_recording_is_logged_once_and_swallowed(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: HttpInstruments, method: str, route: str, status: int) -> Any:
        raise RuntimeError("registry on fire")

    monkeypatch.setattr(HttpInstruments, "_child", broken)
    client = Client(instrumented(registry))
    with caplog.at_level(logging.ERROR, logger="slokit.middleware"):
        assert client.get("/users/1") == 200
        assert client.get("/users/2") == 200
    assert len(caplog.records) == 1
    assert "registry on fire" in caplog.text


def test_concurrent_requests_are_counted_exactly(registry: CollectorRegistry) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.001)
        return PlainTextResponse("ok")

    def sync_endpoint(request: Request) -> Response:  # runs in Starlette's thread pool
        time.sleep(0.0005)
        return PlainTextResponse("ok")

    client = Client(
        SlokitMiddleware(
            Router(routes=[Route("/async/{n}", slow), Route("/sync/{n}", sync_endpoint)]), registry=registry
        )
    )

    async def burst() -> None:
        calls = [client.call("GET", f"/async/{n}") for n in range(300)]
        calls += [client.call("GET", f"/sync/{n}") for n in range(200)]
        await asyncio.gather(*calls)

    asyncio.run(burst())
    assert count(registry, "/async/{n}", 200) == 300
    assert count(registry, "/sync/{n}", 200) == 200


def test_mounted_sub_apps_get_their_prefix(registry: CollectorRegistry) -> None:
    items = Router(routes=[Route("/items/{item_id}", ok)])
    sub_app = Starlette(routes=[Route("/reports/{year:int}", ok)])

    async def raw_files(scope: Scope, receive: Any, send: Any) -> None:
        await PlainTextResponse("file")(scope, receive, send)

    app = Starlette(
        routes=[
            Mount("/api/{version}", routes=[Mount("/shop", app=items)]),
            Mount("/v1", app=items),
            Mount("/v2", app=items),
            Mount("/admin", app=sub_app),
            Mount("/static", app=raw_files),
        ],
        middleware=[Middleware(SlokitMiddleware, registry=registry)],
    )
    client = Client(app)
    assert client.get("/api/7/shop/items/3") == 200
    assert client.get("/v1/items/3") == 200
    assert client.get("/v2/items/4") == 200
    assert client.get("/v2/items/5") == 200
    assert client.get("/admin/reports/2024") == 200
    assert client.get("/admin/nothing-here") == 404
    assert client.get("/static/css/site.css") == 200
    assert count(registry, "/api/{version}/shop/items/{item_id}", 200) == 1
    assert count(registry, "/v1/items/{item_id}", 200) == 1
    assert count(registry, "/v2/items/{item_id}", 200) == 2
    assert count(registry, "/admin/reports/{year}", 200) == 1
    assert count(registry, UNMATCHED_ROUTE, 404) == 1
    assert count(registry, "/static/{path}", 200) == 1
    assert total(registry) == 7


class CopyScope:
    """An inner middleware that hands the router a copy of the scope (so the router's notes are lost)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(dict(scope), receive, send)


def test_route_is_matched_once_when_the_scope_was_copied(registry: CollectorRegistry) -> None:
    app = Starlette(
        routes=routes(), middleware=[Middleware(SlokitMiddleware, registry=registry), Middleware(CopyScope)]
    )
    client = Client(app)
    assert client.get("/users/5") == 200
    assert client.get("/nope") == 404
    assert count(registry, "/users/{user_id}", 200) == 1
    assert count(registry, UNMATCHED_ROUTE, 404) == 1


def test_fastapi_routes_are_labelled_by_template(registry: CollectorRegistry) -> None:
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/accounts/{account_id}")
    async def account(account_id: int) -> dict[str, int]:
        return {"id": account_id}

    api.add_middleware(SlokitMiddleware, registry=registry)
    client = Client(api)
    assert client.get("/accounts/12") == 200
    assert client.get("/accounts/not-a-number") == 422
    assert count(registry, "/accounts/{account_id}", 200) == 1
    assert count(registry, "/accounts/{account_id}", 422) == 1


def test_buckets_contain_every_latency_threshold(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry, latency_thresholds=[0.3, 0.45, 1.0]))
    client.get("/users/1")
    text = generate_latest(registry).decode()
    for bound in ("0.3", "0.45", "1.0", "0.005", "10.0"):
        assert f'le="{bound}"' in text, bound


def test_buckets_come_from_a_loaded_service() -> None:
    class Service:
        metrics = CLASSIC
        buckets = (0.05, 0.25, 0.8)

    registry = CollectorRegistry()
    client = Client(instrumented(registry, service=Service(), latency_thresholds=[0.42]))
    client.get("/users/1")
    text = generate_latest(registry).decode()
    labels = 'method="GET",route="/users/{user_id}",status="200"'
    assert f'http_request_duration_seconds_bucket{{le="0.8",{labels}}} 1.0' in text
    assert 'le="0.005"' not in text  # the spec's buckets as written, not merged into the defaults
    assert f'http_request_duration_seconds_bucket{{le="0.42",{labels}}} 1.0' in text
    assert 'http_requests_total{method="GET",route="/users/{user_id}",status="200"} 1.0' in text


def test_no_created_series_and_one_configuration_per_registry(registry: CollectorRegistry) -> None:
    first = SlokitMiddleware(Router(routes=routes()), registry=registry)
    again = SlokitMiddleware(Router(routes=routes()), registry=registry)  # an app built twice
    assert first.instruments is again.instruments
    asyncio.run(Client(first).call("GET", "/users/1"))
    assert "_created" not in generate_latest(registry).decode()
    with pytest.raises(ValueError, match="already registered"):
        SlokitMiddleware(Router(routes=routes()), registry=registry, buckets=[1.0, 2.0])


def test_in_flight_gauge_returns_to_zero(registry: CollectorRegistry) -> None:
    client = Client(instrumented(registry, in_flight=True))
    client.get("/users/1")
    with pytest.raises(Boom):
        asyncio.run(client.call("GET", "/boom"))
    assert registry.get_sample_value(OTEL.active_requests or "") == 0.0


def test_metrics_app_serves_the_registry(registry: CollectorRegistry) -> None:
    app = Starlette(
        routes=[*routes()[:1], Route("/metrics", metrics_app(registry))],
        middleware=[Middleware(SlokitMiddleware, registry=registry)],
    )
    client = Client(app)
    client.get("/users/1")
    sent = asyncio.run(client.call("GET", "/metrics"))
    body = b"".join(m.get("body", b"") for m in sent).decode()
    assert sent[0]["status"] == 200
    assert f'{OTEL.duration_count}{{http_request_method="GET",http_response_status_code="200",' in body
    assert total(registry) == 1  # the scrape itself is not counted


METHODS = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "BREW", "PROPFIND", ""])
PATHS = st.one_of(
    st.builds(lambda n: f"/users/{n}", st.integers(min_value=0, max_value=10**9)),
    st.builds(lambda s: f"/orders/{s}", st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=1)),
    st.builds(lambda s: "/" + s, st.text(alphabet=string.printable, max_size=30)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(METHODS, PATHS), min_size=1, max_size=25))
def test_any_traffic_is_counted_once_with_bounded_labels(requests: list[tuple[str, str]]) -> None:
    registry = CollectorRegistry()
    client = Client(instrumented(registry, exclude_paths=()))
    for method, path in requests:
        with contextlib.suppress(Boom):  # "/boom" raises by design
            client.get(path, method)
    assert total(registry) == len(requests)
    labels = [dict(s) for s in series(registry)]
    assert {d[OTEL.route_label] for d in labels} <= {
        "/users/{user_id}",
        "/orders/{order_id}",
        "/boom",
        "/metrics",
        "/healthz",
        UNMATCHED_ROUTE,
    }
    assert {d[OTEL.method_label] for d in labels} <= STANDARD_METHODS | {OTHER_METHOD}


def test_exemplars_carry_the_active_trace(registry: CollectorRegistry) -> None:
    from opentelemetry import trace
    from prometheus_client.openmetrics.exposition import generate_latest as openmetrics

    client = Client(instrumented(registry, exemplars=True))
    sampled = trace.SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    with trace.use_span(trace.NonRecordingSpan(sampled)):
        assert client.get("/users/1") == 200
    assert client.get("/users/2") == 200  # no span: observed without an exemplar
    text = openmetrics(registry).decode()
    assert text.count('# {span_id="00f067aa0ba902b7",trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}') == 1
    assert count(registry, "/users/{user_id}", 200) == 2


def test_exemplars_are_refused_in_multiprocess_mode(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import values

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())
    with pytest.raises(ValueError, match="exemplars are not available in multiprocess mode"):
        SlokitMiddleware(Router(routes=routes()), registry=CollectorRegistry(), exemplars=True)


def test_cache_outcomes_from_a_response_header_are_counted_and_the_header_dropped(
    registry: CollectorRegistry,
) -> None:
    async def lookup(request: Request) -> Response:
        return PlainTextResponse("ok", headers={"X-Cache-Lookups": "users=hit, sessions=miss, junk, teams=maybe"})

    app = SlokitMiddleware(Router(routes=[Route("/lookup", lookup)]), registry=registry, cache_header="X-Cache-Lookups")
    sent = asyncio.run(Client(app).call("GET", "/lookup"))
    assert all(name != b"x-cache-lookups" for name, _ in sent[0]["headers"])
    outcomes = {
        (s.labels[OTEL.cache_label], s.labels[OTEL.outcome_label]): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == OTEL.cache_lookups_total
    }
    assert outcomes == {("users", "hit"): 1.0, ("sessions", "miss"): 1.0}
    assert count(registry, "/lookup", 200) == 1


@pytest.mark.parametrize("starlette_installed", [True, False])
def test_other_asgi_frameworks_setting_a_route_are_labelled(
    registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch, starlette_installed: bool
) -> None:
    from types import SimpleNamespace

    from slokit.middleware import asgi

    if not starlette_installed:
        monkeypatch.setattr(asgi, "_starlette_routing", lambda: None)
    route = SimpleNamespace(path_format="/things/{thing_id}")

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["path"].startswith("/things/"):
            scope["route"] = route
        await PlainTextResponse("ok")(scope, receive, send)

    client = Client(SlokitMiddleware(app, registry=registry))
    client.get("/things/1")
    client.get("/things/2")
    client.get("/elsewhere")
    assert count(registry, "/things/{thing_id}", 200) == 2
    assert count(registry, UNMATCHED_ROUTE, 200) == 1
