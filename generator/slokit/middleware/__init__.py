"""Instrumentation middleware: the request and cache metrics behind slokit's built-in SLIs.

Imports prometheus-client and the standard library only (never the generator's dependencies); the
service's spec is loaded with ``slokit.spec.load_service``, which needs the generator extra::

    app = Starlette(routes=..., middleware=[Middleware(SlokitMiddleware, service=load_service("slo/x.yaml"))])
    app.mount("/metrics", metrics_app())

Series (OpenTelemetry preset, the default; names in ``slokit.semconv``):
``http_server_request_duration_seconds{http_request_method, http_route, http_response_status_code}``
and ``cache_lookups_total{cache, outcome}``.
"""

from slokit.middleware._instruments import (
    CLIENT_CLOSED_STATUS,
    DEFAULT_EXCLUDED_PATHS,
    HttpInstruments,
    instruments,
    multiprocess_dir,
)
from slokit.middleware.asgi import SlokitMiddleware, metrics_app
from slokit.middleware.cache import cache_lookup, record_cache
from slokit.middleware.exposition import child_exit, on_starting, render
from slokit.middleware.wsgi import ROUTE_ENVIRON_KEY, SlokitWSGIMiddleware, metrics_wsgi_app

__all__ = [
    "CLIENT_CLOSED_STATUS",
    "DEFAULT_EXCLUDED_PATHS",
    "ROUTE_ENVIRON_KEY",
    "HttpInstruments",
    "SlokitMiddleware",
    "SlokitWSGIMiddleware",
    "cache_lookup",
    "child_exit",
    "instruments",
    "metrics_app",
    "metrics_wsgi_app",
    "multiprocess_dir",
    "on_starting",
    "record_cache",
    "render",
]
