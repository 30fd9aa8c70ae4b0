"""Rule groups of one service: recording rules, burn-rate, guardrail and absent alerts (plain data).

Per SLO there are two groups:

* ``<service>/<slo>`` (interval 1m): the 5m bad and total rates, the bad-event ratio of every alert
  window, the current burn rate, then the alerts. Alerts sit in the same group as the ratios they read, so
  they see this minute's values (rule groups run concurrently; a separate group would lag by up to one
  interval). 1m, because the page tier's 5m short window must be read at minute resolution.
* ``<service>/<slo>:period`` (interval 2m): the SLO-window ratio and the metadata series. The window moves
  slowly and these rules read the most samples, so they run half as often; 2m stays well inside the 5m
  lookback of instant queries, so dashboards never see a gap.

Every window's ratio is ``rate()`` of the raw counters over that window: the ratio of the events the
counters counted in it, exact under uneven traffic, with no lag, for any evaluation interval, and across
scrape gaps shorter than the window (the first scrape after a gap carries every event the gap hid; a sum of
recorded short-window rates would lose them, and lag the exact window by half its base window). The price
is reading raw samples over the long windows at every evaluation, as Sloth does for its alert windows.
A ratio is ``bad / total >= 0``: with no traffic the division is 0/0 = NaN and the filter drops it, so a
quiet window has no ratio sample (no burn, no alert) instead of a NaN.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from slokit import catalog, links, promql, series
from slokit.burnrate import ALERT_WINDOWS
from slokit.catalog import AlertDef
from slokit.rules.sli import sli_queries, zero_filled
from slokit.spec.model import SLO, Guardrail, HttpErrors, HttpLatency, Service
from slokit.spec.units import Duration, format_factor, format_number, format_percent

Rule = dict[str, Any]
Group = dict[str, Any]

SLI_INTERVAL = Duration.parse("1m")
PERIOD_INTERVAL = Duration.parse("2m")
#: Window of the recorded bad and total rates (dashboards read them; the 5m ratio divides them).
BASE_WINDOW = Duration.parse("5m")
#: Window of the current burn rate.
BURN_RATE_WINDOW = Duration.parse("1h")


def slo_labels(service: Service, slo: SLO) -> dict[str, str]:
    """Labels on every rule of ``slo``: service, slo, then the spec's labels (the SLO's win over the service's)."""
    out = {series.SERVICE_LABEL: service.name, series.SLO_LABEL: slo.name}
    out.update(sorted(service.labels.items()))
    out.update(sorted(slo.labels.items()))
    return out


# Durations render and selectors quote on every use; generating rules for many SLOs repeats the same few.
_text = functools.cache(Duration.__str__)
_ratio_name = functools.cache(series.error_ratio)
_bad_name = functools.cache(series.bad_rate)
_total_name = functools.cache(series.total_rate)


@functools.cache
def _recorded(name: str, service: str, slo: str) -> str:
    return name + promql.selector({series.SERVICE_LABEL: service, series.SLO_LABEL: slo})


def recorded(name: str, service: Service, slo: SLO) -> str:
    """A selector of one recorded series of ``slo``."""
    return _recorded(name, service.name, slo.name)


def ratio_windows(slo: SLO) -> tuple[Duration, ...]:
    """Windows whose bad-event ratio is recorded in the fast group: alert windows within the SLO window."""
    return tuple(w for w in ALERT_WINDOWS if w <= slo.window)


def _record(name: str, expr: str, labels: Mapping[str, str]) -> Rule:
    return {"record": name, "expr": expr, "labels": dict(labels)}


def _window_ratio(service: Service, slo: SLO, window: Duration) -> str:
    if window == BASE_WINDOW:
        b = recorded(_bad_name(BASE_WINDOW), service, slo)
        t = recorded(_total_name(BASE_WINDOW), service, slo)
        return f"{b} / {t} >= 0"
    return raw_ratio(service, slo, window)


def raw_ratio(service: Service, slo: SLO, window: Duration) -> str:
    bad, total = sli_queries(service, slo, window)
    return f"{zero_filled(bad, total, slo)}\n/\n{total}\n>= 0"


def recording_rules(service: Service, slo: SLO) -> tuple[list[Rule], list[Rule]]:
    """``(fast, period)`` recording rules of one SLO."""
    labels = slo_labels(service, slo)
    budget = format_number(slo.error_budget)
    bad, total = sli_queries(service, slo, BASE_WINDOW)
    total_5m = recorded(_total_name(BASE_WINDOW), service, slo)
    fast = [
        _record(_total_name(BASE_WINDOW), total, labels),
        # Zero while bad series do not exist yet (no 5xx ever), but only where there is traffic at all (in a
        # grouped SLO the zero comes from each group's total, so it exists exactly where that group has traffic).
        _record(_bad_name(BASE_WINDOW), zero_filled(bad, total_5m, slo) if slo.group_by else
                f"{zero_filled(bad, total_5m, slo)}\nand on ()\n{total_5m}", labels),
    ]
    fast += [_record(_ratio_name(w), _window_ratio(service, slo, w), labels) for w in ratio_windows(slo)]
    if slo.window > BURN_RATE_WINDOW and slo.has_budget:
        burn = f"{recorded(_ratio_name(BURN_RATE_WINDOW), service, slo)} / {budget}"
        fast.append(_record(series.BURN_RATE, burn, labels))

    period_ratio = recorded(_ratio_name(slo.window), service, slo)
    info = dict(labels)
    info.update(
        description=slo.description,
        objective=format_percent(slo.objective),
        window=str(slo.window),
        sli=slo.sli.kind,
        owner=service.owner,
        runbook_url=links.runbook_url(service, slo),
    )
    period = [] if slo.window in ratio_windows(slo) else [
        _record(_ratio_name(slo.window), raw_ratio(service, slo, slo.window), labels)
    ]
    if slo.has_budget:  # with no budget (objective 100 %) both would divide by zero
        period += [
            _record(series.PERIOD_BURN_RATE, f"{period_ratio} / {budget}", labels),
            _record(series.BUDGET_REMAINING, f"1 - {period_ratio} / {budget}", labels),
        ]
    period += [
        _record(series.OBJECTIVE, f"vector({format_number(slo.objective)})", labels),
        _record(series.ERROR_BUDGET, f"vector({budget})", labels),
        _record(series.WINDOW_DAYS, f"vector({format_number(Fraction(slo.window.ms, 86_400_000))})", labels),
        _record(series.INFO, "vector(1)", info),
    ]
    return fast, period


# --- alerts ----------------------------------------------------------------------------------------------

_TEMPLATE_DELIMS = re.compile(r"\{\{|\}\}")


def literal(text: str) -> str:
    """Spec text made safe inside an alert template: ``{{`` and ``}}`` are printed, not interpreted."""
    return _TEMPLATE_DELIMS.sub(lambda m: '{{ "' + m.group(0) + '" }}', text)


def group_text(slo: SLO) -> str:
    """`` (market={{ $labels.market }})``: which group an alert of a grouped SLO is about, for its summary."""
    if not slo.group_by:
        return ""
    return " (" + ", ".join(f"{g}={{{{ $labels.{g} }}}}" for g in slo.group_by) + ")"


def _alert(service: Service, slo: SLO, a: AlertDef, expr: str, for_: Duration | None, description: str) -> Rule:
    """One alerting rule: the SLO's labels, severity and team, then exactly the catalogue's labels of ``a``."""
    labels = slo_labels(service, slo)
    labels[series.SEVERITY_LABEL] = a.severity
    labels[series.TEAM_LABEL] = service.owner
    labels.update(a.labels)
    rule: Rule = {"alert": a.name, "expr": expr}
    if for_ is not None and for_.ms > 0:
        rule["for"] = str(for_)
    rule["labels"] = labels
    rule["annotations"] = {
        "summary": literal(f"{service.name} {slo.name}") + group_text(slo) + literal(f": {a.title}"),
        "description": description,
        "runbook_url": links.runbook_url(service, slo, a.anchor),
    }
    dashboard = links.notification_dashboard_url(service)
    if dashboard is not None:
        rule["annotations"]["dashboard_url"] = dashboard
    return rule


def _bad_events(slo: SLO) -> str:
    """What a bad event is, for descriptions: a latency SLI names its threshold."""
    if isinstance(slo.sli, HttpLatency):
        return f"requests were slower than {slo.sli.threshold.human}"
    return "events were bad"


def _burn_alert(service: Service, slo: SLO, a: AlertDef) -> Rule:
    assert a.tier is not None
    t = a.tier
    thr = format_number(t.threshold)
    long_r = recorded(_ratio_name(t.tier.long), service, slo)
    short_r = recorded(_ratio_name(t.tier.short), service, slo)
    expr = f"{long_r} > {thr}\nand\n{short_r} > {thr}"
    guard = ""
    if slo.min_events > 0:
        _, events = sli_queries(service, slo, t.tier.long)
        expr += f"\nand on ()\n{events} * {format_number(Fraction(t.tier.long.ms, 1000))} >= {slo.min_events}"
        guard = f" Only alerts with at least {slo.min_events} events in {_text(t.tier.long)}."
    description = (
        f"{{{{ $value | humanizePercentage }}}} of {_bad_events(slo)} over the last {_text(t.tier.long)} (and over "
        f"{_text(t.tier.short)}, above {format_percent(t.threshold)}): the error budget of "
        f"{format_percent(slo.error_budget)} is burning at least {format_factor(t.factor)}x as fast as the "
        f"{_text(slo.window)} objective of {format_percent(slo.objective)} allows; at this rate "
        f"{t.spending(slo.window)}.{guard}"
    )
    return _alert(service, slo, a, expr, None, description)


def quantile_query(service: Service, slo: SLO, q: Fraction, window: Duration) -> str:
    """``histogram_quantile`` of the request durations in the SLI's scope (its route and method, if any)."""
    sli = slo.sli
    if not isinstance(sli, HttpErrors | HttpLatency):
        raise ValueError(f"{service.name}/{slo.name}: latency quantiles need an HTTP SLI, not {sli.kind}")
    m = service.metrics
    scope = []
    if sli.route is not None:
        scope.append(promql.matcher(m.route_label, sli.route))
    if sli.method is not None:
        scope.append(promql.matcher(m.method_label, sli.method))
    sel = promql.selector(service.selector, scope)
    by = ", ".join(("le", *slo.group_by))
    return f"histogram_quantile({format_number(q)}, sum by ({by}) (rate({m.duration_bucket}{sel}[{_text(window)}])))"


@dataclass(frozen=True)
class Condition:
    """A guardrail's test split in two: ``value`` (PromQL giving one sample) compared with ``threshold``.

    The alerting rule is ``expr``; rollout analyses (Argo Rollouts, Flagger) need the value and the
    threshold apart, and ``slokit gate`` evaluates ``expr``.
    """

    value: str
    op: Literal[">", "<"]
    threshold: str
    #: What ``value`` is, for descriptions: "the error ratio over 5m".
    what: str

    @property
    def expr(self) -> str:
        return f"{self.value} {self.op} {self.threshold}"


def guardrail_condition(service: Service, slo: SLO, g: Guardrail, *, self_contained: bool = False) -> Condition:
    """The condition of guardrail ``g``. The rule reads the recorded ratio of its window when there is one;
    ``self_contained`` computes that same ratio from the raw series instead (what the recording rule
    computes), for a Prometheus that does not run slokit's rules or a range that predates them."""
    window = g.window
    if window in ratio_windows(slo) and not self_contained:
        ratio = recorded(_ratio_name(window), service, slo)
    else:
        ratio = f"({raw_ratio(service, slo, window)})"
    slow = slo.sli.threshold.human if isinstance(slo.sli, HttpLatency) else None
    if g.kind == "error_ratio_above":
        what = "the error ratio" if slow is None else f"the share of requests slower than {slow}"
        return Condition(ratio, ">", format_number(g.threshold), f"{what} over {_text(window)}")
    if g.kind == "good_ratio_below":
        what = "the good ratio" if slow is None else f"the share of requests within {slow}"
        return Condition(f"1 - {ratio}", "<", format_number(g.threshold), f"{what} over {_text(window)}")
    assert g.quantile is not None and g.latency is not None
    pnn = g.key.removesuffix("_above")
    return Condition(quantile_query(service, slo, g.quantile, window), ">",
                     format_number(Fraction(g.latency.ms, 1000)), f"the {pnn} latency over {_text(window)}")


def _guardrail_alert(service: Service, slo: SLO, a: AlertDef) -> Rule:
    g = a.guardrail
    assert g is not None
    cond = guardrail_condition(service, slo, g)
    humanize = "humanizeDuration" if g.kind == "quantile_above" else "humanizePercentage"
    now = f"{cond.what} is {{{{ $value | {humanize} }}}}"
    description = f"{now[0].upper()}{now[1:]}, past the limit of {g.level_text} for {g.for_.human}."
    if g.rollback:
        description += " This is a rollback trigger: stop or roll back the rollout in progress."
    if g.description:
        description += " " + literal(g.description)
    return _alert(service, slo, a, cond.expr, g.for_, description)


def _absent_alert(service: Service, slo: SLO, a: AlertDef) -> Rule:
    _, total = sli_queries(service, slo, BASE_WINDOW)
    description = (
        f"No series of the SLI for {_text(slo.absent_for)}: the service is not scraped, its metrics were renamed or "
        "the selector no longer matches, and none of this SLO's alerts can fire."
    )
    return _alert(service, slo, a, f"absent({total})", slo.absent_for, description)


def alerting_rules(service: Service, slo: SLO) -> list[Rule]:
    out: list[Rule] = []
    for a in catalog.alerts_for(service, slo):
        if a.kind == "burn_rate":
            out.append(_burn_alert(service, slo, a))
        elif a.kind == "guardrail":
            out.append(_guardrail_alert(service, slo, a))
        else:
            out.append(_absent_alert(service, slo, a))
    return out


def group_names(service: Service, slo: SLO) -> tuple[str, str]:
    """``<service>/<slo>`` and ``<service>/<slo>:period``: spec names hold no ``/`` or ``:``, so none collide."""
    return f"{service.name}/{slo.name}", f"{service.name}/{slo.name}:period"


def service_groups(service: Service) -> list[Group]:
    """All rule groups of a service, in spec order; the spec's ``evaluation_interval`` overrides both intervals."""
    groups: list[Group] = []
    fast_interval = service.evaluation_interval or SLI_INTERVAL
    period_interval = service.evaluation_interval or PERIOD_INTERVAL
    for slo in service.slos:
        fast, period = recording_rules(service, slo)
        fast_name, period_name = group_names(service, slo)
        groups.append({"name": fast_name, "interval": str(fast_interval), "rules": fast + alerting_rules(service, slo)})
        groups.append({"name": period_name, "interval": str(period_interval), "rules": period})
    return groups


def rule_count(groups: list[Group]) -> int:
    return sum(len(g["rules"]) for g in groups)

