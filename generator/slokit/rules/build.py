"""Rule groups of one service: recording rules, burn-rate, guardrail and absent alerts (plain data).

Per SLO there are two groups:

* ``<service>/<slo>`` (interval 1m, the *step*): level 1 of the roll-up, the bad and total events of the
  step; the ratio of every alert window; the current burn rate; then the alerts. Alerts sit in the same group
  as the ratios they read, so they see this minute's values (rule groups run concurrently; a separate group
  would lag by up to one interval). 1m, because the page tier's 5m short window must be read at minute
  resolution.
* ``<service>/<slo>:period`` (interval 2m): the SLO-window ratio, the coverage of every rolled-up window and
  the metadata series. 2m stays well inside the 5m lookback of instant queries, so dashboards never see a gap.

Windows up to an hour are ``rate()`` of the raw counters: exact, no lag, and cheap (at most an hour of raw
samples). Longer windows (2h ... 30d) are level 2: the sum of the recorded step counts over the window,
bad over total. The step counts tile (each step's count starts at the sample where the previous one ended),
so the sums are the exact counts of the window, found in a few aggregated series instead of every raw series
over 30 days. A count is taken against the last sample before the step within an hour, so the first sample
after a scrape gap carries every event the gap hid. A missed evaluation drops one step from both sums: the
ratio stays a ratio of counted events, and ``slo:sli_coverage:ratio<window>`` says how much was counted.
A ratio is ``bad / total >= 0``: with no traffic the division is 0/0 = NaN and the filter drops it, so a
quiet window has no ratio sample (no burn, no alert) instead of a NaN.

Every series read back is aggregated ``by (service, slo, <group_by>)`` before it is divided or joined, and
joins name their labels (``and on (...)``): the rules give the same answer when the evaluator adds external
labels (``cluster``, ``prometheus``) or when the step counts arrive from several agents.
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
from slokit.rules.sli import sli_queries, step_queries, zero_filled
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
#: Longest window read from the raw counters; longer ones sum the recorded step counts.
RAW_MAX = Duration.parse("1h")
#: How far back a step count looks for the last sample before its step: a scrape gap up to this long loses
#: no event. Its cost is this many raw samples per series per step, the largest term of level 1.
STEP_LOOKBACK = Duration.parse("1h")


def step(service: Service) -> Duration:
    """The roll-up step: the fast group's interval, so that consecutive step counts tile."""
    return service.evaluation_interval or SLI_INTERVAL


def _step_counts(service: Service, slo: SLO) -> tuple[str, str] | None:
    return step_queries(service, slo, step(service), STEP_LOOKBACK)


def rolls_up(service: Service, slo: SLO) -> bool:
    """Whether the SLO's long windows sum step counts (a ``ratio`` SLI whose queries slokit cannot rewrite
    keeps raw long windows)."""
    return _step_counts(service, slo) is not None


def rolled_up(service: Service, slo: SLO, window: Duration) -> bool:
    """Whether ``window``'s ratio of ``slo`` is level 2 (a sum of step counts) rather than raw."""
    return window > RAW_MAX and rolls_up(service, slo)


def key_labels(slo: SLO) -> str:
    """``service, slo[, group labels]``: what every aggregation and join of recorded series keeps."""
    return ", ".join((series.SERVICE_LABEL, series.SLO_LABEL, *slo.group_by))


def step_range(service: Service, window: Duration) -> Duration:
    """The range that holds exactly ``window / step`` step counts when read at a step's own timestamp: half
    a step short of the window, so Prometheus 2.x (closed ranges), 3.x and MetricsQL (left-open) agree."""
    return Duration(window.ms - step(service).ms // 2)


def step_sum(service: Service, slo: SLO, name: str, window: Duration, fn: str = "sum_over_time") -> str:
    """``sum by (service, slo, ...) (sum_over_time(<step counts>[window]))``: level 2."""
    agg = "max" if fn == "count_over_time" else "sum"
    return f"{agg} by ({key_labels(slo)}) ({fn}({recorded(name, service, slo)}[{step_range(service, window)}]))"


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
    if rolled_up(service, slo, window):
        bad = step_sum(service, slo, series.BAD_STEP, window)
        total = step_sum(service, slo, series.TOTAL_STEP, window)
        return f"{bad}\n/\n{total}\n>= 0"
    return raw_ratio(service, slo, window)


def rolled_windows(service: Service, slo: SLO) -> tuple[Duration, ...]:
    """The level-2 windows of ``slo``: its long alert windows and its SLO window."""
    return tuple(sorted({w for w in (*ratio_windows(slo), slo.window) if rolled_up(service, slo, w)}))


def step_rules(service: Service, slo: SLO, labels: Mapping[str, str]) -> list[Rule]:
    """Level 1: the bad and total events of the step. A total with no sample (no series moved, or a scrape
    gap) records 0, so every evaluation leaves a step count and coverage counts evaluations; in a grouped
    SLO each group seen within the lookback keeps a 0."""
    counts = _step_counts(service, slo)
    if counts is None:
        return []
    bad, total = counts
    total_sel = recorded(series.TOTAL_STEP, service, slo)
    if slo.group_by:
        by = ", ".join(slo.group_by)
        total += f"\nor\nsum by ({by}) (0 * last_over_time({total_sel}[{STEP_LOOKBACK}]))"
        bad = zero_filled(bad, f"sum by ({by}) ({total_sel})", slo)
    else:
        total += "\nor\nvector(0)"
        bad = zero_filled(bad, "", slo)
    return [_record(series.TOTAL_STEP, total, labels), _record(series.BAD_STEP, bad, labels)]


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
        *step_rules(service, slo, labels),
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
        _record(_ratio_name(slo.window), _window_ratio(service, slo, slo.window), labels)
    ]
    for w in rolled_windows(service, slo):
        steps = format_number(Fraction(w.ms, step(service).ms))
        period.append(_record(series.coverage(w),
                              f"{step_sum(service, slo, series.TOTAL_STEP, w, 'count_over_time')} / {steps}", labels))
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
    keys = key_labels(slo)
    expr = f"{long_r} > {thr}\nand on ({keys})\n{short_r} > {thr}"
    guard = ""
    if slo.min_events > 0 and rolled_up(service, slo, t.tier.long):
        events = step_sum(service, slo, series.TOTAL_STEP, t.tier.long)
        expr += f"\nand on ({keys})\n{events} >= {slo.min_events}"
    elif slo.min_events > 0:
        _, events = sli_queries(service, slo, t.tier.long)
        by = ", ".join(slo.group_by)
        expr += f"\nand on ({by})\n{events} * {format_number(Fraction(t.tier.long.ms, 1000))} >= {slo.min_events}"
    if slo.min_events > 0:
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

