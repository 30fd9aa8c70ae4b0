"""WSGI middleware and the ``/metrics`` WSGI app.

WSGI has no route template of its own: a framework integration (``slokit.middleware.flask``,
``slokit.middleware.django``) writes it into ``environ[ROUTE_ENVIRON_KEY]`` while handling the request, and
the middleware reads it when the response is done. Requests without it are recorded as unmatched.
The request ends when the server has taken the last body chunk; ``close()`` work (teardown handlers,
``request_finished`` signals) is not latency. A client that leaves while still sending the request body
(reading ``wsgi.input`` fails, or ends before ``Content-Length``) is counted as 499 whatever the app makes
of it (an exception, Werkzeug's 400, a 500 page): no one receives that answer.
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
#: The reading methods of ``wsgi.input`` watched for a client that leaves mid-body.
_READS = frozenset({"read", "readline", "readlines", "readinto", "read1", "readinto1"})


class _Input:
    """``wsgi.input`` as the app reads it, telling the response when the client left mid-body.

    Every attribute is the server's own (``hasattr(stream, "readinto")`` answers as for the server's
    stream); reads are passed through unchanged, exceptions included. A read that fails with an OSError or
    ValueError (a closed socket), or that comes back short or empty before ``Content-Length`` bytes were
    read, marks the request as abandoned by the client.
    """

    __slots__ = ("_expected", "_read", "_response", "_stream")

    def __init__(self, stream: Any, response: _Response, content_length: str) -> None:
        self._stream = stream
        self._response = response
        self._read = 0
        self._expected = int(content_length) if content_length.isdigit() else -1

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._stream, name)
        if name not in _READS:
            return attr

        def read(*args: Any, **kwargs: Any) -> Any:
            try:
                got = attr(*args, **kwargs)
            except (OSError, ValueError):
                self._response.client_gone = True
                raise
            self._count(name, got, args[0] if args else next(iter(kwargs.values()), -1))
            return got

        return read

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _count(self, name: str, got: Any, asked: Any) -> None:
        """Add what a read returned; a read that should have returned more marks the client as gone."""
        try:
            if got is None:  # readinto on a stream with nothing ready yet: says nothing
                return
            n = got if isinstance(got, int) else sum(map(len, got)) if isinstance(got, list) else len(got)
            left = self._expected - self._read  # before this read
            self._read += n
            if self._read >= self._expected:
                return
            if isinstance(asked, bytearray | memoryview):
                asked = len(asked)
            to_the_end = name in ("read", "readlines") and (asked is None or asked < 0)
            # A server's read(n) returns fewer than n bytes only at the end of the stream (PEP 3333's
            # input is a file: gunicorn, Werkzeug, wsgiref and waitress all fill the read or reach EOF).
            short = name == "read" and isinstance(asked, int) and 0 < n < min(asked, left)
            if to_the_end or short or (n == 0 and asked != 0):
                self._response.client_gone = True  # the body ended before Content-Length: the client left
        except Exception:
            self._response._middleware.instruments.failed("the WSGI middleware's input")


class _Response:
    """Wraps one response body: records the request when the body is exhausted, or at ``close()``."""

    __slots__ = ("_body", "_done", "_environ", "_middleware", "_start", "_start_response", "client_gone", "status")

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
        #: The client left while sending the request body (see ``_Input``).
        self.client_gone = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo = None) -> Any:
        self.status = CLIENT_CLOSED_STATUS if self.client_gone else int(status[:3])
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
            self.finish(self.failed_status())
            raise
        self.finish(self.status or SERVER_ERROR_STATUS)

    def failed_status(self) -> int:
        """What an exception out of the app counts as: a server error, unless the client had left."""
        return CLIENT_CLOSED_STATUS if self.client_gone else SERVER_ERROR_STATUS

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
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = _Input(stream, response, str(environ.get("CONTENT_LENGTH") or ""))
        try:
            response._body = self.app(environ, response.start_response)
        except BaseException:
            response.finish(response.failed_status())
            raise
        return response


def metrics_wsgi_app(registry: CollectorRegistry | None = None) -> WSGIApp:
    """A WSGI app answering every request with the exposition (aggregated in multiprocess mode)."""

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        body, content_type = render(registry, environ.get("HTTP_ACCEPT", ""))
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    return app
