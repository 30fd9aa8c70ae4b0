"""Synthetic raw series for an SLO's promtool tests: which series an event of each kind increments.

Built-in SLIs read known metrics, so their series are built directly. For the generic ``ratio`` SLI the
user's queries are read: when each is a (summed) ``rate()`` of one selector, series that match exactly
those selectors are made up (label values satisfying every matcher); otherwise ``None`` is returned and the
tests fall back to what does not need the user's series.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slokit.semconv import CACHE_HIT, CACHE_MISS
from slokit.spec.model import (
    SLO,
    WINDOW_PLACEHOLDER,
    CacheMisses,
    HttpErrors,
    HttpLatency,
    RatioQueries,
    Service,
)

Labels = dict[str, str]
#: Event kinds a scenario produces: good, bad for the SLI, and slow requests (status good) for quantiles.
GOOD, BAD, SLOW = "good", "bad", "slow"


@dataclass(frozen=True)
class Histogram:
    """Duration buckets of an HTTP SLI and the bucket index each event kind lands in (len(bounds) = +Inf)."""

    bounds: tuple[float, ...]
    bucket_of: Mapping[str, int]


@dataclass(frozen=True)
class Synthesis:
    """For each event kind, the series (label sets) one event of that kind increments by one."""

    series: Mapping[str, tuple[Labels, ...]]
    #: The series the SLI's total query reads, and those its bad query reads (or its good query, with
    #: ``part_is_good``); bucket series carry their ``le``. rate() extrapolates each series on its own, so
    #: the tests' arithmetic must know the series, not only the event kinds.
    total: tuple[Labels, ...]
    part: tuple[Labels, ...]
    part_is_good: bool = False
    histogram: Histogram | None = None
    #: Extra label set per event kind for histogram series (``le`` is added per bucket).
    bucket_series: Mapping[str, Labels] = field(default_factory=dict)


def _le(bound: float) -> str:
    """``le`` as prometheus-client spells it (``0.3``, ``1.0``): the rules must match this spelling too."""
    return repr(float(bound))


def bucket_index(bounds: tuple[float, ...], seconds: float) -> int:
    """Index of the bucket holding durations just above ``seconds``: the number of bounds at or below it."""
    return sum(1 for b in bounds if b <= seconds + 1e-12)


def matching_example(pattern: str) -> str | None:
    """A string the (anchored) regex matches, found among likely candidates; None when none does."""
    candidates = ["500", "503", "502", "409", "429", "404", "400", "200"]
    candidates += [str(c) for c in range(100, 600)]
    candidates += [alt for alt in re.split(r"\|", pattern) if alt]
    candidates += [re.sub(r"\\(.)", r"\1", pattern), "x", "a", "true", "miss", "error", ""]
    try:
        rx = re.compile(pattern)
    except re.error:
        return None
    return next((c for c in candidates if rx.fullmatch(c)), None)


def non_matching_example(pattern: str) -> str | None:
    try:
        rx = re.compile(pattern)
    except re.error:
        return None
    candidates = ["200", "204", "201", "301", "302", "404", "100", "599", "x", "zz-not-matching"]
    return next((c for c in candidates if not rx.fullmatch(c)), None)


def http(service: Service, slo: SLO, slow_above: float | None) -> Synthesis:
    sli = slo.sli
    assert isinstance(sli, HttpErrors | HttpLatency)
    m = service.metrics
    base: Labels = dict(service.selector)
    base[m.route_label] = sli.route if sli.route is not None else "/api/things/{id}"
    base[m.method_label] = sli.method if sli.method is not None else "GET"
    good_status, bad_status = "200", "200"
    if isinstance(sli, HttpErrors):
        bad = matching_example(sli.status)
        good = non_matching_example(sli.status)
        if bad is None or good is None:
            raise ValueError(f"no status value found for the regex {sli.status!r}")
        good_status, bad_status = good, bad
    bounds = tuple(service.buckets)
    bucket_of = {GOOD: 0, BAD: 0, SLOW: 0}
    if isinstance(sli, HttpLatency):
        bucket_of[BAD] = bucket_index(bounds, sli.threshold.seconds)
    if slow_above is not None:
        bucket_of[SLOW] = bucket_index(bounds, slow_above)
    status = {GOOD: good_status, BAD: bad_status, SLOW: good_status}
    labels = {kind: {**base, m.status_label: s} for kind, s in status.items()}
    counts = {kind: {"__name__": m.duration_count, **lab} for kind, lab in labels.items()}
    buckets = {kind: {"__name__": m.duration_bucket, **lab} for kind, lab in labels.items()}
    part: tuple[Labels, ...] = (counts[BAD],)
    if isinstance(sli, HttpLatency):  # good = the threshold's bucket of every series
        le = _le(bounds[bucket_of[BAD] - 1])
        part = _distinct({**lab, "le": le} for lab in buckets.values())
    return Synthesis(
        series={kind: (lab,) for kind, lab in counts.items()},
        total=_distinct(counts.values()),
        part=part,
        part_is_good=isinstance(sli, HttpLatency),
        histogram=Histogram(bounds, bucket_of),
        bucket_series=buckets,
    )


def _distinct(label_sets: Iterable[Labels]) -> tuple[Labels, ...]:
    out: dict[str, Labels] = {}
    for labels in label_sets:
        out.setdefault(json.dumps(labels, sort_keys=True), labels)
    return tuple(out.values())


def cache(service: Service, slo: SLO) -> Synthesis:
    sli = slo.sli
    assert isinstance(sli, CacheMisses)
    m = service.metrics
    base: Labels = {"__name__": m.cache_lookups_total, **service.selector, m.cache_label: sli.cache}
    hit = {**base, m.outcome_label: CACHE_HIT}
    miss = {**base, m.outcome_label: CACHE_MISS}
    return Synthesis(series={GOOD: (hit,), BAD: (miss,), SLOW: (hit,)}, total=(hit, miss), part=(miss,))


# --- generic ratio SLI ------------------------------------------------------------------------------------

_STRING = r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`'
_SELECTOR = re.compile(
    r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?P<matchers>\{(?:[^{}\"'`]|" + _STRING + r")*\})?\s*"
    + re.escape("[" + WINDOW_PLACEHOLDER + "]")
)
_MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(" + _STRING + r")\s*(?:,|$)")
_SHAPE = re.compile(
    r"\s*(?:sum\s*(?:(?:by|without)\s*\([^()]*\)\s*)?\(\s*)?rate\s*\(\s*@\s*\)\s*"
    r"(?:\)\s*(?:(?:by|without)\s*\([^()]*\)\s*)?)?"
)

Matcher = tuple[str, str, str]


def _unquote(text: str) -> str | None:
    if text[0] == "`":
        return text[1:-1]
    if text[0] == "'":
        text = '"' + text[1:-1].replace('"', '\\"').replace("\\'", "'") + '"'
    try:
        value: Any = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def parse_rate_query(query: str) -> list[Matcher] | None:
    """The matchers of the one selector in ``[sum(]rate(<selector>[{{window}}])[)]``, or None for other shapes."""
    found = list(_SELECTOR.finditer(query))
    if len(found) != 1:
        return None
    sel = found[0]
    if not sel.group("name") and not sel.group("matchers"):
        return None
    rest = query[: sel.start()] + "@" + query[sel.end():]
    if not _SHAPE.fullmatch(rest) or rest.count("(") != rest.count(")"):
        return None
    matchers: list[Matcher] = []
    if sel.group("name"):
        matchers.append(("__name__", "=", sel.group("name")))
    body = (sel.group("matchers") or "{}")[1:-1]
    pos = 0
    while body[pos:].strip():
        mm = _MATCHER.match(body, pos)
        if mm is None:
            return None
        value = _unquote(mm.group(3))
        if value is None:
            return None
        matchers.append((mm.group(1), mm.group(2), value))
        pos = mm.end()
    return matchers


def matches(labels: Labels, matchers: list[Matcher]) -> bool:
    for name, op, value in matchers:
        actual = labels.get(name, "")
        if op == "=" and actual != value:
            return False
        if op == "!=" and actual == value:
            return False
        if op in ("=~", "!~"):
            try:
                hit = re.fullmatch(value, actual) is not None
            except re.error:
                return False
            if hit != (op == "=~"):
                return False
    return True


def satisfy(matchers: list[Matcher]) -> Labels | None:
    """A label set every matcher accepts, or None."""
    labels: Labels = {}
    for name, op, value in matchers:
        if op == "=" and value:
            labels[name] = value
    for name, op, value in matchers:
        if name in labels:
            continue
        if op == "=~":
            example = matching_example(value)
            if example is None:
                return None
            if example:
                labels[name] = example
    if "__name__" not in labels:
        return None
    return labels if matches(labels, matchers) else None


def ratio(slo: SLO) -> Synthesis | None:
    sli = slo.sli
    assert isinstance(sli, RatioQueries)
    part_query = sli.bad if sli.bad is not None else sli.good
    assert part_query is not None
    part_m, total_m = parse_rate_query(part_query), parse_rate_query(sli.total)
    if part_m is None or total_m is None:
        return None
    part, total = satisfy(part_m), satisfy(total_m)
    if part is None or total is None or matches(total, part_m):
        return None
    # Events of the kind the query names (bad, or good) increment its series and, when that series is not
    # itself one of the total's, the total's series too; the other kind increments the total's series only.
    named = (part,) if matches(part, total_m) else (part, total)
    other = (total,)
    roles: dict[str, Any] = {"total": _distinct([total, *[s for s in named if matches(s, total_m)]]),
                             "part": (part,), "part_is_good": sli.bad is None}
    if sli.bad is not None:
        return Synthesis(series={BAD: named, GOOD: other, SLOW: other}, **roles)
    return Synthesis(series={GOOD: named, BAD: other, SLOW: other}, **roles)


def synthesize(service: Service, slo: SLO, slow_above: float | None = None) -> Synthesis | None:
    """Series that the SLO's rules read, or None when the SLI's queries are not in a shape this understands."""
    sli = slo.sli
    if isinstance(sli, HttpErrors | HttpLatency):
        try:
            return http(service, slo, slow_above)
        except ValueError:  # a status regex none of the likely codes match (or all of them do)
            return None
    if isinstance(sli, CacheMisses):
        return cache(service, slo)
    return ratio(slo)


def with_labels(syn: Synthesis, labels: Mapping[str, str]) -> Synthesis:
    """The same events on series that also carry ``labels`` (a group of a grouped SLO)."""
    return Synthesis(
        series={kind: tuple({**lab, **labels} for lab in series) for kind, series in syn.series.items()},
        total=tuple({**lab, **labels} for lab in syn.total),
        part=tuple({**lab, **labels} for lab in syn.part),
        part_is_good=syn.part_is_good,
        histogram=syn.histogram,
        bucket_series={kind: {**lab, **labels} for kind, lab in syn.bucket_series.items()},
    )


def groupable(service: Service, slo: SLO) -> bool:
    """Whether series may carry any value of the grouping labels: no selector, SLI field or query matcher
    of the SLI pins one of them (then a made-up group value would match nothing)."""
    sli = slo.sli
    pinned: set[str] = set(service.selector)
    m = service.metrics
    if isinstance(sli, HttpErrors | HttpLatency):
        pinned |= {label for label, value in ((m.route_label, sli.route), (m.method_label, sli.method)) if value}
        pinned.add(m.status_label)
    elif isinstance(sli, CacheMisses):
        pinned |= {m.cache_label, m.outcome_label}
    else:
        for query in (sli.bad, sli.good, sli.total):
            matchers = parse_rate_query(query) if query is not None else []
            pinned |= {name for name, _, _ in matchers or []}
    return not pinned & set(slo.group_by)
