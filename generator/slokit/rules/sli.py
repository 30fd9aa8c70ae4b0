"""The PromQL of an SLI: bad and total events of one SLO over a window.

Recording rules, runbook pages and dashboards all show the same queries, so they are built here once.
Built-in SLIs read the middleware's series (``service.metrics``) narrowed by ``service.selector``; the
generic ``ratio`` SLI substitutes the window into the user's queries. Every query is wrapped in a plain
``sum(...)`` so that bad and total come out as one label-free sample each and always divide cleanly,
whatever labels the underlying series (or the user's query) carry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from slokit import promql
from slokit.semconv import CACHE_MISS
from slokit.spec.model import (
    SLO,
    WINDOW_PLACEHOLDER,
    CacheMisses,
    HttpErrors,
    HttpLatency,
    RatioQueries,
    Service,
)
from slokit.spec.units import Duration


def _route_method(service: Service, route: str | None, method: str | None) -> list[str]:
    m = service.metrics
    out = []
    if route is not None:
        out.append(promql.matcher(m.route_label, route))
    if method is not None:
        out.append(promql.matcher(m.method_label, method))
    return out


def summed(by: tuple[str, ...]) -> str:
    """``sum``, or ``sum by (a, b)`` for a grouped SLO: one sample per group, with only the group's labels."""
    return f"sum by ({', '.join(by)}) " if by else "sum"


#: Per raw series, what a query counts: ``rate(<series>[window])``, or the events of one rule step.
Counter = Callable[[str], str]


def rate_over(window: Duration | str) -> Counter:
    """The per-second rate of a counter over ``window``."""
    return lambda sel: f"rate({sel}[{window}])"


def step_events(step: Duration, lookback: Duration) -> Counter:
    """The events a counter counted in the rule step ending now, gap-proof and without extrapolation.

    ``cur`` is the counter's last sample in the step, ``prev`` its last sample before the step, found up
    to ``lookback`` back. Consecutive evaluations ``step`` apart take ``cur - prev`` on samples that tile:
    each step's ``prev`` is the previous step's ``cur``, so the steps sum to the exact increase, and the
    first sample after a scrape gap (shorter than ``lookback``) carries every event the gap hid. A counter
    that reset (``cur < prev``) or is new (no ``prev``) counts from its first sample in the step.
    """
    def count(sel: str) -> str:
        cur = f"last_over_time({sel}[{step}])"
        prev = f"last_over_time({sel}[{lookback}] offset {step})"
        return f"({cur} - ({prev} <= {cur}) or {cur} - min_over_time({sel}[{step}]))"
    return count


def _counted(metric: str, service: Service, extra: list[str], counter: Counter, by: tuple[str, ...]) -> str:
    return f"{summed(by)}({counter(metric + promql.selector(service.selector, extra))})"


def _is_plain_sum(query: str) -> bool:
    """True for ``sum(...)`` with nothing after the closing parenthesis (no ``by``/``without``, no operator).

    Such a query already yields one label-free sample, so it is used as written instead of ``sum(sum(..))``.
    Quoted strings are skipped so that parentheses inside label values do not count.
    """
    text = query.strip()
    if not text.startswith("sum") or not text[3:].lstrip().startswith("("):
        return False
    depth, i, quote = 0, text.index("("), ""
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
        i += 1
    return False


_STRING = r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`'
#: ``rate(<selector>[{{window}}])`` or ``increase(...)`` in a user's query: what a step count can replace.
_COUNTER_CALL = re.compile(
    r"\b(?:rate|increase)\s*\(\s*(?P<sel>(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(?:[^{}\"'`]|" + _STRING + r")*\})?)"
    r"\s*\[\s*" + re.escape(WINDOW_PLACEHOLDER) + r"\s*\]\s*\)"
)


def user_step_query(query: str, counter: Counter) -> str | None:
    """A ``ratio`` SLI query counting events with ``counter``: each ``rate(<selector>[{{window}}])`` (or
    ``increase``) replaced by ``counter(<selector>)``; None when ``{{window}}`` appears anywhere else, where
    slokit cannot tell what the query does with the window. Exact for queries linear in their counters (sums,
    differences), which a ratio of events already requires."""
    text = _COUNTER_CALL.sub(lambda m: counter(m.group("sel").strip()) if m.group("sel").strip() else m.group(0),
                             query)
    return None if WINDOW_PLACEHOLDER in text else text


def user_query(query: str, window: Duration | str, by: tuple[str, ...] = ()) -> str:
    """A ``ratio`` SLI query with its ``{{window}}`` filled in, summed to one sample (per group, with ``by``)."""
    return _summed_user(query.replace(WINDOW_PLACEHOLDER, str(window)), by)


def _summed_user(query: str, by: tuple[str, ...]) -> str:
    text = query.strip()
    if by:
        return f"{summed(by)}({text})"
    return text if _is_plain_sum(text) else f"sum({text})"


def good_minus(total: str, good: str, grouped: bool = False) -> str:
    """Bad events as total minus good; a good query without series (a total outage) counts as zero good.

    In a grouped SLO the zero must carry each group's labels, so it is the total times 0 (``vector(0)`` has
    no labels and would match no group)."""
    return f"{total} - ({good} or {total} * 0)" if grouped else f"{total} - ({good} or vector(0))"


@dataclass(frozen=True)
class EventQueries:
    """An SLI's queries as it counts them: bad or good events (one of the two), and all events."""

    total: str
    bad: str | None = None
    good: str | None = None


def event_queries(service: Service, slo: SLO, window: Duration | str) -> EventQueries:
    """The PromQL of the events the SLI counts, over ``window`` (a duration, or ``{{window}}`` for export).

    Latency SLIs count good events (requests within the threshold bucket); the others count bad ones.
    """
    q = counted_queries(service, slo, rate_over(window), lambda text: text.replace(WINDOW_PLACEHOLDER, str(window)))
    assert q is not None
    return q


def counted_queries(service: Service, slo: SLO, counter: Counter,
                    user: Callable[[str], str | None]) -> EventQueries | None:
    """The SLI's event queries with each raw counter read through ``counter`` (a user's query through
    ``user``); None when a user's query cannot be read that way."""
    sli = slo.sli
    m = service.metrics
    by = slo.group_by
    if isinstance(sli, HttpErrors):
        scope = _route_method(service, sli.route, sli.method)
        status = promql.matcher(m.status_label, sli.status, "=~")
        return EventQueries(bad=_counted(m.duration_count, service, [*scope, status], counter, by),
                            total=_counted(m.duration_count, service, scope, counter, by))
    if isinstance(sli, HttpLatency):
        scope = _route_method(service, sli.route, sli.method)
        le = promql.matcher("le", promql.le_regex(sli.threshold.seconds), "=~")
        return EventQueries(good=_counted(m.duration_bucket, service, [*scope, le], counter, by),
                            total=_counted(m.duration_count, service, scope, counter, by))
    if isinstance(sli, CacheMisses):
        cache = promql.matcher(m.cache_label, sli.cache)
        miss = promql.matcher(m.outcome_label, CACHE_MISS)
        return EventQueries(bad=_counted(m.cache_lookups_total, service, [cache, miss], counter, by),
                            total=_counted(m.cache_lookups_total, service, [cache], counter, by))
    if isinstance(sli, RatioQueries):
        queries = {"total": sli.total, "bad": sli.bad, "good": sli.good}
        texts = {k: user(q) for k, q in queries.items() if q is not None}
        if None in texts.values():
            return None
        summed_texts = {k: _summed_user(text, by) for k, text in texts.items() if text is not None}
        return EventQueries(**summed_texts)
    raise TypeError(f"unknown SLI kind {sli!r}")


def zero_filled(bad: str, total: str, slo: SLO) -> str:
    """``bad`` with a zero where it has no sample (no bad event was ever counted): per group of ``total`` in a
    grouped SLO, since ``vector(0)`` carries no group labels and would match none."""
    if slo.group_by:
        return f"({bad} or on ({', '.join(slo.group_by)}) {total} * 0)"
    return f"({bad} or vector(0))"


def bad_and_total(slo: SLO, q: EventQueries) -> tuple[str, str]:
    """``(bad, total)`` of an SLI's event queries: bad as total minus good where the SLI counts good events."""
    if q.bad is not None:
        return q.bad, q.total
    assert q.good is not None, "an SLI counts bad or good events"
    return good_minus(q.total, q.good, bool(slo.group_by)), q.total


def step_queries(service: Service, slo: SLO, step: Duration, lookback: Duration) -> tuple[str, str] | None:
    """``(bad, total)`` events of the rule step ending now (see :func:`step_events`), one sample (per group);
    None for a ``ratio`` SLI whose queries use ``{{window}}`` other than in ``rate()``/``increase()``."""
    counter = step_events(step, lookback)
    q = counted_queries(service, slo, counter, lambda text: user_step_query(text, counter))
    return None if q is None else bad_and_total(slo, q)


def sli_queries(service: Service, slo: SLO, window: Duration) -> tuple[str, str]:
    """``(bad, total)``: PromQL giving the per-second rate of bad events and of all events over ``window``.

    Each query returns at most one sample without labels (one per group, with only the group's labels, in
    a grouped SLO). ``bad`` returns nothing when its series do
    not exist yet (no 5xx was ever counted); callers that need a zero there add ``or vector(0)``.
    """
    return bad_and_total(slo, event_queries(service, slo, window))


def sli_ratio(bad: str, total: str) -> str:
    """Bad share from an SLI's bad and total queries (as shown to people, one part per line); no bad
    series yet counts as none bad."""
    return f"(\n  {bad} or vector(0)\n)\n/\n  {total}"
