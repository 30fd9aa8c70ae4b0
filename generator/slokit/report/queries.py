"""PromQL of the report: events per bucket from the recorded step counts, or from the raw SLI queries.

The recorded ``slo:sli_bad:events_step`` and ``slo:sli_total:events_step`` hold the events of each rule
step, so their sum over a bucket is the bucket's events, exactly, and agrees with the alerts and dashboards.
(An SLO whose ratio SLI cannot be rolled up has no step counts; its recorded 5m rates, sampled once per
evaluation interval, summed over a bucket and multiplied by the interval give the events instead.)
When they are missing (the rules are not loaded, or not for long) the raw SLI queries of
:func:`slokit.rules.sli.sli_queries` give the rate over each bucket instead.

The coverage of a bucket is read from the same recorded series, not from the published
``slo:sli_coverage:ratio<window>``: those exist only for the rolled-up windows, sampled every 2 minutes at
instants that are not the period's edges, whereas a count per bucket gives the coverage of the period and
of the SLO window ending with it exactly, and also for the 5m rates of an SLO that is not rolled up.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from slokit import promql, series
from slokit.rules.build import BASE_WINDOW, recorded, rolls_up
from slokit.rules.build import step as rule_step
from slokit.rules.sli import sli_queries, summed
from slokit.spec.model import SLO, Service
from slokit.spec.units import Duration, format_number


def _seconds(d: timedelta | Duration) -> str:
    return format_number(d.total_seconds() if isinstance(d, timedelta) else d.seconds)


def recorded_names(service: Service, slo: SLO) -> tuple[str, str]:
    """The recorded ``(bad, total)`` series the report reads: step counts, else 5m rates."""
    if rolls_up(service, slo):
        return series.BAD_STEP, series.TOTAL_STEP
    return series.bad_rate(BASE_WINDOW), series.total_rate(BASE_WINDOW)


def recorded_events(service: Service, slo: SLO, step: timedelta) -> tuple[str, str]:
    """``(bad, total)`` events per ``step`` bucket from the recorded step counts (else 5m rates), per group
    of a grouped SLO."""
    rng = _seconds(step) + "s"
    names = recorded_names(service, slo)
    times = "" if rolls_up(service, slo) else f" * {_seconds(rule_step(service))}"
    bad, total = (f"{summed(slo.group_by)}(sum_over_time({recorded(n, service, slo)}[{rng}])){times}" for n in names)
    return bad, total


def recorded_coverage(service: Service, slo: SLO, step: timedelta) -> str | None:
    """Share of each ``step`` bucket's rule steps that left a recorded total step count, at most 1; None for
    an SLO that is not rolled up (its 5m rates leave no sample without traffic, so a missing one does not
    tell a missed evaluation). For the whole SLO: a missed evaluation misses every group alike, while a
    group's own series ends when the group is quiet for an hour (no event lost), so the group seen in the
    most steps counts, as in the published ``slo:sli_coverage:ratio<window>``."""
    if not rolls_up(service, slo):
        return None
    steps = format_number(Fraction(int(step / timedelta(milliseconds=1)), rule_step(service).ms))
    total = recorded(series.TOTAL_STEP, service, slo)
    return f"clamp_max(max(count_over_time({total}[{_seconds(step)}s])) / {steps}, 1)"


def raw_events(service: Service, slo: SLO, step: timedelta) -> tuple[str, str]:
    """``(bad, total)`` events per ``step`` bucket from the SLI's raw series (per group of a grouped SLO)."""
    bad, total = sli_queries(service, slo, Duration(int(step / timedelta(milliseconds=1))))
    secs = _seconds(step)
    return f"({bad}) * {secs}", f"({total}) * {secs}"


def alert_step(service: Service) -> timedelta:
    """Resolution of alert times: a minute, or the rules' evaluation interval when that is longer."""
    interval = timedelta(milliseconds=rule_step(service).ms)
    return max(timedelta(minutes=1), interval)


def firing_alerts(service: Service) -> str:
    """The service's firing alerts from the ``ALERTS`` series Prometheus writes for every alerting rule.

    ``count_over_time`` over one step finds the steps that hold a firing sample, so an alert shows from its
    first to its last evaluation as firing, not for the 5 minutes of lookback after it resolved.
    """
    selector = promql.selector({series.SERVICE_LABEL: service.name, "alertstate": "firing"})
    return f"count_over_time(ALERTS{selector}[{_seconds(alert_step(service))}s])"
