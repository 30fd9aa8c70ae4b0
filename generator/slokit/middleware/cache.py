"""Cache outcome counter: the series behind the built-in ``cache_misses`` SLI.

Lookups go to the registry of the most recently configured middleware (the default registry when there
is none), so application code needs no handle on it::

    hit = value is not None
    record_cache("users", hit)

or, around the lookup::

    with cache_lookup("users") as lookup:
        value = cache.get(key)
        lookup.hit = value is not None
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry

from slokit.middleware._instruments import cache_counter, current_cache_counter
from slokit.semconv import CACHE_HIT, CACHE_MISS, OTEL


def record_cache(cache: str, hit: bool, *, registry: CollectorRegistry | None = None) -> None:
    """Count one lookup of ``cache``: a hit or a miss."""
    counter = current_cache_counter() if registry is None else cache_counter(registry, OTEL)
    counter.labels(cache, CACHE_HIT if hit else CACHE_MISS).inc()


class CacheLookup:
    """The outcome of one lookup; it stays a miss unless ``hit`` is set."""

    __slots__ = ("hit",)

    def __init__(self) -> None:
        self.hit = False


@contextmanager
def cache_lookup(cache: str, *, registry: CollectorRegistry | None = None) -> Iterator[CacheLookup]:
    """Count one lookup of ``cache`` when the block ends, even when it raises (then as a miss)."""
    lookup = CacheLookup()
    try:
        yield lookup
    except BaseException:
        lookup.hit = False
        raise
    finally:
        record_cache(cache, lookup.hit, registry=registry)
