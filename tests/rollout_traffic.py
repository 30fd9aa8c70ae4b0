"""Synthetic traffic of a service minute by minute, as the raw series its middleware would expose.

Shared by the tests of the rollout analyses (promtool input series) and of ``slokit gate`` (an OpenMetrics
file backfilled into a real Prometheus). Requests go to one unscoped route, plus the route and method of
every HTTP SLI that names them; the status of bad scoped requests is one the SLI's regex matches; caches are
the ones the cache SLIs name. So the series fit any spec with built-in SLIs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from slokit import promql
from slokit.rules.synth import matching_example, non_matching_example
from slokit.semconv import CACHE_HIT, CACHE_MISS
from slokit.spec.model import CacheMisses, HttpErrors, HttpLatency, Service

DEFAULT_ROUTE = "/api/onboarding/progress"
SLOW_SECONDS = 3.0
FAST_SECONDS = 0.05


@dataclass(frozen=True)
class Mix:
    """One minute of traffic: request count and the shares of 5xx, slow (3 s) and SLI-bad scoped requests."""

    requests: int = 600
    errors: float = 0.001
    slow: float = 0.0
    scoped_bad: float = 0.002
    misses: float = 0.1


Labels = tuple[tuple[str, str], ...]


def _minute(service: Service, mix: Mix) -> dict[Labels, float]:
    """Increase of every counter series during one minute of ``mix``."""
    m = service.metrics
    out: dict[Labels, float] = {}
    bounds = [*sorted(service.buckets), float("inf")]

    def requests(method: str, route: str, status: str, seconds: float, n: float) -> None:
        base = {**service.selector, m.method_label: method, m.route_label: route, m.status_label: status}
        key = tuple(sorted({"__name__": m.duration_count, **base}.items()))
        out[key] = out.get(key, 0) + n
        for b in bounds:
            le = "+Inf" if b == float("inf") else repr(float(b))
            bkey = tuple(sorted({"__name__": m.duration_bucket, **base, "le": le}.items()))
            out[bkey] = out.get(bkey, 0) + (n if seconds <= b else 0)

    n = mix.requests
    requests("GET", DEFAULT_ROUTE, "200", FAST_SECONDS, n * (1 - mix.errors - mix.slow))
    requests("GET", DEFAULT_ROUTE, "503", FAST_SECONDS, n * mix.errors)
    requests("GET", DEFAULT_ROUTE, "200", SLOW_SECONDS, n * mix.slow)
    for slo in service.slos:
        sli = slo.sli
        if isinstance(sli, HttpErrors | HttpLatency) and (sli.route or sli.method):
            route, method = sli.route or DEFAULT_ROUTE, sli.method or "GET"
            bad = matching_example(sli.status) if isinstance(sli, HttpErrors) else "200"
            good = non_matching_example(sli.status) if isinstance(sli, HttpErrors) else "200"
            assert bad is not None and good is not None
            slow = SLOW_SECONDS if isinstance(sli, HttpLatency) else FAST_SECONDS
            requests(method, route, good, FAST_SECONDS, n / 10 * (1 - mix.scoped_bad))
            requests(method, route, bad, slow, n / 10 * mix.scoped_bad)
        if isinstance(sli, CacheMisses):
            for outcome, share in ((CACHE_HIT, 1 - mix.misses), (CACHE_MISS, mix.misses)):
                key = tuple(sorted({"__name__": m.cache_lookups_total, **service.selector, m.cache_label: sli.cache,
                                    m.outcome_label: outcome}.items()))
                out[key] = out.get(key, 0) + n * share
    return out


def counters(service: Service, timeline: Sequence[tuple[int, Mix]]) -> dict[Labels, list[float]]:
    """Each series' value at minute 0, 1, 2 ... of the ``(minutes, mix)`` segments, starting from 0."""
    series: dict[Labels, list[float]] = {}
    minutes = [mix for count, mix in timeline for _ in range(count)]
    for i, mix in enumerate(minutes):
        for key, inc in _minute(service, mix).items():
            values = series.setdefault(key, [0.0] * (i + 1))
            values.append(values[-1] + inc)
    length = len(minutes) + 1
    for values in series.values():
        values.extend([values[-1]] * (length - len(values)))
    return series


def selector(key: Labels) -> str:
    labels = dict(key)
    name = labels.pop("__name__")
    return name + promql.selector(labels)


def input_series(service: Service, timeline: Sequence[tuple[int, Mix]]) -> list[dict[str, str]]:
    """promtool's ``input_series`` (one value a minute, test ``interval: 1m``)."""
    return [{"series": selector(k), "values": " ".join(f"{v:g}" for v in vals)}
            for k, vals in counters(service, timeline).items()]


def openmetrics(service: Service, timeline: Sequence[tuple[int, Mix]], start: float, step: float = 15) -> Iterator[str]:
    """OpenMetrics text lines for ``promtool tsdb create-blocks-from openmetrics``: minute values interpolated
    to a sample every ``step`` seconds from unix time ``start``, one series after the other."""
    per_minute = round(60 / step)
    for key, vals in counters(service, timeline).items():
        labels = dict(key)
        name = labels.pop("__name__")
        sel = name + "{" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items())) + "}"
        for i in range(len(vals) - 1):
            for j in range(per_minute):
                value = vals[i] + (vals[i + 1] - vals[i]) * j / per_minute
                yield f"{sel} {value:g} {start + i * 60 + j * step:.0f}"
    yield "# EOF"
