"""promtool unit tests of a service's rules, derived from the same model as the rules.

Every scenario is a timeline of traffic (events per minute and the share of bad ones) turned into raw
counters. The expected outcome is computed here by replaying the rules' arithmetic minute by minute
(``Replay``): the same windows, the same thresholds, the step counts of level 1 summed by level 2,
``rate()``'s extrapolation, under three semantics (Prometheus 2.x reads ``[t - w, t]``, 3.x ``(t - w, t]``;
MetricsQL reads ``(t - w, t]`` plus the sample before it without extrapolating, and sees a series recorded
earlier in the same group one evaluation late). Every assertion holds on all three: a transition is asserted
quiet before the earliest minute any could cross it and firing after the latest, and levels sit 10 % either
side of a threshold, so the file passes ``promtool test rules`` on 2.42, 2.53 and 3.5 and ``vmalert-tool
unittest`` (with ``promql_expr_test`` read as ``metricsql_expr_test``) without depending on float rounding.
Per SLO the file proves that

* a total outage after healthy traffic fires the fastest tier at the predicted minute, and not before;
* a burn just above each tier's threshold fires that tier, one just below does not;
* 0.5x burn for 3 days fires no tier whose factor is above 0.5 (all of them for 28d and 30d windows);
* each guardrail fires after its ``for`` and not before;
* the SLO-window ratio is the ratio of summed events under uneven traffic, and silence gives no NaN;
* the minimum-traffic guard and the absent alert work, when the SLO has them;
* in a grouped SLO, one group's outage pages that group only while a healthy group stays quiet.

Tests read ``ALERTS`` through ``count()`` and select an alert by the catalogue's labels for it, so they do not
depend on the SLO's other labels, and two alerts of one name (tiers, guardrail twins) are checked apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from slokit import catalog, promql, series
from slokit.burnrate import ActiveTier, plan
from slokit.catalog import AlertDef
from slokit.rules.build import BASE_WINDOW, group_names, ratio_windows, rolled_windows, slo_labels, step
from slokit.rules.synth import BAD, GOOD, SLOW, Synthesis, groupable, synthesize, with_labels
from slokit.spec.model import SLO, Guardrail, Service
from slokit.spec.units import Duration, format_number, format_percent

#: Evaluation step of the timing tests (outage, guardrails) and of the steady-state tests, in minutes. The
#: steady step is the longest at which vmalert still reads a series recorded one evaluation earlier (its
#: lookback is under 5m); under steady traffic the step counts of one minute in four give the same ratios.
FAST_STEP = 1
STEADY_STEP = 4
#: Events per minute in scenarios unless the min-events guard needs more.
BASE_TRAFFIC = 1000
STEADY_BURN = Fraction(1, 2)
STEADY_DAYS = 3
MARGIN = Fraction(11, 10)

Test = dict[str, Any]


@dataclass(frozen=True)
class Phase:
    minutes: int
    per_minute: float
    bad: float = 0.0
    #: Kind of the bad events: BAD (the SLI's bad events) or SLOW (slow requests, for quantile guardrails).
    kind: str = BAD


def minutes(d: Duration) -> int:
    return math.ceil(d.ms / 60_000)


def fast_step(service: Service) -> int:
    """Step of the timing tests: the rule step when it is whole minutes (so that step counts tile), else 1."""
    ms = step(service).ms
    return ms // 60_000 if ms % 60_000 == 0 else FAST_STEP


#: How the rules read data: Prometheus 2.x reads a range ``[w]`` closed ``[t - w, t]`` and 3.x left-open
#: ``(t - w, t]``, both extrapolating ``rate()``; MetricsQL (vmalert) reads ``(t - w, t]`` plus the sample
#: before it, without extrapolation, and a rule reading a series recorded by an earlier rule of its group sees
#: that rule's previous evaluation (vmalert writes results asynchronously).
CLOSED, OPEN, METRICSQL = "closed", "open", "metricsql"
SEMANTICS: tuple[str, ...] = (CLOSED, OPEN, METRICSQL)


class Replay:
    """The raw counters of a timeline and the rules' arithmetic over them, as each engine computes it.

    Every series has a sample on each whole minute from 0 and starts at 0. ``rate()`` extrapolates each
    series on its own (a counter that was still 0 at the start of the range is not extrapolated below
    zero), so sums are taken over the series a query reads. ``sem`` picks the engine (``SEMANTICS``).
    Windows in ``rolled`` (minutes) are level 2: the sum of the step counts that level 1 recorded at each
    evaluation, each the increase since the last sample ``rule_step`` minutes before it.
    """

    def __init__(self, phases: Sequence[Phase], syn: Synthesis, with_buckets: bool, step: int = FAST_STEP,
                 rolled: frozenset[int] = frozenset(), rule_step: float = FAST_STEP) -> None:
        #: Minutes between rule evaluations.
        self.step = step
        self.rolled, self.rule_step = rolled, rule_step
        self.phases = tuple(phases)
        self.syn = syn
        #: Per series, its increase per minute in each phase.
        self.series = series_rates(syn, self.phases, with_buckets)
        self.total = [_series_text(labels) for labels in syn.total]
        self.part = [_series_text(labels) for labels in syn.part]
        #: Bucket series by bound (+Inf last), for histogram_quantile.
        self.buckets: list[list[str]] = []
        if syn.histogram is not None:
            for bound in [*syn.histogram.bounds, math.inf]:
                le = "+Inf" if bound == math.inf else repr(float(bound))
                self.buckets.append([key for key in self.series if key.endswith(f'le="{le}"}}')])
        self.starts: list[int] = []
        at = 0
        for p in self.phases:
            self.starts.append(at)
            at += p.minutes
        self.end = at
        self._cum: dict[tuple[str, int], float] = {}

    def cum(self, key: str, k: int) -> float:
        """The value of series ``key`` at minute ``k`` (memoised: every window of every minute reads it)."""
        found = self._cum.get((key, k))
        if found is None:
            found = 0.0
            for p, start, inc in zip(self.phases, self.starts, self.series[key], strict=True):
                if k <= start:
                    break
                found += min(k - start, p.minutes) * inc
            self._cum[(key, k)] = found
        return found

    def increase(self, key: str, k: int, w: int, sem: str) -> float | None:
        """``increase()`` of series ``key`` over ``w`` minutes at minute ``k``: extrapolated as Prometheus'
        ``extrapolatedRate`` does, or MetricsQL's difference to the sample before the range; None when the
        range holds fewer than two samples."""
        if k < 0:
            return None
        if sem == METRICSQL:
            return None if k < 1 else self.cum(key, k) - self.cum(key, max(0, k - w))
        lo = k - w
        first = max(0, lo + 1 if sem == OPEN else lo)
        if k - first < 1:
            return None
        v0 = self.cum(key, first)
        raw = self.cum(key, k) - v0
        sampled = (k - first) * 60.0
        average = sampled / (k - first)
        to_start = (first - lo) * 60.0
        if to_start >= average * 1.1:
            to_start = average / 2
        if raw > 0 and v0 >= 0:
            to_start = min(to_start, sampled * (v0 / raw))  # a counter is never extrapolated below zero
        return raw * (sampled + to_start) / sampled

    def step_count(self, key: str, e: int) -> float:
        """Level 1 at evaluation ``e``: the increase since the last sample ``rule_step`` before it."""
        return self.cum(key, e) - self.cum(key, max(0, math.floor(e - self.rule_step)))

    def rolled_events(self, keys: Sequence[str], k: int, w: int, sem: str) -> float | None:
        """Level 2 read at ``k``: the step counts recorded at the evaluations in ``(k - w + step/2, k]``;
        MetricsQL does not see the count recorded at ``k`` itself yet."""
        last = k - self.step if sem == METRICSQL else k
        points = [e for e in range(last - last % self.step, -1, -self.step) if e > k - w + self.rule_step / 2]
        if not points:
            return None
        return sum(self.step_count(key, e) for key in keys for e in points)

    def events(self, keys: Sequence[str], k: int, w: int, sem: str, recorded: bool = True) -> float | None:
        """Events counted by a query reading the series ``keys`` over ``w`` minutes (its rate times the
        window). ``recorded``: read through a recorded series of the same group, which MetricsQL sees one
        evaluation late."""
        if recorded and sem == METRICSQL:
            k -= self.step
        if w in self.rolled:
            return self.rolled_events(keys, k, w, sem)
        parts = [self.increase(key, k, w, sem) for key in keys]
        return None if any(x is None for x in parts) else sum(x for x in parts if x is not None)

    def ratio(self, k: int, w: int, sem: str, recorded: bool = True) -> float | None:
        """The bad-event ratio over ``w`` minutes; None without traffic (the rules drop 0/0)."""
        total = self.events(self.total, k, w, sem, recorded)
        part = self.events(self.part, k, w, sem, recorded)
        if total is None or part is None or total == 0:
            return None
        return (total - part if self.syn.part_is_good else part) / total

    def quantile(self, k: int, w: int, q: float, sem: str) -> float:
        """histogram_quantile over ``sum by (le) (rate(..._bucket[w]))``, as Prometheus computes it."""
        h = self.syn.histogram
        assert h is not None
        cum = [sum(self.increase(key, k, w, sem) or 0.0 for key in keys) for keys in self.buckets]
        if cum[-1] == 0:
            return math.nan
        rank = q * cum[-1]
        b = next(i for i, c in enumerate(cum) if c >= rank)
        if b == len(cum) - 1:
            return h.bounds[-1]
        start, count = 0.0, cum[b]
        if b > 0:
            start, count, rank = h.bounds[b - 1], cum[b] - cum[b - 1], rank - cum[b - 1]
        return start + (h.bounds[b] - start) * (rank / count)


def _cumsum(xs: Sequence[float]) -> list[float]:
    out, acc = [0.0], 0.0
    for x in xs:
        acc += x
        out.append(acc)
    return out


def _num(x: float) -> str:
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _phase_inc(p: Phase, kind: str) -> float:
    """Events of ``kind`` per minute during phase ``p``."""
    bad = p.per_minute * p.bad
    if kind == GOOD:
        return p.per_minute - bad if p.kind != GOOD else p.per_minute
    return bad if kind == p.kind else 0.0


def values(segments: Sequence[tuple[int, float]]) -> str:
    """promtool's expanding notation for a counter from 0 growing by ``inc`` per minute for ``n`` minutes."""
    merged: list[tuple[int, float]] = []
    for n, inc in segments:
        if n <= 0:
            continue
        if merged and merged[-1][1] == inc:
            merged[-1] = (merged[-1][0] + n, inc)
        else:
            merged.append((n, inc))
    parts, value = ["0"], 0.0
    for count, inc in merged:
        first = value + inc
        parts.append(_num(first) if count == 1 else f"{_num(first)}+{_num(inc)}x{count - 1}")
        value += inc * count
    return " ".join(parts)


def _series_text(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = {k: v for k, v in labels.items() if k != "__name__"}
    return name + promql.selector(rest)


def series_rates(syn: Synthesis, phases: Sequence[Phase], with_buckets: bool) -> dict[str, list[float]]:
    """Per raw series of a timeline, its increase per minute in each phase."""
    per_kind = {kind: [_phase_inc(p, kind) for p in phases] for kind in (GOOD, BAD, SLOW)}
    counters: dict[str, list[float]] = {}

    def add(labels: dict[str, str], incs: list[float]) -> None:
        acc = counters.setdefault(_series_text(labels), [0.0] * len(phases))
        for i, x in enumerate(incs):
            acc[i] += x

    for kind, series_list in syn.series.items():
        for labels in series_list:
            add(labels, per_kind[kind])
    if with_buckets and syn.histogram is not None:
        h = syn.histogram
        none = [0.0] * len(phases)
        for kind, labels in syn.bucket_series.items():
            for i, bound in enumerate([*h.bounds, math.inf]):
                le = "+Inf" if bound == math.inf else repr(float(bound))
                add({**labels, "le": le}, per_kind[kind] if h.bucket_of[kind] <= i else none)
    return counters


def input_series(r: Replay) -> list[dict[str, str]]:
    """The raw counters of a timeline in promtool's notation."""
    return [{"series": key, "values": values(list(zip((p.minutes for p in r.phases), r.series[key], strict=True)))}
            for key in sorted(r.series)]


# --- assertions --------------------------------------------------------------------------------------------


def _alerts(service: Service, slo: SLO, alertname: str, labels: Mapping[str, str] = {},
            extra: Sequence[str] = ()) -> str:
    sel = {"alertname": alertname, "alertstate": "firing", series.SERVICE_LABEL: service.name,
           series.SLO_LABEL: slo.name, **labels}
    return f"count(ALERTS{promql.selector(sel, extra)})"


def _firing(expr: str, minute: int, fires: bool) -> dict[str, Any]:
    """``count(ALERTS...)`` is 1 (fires) or has no sample (does not) at ``minute``."""
    return {"expr": expr, "eval_time": f"{minute}m", "exp_samples": [{"labels": "{}", "value": 1}] if fires else []}


def _value(expr: str, minute: int, value: float | None) -> dict[str, Any]:
    samples = [] if value is None else [{"labels": "{}", "value": value}]
    return {"expr": expr, "eval_time": f"{minute}m", "exp_samples": samples}


class SLOTests:
    """Scenarios and their expected outcomes for one SLO."""

    def __init__(self, service: Service, slo: SLO) -> None:
        self.service, self.slo = service, slo
        self.active, _ = plan(slo)
        self.alerts = catalog.alerts_for(service, slo)
        quantile_levels = [g.latency.seconds for g in slo.alerts if g.latency is not None]
        self.syn = synthesize(service, slo, min(quantile_levels) if quantile_levels else None)
        self.with_buckets = bool(quantile_levels) or slo.sli.kind == "http_latency"
        shortest = min((minutes(t.tier.long) for t in self.active), default=60)
        self.traffic = float(max(BASE_TRAFFIC, math.ceil(2 * slo.min_events / shortest)))
        self.sel = promql.selector({series.SERVICE_LABEL: service.name, series.SLO_LABEL: slo.name})
        self.mode = 0
        #: The engines whose semantics the comparisons cover (all of them but while naming a test).
        self.sems = SEMANTICS
        self.rolled = frozenset(minutes(w) for w in rolled_windows(service, slo))
        self.rule_step = step(service).ms / 60_000
        self.fast_step = fast_step(service)

    # replayed rule arithmetic -------------------------------------------------------------------------

    def replay(self, phases: Sequence[Phase], step: int | None = None) -> Replay:
        assert self.syn is not None
        return Replay(phases, self.syn, self.with_buckets, self.fast_step if step is None else step, self.rolled,
                      self.rule_step)

    # Comparisons: exactly (mode 0), "surely" (+1: by more than float noise, on every Prometheus) or
    # "possibly" (-1: unless clearly not, on some Prometheus). A value equal to its threshold may land on
    # either side in Prometheus' float arithmetic, and 2.x and 3.x read ranges differently, so the tests
    # assert firing where it surely fires and quiet where it surely does not.

    def _gt(self, x: float, thr: float) -> bool:
        return x > thr + self.mode * 1e-9 * max(abs(thr), 1e-12)

    def _lt(self, x: float, thr: float) -> bool:
        return x < thr - self.mode * 1e-9 * max(abs(thr), 1e-12)

    def _each(self, holds: Callable[[str], bool]) -> bool:
        """``holds`` on every range semantics when asserting "surely" (or exactly), on any when "possibly"."""
        combine = any if self.mode < 0 else all
        return combine(holds(sem) for sem in self.sems)

    def _tier_fires_on(self, r: Replay, k: int, t: ActiveTier, sem: str) -> bool:
        thr = float(format_number(t.threshold))
        long_r = r.ratio(k, minutes(t.tier.long), sem)
        short_r = r.ratio(k, minutes(t.tier.short), sem)
        if long_r is None or short_r is None or not (self._gt(long_r, thr) and self._gt(short_r, thr)):
            return False
        if self.slo.min_events == 0:
            return True
        events = r.events(r.total, k, minutes(t.tier.long), sem, recorded=False)
        return events is not None and not self._lt(events, self.slo.min_events)

    def tier_fires(self, r: Replay, k: int, t: ActiveTier) -> bool:
        return self._each(lambda sem: self._tier_fires_on(r, k, t, sem))

    def _guard_cond_on(self, r: Replay, k: int, g: Guardrail, sem: str) -> bool:
        if g.kind == "quantile_above":
            assert self.syn is not None and self.syn.histogram is not None
            assert g.quantile is not None and g.latency is not None
            value = r.quantile(k, minutes(g.window), float(g.quantile), sem)
            return not math.isnan(value) and self._gt(value, g.latency.seconds)
        ratio = r.ratio(k, minutes(g.window), sem, recorded=g.window in ratio_windows(self.slo))
        if ratio is None:
            return False
        if g.kind == "error_ratio_above":
            return self._gt(ratio, float(format_number(g.threshold)))
        return self._lt(1 - ratio, float(format_number(g.threshold)))

    def guard_cond(self, r: Replay, k: int, g: Guardrail) -> bool:
        return self._each(lambda sem: self._guard_cond_on(r, k, g, sem))

    def guard_fires(self, r: Replay, k: int, g: Guardrail) -> bool:
        need = math.ceil(g.for_.ms / 60_000)
        return k >= need and self._each(
            lambda sem: all(self._guard_cond_on(r, j, g, sem) for j in range(k - need, k + 1, r.step)))

    def tier_may_fire(self, r: Replay, k: int, t: ActiveTier) -> bool:
        """Whether ``t`` possibly fires at ``k``: on some Prometheus, unless clearly not."""
        self.mode = -1
        try:
            return self.tier_fires(r, k, t)
        finally:
            self.mode = 0

    # building blocks ----------------------------------------------------------------------------------

    def _test(self, name: str, r: Replay, checks: list[dict[str, Any]]) -> Test:
        assert self.syn is not None
        return {
            "name": f"{self.slo.name}: {name}",
            "interval": "1m",
            "input_series": input_series(r),
            "promql_expr_test": checks,
        }

    def _tier_expr(self, t: ActiveTier) -> str:
        (a,) = [a for a in self.alerts if a.tier == t]
        return self._alert_expr(a)

    def _alert_expr(self, a: AlertDef) -> str:
        """``count(ALERTS...)`` of ``a`` alone: its catalogue labels, and no rollback trigger sharing them."""
        labels = {series.SEVERITY_LABEL: a.severity, **a.labels}
        extra = []
        if catalog.excludes_rollback(a, self.alerts):
            extra.append(promql.matcher(series.ROLLBACK_LABEL, "true", "!="))
        return _alerts(self.service, self.slo, a.name, labels, extra)

    def _first(self, r: Replay, holds: Callable[[int], bool], start: int, mode: int = 0) -> int | None:
        """The first evaluation from ``start`` on where ``holds``, comparing in ``mode``."""
        self.mode = mode
        try:
            return next((k for k in range(start, r.end + 1, r.step) if holds(k)), None)
        finally:
            self.mode = 0

    def _near(self, expr: str, k: int, value: float) -> dict[str, Any]:
        """``expr`` equals ``value`` to one part in a million (promtool compares floats exactly)."""
        if value == 0:
            return _value(f"abs({expr}) < bool 1e-12", k, 1.0)
        return _value(f"abs({expr} / {value!r} - 1) < bool 1e-6", k, 1.0)

    # timing scenarios (evaluated every minute) ----------------------------------------------------------

    def _outage_plan(self) -> tuple[ActiveTier, int, int, int] | None:
        """The fastest page tier (else the fastest tier), the healthy minutes before a total outage, and the
        first minute it surely fires and possibly fires."""
        pages = [t for t in self.active if t.tier.severity == "page"] or self.active
        if not pages:
            return None
        t = pages[0]
        healthy = min(minutes(t.tier.long), 60) + 5
        r = self.replay([Phase(healthy, self.traffic), Phase(minutes(t.tier.long) + 10, self.traffic, 1.0)])
        first = self._first(r, lambda k: self.tier_fires(r, k, t), healthy, +1)
        maybe = self._first(r, lambda k: self.tier_fires(r, k, t), healthy, -1)
        if first is None or maybe is None:
            return None
        return t, healthy, first, maybe

    def outage(self) -> Test | None:
        """Healthy traffic fills the tier's long window (at most an hour of it), then every event fails."""
        planned = self._outage_plan()
        if planned is None:
            return None
        t, healthy, first, maybe = planned
        r = self.replay([Phase(healthy, self.traffic), Phase(first - healthy + 3, self.traffic, 1.0)])
        self.sems = (CLOSED, OPEN)
        try:  # the minute Prometheus fires, for the name (vmalert reads the recorded ratios a step late)
            on_prometheus = self._first(r, lambda k: self.tier_fires(r, k, t), healthy, +1) or first
        finally:
            self.sems = SEMANTICS
        late = "" if on_prometheus == first else f", on vmalert {_minutes_text(first - on_prometheus)} later"
        expr = self._tier_expr(t)
        before = "healthy traffic" if healthy > minutes(t.tier.long) else f"{healthy} minutes of healthy traffic"
        name = (f"a total outage after {before} fires the {t.tier.severity} tier {t.tier.long}/{t.tier.short} "
                f"{_minutes_text(on_prometheus - healthy)} in ({t.tier.long} ratio above "
                f"{format_percent(t.threshold)}{late}), "
                "not a minute before")
        checks = [_firing(expr, healthy - 1, False), _firing(expr, maybe - 1, False), _firing(expr, first + 1, True)]
        return self._test(name, r, checks)

    def grouped_outage(self) -> Test | None:
        """A grouped SLO: one group fails totally while another stays healthy; only the failing group pages.

        The groups' series differ only in the grouping labels (``a`` and ``b``), so the failing group's replay
        predicts its alert exactly as for an ungrouped SLO, and the healthy group proves the split.
        """
        planned = self._outage_plan()
        if not self.slo.group_by or planned is None or self.syn is None or not groupable(self.service, self.slo):
            return None
        t, healthy, first, maybe = planned
        failing, quiet = ({g: value for g in self.slo.group_by} for value in ("a", "b"))
        length = first - healthy + 3
        r_fail = Replay([Phase(healthy, self.traffic), Phase(length, self.traffic, 1.0)],
                        with_labels(self.syn, failing), self.with_buckets, self.fast_step, self.rolled, self.rule_step)
        r_ok = Replay([Phase(healthy, self.traffic), Phase(length, self.traffic)], with_labels(self.syn, quiet),
                      self.with_buckets, self.fast_step, self.rolled, self.rule_step)
        (a,) = [a for a in self.alerts if a.tier == t]
        expr = {name: _alerts(self.service, self.slo, a.name, {series.SEVERITY_LABEL: a.severity, **a.labels, **g})
                for name, g in (("fail", failing), ("ok", quiet))}
        checks = [_firing(expr["fail"], maybe - 1, False), _firing(expr["fail"], first + 1, True),
                  _firing(expr["ok"], first + 1, False),
                  _value(f"count({series.error_ratio(BASE_WINDOW)}{self.sel})", first + 1, 2.0)]
        groups = ", ".join(self.slo.group_by)
        name = (f"grouped by {groups}: a total outage of group a fires the {t.tier.severity} tier "
                f"{t.tier.long}/{t.tier.short} for group a only; group b, healthy, stays quiet")
        return {
            "name": f"{self.slo.name}: {name}",
            "interval": "1m",
            "input_series": input_series(r_fail) + input_series(r_ok),
            "promql_expr_test": checks,
        }

    def guardrail(self, a: AlertDef) -> Test | None:
        g = a.guardrail
        assert g is not None
        if g.kind == "quantile_above":
            assert g.quantile is not None
            assert self.syn is not None and self.syn.histogram is not None
            h = self.syn.histogram
            if h.bucket_of[SLOW] >= len(h.bounds):
                return None  # the level is the top bucket bound: the quantile can never exceed it
            tail = 1 - float(g.quantile)
            level, kind = (tail + min(1.0, 2 * tail)) / 2, SLOW
        else:
            thr = float(g.threshold) if g.kind == "error_ratio_above" else 1 - float(g.threshold)
            level, kind = (thr + min(1.0, 2 * thr)) / 2, BAD
        healthy = minutes(g.window) + 5
        burning = minutes(g.for_) + minutes(g.window) + 3
        r = self.replay([Phase(healthy, self.traffic), Phase(burning, self.traffic, level, kind)])
        first = self._first(r, lambda k: self.guard_fires(r, k, g), healthy, +1)
        maybe = self._first(r, lambda k: self.guard_fires(r, k, g), healthy, -1)
        pending = self._first(r, lambda k: self.guard_cond(r, k, g), healthy, -1)
        healthy_quiet = self._first(r, lambda k: not self.guard_cond(r, k, g), healthy, -1) == healthy
        if first is None or maybe is None or pending is None or first + 1 > r.end or not healthy_quiet:
            return None
        expr = self._alert_expr(a)
        name = f"{a.name} ({a.title}) fires {g.for_} after its condition holds (minute {pending}), not before"
        checks = [_firing(expr, maybe - 1, False), _firing(expr, first + 1, True)]
        if pending < maybe - 1:
            checks.insert(0, _firing(expr, pending, False))
        return self._test(name, r, checks)

    def uneven(self) -> Test:
        """Busy and clean, then quiet and failing, then silence: the SLO ratio weighs events, not minutes."""
        busy, quiet = Phase(10, 6000.0, 0.001), Phase(10, 60.0, 0.5)
        r = self.replay([busy, quiet, Phase(10, 0.0)])
        k = r.end
        bad = busy.minutes * busy.per_minute * busy.bad + quiet.minutes * quiet.per_minute * quiet.bad
        total = busy.minutes * busy.per_minute + quiet.minutes * quiet.per_minute
        exact = bad / total
        sel = self.sel
        remaining = f"sum({series.BUDGET_REMAINING}{sel})"
        checks = [
            self._near(f"sum({series.error_ratio(self.slo.window)}{sel})", k, exact),
            # No budget (objective 100 %): no budget series at all rather than a division by zero.
            self._near(remaining, k, 1 - exact / float(self.slo.error_budget)) if self.slo.has_budget
            else _value(f"count({series.BUDGET_REMAINING}{sel})", k, None),
            # No traffic for 10 minutes: zero events, no 5m ratio at all (not NaN), so no tier reading it fires.
            _value(f"count({series.error_ratio(BASE_WINDOW)}{sel})", k, None),
            _value(f"sum({series.total_rate(BASE_WINDOW)}{sel})", k, 0.0),
        ]
        checks += [_firing(self._tier_expr(t), k, False) for t in self.active if t.tier.short == BASE_WINDOW]
        name = (f"uneven traffic: the {self.slo.window} ratio is summed bad over summed total "
                f"({format_percent(exact)}; an average of ratios would say about 25%), and silence gives no 5m "
                "ratio, no NaN and no page")
        return self._test(name, r, checks)

    def absent(self) -> Test | None:
        if self.slo.absent_for is None:
            return None
        after = minutes(self.slo.absent_for)
        expr = _alerts(self.service, self.slo, catalog.ABSENT_ALERT)
        checks = [_firing(expr, after + 1, True)]
        if after > 1:
            checks.append(_firing(expr, after - 1, False))
        return {"name": f"{self.slo.name}: no SLI series for {self.slo.absent_for} fires {catalog.ABSENT_ALERT}",
                "interval": "1m", "input_series": [], "promql_expr_test": checks}

    def metadata(self) -> Test:
        labels = promql.selector(slo_labels(self.service, self.slo))
        days = Fraction(self.slo.window.ms, 86_400_000)
        checks = [
            {"expr": f"{name}{self.sel}", "eval_time": "1m", "exp_samples": [{"labels": name + labels, "value": v}]}
            for name, v in ((series.OBJECTIVE, float(self.slo.objective)),
                            (series.ERROR_BUDGET, float(self.slo.error_budget)),
                            (series.WINDOW_DAYS, float(days)))
        ]
        checks.append(_value(f"count({series.INFO}{self.sel})", 1, 1.0))
        return {"name": f"{self.slo.name}: metadata series", "interval": "1m", "input_series": [],
                "promql_expr_test": checks}

    def timing(self) -> list[Test]:
        tests: list[Test | None] = [self.metadata(), self.absent()]
        if self.syn is not None:
            tests += [self.uneven(), self.outage(), self.grouped_outage()]
            tests += [self.guardrail(a) for a in self.alerts if a.kind == "guardrail"]
        return [t for t in tests if t is not None]

    # steady-state scenarios (evaluated every STEADY_STEP minutes) ---------------------------------------

    def tier_levels(self, t: ActiveTier) -> list[Test]:
        thr = float(t.threshold)
        above = min(thr * float(MARGIN), (thr + 1) / 2)
        below = thr / float(MARGIN)
        # Level-2 windows hold the steady ratio from their first step count, so an hour past the raw windows
        # suffices; the minimum-traffic guard counts events, so it waits for the whole long window.
        k = _on_grid((minutes(t.tier.long) if self.slo.min_events else min(minutes(t.tier.long), 60)) + 60)
        out = []
        for level, fires in ((above, True), (below, False)):
            r = self.replay([Phase(k, self.traffic, level)], STEADY_STEP)
            if fires != (self.tier_fires(r, k, t) if fires else self.tier_may_fire(r, k, t)):
                continue
            word = "above" if fires else "below"
            name = (f"a steady burn just {word} the {t.tier.long}/{t.tier.short} threshold "
                    f"({format_percent(level)} bad vs {format_percent(t.threshold)}) "
                    f"{'fires' if fires else 'does not fire'} that tier")
            out.append(self._test(name, r, [_firing(self._tier_expr(t), k, fires)]))
        return out

    def steady(self) -> Test | None:
        quiet = [t for t in self.active if t.factor > STEADY_BURN]
        if not quiet:
            return None
        k = STEADY_DAYS * 24 * 60
        level = float(STEADY_BURN * self.slo.error_budget)
        r = self.replay([Phase(k, self.traffic, level)], STEADY_STEP)
        points = list(range(6 * 60, k + 1, 6 * 60))
        if any(self.tier_may_fire(r, p, t) for p in points for t in quiet):
            return None
        if len(quiet) == len(self.active):
            exprs, which = [_alerts(self.service, self.slo, catalog.BURN_ALERT)], "no burn-rate tier"
        else:
            exprs, which = [self._tier_expr(t) for t in quiet], "no tier with a factor above 0.5"
        checks = [_firing(e, p, False) for p in points for e in exprs]
        return self._test(f"steady 0.5x burn for {STEADY_DAYS} days fires {which}", r, checks)

    def min_events(self) -> Test | None:
        if self.slo.min_events == 0 or not self.active:
            return None
        t = self.active[0]
        w = minutes(t.tier.long)
        k = _on_grid(w + 60)
        r = self.replay([Phase(k, self.slo.min_events / (2 * w), 1.0)], STEADY_STEP)
        if self.tier_may_fire(r, k, t):
            return None
        name = (f"fewer than {self.slo.min_events} events in {t.tier.long}, all failing, "
                f"do not fire the {t.tier.long}/{t.tier.short} tier")
        return self._test(name, r, [_firing(self._tier_expr(t), k, False)])

    def steady_state(self) -> list[Test]:
        if self.syn is None:
            return []
        tests: list[Test | None] = [t for tier in self.active for t in self.tier_levels(tier)]
        tests += [self.steady(), self.min_events()]
        return [t for t in tests if t is not None]


def _minutes_text(n: int) -> str:
    return f"{n} minute" if n == 1 else f"{n} minutes"


def _on_grid(minute: int) -> int:
    """The first steady-state evaluation at or after ``minute``."""
    return -(-minute // STEADY_STEP) * STEADY_STEP


HEADER = {
    FAST_STEP: "Timing: outages, guardrails, uneven traffic and silence, evaluated every minute.",
    STEADY_STEP: (
        "Steady states (tier thresholds, 0.5x burn for days, minimum traffic), evaluated every 4 minutes: "
        "under steady traffic every evaluation sees the same ratios (the step counts sample one minute in "
        "four), so this proves what per-minute evaluation would, at a fraction of promtool's time."
    ),
}


def _file(service: Service, rule_file: str, step: int, tests: list[Test]) -> dict[str, Any]:
    order = [name for slo in service.slos for name in group_names(service, slo)]
    return {"rule_files": [rule_file], "evaluation_interval": f"{step}m", "group_eval_order": order, "tests": tests}


def test_file(service: Service, rule_file: str) -> dict[str, Any]:
    """Timing tests of ``service``; ``rule_file`` is the rules file relative to the test file."""
    tests = [t for slo in service.slos for t in SLOTests(service, slo).timing()]
    return _file(service, rule_file, fast_step(service), tests)


def steady_test_file(service: Service, rule_file: str) -> dict[str, Any]:
    """Steady-state tests of ``service``, in a file of their own because promtool's step is per file."""
    tests = [t for slo in service.slos for t in SLOTests(service, slo).steady_state()]
    return _file(service, rule_file, STEADY_STEP, tests)
