"""Ready-to-paste PromQL for the diagnosis section: which route, status and instance the bad events come from.

The recorded SLO series tell *that* the budget burns; these queries go back to the raw series of the
service (metric names from its semconv preset, matchers from its ``selector``) to tell *where*. Every spec
value enters a query through ``slokit.promql``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slokit import promql, series
from slokit.rules.build import BURN_RATE_WINDOW
from slokit.rules.sli import sli_queries, sli_ratio, user_query
from slokit.runbooks.mdtext import code
from slokit.semconv import CACHE_MISS
from slokit.spec.model import SLO, CacheMisses, HttpErrors, HttpLatency, RatioQueries, Service
from slokit.spec.units import Duration, format_number, format_percent

#: The range every diagnosis query looks at: short enough to show the current state.
RANGE = "5m"
INSTANCE_LABEL = "instance"


@dataclass(frozen=True)
class Query:
    #: What the result tells the reader, in one line of Markdown (spec values already escaped).
    title: str
    expr: str


def slo_selector(service: Service, slo: SLO) -> str:
    """Matchers that pick one SLO's recorded series."""
    return promql.selector({series.SERVICE_LABEL: service.name, series.SLO_LABEL: slo.name})


def _http_matchers(service: Service, slo: SLO) -> list[str]:
    """The service's selector plus the route and method the SLI is restricted to, if any."""
    m = service.metrics
    extra: list[str] = []
    if isinstance(slo.sli, HttpErrors | HttpLatency):
        if slo.sli.route is not None:
            extra.append(promql.matcher(m.route_label, slo.sli.route))
        if slo.sli.method is not None:
            extra.append(promql.matcher(m.method_label, slo.sli.method))
    return [promql.matcher(k, v) for k, v in sorted(service.selector.items())] + extra


def _sel(matchers: list[str], *more: str) -> str:
    return "{" + ", ".join([*matchers, *more]) + "}"


def _rate_sum(by: str, metric: str, matchers: list[str], *more: str) -> str:
    return f"sum by ({by}) (rate({metric}{_sel(matchers, *more)}[{RANGE}]))"


def _ratio(by: str, bad: tuple[str, list[str], tuple[str, ...]], total: tuple[str, list[str]]) -> str:
    """Bad share per ``by`` value, worst first; groups without a single bad event show 0 instead of vanishing."""
    bad_q, total_q = _rate_sum(by, bad[0], bad[1], *bad[2]), _rate_sum(by, total[0], total[1])
    return f"sort_desc(\n  (\n    {bad_q}\n    or\n    0 * {total_q}\n  )\n  /\n  {total_q}\n)"


def latency_quantile(service: Service, slo: SLO, quantile: float, by: str) -> str:
    """``histogram_quantile`` per ``by`` value of the service's request durations, restricted like the SLI."""
    m = service.metrics
    inner = _rate_sum(f"le, {by}", m.duration_bucket, _http_matchers(service, slo))
    return f"histogram_quantile({format_number(quantile)}, {inner})"


def error_ratio_now(service: Service, slo: SLO, window: Duration) -> str:
    return f"{series.error_ratio(window)}{slo_selector(service, slo)}"


def budget_queries(service: Service, slo: SLO) -> list[Query]:
    """How much budget is left and how fast it goes, from the recorded series."""
    sel = slo_selector(service, slo)
    window_ratio = f"{series.error_ratio(slo.window)}{sel}"
    if not slo.has_budget:
        return [Query(f"Error ratio over the whole {slo.window} window (the SLO holds while this stays 0: "
                      "objective 100 %, no error budget)", window_ratio)]
    return [
        Query("Error budget left over the SLO window (1 = untouched, 0 = spent, below 0 = overspent)",
              f"{series.BUDGET_REMAINING}{sel}"),
        Query(f"Burn rate over the last {BURN_RATE_WINDOW} (1 = spending exactly the budget)",
              f"{series.BURN_RATE}{sel}"),
        Query(f"Error ratio over the whole {slo.window} window (the SLO holds while this stays under "
              f"{format_percent(slo.error_budget)})", window_ratio),
    ]


def _http_breakdown(service: Service, slo: SLO, bad: tuple[str, ...], what: str) -> list[Query]:
    """Bad share by route, by status and by instance for an HTTP request counter."""
    m = service.metrics
    req = m.duration_count  # the request counter the SLI itself reads (slokit.rules.sli)
    base = _http_matchers(service, slo)
    out = [
        Query(f"{what} by route (which endpoints)",
              _ratio(m.route_label, (req, base, bad), (req, base))),
        Query("Requests per second by status code (what the failures are)",
              _rate_sum(m.status_label, req, base)),
        Query(f"{what} by instance (one bad instance, or all of them?)",
              _ratio(INSTANCE_LABEL, (req, base, bad), (req, base))),
    ]
    return out


def diagnosis(service: Service, slo: SLO) -> list[Query]:
    """Queries that break the SLO's bad events down by route, status and instance, as far as the SLI allows."""
    m = service.metrics
    sli = slo.sli
    if isinstance(sli, HttpErrors):
        status = promql.matcher(m.status_label, sli.status, "=~")
        return _http_breakdown(service, slo, (status,), f"Share of requests with status {code(sli.status)}")
    if isinstance(sli, HttpLatency):
        base = _http_matchers(service, slo)
        le = promql.matcher("le", promql.le_regex(sli.threshold.seconds), "=~")

        def slow(by: str) -> str:
            fast = _rate_sum(by, m.duration_bucket, base, le)
            return f"sort_desc(\n  1 - (\n    {fast}\n    /\n    {_rate_sum(by, m.duration_count, base)}\n  )\n)"

        return [
            Query(f"Share of requests slower than {sli.threshold}, by route (which endpoints)", slow(m.route_label)),
            Query(f"p{format_number(float(slo.objective) * 100)} latency by route",
                  latency_quantile(service, slo, float(slo.objective), m.route_label)),
            Query(f"Share of requests slower than {sli.threshold}, by status code (slow errors or slow successes?)",
                  slow(m.status_label)),
            Query(f"Share of requests slower than {sli.threshold}, by instance (one bad instance, or all?)",
                  slow(INSTANCE_LABEL)),
        ]
    if isinstance(sli, CacheMisses):
        base = [promql.matcher(k, v) for k, v in sorted(service.selector.items())]
        cache = promql.matcher(m.cache_label, sli.cache)
        lookups = m.cache_lookups_total
        miss = promql.matcher(m.outcome_label, CACHE_MISS)
        return [
            Query(f"Miss ratio of cache {code(sli.cache)} by instance (one cold instance, or all?)",
                  _ratio(INSTANCE_LABEL, (lookups, [*base, cache], (miss,)), (lookups, [*base, cache]))),
            Query(f"Lookups per second of cache {code(sli.cache)} by outcome (did lookups jump, or hits drop?)",
                  _rate_sum(m.outcome_label, lookups, [*base, cache])),
            *_http_breakdown(service, slo, (promql.matcher(m.status_label, "5..", "=~"),),
                             "Share of requests failing with 5xx")[:2],
        ]
    assert isinstance(sli, RatioQueries), sli
    return _ratio_diagnosis(service, slo, sli)


def _ratio_diagnosis(service: Service, slo: SLO, sli: RatioQueries) -> list[Query]:
    """A generic SLI's own series: its queries over the short and the page tier's long window, split into
    bad and total (more bad, or less traffic?), and the recorded share over every window.

    The spec's queries are all slokit knows about these series, so nothing HTTP-specific is assumed.
    """
    short = Duration.parse(RANGE)
    bad_now, total_now = sli_queries(service, slo, short)
    bad_long, total_long = sli_queries(service, slo, BURN_RATE_WINDOW)
    bad_words = "the spec's `bad` query" if sli.bad is not None else "the spec's `total` minus `good` queries"
    out = [
        Query(f"Bad share over the last {RANGE} (the SLI now)", sli_ratio(bad_now, total_now)),
        Query(f"Bad share over the last {BURN_RATE_WINDOW} (still burning, or a blip?)",
              sli_ratio(bad_long, total_long)),
        Query(f"Bad events per second over the last {RANGE} ({bad_words})", bad_now),
    ]
    if sli.good is not None:
        out.append(Query(f"Good events per second over the last {RANGE} (the spec's `good` query)",
                         user_query(sli.good, short)))
    ratio_names = promql.matcher("__name__", re.escape(series.ERROR_RATIO_PREFIX) + ".+", "=~")
    sel = promql.selector({series.SERVICE_LABEL: service.name, series.SLO_LABEL: slo.name}, [ratio_names])
    return [
        *out,
        Query(f"All events per second over the last {RANGE} (the spec's `total` query: did traffic drop, or "
              "did bad events rise?)", total_now),
        Query("Recorded bad share over every window the rules keep, worst first (where the alerts read it)",
              f"sort_desc({sel})"),
    ]
