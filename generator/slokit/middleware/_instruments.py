"""The series the middleware writes, created once per registry, with their labelled children cached.

Both the ASGI and the WSGI middleware record through :class:`HttpInstruments`. The hot path is one dict
lookup and one ``observe()``: prometheus-client's ``labels()`` costs about a microsecond, so children are
looked up once per (method, route, status) and kept.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypedDict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import values as _values
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import REGISTRY, Collector

from slokit.semconv import (
    CACHE_HIT,
    CACHE_MISS,
    DEFAULT_BUCKETS,
    OTHER_METHOD,
    PRESETS,
    STANDARD_METHODS,
    UNMATCHED_ROUTE,
    MetricNames,
    buckets_with,
)

log = logging.getLogger("slokit.middleware")

#: Paths answered without being measured unless ``exclude_paths`` says otherwise: the scrape endpoint
#: and the usual health probes, which would otherwise dominate the request count of a quiet service.
DEFAULT_EXCLUDED_PATHS: frozenset[str] = frozenset({"/metrics", "/health", "/healthz", "/livez", "/readyz", "/ping"})

#: Status recorded when the client went away before any response started (nginx's convention). It is not
#: a 5xx, so a client hanging up does not spend the error budget, but the request is still counted once.
CLIENT_CLOSED_STATUS = 499

#: Status recorded when the application raised before its response was complete.
SERVER_ERROR_STATUS = 500


class ServiceLike(Protocol):
    """What the middleware reads from a loaded ``slokit.spec.model.Service`` (without importing it)."""

    @property
    def metrics(self) -> MetricNames: ...

    @property
    def buckets(self) -> tuple[float, ...]: ...


class InstrumentOptions(TypedDict, total=False):
    """What both middlewares accept besides ``exclude_paths`` (see :func:`instruments`)."""

    registry: CollectorRegistry | None
    preset: str | MetricNames
    latency_thresholds: Iterable[float]
    buckets: Iterable[float] | None
    service: ServiceLike | None
    in_flight: bool
    multiprocess: bool | None
    exemplars: bool


def multiprocess_dir() -> str | None:
    """The multiprocess directory when prometheus-client runs in multiprocess mode, else None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _check_multiprocess(wanted: bool | None) -> bool:
    """Whether values go to the multiprocess directory; a half-configured setup is an error, not a surprise.

    prometheus-client decides when it is imported, from ``PROMETHEUS_MULTIPROC_DIR``: that variable is the
    switch. ``wanted`` (the middleware's ``multiprocess`` option) only asserts what the service expects.
    """
    directory = multiprocess_dir()
    active = bool(getattr(_values.ValueClass, "_multiprocess", False))
    if wanted is None:
        wanted = directory is not None or active
    if not wanted:
        if active:
            raise RuntimeError(
                "prometheus_client runs in multiprocess mode (PROMETHEUS_MULTIPROC_DIR was set when it was "
                "imported); unset the variable for single-process mode"
            )
        return False
    if directory is None or not os.path.isdir(directory):
        raise RuntimeError("multiprocess mode needs PROMETHEUS_MULTIPROC_DIR set to an existing, writable directory")
    if not active:
        raise RuntimeError(
            "PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported; set it in the "
            "environment of the server process (for gunicorn: in its environment or `raw_env`)"
        )
    return True


class _WithoutCreated(Collector):
    """Exposes metrics without their ``_created`` samples, leaving the process-wide setting alone."""

    def __init__(self, metrics: Sequence[MetricWrapperBase]) -> None:
        self._metrics = tuple(metrics)

    def collect(self) -> Iterator[Metric]:
        for metric in self._metrics:
            for family in metric.collect():
                family.samples = [s for s in family.samples if not s.name.endswith("_created")]
                yield family

    def describe(self) -> Iterator[Metric]:
        for metric in self._metrics:
            yield from metric.describe()


class HttpInstruments:
    """The request histogram (plus the preset's request counter and optional in-flight gauge)."""

    def __init__(
        self,
        names: MetricNames,
        buckets: tuple[float, ...],
        registry: CollectorRegistry,
        *,
        in_flight: bool,
        multiprocess: bool,
        exemplars: bool = False,
    ) -> None:
        self.names = names
        self.buckets = buckets
        self.multiprocess = multiprocess
        self._exemplar: Callable[[], dict[str, str] | None] | None = None
        if exemplars:
            if multiprocess:
                raise ValueError("exemplars are not available in multiprocess mode (prometheus-client keeps none)")
            self._exemplar = _trace_exemplar()
        labels = (names.method_label, names.route_label, names.status_label)
        created: list[MetricWrapperBase] = []
        self._histogram = Histogram(
            names.duration,
            "Duration of HTTP server requests, from reaching the middleware to the last body chunk sent.",
            labels,
            buckets=buckets,
            registry=None,
        )
        created.append(self._histogram)
        self._counter: Counter | None = None
        if names.requests_total is not None:
            self._counter = Counter(names.requests_total, "HTTP server requests.", labels, registry=None)
            created.append(self._counter)
        self.in_flight: Gauge | None = None
        if in_flight and names.active_requests is not None:
            self.in_flight = Gauge(
                names.active_requests,
                "HTTP server requests being served.",
                registry=None,
                multiprocess_mode="livesum",
            )
            created.append(self.in_flight)
        try:
            registry.register(_WithoutCreated(created))
        except ValueError as err:
            raise ValueError(
                f"{names.duration} is already registered in this registry with other buckets or options; "
                "use one middleware configuration per registry"
            ) from err
        self._children: dict[tuple[str, str, int], Callable[..., None]] = {}
        self.cache_lookups = cache_counter(registry, names)
        self._lock = threading.Lock()
        self._failed = False

    def _child(self, method: str, route: str, status: int) -> Callable[..., None]:
        with self._lock:
            key = (method, route, status)
            child = self._children.get(key)
            if child is not None:
                return child
            values = (method, route, str(status))
            observe = self._histogram.labels(*values).observe
            if self._counter is None:
                child = observe
            else:
                inc = self._counter.labels(*values).inc

                def child(seconds: float, exemplar: dict[str, str] | None = None) -> None:
                    observe(seconds, exemplar)
                    inc()

            self._children[key] = child
            return child

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request; methods outside the standard set collapse to one value."""
        if method not in STANDARD_METHODS:
            method = OTHER_METHOD
        try:
            child = self._children[(method, route, status)]
        except KeyError:
            child = self._child(method, route, status)
        if self._exemplar is None:
            child(seconds)
        else:
            child(seconds, self._exemplar())

    def cache_outcomes(self, header: str) -> None:
        """Count the lookups a response header reports: ``users=hit, sessions=miss``.

        Items that are not ``<cache>=hit|miss`` are ignored rather than turned into series.
        """
        for item in header.split(","):
            cache, sep, outcome = item.strip().rpartition("=")
            if sep and cache and outcome in (CACHE_HIT, CACHE_MISS):
                self.cache_lookups.labels(cache.strip(), outcome).inc()

    def failed(self, where: str) -> None:
        """Log a failure inside metrics recording, once per instruments; the request goes on untouched."""
        if not self._failed:
            self._failed = True
            log.exception("slokit: recording request metrics failed in %s; further failures are silent", where)


def _trace_exemplar() -> Callable[[], dict[str, str] | None]:
    """The current OpenTelemetry trace as exemplar labels, when a sampled span is active."""
    try:
        from opentelemetry import trace
    except ImportError as err:
        raise ValueError("exemplars need the opentelemetry-api package") from err

    def current() -> dict[str, str] | None:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid or not context.trace_flags.sampled:
            return None
        return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}

    return current


_lock = threading.RLock()
_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, dict[object, HttpInstruments]] = weakref.WeakKeyDictionary()
_caches: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()
_current_cache: list[Counter] = []


def cache_counter(registry: CollectorRegistry, names: MetricNames) -> Counter:
    """The cache lookup counter of ``registry``, created on first use."""
    with _lock:
        counter = _caches.get(registry)
        if counter is None:
            counter = Counter(
                names.cache_lookups,
                "Cache lookups by cache name and outcome (hit or miss).",
                (names.cache_label, names.outcome_label),
                registry=None,
            )
            registry.register(_WithoutCreated([counter]))
            _caches[registry] = counter
        return counter


def instruments(
    *,
    registry: CollectorRegistry | None = None,
    preset: str | MetricNames = "otel",
    latency_thresholds: Iterable[float] = (),
    buckets: Iterable[float] | None = None,
    service: ServiceLike | None = None,
    in_flight: bool = False,
    multiprocess: bool | None = None,
    exemplars: bool = False,
) -> HttpInstruments:
    """The instruments for one registry and configuration, shared by every middleware that asks for them.

    An app built twice in one process (tests, reloaders) gets the same series instead of a
    "Duplicated timeseries" error. Buckets always contain every latency threshold: ``service`` (a loaded
    SLO file) brings its metric names and buckets, ``buckets`` replaces the base set, and
    ``latency_thresholds`` (seconds) are added to whichever applies. ``preset``: "otel" or "classic".
    ``in_flight``: also a gauge of requests being served. ``multiprocess``: None follows
    ``PROMETHEUS_MULTIPROC_DIR``. ``exemplars``: attach the current OpenTelemetry trace to observations
    (single-process only, shown in the OpenMetrics exposition).
    """
    names = PRESETS[preset] if isinstance(preset, str) else preset
    base: Iterable[float] = DEFAULT_BUCKETS
    if service is not None:
        if not hasattr(service, "metrics") or not hasattr(service, "buckets"):
            raise TypeError("service= takes one loaded spec, slokit.spec.load_service(path), "
                            f"got {type(service).__name__}")
        # The loader checked that every latency threshold of the SLO file is one of these buckets.
        names, base = service.metrics, service.buckets
    final = buckets_with(latency_thresholds, base if buckets is None else buckets)
    mp = _check_multiprocess(multiprocess)
    target = REGISTRY if registry is None else registry
    key = (names, final, in_flight, mp, exemplars)
    with _lock:
        known = _by_registry.setdefault(target, {})
        found = known.get(key)
        if found is None:
            found = HttpInstruments(names, final, target, in_flight=in_flight, multiprocess=mp, exemplars=exemplars)
            known[key] = found
    _current_cache[:] = [cache_counter(target, names)]
    return found


def current_cache_counter() -> Counter:
    """The cache counter of the most recently configured middleware (default registry if none)."""
    if not _current_cache:
        _current_cache.append(cache_counter(REGISTRY, PRESETS["otel"]))
    return _current_cache[0]


__all__ = [
    "CLIENT_CLOSED_STATUS",
    "DEFAULT_EXCLUDED_PATHS",
    "SERVER_ERROR_STATUS",
    "UNMATCHED_ROUTE",
    "HttpInstruments",
    "InstrumentOptions",
    "ServiceLike",
    "cache_counter",
    "current_cache_counter",
    "instruments",
    "multiprocess_dir",
]
