"""WSGI middleware and the ``/metrics`` WSGI app.

WSGI has no route template of its own: a framework integration (``slokit.middleware.flask``,
``slokit.middleware.django``) writes it into ``environ[ROUTE_ENVIRON_KEY]`` while handling the request, and
the middleware reads it when the response is done. Requests without it are recorded as unmatched.
The request ends when the server has taken the last body chunk; ``close()`` work (teardown handlers,
``request_finished`` signals) is not latency.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
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

#: The environ key a framework integration sets to the matched route template.
ROUTE_ENVIRON_KEY = "slokit.route"

Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | None
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_perf = time.perf_counter


class _Response:
    """Wraps one response body: records the request when the body is exhausted, or at ``close()``."""

    __slots__ = ("_body", "_done", "_environ", "_middleware", "_start", "_start_response", "status")

    def __init__(
        self, middleware: SlokitWSGIMiddleware, environ: Environ, start_response: StartResponse, start: float
    ) -> None:
        self._middleware = middleware
        self._environ = environ
        self._start_response = start_response
        self._start = start
        self._body: Iterable[bytes] = ()
        self._done = False
        self.status = 0

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo = None) -> Any:
        self.status = int(status[:3])
        if self._middleware.cache_header is not None:
            headers = self._middleware.take_cache_header(headers)
        return self._start_response(status, headers, exc_info)

    def finish(self, status: int) -> None:
        if self._done:
            return
        self._done = True
        middleware = self._middleware
        try:
            environ = self._environ
            middleware.instruments.observe(
                environ.get("REQUEST_METHOD", ""),
                environ.get(ROUTE_ENVIRON_KEY, UNMATCHED_ROUTE),
                status,
                _perf() - self._start,
            )
        except Exception:
            middleware.instruments.failed("the WSGI middleware")
        gauge = middleware.instruments.in_flight
        if gauge is not None:
            gauge.dec()

    def __iter__(self) -> Iterator[bytes]:
        body = self._body
        if type(body) is list:
            # A list cannot fail half-way; the server's close() marks the end of the response.
            return iter(body)
        return self._guarded(body)

    def _guarded(self, body: Iterable[bytes]) -> Iterator[bytes]:
        try:
            yield from body
        except GeneratorExit:
            raise
        except BaseException:
            self.finish(SERVER_ERROR_STATUS)
            raise
        self.finish(self.status or SERVER_ERROR_STATUS)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            # Closed before the body was exhausted: the client went away mid-response.
            self.finish(self.status or CLIENT_CLOSED_STATUS)


class SlokitWSGIMiddleware:
    """Records every HTTP request once: ``app.wsgi_app = SlokitWSGIMiddleware(app.wsgi_app)``.

    Takes the options of the ASGI ``SlokitMiddleware``; ``exclude_paths`` match ``PATH_INFO``.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        exclude_paths: Iterable[str] = DEFAULT_EXCLUDED_PATHS,
        cache_header: str | None = None,
        **options: Unpack[InstrumentOptions],
    ) -> None:
        self.app = app
        self.instruments: HttpInstruments = instruments(**options)
        self._excluded = frozenset(exclude_paths)
        self.cache_header = cache_header.lower() if cache_header else None

    def take_cache_header(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Count the cache lookups the app reported in its response header, and drop the header."""
        name = self.cache_header
        try:
            kept = [(key, value) for key, value in headers if key.lower() != name]
            if len(kept) != len(headers):
                for key, value in headers:
                    if key.lower() == name:
                        self.instruments.cache_outcomes(value)
            return kept
        except Exception:
            self.instruments.failed("the WSGI middleware's cache header")
            return headers

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self._excluded:
            return self.app(environ, start_response)
        gauge = self.instruments.in_flight
        if gauge is not None:
            gauge.inc()
        response = _Response(self, environ, start_response, _perf())
        try:
            response._body = self.app(environ, response.start_response)
        except BaseException:
            response.finish(SERVER_ERROR_STATUS)
            raise
        return response


def metrics_wsgi_app(registry: CollectorRegistry | None = None) -> WSGIApp:
    """A WSGI app answering every request with the exposition (aggregated in multiprocess mode)."""

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        body, content_type = render(registry, environ.get("HTTP_ACCEPT", ""))
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    return app
