"""The PromQL the dashboards run, built from the model and the shared series names.

SLO panels read the series the recording rules write (``slokit.series``), so they are cheap over 30
days and show exactly the numbers the alerts compare; only what no rule records (request rate,
latency quantiles) reads the middleware's raw series (``service.metrics``) with the service's
selector. Every value from a spec goes in through ``slokit.promql``; the only other strings are
Grafana variable references such as ``$tier``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

from slokit import series
from slokit.burnrate import ALERT_WINDOWS
from slokit.promql import matcher, quote, selector
from slokit.rules.sli import sli_queries, zero_filled
from slokit.spec.model import SLO, HttpErrors, HttpLatency, Service
from slokit.spec.units import Duration, format_number

#: Window of the "now" views (rollout panels, SLI over time): the shortest window the rules record,
#: the one guardrail alerts compare.
SHORT_WINDOW = Duration.parse("5m")
#: Window of the current burn rate series (``slo:burn_rate:ratio`` is the 1h ratio over the budget).
BURN_WINDOW = Duration.parse("1h")

#: Spec label name -> Grafana variable name used to filter on it.
LabelVars = Mapping[str, str]

_GROUP = f"{series.SERVICE_LABEL}, {series.SLO_LABEL}"


def spec_labels(services: Iterable[Service]) -> list[str]:
    """Label names the spec puts on the recorded series (service and SLO labels), sorted."""
    names: set[str] = set()
    for s in services:
        names |= set(s.labels)
        for slo in s.slos:
            names |= set(slo.labels)
    return sorted(names)


def variable_name(label: str, taken: Iterable[str]) -> str:
    """The variable for a label: the label's own name unless a built-in variable already has it."""
    name = label
    taken = set(taken)
    while name in taken:
        name += "_label"
    return name


def regex_literal(text: str) -> str:
    """``text`` as an RE2 regex that matches only itself."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text)


def _var_matchers(label_vars: LabelVars) -> list[str]:
    return [matcher(label, f"${var}", "=~") for label, var in sorted(label_vars.items())]


def slo_selector(service: Service, slo: SLO, label_vars: LabelVars) -> str:
    """``{service="...", slo="...", tier=~"$tier"}``: one SLO's recorded series."""
    return selector({series.SERVICE_LABEL: service.name, series.SLO_LABEL: slo.name}, _var_matchers(label_vars))


def error_ratio(service: Service, slo: SLO, label_vars: LabelVars, window: Duration) -> str:
    return f"{series.error_ratio(window)}{slo_selector(service, slo, label_vars)}"


def recorded_windows(slo: SLO) -> tuple[Duration, ...]:
    """Windows the rules record a ratio for besides the SLO window: the alert windows within it."""
    return tuple(w for w in ALERT_WINDOWS if w <= slo.window)


def window_error_ratio(service: Service, slo: SLO, label_vars: LabelVars, window: Duration) -> str:
    """The bad share over any window: the recorded series when there is one, else the SLI's raw queries.

    A guardrail may use a window the rules do not record (``window: 10m``); its alert then computes the
    ratio from the raw series, and so does this panel, with the same SLI queries. A grouped SLO's raw ratio
    (whose queries may be the owner's own PromQL, closed to extra matchers) keeps the groups its variables
    choose by joining on the recorded 5m ratio of those groups.
    """
    if window in recorded_windows(slo) or window == slo.window:
        return error_ratio(service, slo, label_vars, window)
    bad, total = sli_queries(service, slo, window)
    raw = f"({zero_filled(bad, total, slo)} / {total})"
    if not slo.group_by:
        return raw
    return f"({raw} and on ({', '.join(slo.group_by)}) {error_ratio(service, slo, label_vars, SHORT_WINDOW)})"


def sli(service: Service, slo: SLO, label_vars: LabelVars, window: Duration) -> str:
    """Share of good events over ``window``."""
    return f"1 - {window_error_ratio(service, slo, label_vars, window)}"


def budget_remaining(service: Service, slo: SLO, label_vars: LabelVars) -> str:
    return f"{series.BUDGET_REMAINING}{slo_selector(service, slo, label_vars)}"


def burn_rate(service: Service, slo: SLO, label_vars: LabelVars) -> str:
    return f"{series.BURN_RATE}{slo_selector(service, slo, label_vars)}"


def _http_matchers(service: Service, slo: SLO | None, extra_matchers: Sequence[str] = ()) -> str:
    m = service.metrics
    extra: list[str] = list(extra_matchers)
    if slo is not None and isinstance(slo.sli, HttpErrors | HttpLatency):
        if slo.sli.route is not None:
            extra.append(matcher(m.route_label, slo.sli.route))
        if slo.sli.method is not None:
            extra.append(matcher(m.method_label, slo.sli.method))
    return selector(service.selector, extra)


def request_rate(service: Service) -> str:
    """Requests per second the middleware counted (the duration histogram's count)."""
    return f"sum(rate({service.metrics.duration_count}{_http_matchers(service, None)}[{SHORT_WINDOW}]))"


def latency_quantile(service: Service, slo: SLO, quantile: Fraction, window: Duration,
                     label_vars: LabelVars | None = None) -> str:
    """The quantile of request duration, over the requests the SLO's SLI selects (route, method); a grouped
    SLO's per group, as its latency alerts compute it, filtered by its grouping labels' variables (the raw
    series carry those labels; ``label_vars`` may name others, which are only on the recorded series)."""
    groups = {label: var for label, var in (label_vars or {}).items() if label in slo.group_by}
    bucket = f"{service.metrics.duration_bucket}{_http_matchers(service, slo, _var_matchers(groups))}"
    by = ", ".join(("le", *slo.group_by))
    return f"histogram_quantile({format_number(quantile)}, sum by ({by}) (rate({bucket}[{window}])))"


# --- overview (all services in one table) -----------------------------------------------------------


def overview_filters(service_var: str, label_vars: LabelVars) -> list[str]:
    return [matcher(series.SERVICE_LABEL, f"${service_var}", "=~"), *_var_matchers(label_vars)]


def overview_objective(filters: Sequence[str]) -> str:
    return f"max by ({_GROUP}) ({series.OBJECTIVE}{selector({}, filters)})"


def overview_budget_remaining(filters: Sequence[str]) -> str:
    """The budget left per SLO; a grouped SLO shows its worst group's (min), as its SLI column does."""
    return f"min by ({_GROUP}) ({series.BUDGET_REMAINING}{selector({}, filters)})"


def overview_sli(services: Sequence[Service], filters: Sequence[str]) -> str:
    """Each SLO's SLI over its own window: the ratio series of that window, for the SLOs that use it.

    Windows differ between SLOs (30d, 28d, 7d), so one term per window and service selects exactly the
    SLOs recorded with that window; the terms are joined with ``or``.
    """
    terms: list[str] = []
    by_key: dict[tuple[int, str], list[str]] = {}
    for service in services:
        for slo in service.slos:
            by_key.setdefault((slo.window.ms, service.name), []).append(slo.name)
    for (window_ms, service_name), slo_names in sorted(by_key.items()):
        names = "|".join(regex_literal(n) for n in sorted(slo_names))
        sel = selector(
            {series.SERVICE_LABEL: service_name}, [f"{series.SLO_LABEL}=~{quote(names)}", *filters]
        )
        terms.append(f"(1 - max by ({_GROUP}) ({series.error_ratio(Duration(window_ms))}{sel}))")
    return "\n  or\n".join(terms)


def overview_firing(alert_names: Iterable[str], filters: Sequence[str]) -> str:
    """Firing slokit alerts per SLO, 0 for an SLO with none (so every row shows a number)."""
    names = "|".join(regex_literal(n) for n in sorted(set(alert_names)))
    alerts = selector({"alertstate": "firing"}, [f"alertname=~{quote(names)}", *filters])
    return (
        f"count by ({_GROUP}) (ALERTS{alerts})\n"
        f"  or\n(0 * {overview_objective(filters)})"
    )
