"""PromQL of the report: events per bucket from the recorded 5m rates, or from the raw SLI queries.

The recorded ``slo:sli_bad:rate5m`` and ``slo:sli_total:rate5m`` are sampled once per evaluation interval,
so summing them over a bucket and multiplying by the interval gives the bucket's events (each event is
counted once: a 5m rate sampled every minute spreads it evenly over five samples of one fifth). Summed
over days they are cheap, and they agree with the alerts and dashboards. When they are missing (the rules
are not loaded, or not for long) the raw SLI queries of :func:`slokit.rules.sli.sli_queries` give the rate
over each bucket instead.
"""

from __future__ import annotations

from datetime import timedelta

from slokit import promql, series
from slokit.rules.build import BASE_WINDOW, SLI_INTERVAL, recorded
from slokit.rules.sli import sli_queries, summed
from slokit.spec.model import SLO, Service
from slokit.spec.units import Duration, format_number


def _seconds(d: timedelta | Duration) -> str:
    return format_number(d.total_seconds() if isinstance(d, timedelta) else d.seconds)


def recorded_events(service: Service, slo: SLO, step: timedelta) -> tuple[str, str]:
    """``(bad, total)`` events per ``step`` bucket from the recorded 5m rates (per group of a grouped SLO)."""
    interval = _seconds(service.evaluation_interval or SLI_INTERVAL)
    rng = _seconds(step) + "s"

    def q(name: str) -> str:
        return f"{summed(slo.group_by)}(sum_over_time({recorded(name, service, slo)}[{rng}])) * {interval}"

    return q(series.bad_rate(BASE_WINDOW)), q(series.total_rate(BASE_WINDOW))


def raw_events(service: Service, slo: SLO, step: timedelta) -> tuple[str, str]:
    """``(bad, total)`` events per ``step`` bucket from the SLI's raw series (per group of a grouped SLO)."""
    bad, total = sli_queries(service, slo, Duration(int(step / timedelta(milliseconds=1))))
    secs = _seconds(step)
    return f"({bad}) * {secs}", f"({total}) * {secs}"


def alert_step(service: Service) -> timedelta:
    """Resolution of alert times: a minute, or the rules' evaluation interval when that is longer."""
    interval = timedelta(milliseconds=(service.evaluation_interval or SLI_INTERVAL).ms)
    return max(timedelta(minutes=1), interval)


def firing_alerts(service: Service) -> str:
    """The service's firing alerts from the ``ALERTS`` series Prometheus writes for every alerting rule.

    ``count_over_time`` over one step finds the steps that hold a firing sample, so an alert shows from its
    first to its last evaluation as firing, not for the 5 minutes of lookback after it resolved.
    """
    selector = promql.selector({series.SERVICE_LABEL: service.name, "alertstate": "firing"})
    return f"count_over_time(ALERTS{selector}[{_seconds(alert_step(service))}s])"
