"""Reads every SLO's event counts and alerts from Prometheus and builds the report (the I/O edge).

One SLO at a time, with a progress line on stderr per SLO, as a month of data over many SLOs takes a while.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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
)
from slokit.report.period import Period
from slokit.spec.model import SLO, Service


def _params(service: Service, slo: SLO) -> SLOParams:
    return SLOParams(service=service.name, slo=slo.name, description=slo.description, objective=slo.objective,
                     window=timedelta(milliseconds=slo.window.ms), window_text=str(slo.window), sli_kind=slo.sli.kind)


def _values(result: Sequence[Series], times: Sequence[datetime]) -> list[float | None] | None:
    """One value per time (None where there is no sample); None when the query returned nothing at all."""
    if not result:
        return None
    by_time: dict[int, float] = {}
    for s in result:
        for t, v in s.points:
            if math.isfinite(v):
                by_time[_ms(t)] = by_time.get(_ms(t), 0.0) + v
    return [by_time.get(_ms(t)) for t in times]


def _ms(t: datetime | float) -> int:
    """Milliseconds, the resolution Prometheus answers in: a float timestamp does not round-trip exactly."""
    return round((t.timestamp() if isinstance(t, datetime) else t) * 1000)


def _range(client: PrometheusClient, expr: str, start: datetime, end: datetime, step: timedelta) -> Result[Series]:
    return client.query_range(expr, start.timestamp(), end.timestamp(), step.total_seconds())


def _partial(report: SLOReport, warnings: Sequence[str]) -> SLOReport:
    """A partial answer (Prometheus' ``warnings``, as Thanos and Mimir send when a store is missing) never
    makes an SLO met or at risk: it is "no data"; a breach stays a breach, with the warning added."""
    if not warnings:
        return report
    why = "partial data: Prometheus answered with warnings (" + "; ".join(list(dict.fromkeys(warnings))[:2]) + ")"
    if report.verdict == "breached":
        return replace(report, reason=f"{report.reason}; {why}")
    return replace(report, verdict="no data", reason=f"{why}, so it is not judged")


def _first(values: Sequence[float | None]) -> int:
    return next((i for i, v in enumerate(values) if v is not None), len(values))


def _filled(values: Sequence[float | None] | None, n: int) -> tuple[float, ...]:
    return (0.0,) * n if values is None else tuple(0.0 if v is None else v for v in values)


def fetch_buckets(client: PrometheusClient, service: Service, slo: SLO, period: Period) -> tuple[Buckets, Source]:
    """Bad and total events per bucket over the SLO window before the period and the period itself.

    The recorded series are used when they cover that whole span, or at least as far back as the raw
    series do; recording rules loaded after the service was first scraped would otherwise hide the older
    events, so then the raw SLI queries are read instead.
    """
    p = _params(service, slo)
    step = step_for(p.window, period.duration)
    n = round((p.window + period.duration) / step)
    start = period.end - (n - 1) * step
    times = [start + i * step for i in range(n)]

    def read(queries_: tuple[str, str]) -> tuple[list[float | None] | None, str]:
        return _values(_range(client, queries_[1], start, period.end, step), times), queries_[0]

    recorded_total, recorded_bad = read(queries.recorded_events(service, slo, step))
    chosen: tuple[list[float | None] | None, str, Source] = (recorded_total, recorded_bad, "recorded")
    if recorded_total is None or _first(recorded_total) > 0:
        raw_total, raw_bad = read(queries.raw_events(service, slo, step))
        if raw_total is not None and (recorded_total is None or _first(raw_total) < _first(recorded_total)):
            chosen = (raw_total, raw_bad, "raw")
    total, bad_query, source = chosen
    if total is None:
        return Buckets(step, period.end, (0.0,) * n, (0.0,) * n), "missing"
    bad = _values(_range(client, bad_query, start, period.end, step), times)
    return Buckets(step, period.end, _filled(bad, n), _filled(total, n)), source


def fetch_alerts(client: PrometheusClient, service: Service, period: Period) -> dict[str, list[AlertSummary]]:
    """The service's alerts that fired in the period, by SLO name."""
    step = queries.alert_step(service)
    result = _range(client, queries.firing_alerts(service), period.start + step, period.end, step)
    by_slo: dict[str, list[AlertSummary]] = {}
    for s in result:
        for a in summarize_alerts([(dict(s.labels), [datetime.fromtimestamp(t, UTC) for t, _ in s.points])], step):
            by_slo.setdefault(s.labels.get(series.SLO_LABEL, ""), []).append(a)
    return by_slo


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
            buckets, source = fetch_buckets(client, service, slo, period)
            report = build_slo_report(_params(service, slo), period, buckets, source, alerts.get(slo.name, ()))
            slos.append(_partial(report, service_warnings + client.warnings[seen:]))
        out.append(ServiceReport(service.name, service.owner, tuple(slos)))
    return Report(period=period, generated_at=generated_at, prometheus=client.url, services=tuple(out))
