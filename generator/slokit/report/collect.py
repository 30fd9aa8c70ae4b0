"""Reads every SLO's event counts and alerts from Prometheus and builds the report (the I/O edge).

One SLO at a time, with a progress line on stderr per SLO, as a month of data over many SLOs takes a while.
A grouped SLO's queries keep its grouping labels (``sum by (market)``), and each group becomes a report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from slokit import series
from slokit.prometheus_client import PrometheusClient, Result, Series
from slokit.report import queries
from slokit.report.model import (
    AlertSummary,
    Buckets,
    Report,
    ServiceReport,
    SLOParams,
    SLOReport,
    Source,
    build_slo_report,
    step_for,
    summarize_alerts,
    without_numbers,
    worst_first,
)
from slokit.report.period import Period, format_time
from slokit.series import Group
from slokit.spec.model import SLO, Service


def _params(service: Service, slo: SLO) -> SLOParams:
    return SLOParams(service=service.name, slo=slo.name, description=slo.description, objective=slo.objective,
                     window=timedelta(milliseconds=slo.window.ms), window_text=str(slo.window), sli_kind=slo.sli.kind,
                     group_by=slo.group_by)


def _by_group(result: Sequence[Series], times: Sequence[datetime], slo: SLO) -> dict[Group, list[float | None]]:
    """One value per time and group (None where there is no sample). NaN and infinities are kept: the model
    refuses them rather than reading them as no bad event."""
    at = {_ms(t): i for i, t in enumerate(times)}
    out: dict[Group, list[float | None]] = {}
    for s in result:
        values = out.setdefault(series.group_of(slo.group_by, s.labels), [None] * len(times))
        for t, v in s.points:
            i = at.get(_ms(t))
            if i is not None:
                prev = values[i]
                values[i] = v if prev is None else prev + v
    return out


def _summed(groups: Mapping[Group, Sequence[float | None]], n: int) -> list[float | None] | None:
    """All groups together, per time; None when there is no group at all."""
    if not groups:
        return None
    return [None if all(g[i] is None for g in groups.values()) else sum(g[i] or 0.0 for g in groups.values())
            for i in range(n)]


def _ms(t: datetime | float) -> int:
    """Milliseconds, the resolution Prometheus answers in: a float timestamp does not round-trip exactly."""
    return round((t.timestamp() if isinstance(t, datetime) else t) * 1000)


def _range(client: PrometheusClient, expr: str, start: datetime, end: datetime, step: timedelta) -> Result[Series]:
    return client.query_range(expr, start.timestamp(), end.timestamp(), step.total_seconds())


def _partial(report: SLOReport, warnings: Sequence[str]) -> SLOReport:
    """A partial answer (Prometheus' ``warnings``, as Thanos and Mimir send when a store is missing) never
    makes an SLO met or at risk: it is "no data", showing none of the partial numbers (as broken data); a
    breach stays a breach, with the warning added."""
    if not warnings:
        return report
    why = "partial data: Prometheus answered with warnings (" + "; ".join(list(dict.fromkeys(warnings))[:2]) + ")"
    if report.verdict == "breached":
        return replace(report, reason=f"{report.reason}; {why}")
    return without_numbers(report, f"{why}, so it is not judged")


def _first(values: Sequence[float | None]) -> int:
    return next((i for i, v in enumerate(values) if v is not None), len(values))


def _filled(values: Sequence[float | None] | None, n: int) -> tuple[float, ...]:
    return (0.0,) * n if values is None else tuple(0.0 if v is None else v for v in values)


def fetch_buckets(client: PrometheusClient, service: Service, slo: SLO, period: Period,
                  now: datetime | None = None) -> tuple[dict[Group, Buckets], Source, str]:
    """Bad and total events per bucket (per group of a grouped SLO) over the SLO window before the period and
    the period itself, where they came from, and without any series why (when it can tell).

    The recorded series are used when they cover that whole span, or at least as far back as the raw
    series do; recording rules loaded after the service was first scraped would otherwise hide the older
    events, so then the raw SLI queries are read instead. Without series in that span, ``now`` (the report's
    time) tells whether the series exist only after the period: a period ending before the data starts.
    """
    p = _params(service, slo)
    step = step_for(p.window, period.duration)
    n = round((p.window + period.duration) / step)
    start = period.end - (n - 1) * step
    times = [start + i * step for i in range(n)]

    def read(queries_: tuple[str, str]) -> tuple[dict[Group, list[float | None]], str]:
        return _by_group(_range(client, queries_[1], start, period.end, step), times, slo), queries_[0]

    recorded_total, recorded_bad = read(queries.recorded_events(service, slo, step))
    chosen: tuple[dict[Group, list[float | None]], str, Source] = (recorded_total, recorded_bad, "recorded")
    recorded_sum = _summed(recorded_total, n)
    if recorded_sum is None or _first(recorded_sum) > 0:
        raw_total, raw_bad = read(queries.raw_events(service, slo, step))
        raw_sum = _summed(raw_total, n)
        if raw_sum is not None and (recorded_sum is None or _first(raw_sum) < _first(recorded_sum)):
            chosen = (raw_total, raw_bad, "raw")
    total, bad_query, source = chosen
    if not total:
        return {(): Buckets(step, period.end, (0.0,) * n, (0.0,) * n)}, "missing", _why_missing(
            client, service, slo, period, now)
    bad = _by_group(_range(client, bad_query, start, period.end, step), times, slo)
    recorded = source == "recorded"
    covered = _coverage(client, service, slo, times, step) if recorded else None
    names = queries.recorded_names(service, slo)
    return {g: Buckets(step, period.end, _filled(bad.get(g), n), _filled(total.get(g), n), covered,
                       _bad_missing(bad.get(g), total.get(g), times, names) if recorded else "")
            for g in total.keys() | bad.keys()}, source, ""


def _bad_missing(bad: Sequence[float | None] | None, total: Sequence[float | None] | None,
                 times: Sequence[datetime], names: tuple[str, str]) -> str:
    """Why recorded counts are broken when the bad series has no sample in a bucket where the total has one;
    "" when it has. The rules record bad wherever they record total (a zero when nothing failed), so its
    absence there is lost data, never "no bad event"."""
    for i, t in enumerate(total or ()):
        if t is not None and (bad is None or bad[i] is None):
            return (f"the recorded {names[0]} is missing where {names[1]} has counts, in the bucket ending "
                    f"{times[i]:%Y-%m-%d %H:%M} UTC (the rules record both)")
    return ""


def _coverage(client: PrometheusClient, service: Service, slo: SLO, times: Sequence[datetime],
              step: timedelta) -> tuple[float, ...] | None:
    """Share of each bucket's rule steps that were recorded (0 for a bucket without any, or a NaN); None for
    an SLO without step counts."""
    expr = queries.recorded_coverage(service, slo, step)
    if expr is None:
        return None
    at = {_ms(t): i for i, t in enumerate(times)}
    shares = [0.0] * len(times)
    for s in _range(client, expr, times[0], times[-1], step):
        for t, v in s.points:
            i = at.get(_ms(t))
            if i is not None and math.isfinite(v):
                shares[i] = max(shares[i], v)
    return tuple(shares)


def _why_missing(client: PrometheusClient, service: Service, slo: SLO, period: Period, now: datetime | None) -> str:
    """The reason for "no data" when the SLO's series exist, but only after the period's end."""
    if now is None or now <= period.end:
        return ""
    since = timedelta(minutes=math.ceil((now - period.end) / timedelta(minutes=1)))
    _, total = queries.raw_events(service, slo, since)
    if not client.query(total, now.timestamp()):
        return ""
    return (f"no series in the period, but there are some after its end ({format_time(period.end)}): the data "
            "starts after the period (a period ends at the start of this hour unless --at is given; --at now "
            "reads up to now)")


def fetch_alerts(client: PrometheusClient, service: Service, period: Period) -> dict[str, list[AlertSummary]]:
    """The service's alerts that fired in the period, by SLO name."""
    step = queries.alert_step(service)
    result = _range(client, queries.firing_alerts(service), period.start + step, period.end, step)
    by_slo: dict[str, list[AlertSummary]] = {}
    for s in result:
        for a in summarize_alerts([(dict(s.labels), [datetime.fromtimestamp(t, UTC) for t, _ in s.points])], step):
            by_slo.setdefault(s.labels.get(series.SLO_LABEL, ""), []).append(a)
    return by_slo


def _alerts_of(alerts: Sequence[AlertSummary], group: Group) -> list[AlertSummary]:
    """The alerts of one group of a grouped SLO (all of them for an ungrouped one)."""
    return [a for a in alerts if all(dict(a.labels).get(k, "") == v for k, v in group)]


def collect(client: PrometheusClient, services: Sequence[Service], period: Period, generated_at: datetime,
            progress: Callable[[str], None] = lambda _: None) -> Report:
    total = sum(len(s.slos) for s in services)
    done = 0
    out = []
    for service in services:
        progress(f"{service.name}: alerts that fired in {period.title}")
        seen = len(client.warnings)
        alerts = fetch_alerts(client, service, period)
        service_warnings = client.warnings[seen:]
        slos: list[SLOReport] = []
        for slo in service.slos:
            done += 1
            progress(f"[{done}/{total}] {service.name}/{slo.name}: events over {slo.window} + {period.title}")
            seen = len(client.warnings)
            per_group, source, why = fetch_buckets(client, service, slo, period, generated_at)
            warnings = service_warnings + client.warnings[seen:]
            reports = [_partial(build_slo_report(_params(service, slo), period, buckets, source,
                                                 _alerts_of(alerts.get(slo.name, ()), group), group, why), warnings)
                       for group, buckets in per_group.items()]
            slos += worst_first(reports)
        out.append(ServiceReport(service.name, service.owner, tuple(slos)))
    return Report(period=period, generated_at=generated_at, prometheus=client.url, services=tuple(out))
