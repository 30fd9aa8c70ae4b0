"""The report model, computed from event counts per time bucket; pure, so every number is plain arithmetic.

For each SLO the collector fetches the bad and total events of consecutive buckets (one hour unless the
window or period needs a finer step) from the start of the SLO window before the period to the period's
end. Everything else follows from sums of those buckets:

* SLI over the period and over the SLO window ending with it: 1 - bad / total (None without traffic);
* error budget remaining at a time t: 1 - (bad/total over the SLO window ending at t) / error budget, the
  same quantity as the recorded ``slo:error_budget_remaining:ratio``; at the period's start and end, and
  at every bucket of the period (the burn-down);
* budget consumed in the period: the period's bad events over the budget of the window at the end
  (error budget x that window's events), so a 30d period of a 30d SLO consumed 1 - remaining at the end;
* the worst hours: the buckets of the period with the most bad events.

A period without traffic has no SLI and the verdict "no data", never 100 %. Counts that cannot be true
(NaN, an infinity, a negative count, more bad events than events in a bucket) make the SLO "no data" with
the reason, whatever the other buckets say: broken data never reads as "met". Recorded counts hold only the
rule steps that were counted: below ``COVERAGE_MIN`` of them over the period or the window, "met" becomes
"at risk" (a gap never improves a verdict), and event budgets hold for the counted steps.

A grouped SLO (``group_by``) gets one report per group, each with its own buckets, budget and verdict, the
worst first; renderers show at most ``GROUPS_SHOWN`` of them and count the rest (:func:`shown`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from fractions import Fraction
from itertools import accumulate, pairwise
from typing import Literal

from slokit.counts import unsound
from slokit.report.period import Period
from slokit.series import Group

Verdict = Literal["met", "at risk", "breached", "no data"]
#: Order of severity, worst last: a summary's verdict is the worst of its SLOs.
VERDICTS: tuple[Verdict, ...] = ("met", "no data", "at risk", "breached")
#: Where the event counts came from: the recorded step counts (or 5m rates), the raw SLI queries, or nowhere.
Source = Literal["recorded", "raw", "missing"]
#: Budget left below this share of the window's budget makes an SLO "at risk".
AT_RISK_REMAINING = 0.25
WORST_HOURS = 5
#: Groups of one grouped SLO a report shows (the worst); the others are counted by verdict.
GROUPS_SHOWN = 10
#: Below this share of the rule steps recorded (over the period or the SLO window), recorded counts do not
#: make an SLO "met": the budget is known only for the steps that were counted.
COVERAGE_MIN = 0.99


@dataclass(frozen=True)
class Buckets:
    """Bad and total events per bucket; bucket i covers (end - (n - i) * step, end - (n - 1 - i) * step]."""

    step: timedelta
    end: datetime
    bad: tuple[float, ...]
    total: tuple[float, ...]
    #: Share of each bucket's rule steps that have a recorded count (recorded source); None for raw counters.
    covered: tuple[float, ...] | None = None
    #: Why the counts cannot be trusted, found by the collector (a series the rules always record is missing).
    defect: str = ""

    def __post_init__(self) -> None:
        if len(self.bad) != len(self.total) or (self.covered is not None and len(self.covered) != len(self.total)):
            raise ValueError("bad, total and covered need one value per bucket")

    def bucket_end(self, i: int) -> datetime:
        return self.end - (len(self.total) - 1 - i) * self.step


@dataclass(frozen=True)
class AlertSummary:
    """One alert (name and labels) that fired in the period: first and last time seen firing, how often."""

    alertname: str
    severity: str
    labels: tuple[tuple[str, str], ...]
    first: datetime
    last: datetime
    episodes: int


@dataclass(frozen=True)
class Hour:
    start: datetime
    end: datetime
    sli: float | None
    events: float
    bad_events: float


@dataclass(frozen=True)
class Point:
    time: datetime
    value: float | None


@dataclass(frozen=True)
class SLOReport:
    service: str
    slo: str
    description: str
    objective: float
    window: str
    sli_kind: str
    source: Source
    error_budget: float
    period_sli: float | None
    period_events: float
    period_bad_events: float
    window_sli: float | None
    window_events: float
    window_bad_events: float
    budget_remaining_start: float | None
    budget_remaining_end: float | None
    budget_consumed: float | None
    #: Period error ratio / error budget: 1 spends exactly the budget's pace.
    period_burn_rate: float | None
    burn_down: tuple[Point, ...]
    sli_over_time: tuple[Point, ...]
    worst_hours: tuple[Hour, ...]
    alerts: tuple[AlertSummary, ...]
    verdict: Verdict
    reason: str
    #: The group of a grouped SLO this report is about; () for an ungrouped SLO.
    group: Group = ()
    #: The SLO's grouping labels (empty when ungrouped).
    group_by: tuple[str, ...] = ()
    #: Share of the rule steps with a recorded count, over the period and over the SLO window (recorded
    #: source only; None for raw counters or without data).
    coverage_period: float | None = None
    coverage_window: float | None = None
    #: The error budget in events over the SLO window's counted events (error budget x events), and what is
    #: left of it; with coverage below 1 they hold for the counted steps only.
    budget_events: float | None = None
    budget_events_left: float | None = None


@dataclass(frozen=True)
class Hidden:
    """The groups of a grouped SLO beyond the ones shown: how many, and their verdicts."""

    service: str
    slo: str
    group_by: tuple[str, ...]
    count: int
    verdicts: tuple[tuple[Verdict, int], ...]


def shown(slos: Sequence[SLOReport], cap: int = GROUPS_SHOWN) -> tuple[tuple[SLOReport, ...], tuple[Hidden, ...]]:
    """The reports to show, at most ``cap`` groups per grouped SLO (they come worst first), and what is left."""
    out: list[SLOReport] = []
    per_slo: dict[tuple[str, str], list[SLOReport]] = {}
    for s in slos:
        seen = per_slo.setdefault((s.service, s.slo), [])
        seen.append(s)
        if len(seen) <= cap:
            out.append(s)
    hidden = []
    for (service, slo), reports in per_slo.items():
        rest = reports[cap:]
        if rest:
            verdicts = tuple((v, n) for v in reversed(VERDICTS) if (n := sum(r.verdict == v for r in rest)))
            hidden.append(Hidden(service, slo, rest[0].group_by, len(rest), verdicts))
    return tuple(out), tuple(hidden)


def worst_first(reports: Sequence[SLOReport]) -> list[SLOReport]:
    """A grouped SLO's groups, the worst verdict first, then the least budget left, then by group."""
    def key(s: SLOReport) -> tuple[int, float, Group]:
        left = s.budget_remaining_end
        return -VERDICTS.index(s.verdict), math.inf if left is None else left, s.group

    return sorted(reports, key=key)


@dataclass(frozen=True)
class ServiceReport:
    service: str
    owner: str
    slos: tuple[SLOReport, ...]


@dataclass(frozen=True)
class Report:
    period: Period
    generated_at: datetime
    prometheus: str
    services: tuple[ServiceReport, ...] = field(default_factory=tuple)

    @property
    def slos(self) -> tuple[SLOReport, ...]:
        return tuple(s for svc in self.services for s in svc.slos)

    @property
    def verdict(self) -> Verdict:
        """The worst verdict of all SLOs ("no data" when there is none)."""
        return max((s.verdict for s in self.slos), key=VERDICTS.index, default="no data")

    def count(self, verdict: Verdict) -> int:
        return sum(s.verdict == verdict for s in self.slos)


@dataclass(frozen=True)
class SLOParams:
    """What the computation needs of the spec."""

    service: str
    slo: str
    description: str
    objective: Fraction
    window: timedelta
    window_text: str
    sli_kind: str
    group_by: tuple[str, ...] = ()

    @property
    def error_budget(self) -> float:
        return float(1 - self.objective)


def step_for(window: timedelta, period: timedelta) -> timedelta:
    """One hour, or the largest step dividing window, period and one hour (a 90m window: 30m)."""
    ms = [int(d / timedelta(milliseconds=1)) for d in (window, period, timedelta(hours=1))]
    g = ms[0]
    for m in ms[1:]:
        while m:
            g, m = m, g % m
    return timedelta(milliseconds=g)


def _ratio_sli(bad: float, total: float) -> float | None:
    return None if total <= 0 else 1 - min(bad, total) / total


def _remaining(bad: float, total: float, budget: float) -> float | None:
    """Share of the budget left; None without traffic, or for a 100 % objective (it has no budget to share)."""
    if total <= 0 or budget <= 0:
        return None
    return 1 - (min(bad, total) / total) / budget


def _sli_points(period_hours: Sequence[Hour], period: timedelta) -> tuple[Point, ...]:
    """SLI per bucket for periods up to 7 days, per day (summed events) for longer ones."""
    if period <= timedelta(days=7) or not period_hours:
        return tuple(Point(h.end, h.sli) for h in period_hours)
    per_day = max(1, round(timedelta(days=1) / (period_hours[0].end - period_hours[0].start)))
    out = []
    for i in range(0, len(period_hours), per_day):
        chunk = period_hours[i:i + per_day]
        out.append(Point(chunk[-1].end, _ratio_sli(sum(h.bad_events for h in chunk), sum(h.events for h in chunk))))
    return tuple(out)


def broken(data: Buckets) -> str | None:
    """Why the buckets cannot be true (the collector's defect, NaN, an infinity, a negative count, more bad
    events than events), naming the first such bucket; None when they can."""
    if data.defect:
        return data.defect
    for i, (b, t) in enumerate(zip(data.bad, data.total, strict=True)):
        wrong = unsound(b, t)
        if wrong is not None:
            return f"{wrong}, in the bucket ending {data.bucket_end(i):%Y-%m-%d %H:%M} UTC"
    return None


def coverage_of(covered: Sequence[float] | None, lo: int, hi: int) -> float | None:
    """Share of the rule steps of buckets ``lo`` to ``hi - 1`` that were recorded, from the recording's first
    bucket on: before it neither source has data (the collector prefers raw counters that reach further back),
    and the first bucket counts as whole, as recording may start within it. None without recorded steps."""
    if covered is None:
        return None
    first = next((i for i, c in enumerate(covered) if c > 0), len(covered))
    shares = [1.0 if i == first else min(1.0, max(0.0, covered[i])) for i in range(max(lo, first), hi)]
    return sum(shares) / len(shares) if shares else None


def _low_coverage(period: float | None, window: float | None) -> str:
    """The reason recorded counts are not enough to call an SLO met; "" when they cover enough."""
    low = [(c, what) for c, what in ((period, "period"), (window, "SLO window")) if c is not None and c < COVERAGE_MIN]
    if not low:
        return ""
    c, what = min(low)
    return (f"the recording rules counted only {c * 100:.1f}% of the {what}'s steps, so the budget is known for "
            "that share only")


def verdict_of(period_sli: float | None, window_sli: float | None, objective: float, remaining_end: float | None,
               burn: float | None, source: Source) -> tuple[Verdict, str]:
    """The one-line verdict and why."""
    if source == "missing":
        return "no data", "no series: the service is not scraped yet, or its selector matches nothing"
    if period_sli is None:
        return "no data", "no traffic in the period"
    if window_sli is not None and window_sli < objective:
        return "breached", "the SLI over the SLO window is below the objective (error budget overspent)"
    if remaining_end is not None and remaining_end < AT_RISK_REMAINING:
        return "at risk", f"less than {AT_RISK_REMAINING:.0%} of the error budget is left"
    if burn is not None and burn > 1:
        return "at risk", f"the period burned the budget {burn:.2f}x as fast as the objective allows"
    return "met", "within the objective"


def build_slo_report(p: SLOParams, period: Period, data: Buckets, source: Source,
                     alerts: Sequence[AlertSummary] = (), group: Group = (), no_data_reason: str = "") -> SLOReport:
    """Every number of one SLO's (or one group's) report from its buckets (which end at ``period.end``).

    ``no_data_reason`` replaces the generic reason of a missing source (why the collector found nothing).
    """
    n_window = round(p.window / data.step)
    n_period = round(period.duration / data.step)
    n = len(data.total)
    if n < n_period:
        raise ValueError(f"{n} buckets cannot cover a period of {n_period}")
    wrong = broken(data)
    if wrong is not None:  # nothing of it is shown as a number: only why
        zero = (0.0,) * n
        report = build_slo_report(p, period, Buckets(data.step, data.end, zero, zero), "missing", alerts, group)
        return replace(report, source=source, reason=f"broken data from Prometheus: {wrong}")
    bad = [max(0.0, b) for b in data.bad]
    total = [max(0.0, t) for t in data.total]
    cum_bad = [0.0, *accumulate(bad)]
    cum_total = [0.0, *accumulate(total)]

    def window_sums(end_index: int) -> tuple[float, float]:
        """Bad and total over the SLO window whose last bucket is ``end_index - 1``."""
        lo = max(0, end_index - n_window)
        return cum_bad[end_index] - cum_bad[lo], cum_total[end_index] - cum_total[lo]

    budget = p.error_budget
    first = n - n_period
    hours = tuple(
        Hour(data.bucket_end(i) - data.step, data.bucket_end(i), _ratio_sli(bad[i], total[i]), total[i], bad[i])
        for i in range(first, n)
    )
    period_bad, period_total = cum_bad[n] - cum_bad[first], cum_total[n] - cum_total[first]
    w_bad, w_total = window_sums(n)
    period_sli = _ratio_sli(period_bad, period_total) if source != "missing" else None
    remaining_end = _remaining(w_bad, w_total, budget)
    burn = None if period_sli is None or budget <= 0 else (1 - period_sli) / budget
    consumed = None if w_total <= 0 or budget <= 0 else period_bad / (budget * w_total)
    burn_down = (
        Point(period.start, _remaining(*window_sums(first), budget)),
        *(Point(data.bucket_end(i), _remaining(*window_sums(i + 1), budget)) for i in range(first, n)),
    )
    worst = sorted((h for h in hours if h.bad_events > 0), key=lambda h: (-h.bad_events, h.start))[:WORST_HOURS]
    window_sli = _ratio_sli(w_bad, w_total)
    verdict, reason = verdict_of(period_sli, window_sli, float(p.objective), remaining_end, burn, source)
    if source == "missing" and no_data_reason:
        reason = no_data_reason
    cov_period = coverage_of(data.covered, first, n)
    cov_window = coverage_of(data.covered, max(0, n - n_window), n)
    gap = _low_coverage(cov_period, cov_window) if verdict != "no data" else ""
    if gap and verdict == "met":
        verdict, reason = "at risk", gap
    elif gap:
        reason = f"{reason}; {gap}"
    allowed = budget * w_total if w_total > 0 and budget > 0 else None
    return SLOReport(
        service=p.service, slo=p.slo, description=p.description, objective=float(p.objective),
        window=p.window_text, sli_kind=p.sli_kind, source=source, error_budget=budget,
        period_sli=period_sli, period_events=period_total, period_bad_events=period_bad,
        window_sli=window_sli, window_events=w_total, window_bad_events=w_bad,
        budget_remaining_start=burn_down[0].value, budget_remaining_end=remaining_end,
        budget_consumed=consumed, period_burn_rate=burn, burn_down=burn_down,
        sli_over_time=_sli_points(hours, period.duration), worst_hours=tuple(worst),
        alerts=tuple(sorted(alerts, key=lambda a: (a.first, a.alertname))), verdict=verdict, reason=reason,
        group=group, group_by=p.group_by, coverage_period=cov_period, coverage_window=cov_window,
        budget_events=allowed, budget_events_left=None if allowed is None else allowed - w_bad,
    )


def summarize_alerts(samples: Sequence[tuple[dict[str, str], Sequence[datetime]]], step: timedelta,
                     drop: frozenset[str] = frozenset({"alertstate", "__name__"})) -> list[AlertSummary]:
    """Alert summaries from ``ALERTS`` series (labels, the times each was seen firing, ``step`` apart).

    A gap longer than 1.5 steps between two samples starts a new episode.
    """
    out = []
    for labels, times in samples:
        if not times:
            continue
        ts = sorted(times)
        episodes = 1 + sum(b - a > step * 1.5 for a, b in pairwise(ts))
        kept = tuple(sorted((k, v) for k, v in labels.items() if k not in drop))
        out.append(AlertSummary(labels.get("alertname", "?"), labels.get("severity", ""), kept, ts[0], ts[-1],
                                episodes))
    return out


def without_numbers(report: SLOReport, reason: str) -> SLOReport:
    """``report`` as "no data" showing none of its numbers (a partial answer): only why, and its alerts."""
    return replace(
        report, verdict="no data", reason=reason, period_sli=None, period_events=0.0, period_bad_events=0.0,
        window_sli=None, window_events=0.0, window_bad_events=0.0, budget_remaining_start=None,
        budget_remaining_end=None, budget_consumed=None, period_burn_rate=None,
        burn_down=tuple(Point(pt.time, None) for pt in report.burn_down),
        sli_over_time=tuple(Point(pt.time, None) for pt in report.sli_over_time), worst_hours=(),
        coverage_period=None, coverage_window=None, budget_events=None, budget_events_left=None,
    )
