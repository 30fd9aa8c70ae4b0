"""``slokit check --metrics-url/--prometheus``: does each SLO of the spec match the metrics that exist?

A spec can validate and still never get data: a route the framework never writes (``api/checkout``
instead of ``/api/checkout``), a latency threshold that is not a bucket of the histogram, a selector that
picks no target, a cache name the code never records, the wrong ``metrics_preset``. For every SLO this
looks at live data and reports:

- error (exit 1) for what can never work: the metric is not exposed at all, the selector matches none of
  its series, the route or cache never appears while others do, the threshold is not among the ``le``
  bounds seen;
- warning for what may just be no traffic yet: a metric declared without samples, no series at all yet,
  a method not seen on the route, a ``pNN_above`` level between buckets;
- the SLI's current value: over the last 5m from Prometheus, since the process started from ``/metrics``.

A service's ``/metrics`` has no ``selector`` labels (the scrape adds them), so only ``--prometheus`` checks
the selector, and only it evaluates a generic ``ratio`` SLI's queries.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from slokit import promql, semconv
from slokit.check_common import CheckResult
from slokit.counts import unsound
from slokit.live_sources import Exposition
from slokit.prometheus_client import PrometheusClient, Sample
from slokit.rules.sli import sli_queries, zero_filled
from slokit.series import group_of, group_text
from slokit.spec.model import SLO, CacheMisses, HttpErrors, HttpLatency, RatioQueries, Service
from slokit.spec.units import Duration, format_percent

#: The range the SLI's current value is computed over in Prometheus.
NOW = Duration.parse("5m")
_ROUND = 9  # decimal places ``le`` bounds are compared at (0.3 == 0.30 == 3e-1)

State = Literal["series", "empty", "missing", "unselected"]
#: Groups of a grouped SLO shown one per line; the rest are counted.
GROUPS_SHOWN = 10


@dataclass(frozen=True)
class Now:
    """The current value of one group's SLI: its bad share and events, in words."""

    #: ``market=fr``; "" for an ungrouped SLO.
    group: str
    bad_share: float
    words: str
    #: Counts that cannot be true (NaN, infinite, negative, more bad than all) are a warning, never "ok".
    sound: bool = True


@dataclass(frozen=True)
class Found:
    """What the data holds for one metric of one service."""

    #: ``series``: samples found; ``empty``: declared, no sample yet; ``missing``: not exposed at all;
    #: ``unselected``: exposed, but not under the spec's selector.
    state: State
    series: tuple[Sample, ...] = ()
    hint: str = ""


class Data(Protocol):
    """A place live data comes from."""

    kind: str
    where: str
    #: Over what the SLI's current value is computed, in words.
    span: str

    def find(self, service: Service, metric: str, family: str) -> Found: ...

    def sli_now(self, service: Service, slo: SLO) -> list[Now]:
        """The SLI's current value per group (one, unnamed, for an ungrouped SLO), worst first; empty when
        there are no events to compute it from."""
        ...


# --- the checks -------------------------------------------------------------------------------------------


def check_live(data: Data, services: Sequence[Service]) -> list[CheckResult]:
    results: list[CheckResult] = []
    for service in services:
        if isinstance(data, MetricsData) and service.selector:
            results.append(CheckResult(data.kind, f"{service.name} selector {promql.selector(service.selector)}",
                                       False, "not checked: the scrape adds these labels, /metrics has none "
                                       "(--prometheus URL checks them)", "warning"))
        for slo in service.slos:
            results.extend(_slo(data, service, slo))
    return results


class _Result(Protocol):
    def __call__(self, what: str, level: Literal["ok", "warning", "error"], detail: str) -> CheckResult: ...


def _slo(data: Data, service: Service, slo: SLO) -> list[CheckResult]:
    target = f"{service.name}/{slo.name}"

    def result(what: str, level: Literal["ok", "warning", "error"], detail: str) -> CheckResult:
        if level == "ok":  # the finding is the point (the SLI's value above all): on the line itself
            return CheckResult(data.kind, f"{target} {what}: {detail}", True)
        return CheckResult(data.kind, f"{target} {what}", False, detail, level)

    sli = slo.sli
    if isinstance(sli, RatioQueries):
        if not isinstance(data, PrometheusData):
            return [result("ratio SLI", "warning", "a ratio SLI's queries can only be checked against Prometheus "
                                                   "(--prometheus URL)")]
        return _now(data, service, slo, result, f"the total query returns no data {data.span}: no events yet, "
                                                "or the query names series that do not exist")

    m = service.metrics
    metric, family = ((m.cache_lookups_total, m.cache_lookups.removesuffix("_total"))
                      if isinstance(sli, CacheMisses) else (m.duration_count, m.duration))
    found = data.find(service, metric, family)
    out = [_presence(data, service, metric, family, found, result)]
    if found.state in ("missing", "unselected"):
        return out
    if isinstance(sli, HttpErrors | HttpLatency):
        out.extend(_route(service, sli, found, result))
        if isinstance(sli, HttpLatency):
            buckets = data.find(service, m.duration_bucket, m.duration)
            out.extend(_buckets(service, slo, sli, buckets, result))
    else:
        out.extend(_cache(service, sli, found, result))
    return out + _now(data, service, slo, result, f"no events {data.span}: the SLI has no value yet")


def _now(data: Data, service: Service, slo: SLO, result: _Result, empty: str) -> list[CheckResult]:
    """The SLI now: a line per group of a grouped SLO (the worst first, at most ``GROUPS_SHOWN``)."""
    nows = data.sli_now(service, slo)
    if not nows:
        return [result("SLI now", "warning", empty)]
    out = [result(f"SLI now ({n.group})" if n.group else "SLI now", "ok" if n.sound else "warning", n.words)
           for n in nows[:GROUPS_SHOWN]]
    if len(nows) > GROUPS_SHOWN:
        rest = nows[GROUPS_SHOWN:]
        above = sum(n.bad_share > slo.error_budget for n in rest)
        out.append(result("SLI now", "ok", f"{len(rest)} more groups of {', '.join(slo.group_by)}, {above} of "
                                           "them above the budget"))
    return out


def _presence(data: Data, service: Service, metric: str, family: str, found: Found, result: _Result) -> CheckResult:
    what = f"series {metric}"
    if found.state == "series":
        return result(what, "ok", f"{len(found.series)} series")
    if found.state == "empty":
        return result(what, "warning", found.hint or "declared but no sample yet: no traffic so far?")
    if found.state == "unselected":
        return result(what, "error", found.hint)
    others = [p for p in semconv.PRESETS.values() if p.preset != service.metrics.preset]
    for other in others:
        if data.find(service, other.duration_count, other.duration).state in ("series", "empty"):
            return result(what, "error", f"not exposed at {data.where}, but {other.duration_count} is: set "
                                         f"metrics_preset: {other.preset}")
    return result(what, "error", f"not exposed at {data.where}: is slokit's middleware installed with the "
                                 f"spec's metrics_preset ({service.metrics.preset})?")


def _values(series: Iterable[Sample], label: str) -> set[str]:
    return {s.labels[label] for s in series if label in s.labels}


#: A route parameter as frameworks write it: ``{id}`` (Starlette, FastAPI), ``<int:id>`` (Flask, Django).
_ROUTE_PARAM = re.compile(r"\{[^{}/]*\}|<[^<>/]*>")


def _route_shape(route: str) -> tuple[str, ...]:
    """The route's segments with every parameter the same: ``/payments/{id}`` and ``/payments/<int:pid>``
    have one shape, whatever the framework's syntax or the parameter's name."""
    return tuple("{}" if _ROUTE_PARAM.fullmatch(seg) else seg for seg in route.strip("/").split("/"))


def closest_route(route: str, seen: Iterable[str]) -> str | None:
    """The seen route most likely meant by ``route``: one of the same shape first (the same template in
    another framework's syntax), then the closest spelling among routes with as many segments, then any."""
    shape = _route_shape(route)
    candidates = sorted(seen)
    same = [r for r in candidates if _route_shape(r) == shape]
    if same:
        return same[0]
    by_shape = {"/".join(_route_shape(r)): r for r in reversed(candidates)}
    near = difflib.get_close_matches("/".join(shape), list(by_shape), n=max(1, len(by_shape)), cutoff=0.6)
    near.sort(key=lambda s: len(s.split("/")) != len(shape))  # stable: spelling order within each group
    return by_shape[near[0]] if near else None


def _route(service: Service, sli: HttpErrors | HttpLatency, found: Found, result: _Result) -> list[CheckResult]:
    m = service.metrics
    out: list[CheckResult] = []
    if sli.route is not None:
        seen = _values(found.series, m.route_label) - {semconv.UNMATCHED_ROUTE}
        what = f"route {sli.route}"
        if sli.route in seen:
            out.append(result(what, "ok", "seen"))
        else:
            near = closest_route(sli.route, seen)
            hint = f"; did you mean {near}?" if near else ""
            slash = "" if sli.route.startswith("/") else "; route templates start with '/'"
            if seen:
                out.append(result(what, "error", f"never seen; routes seen: {', '.join(sorted(seen))}{slash}{hint}"))
            else:
                out.append(result(what, "warning" if not slash else "error", f"no route seen yet{slash}"))
    if sli.method is not None:
        scoped = [s for s in found.series if sli.route is None or s.labels.get(m.route_label) == sli.route]
        if sli.method not in _values(scoped, m.method_label):
            out.append(result(f"method {sli.method}", "warning",
                              "not seen" + (f" on {sli.route}" if sli.route else "") + " yet"))
    return out


def _buckets(service: Service, slo: SLO, sli: HttpLatency, found: Found, result: _Result) -> list[CheckResult]:
    bounds = set()
    for value in _values(found.series, "le"):
        try:
            bounds.add(round(float(value), _ROUND))
        except ValueError:
            continue
    finite = sorted(b for b in bounds if b != float("inf"))
    levels = [(f"threshold {sli.threshold}", sli.threshold, "error")]
    levels += [(f"{g.key} {g.latency}", g.latency, "warning") for g in slo.alerts if g.latency is not None]
    out: list[CheckResult] = []
    for what, level, severity in levels:
        if not finite:
            out.append(result(what, "warning", f"no {service.metrics.duration_bucket} series yet"))
        elif round(level.seconds, _ROUND) in bounds:
            out.append(result(what, "ok", "a bucket bound"))
        else:
            seen = ", ".join(str(Duration.of_seconds(b)) for b in finite)
            effect = ("the SLI can never count a request as good at it" if severity == "error"
                      else "histogram_quantile interpolates between buckets, so the alert fires early or late")
            out.append(result(what, "error" if severity == "error" else "warning",
                              f"{level} is not a bucket of {service.metrics.duration}: {effect}; buckets seen: "
                              f"{seen}; give the middleware this bound (latency_thresholds=[...] or buckets=) "
                              "or use one of these"))
    return out


def _cache(service: Service, sli: CacheMisses, found: Found, result: _Result) -> list[CheckResult]:
    seen = _values(found.series, service.metrics.cache_label)
    what = f"cache {sli.cache}"
    if sli.cache in seen:
        return [result(what, "ok", "seen")]
    if not seen:
        return [result(what, "warning", "no cache lookup recorded yet")]
    near = difflib.get_close_matches(sli.cache, sorted(seen), n=1)
    return [result(what, "error", f"never recorded; caches seen: {', '.join(sorted(seen))}"
                                  + (f"; did you mean {near[0]}?" if near else ""))]


# --- the two sources --------------------------------------------------------------------------------------


def _ratio_words(share: float, slo: SLO, span: str) -> str:
    verdict = "within" if share <= slo.error_budget else "above"
    return (f"{format_percent(share)} bad {span} ({verdict} the {format_percent(slo.error_budget)} the "
            f"{format_percent(slo.objective)} objective allows)")


def _group(slo: SLO, labels: Mapping[str, str]) -> str:
    """``market=fr``: the group a series belongs to ("" for an ungrouped SLO)."""
    return group_text(group_of(slo.group_by, labels))


def _nows(slo: SLO, counts: Mapping[str, tuple[float, float]], span: str, unit: str) -> list[Now]:
    """Per group with events, from ``(bad, total)``, the worst first: an impossible count is a warning."""
    out = []
    for group, (bad, total) in counts.items():
        wrong = unsound(bad, total)
        if wrong is not None:
            out.append(Now(group, math.inf, f"impossible counts {span} ({unit}): {wrong}", sound=False))
        elif total > 0:
            share = max(0.0, bad) / total
            out.append(Now(group, share, _ratio_words(share, slo, f"{span} ({total:.3g} {unit})")))
    return sorted(out, key=lambda n: (-n.bad_share, n.group))


def _match(sample: Sample, equal: Mapping[str, str | None]) -> bool:
    return all(v is None or sample.labels.get(k) == v for k, v in equal.items())


def _add(counts: dict[str, tuple[float, float]], group: str, bad: float = 0.0, total: float = 0.0) -> None:
    b, t = counts.get(group, (0.0, 0.0))
    counts[group] = (b + bad, t + total)


class MetricsData:
    """A service's own ``/metrics``: cumulative counts since the process started, no selector labels."""

    kind = "metrics"
    span = "since the process started"

    def __init__(self, exposition: Exposition) -> None:
        self.exposition = exposition
        self.where = exposition.url

    def find(self, service: Service, metric: str, family: str) -> Found:
        series = self.exposition.samples.get(metric, ())
        if series:
            return Found("series", series)
        return Found("empty" if metric in self.exposition.declared else "missing")

    def sli_now(self, service: Service, slo: SLO) -> list[Now]:
        return _nows(slo, self._counts(service, slo), self.span, "events")

    def _counts(self, service: Service, slo: SLO) -> dict[str, tuple[float, float]]:
        """``(bad, total)`` per group since the process started (a grouping label the scrape adds is empty)."""
        m, sli, samples = service.metrics, slo.sli, self.exposition.samples
        counts: dict[str, tuple[float, float]] = {}
        if isinstance(sli, CacheMisses):
            for s in samples.get(m.cache_lookups_total, ()):
                if s.labels.get(m.cache_label) == sli.cache:
                    miss = s.labels.get(m.outcome_label) == semconv.CACHE_MISS
                    _add(counts, _group(slo, s.labels), s.value if miss else 0.0, s.value)
            return counts
        if not isinstance(sli, HttpErrors | HttpLatency):
            return counts
        scope = {m.route_label: sli.route, m.method_label: sli.method}
        status = re.compile(sli.status) if isinstance(sli, HttpErrors) else None  # PromQL regexes are anchored
        for s in samples.get(m.duration_count, ()):
            if _match(s, scope):
                # a latency SLI starts from every request as bad and takes the good ones off below
                bad = status is None or status.fullmatch(s.labels.get(m.status_label, "")) is not None
                _add(counts, _group(slo, s.labels), s.value if bad else 0.0, s.value)
        if isinstance(sli, HttpLatency):  # bad = total - good, good from the threshold's bucket
            level = round(sli.threshold.seconds, _ROUND)
            for s in samples.get(m.duration_bucket, ()):
                if _match(s, scope) and _le(s.labels.get("le")) == level:
                    _add(counts, _group(slo, s.labels), -s.value)
        return counts


def _le(text: str | None) -> float | None:
    try:
        return round(float(text), _ROUND) if text is not None else None
    except ValueError:
        return None


class PrometheusData:
    """A Prometheus that scrapes the service: series under the spec's selector, rates over the last 5m."""

    kind = "prometheus"
    span = f"over the last {NOW}"

    def __init__(self, api: PrometheusClient) -> None:
        self.api = api
        self.where = api.url

    def find(self, service: Service, metric: str, family: str) -> Found:
        series = self.api.query(f"{metric}{promql.selector(service.selector)}")
        if series:
            return Found("series", tuple(series))
        if service.selector:
            selector = promql.selector(service.selector)
            if not self.api.query(f"count(up{selector})"):
                jobs = sorted(self.api.label_values("job", "up"))
                if not jobs:
                    return Found("empty", hint="Prometheus has no scrape result at all yet (just started, or "
                                               "it scrapes nothing)")
                return Found("unselected", hint=f"no scrape target matches the spec's selector {selector} "
                                                f"(targets' jobs: {', '.join(jobs)})")
            keys = ", ".join(sorted(service.selector))
            elsewhere = self.api.query(f"count by ({keys}) ({metric})")
            if elsewhere:
                seen = "; ".join(promql.selector(s.labels)[1:-1] for s in elsewhere[:5])
                return Found("unselected", hint=f"no series with the spec's selector {selector}; this metric "
                                                f"has: {seen}")
        return Found("empty" if self.api.has_metadata(family) else "missing")

    def sli_now(self, service: Service, slo: SLO) -> list[Now]:
        """Per group: the total rate and the bad share over the last 5m, from the SLI's own queries (the share
        in one query, so that both rates are read at the same instant)."""
        bad, total = sli_queries(service, slo, NOW)
        totals = {_group(slo, s.labels): s.value for s in self.api.query(total)}
        shares = {_group(slo, s.labels): s.value for s in self.api.query(f"{zero_filled(bad, total, slo)} / {total}")}
        counts = {g: (0.0, t) if t == 0 else (shares.get(g, math.nan) * t, t) for g, t in totals.items()}
        return _nows(slo, counts, self.span, "events/s")
