"""Pure ASGI middleware (not ``BaseHTTPMiddleware``) and the ``/metrics`` ASGI app.

The request ends when the final body chunk has been handed to the server: background tasks that run
after it are not latency, and a streaming response is measured to its last chunk. A client that leaves
before the response is complete (the server's ``send`` fails, or the app receives ``http.disconnect``, for
instance while it still reads the request body) is counted once with the status sent, 499 when none was
sent before the client left. The route label is the
template of the route the router chose, read from ``scope["route"]`` after the call, so no route is
matched twice.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import ModuleType
from typing import Any, Unpack

from prometheus_client import CollectorRegistry

from slokit.middleware._instruments import (
    CLIENT_CLOSED_STATUS,
    DEFAULT_EXCLUDED_PATHS,
    SERVER_ERROR_STATUS,
    HttpInstruments,
    InstrumentOptions,
    instruments,
)
from slokit.middleware.exposition import render
from slokit.semconv import UNMATCHED_ROUTE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_perf = time.perf_counter
_PATH_SUFFIX = "/{path}"


class _Template:
    """Where one route object sits in the route tree: its template under each mount prefix."""

    __slots__ = ("choices", "route")

    def __init__(self, route: object, choices: list[tuple[str, str]]) -> None:
        self.route = route  # keeps the object alive, so its id() is not reused while cached
        #: (raw mount prefix as declared, with converters; full template)
        self.choices = choices


class StarletteRoutes:
    """Route templates for Starlette and FastAPI, mount prefixes included, learned once per route object."""

    def __init__(self, app: object) -> None:
        self._app = app
        self._templates: dict[int, _Template] = {}
        #: id(route) -> template, for routes with a single template (the common case): one lookup.
        self._known: dict[int, str] = {}
        self._prefix_regex: dict[str, re.Pattern[str]] = {}

    def template(self, scope: Scope) -> str:
        route = scope.get("route")
        found = self._known.get(id(route))
        if found is not None:
            return found
        if route is None:
            if "router" in scope:  # the router ran and matched nothing: a 404 (or a redirect)
                return UNMATCHED_ROUTE
            route = self._match_fallback(scope)
            if route is None:
                return UNMATCHED_ROUTE
        entry = self._templates.get(id(route))
        if entry is None or entry.route is not route:
            entry = self._learn(route, scope)
        if len(entry.choices) == 1:
            # Safe to key by id(): the entry in _templates keeps the route object alive.
            self._known[id(route)] = entry.choices[0][1]
            return entry.choices[0][1]
        return self._choose(entry, scope)

    def _learn(self, route: object, scope: Scope) -> _Template:
        router = scope.get("router") or _find_router(self._app)
        choices: list[tuple[str, str]] = []
        if router is not None and _starlette_routing() is not None:
            _walk(getattr(router, "routes", ()), "", "", route, choices)
        if not choices:
            choices = [("", _own_template(route))]
        if _is_router_mount(route):
            # The mount's own router matched nothing: every path under it is one unmatched request.
            choices = [("", UNMATCHED_ROUTE)]
        entry = _Template(route, choices)
        self._templates[id(route)] = entry
        return entry

    def _choose(self, entry: _Template, scope: Scope) -> str:
        """The same route object mounted twice: pick the prefix the request came through."""
        root = str(scope.get("root_path", ""))
        concrete = root[len(str(scope.get("app_root_path", ""))) :]
        for raw, template in entry.choices:
            regex = self._prefix_regex.get(raw)
            if regex is None:
                from starlette.routing import compile_path

                regex = self._prefix_regex[raw] = compile_path(raw)[0]
            if regex.match(concrete):
                return template
        return entry.choices[0][1]

    def _match_fallback(self, scope: Scope) -> object | None:
        """Match once when the scope the router saw was a copy (an inner middleware rebuilt it)."""
        router = _find_router(self._app)
        if router is None or _starlette_routing() is None:
            return None
        return _match(getattr(router, "routes", ()), scope)


def _own_template(route: object) -> str:
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED_ROUTE


@functools.cache
def _starlette_routing() -> ModuleType | None:
    """``starlette.routing`` when installed: other ASGI frameworks may set ``scope["route"]`` too."""
    try:
        import starlette.routing
    except ImportError:
        return None
    return starlette.routing


def _is_router_mount(route: object) -> bool:
    routing = _starlette_routing()
    return routing is not None and isinstance(route, routing.Mount) and bool(route.routes)


def _walk(routes: Iterable[object], raw: str, prefix: str, target: object, out: list[tuple[str, str]]) -> None:
    from starlette.routing import Host, Mount

    for route in routes:
        if isinstance(route, Mount):
            mount_prefix = route.path_format[: -len(_PATH_SUFFIX)]
            if route is target:
                out.append((raw, prefix + route.path_format))
            _walk(route.routes, raw + route.path, prefix + mount_prefix, target, out)
        elif isinstance(route, Host):
            _walk(route.routes, raw, prefix, target, out)
        elif route is target:
            out.append((raw, prefix + _own_template(route)))


def _match(routes: Iterable[Any], scope: Scope) -> object | None:
    from starlette.routing import Host, Match, Mount

    partial: object | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            found: object = route
            if isinstance(route, Mount | Host) and route.routes:
                found = _match(route.routes, {**scope, **child}) or route
            return found
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def _find_router(app: object) -> object | None:
    """The router behind ``app``, following ``.app`` through middleware (Starlette, FastAPI, Router)."""
    node: object | None = app
    for _ in range(64):
        if node is None:
            return None
        router: object | None = getattr(node, "router", None)
        if router is not None and isinstance(getattr(router, "routes", None), list):
            return router
        if isinstance(getattr(node, "routes", None), list):
            return node
        node = getattr(node, "app", None)
    return None


class SlokitMiddleware:
    """Records every HTTP request once: ``Starlette(middleware=[Middleware(SlokitMiddleware)])``.

    ``exclude_paths``: exact paths not measured (the scrape and health endpoints by default).
    ``cache_header``: a response header (``X-Cache-Lookups: users=hit, sessions=miss``) the app may set to
    report cache lookups; the middleware counts them and removes the header. The other
    options (``latency_thresholds``, ``service``, ``preset``, ``registry``, ...) are those of
    :func:`slokit.middleware.instruments`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        exclude_paths: Iterable[str] = DEFAULT_EXCLUDED_PATHS,
        cache_header: str | None = None,
        **options: Unpack[InstrumentOptions],
    ) -> None:
        self.app = app
        self.instruments: HttpInstruments = instruments(**options)
        self._excluded = frozenset(exclude_paths)
        self._routes = StarletteRoutes(app)
        self._cache_header = cache_header.lower().encode("latin-1") if cache_header else None

    def _take_cache_header(self, message: Message, name: bytes) -> Message:
        """Count the cache lookups the app reported in its response header, and drop the header."""
        try:
            headers = message.get("headers", ())
            kept = [(key, value) for key, value in headers if key.lower() != name]
            if len(kept) == len(headers):
                return message
            for key, value in headers:
                if key.lower() == name:
                    self.instruments.cache_outcomes(value.decode("latin-1"))
            return {**message, "headers": kept}
        except Exception:
            self.instruments.failed("the ASGI middleware's cache header")
            return message

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        try:
            self.instruments.observe(scope["method"], self._routes.template(scope), status, seconds)
        except Exception:
            self.instruments.failed("the ASGI middleware")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._excluded:
            await self.app(scope, receive, send)
            return
        gauge = self.instruments.in_flight
        if gauge is not None:
            gauge.inc()
        start = _perf()
        status = 0
        done = False
        send_failed = False
        #: The app heard the client leave (``http.disconnect``), e.g. while it was still reading the body.
        client_gone = False
        cache_header = self._cache_header

        async def receive_wrapper() -> Message:
            nonlocal client_gone
            message = await receive()
            if message.get("type") == "http.disconnect":
                client_gone = True
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, done, send_failed
            if cache_header is not None and message["type"] == "http.response.start":
                message = self._take_cache_header(message, cache_header)
            try:
                await send(message)
            except BaseException:
                send_failed = True  # the client is gone; the app sees the error and may raise it
                raise
            kind = message["type"]
            if kind == "http.response.start":
                # An answer to a client that left before it (mid-body) reaches no one: the client's abort.
                status = CLIENT_CLOSED_STATUS if client_gone else message["status"]
            elif not message.get("more_body", False) and not done and status:
                # Final body chunk (or pathsend): the response is complete, whatever runs after it.
                done = True
                self._record(scope, status, _perf() - start)
                if gauge is not None:
                    gauge.dec()

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except BaseException:
            if not done:
                done = True
                # Whatever the app raised once the client had gone (Starlette's ClientDisconnect while it
                # read the body, an error of its own) is the client's abort, not a server error.
                gone = send_failed or client_gone
                code = (status or CLIENT_CLOSED_STATUS) if gone else SERVER_ERROR_STATUS
                self._record(scope, code, _perf() - start)
                if gauge is not None:
                    gauge.dec()
            raise
        if not done:
            # Returned without finishing the body: the client went away mid-stream or mid-request (the
            # app noticed the disconnect) or the app never answered, which the server turns into a 500.
            if status:
                code = status
            elif send_failed or client_gone:
                code = CLIENT_CLOSED_STATUS
            else:
                code = SERVER_ERROR_STATUS
            self._record(scope, code, _perf() - start)
            if gauge is not None:
                gauge.dec()


class MetricsApp:
    """ASGI app answering every request with the exposition (aggregated in multiprocess mode).

    A class rather than a function, so Starlette's ``Route("/metrics", metrics_app())`` treats it as an
    ASGI app and not as a request handler.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        accept = ""
        for name, value in scope.get("headers", ()):
            if name == b"accept":
                accept = value.decode("latin-1")
        body, content_type = render(self.registry, accept)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})


def metrics_app(registry: CollectorRegistry | None = None) -> MetricsApp:
    """The ``/metrics`` ASGI app: ``Route("/metrics", metrics_app())``."""
    return MetricsApp(registry)
