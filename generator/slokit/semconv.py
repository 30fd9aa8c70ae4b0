"""Metric names, label names and histogram buckets: the contract between the middleware and the generator.

The middleware writes these series and the built-in SLIs query them, so both sides import them from
here and nowhere else. This module imports nothing beyond the standard library, because services load
it through ``slokit.middleware`` without the generator's dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricNames:
    """One naming preset: the series a service exposes and the labels on them."""

    preset: str
    #: Histogram of server-side request durations, in seconds. Its ``_count`` is the request counter.
    duration: str
    method_label: str
    route_label: str
    status_label: str
    #: Counter of cache lookups, labelled with the cache name and the outcome (hit or miss).
    cache_lookups: str
    cache_label: str
    outcome_label: str
    #: A plain request counter that some presets expose besides the histogram (None: use ``duration_count``).
    requests_total: str | None = None
    #: Gauge of requests being served, exposed only when the middleware's ``in_flight`` option is on.
    active_requests: str | None = None

    @property
    def duration_bucket(self) -> str:
        return f"{self.duration}_bucket"

    @property
    def duration_count(self) -> str:
        return f"{self.duration}_count"

    @property
    def duration_sum(self) -> str:
        return f"{self.duration}_sum"

    @property
    def cache_lookups_total(self) -> str:
        """The exposed series name: prometheus-client appends ``_total`` to counters."""
        return self.cache_lookups if self.cache_lookups.endswith("_total") else f"{self.cache_lookups}_total"


#: OpenTelemetry-aligned names (HTTP semantic conventions), the default.
OTEL = MetricNames(
    preset="otel",
    duration="http_server_request_duration_seconds",
    method_label="http_request_method",
    route_label="http_route",
    status_label="http_response_status_code",
    cache_lookups="cache_lookups_total",
    cache_label="cache",
    outcome_label="outcome",
    active_requests="http_server_active_requests",
)

#: The names most Prometheus HTTP exporters use.
CLASSIC = MetricNames(
    preset="classic",
    duration="http_request_duration_seconds",
    method_label="method",
    route_label="route",
    status_label="status",
    cache_lookups="cache_lookups_total",
    cache_label="cache",
    outcome_label="outcome",
    requests_total="http_requests_total",
    active_requests="http_requests_in_flight",
)

PRESETS: dict[str, MetricNames] = {p.preset: p for p in (OTEL, CLASSIC)}

#: Cache outcome label values.
CACHE_HIT = "hit"
CACHE_MISS = "miss"

#: Route label value for requests no route matched (404 scans must not create a series per URL).
UNMATCHED_ROUTE = "<unmatched>"

#: Method label value for methods outside the standard set (OpenTelemetry's convention).
OTHER_METHOD = "_OTHER"

STANDARD_METHODS: frozenset[str] = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

#: prometheus-client's default buckets, which equal OpenTelemetry's advisory duration buckets.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)


def buckets_with(bounds: Iterable[float], base: Iterable[float] = DEFAULT_BUCKETS) -> tuple[float, ...]:
    """Buckets that contain ``base`` plus every bound in ``bounds``, sorted and without duplicates.

    A latency SLI counts requests at or under its threshold from the ``le`` bucket equal to the
    threshold, so that bound must exist in the histogram; this is how the middleware guarantees it.
    """
    merged = {round(float(b), 9) for b in base} | {round(float(b), 9) for b in bounds}
    if any(b <= 0 for b in merged):
        raise ValueError("histogram bucket bounds must be positive")
    return tuple(sorted(merged))
