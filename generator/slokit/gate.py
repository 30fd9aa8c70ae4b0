"""The rollout gate: promote, hold or roll back one stage of a service's rollout, from Prometheus' data.

Per stage the gate looks at the time since the stage started (``since``) up to ``at`` (now by default):

* time: promote only once the stage's ``duration`` has passed;
* each rollback trigger (``slokit.rollouts.conditions``): its alert's condition is evaluated as a range
  query over the stage at the rule group's evaluation interval, the way Prometheus evaluates the rule;
  a run of breaching evaluations that spans the trigger's ``for`` is what fires the alert, so it means roll
  back. A breach that is on at ``at`` but shorter means hold. Reading the condition itself rather than
  ``ALERTS``/``ALERTS_FOR_STATE`` judges exactly the stage's time, survives Prometheus restarts (which reset
  an alert's pending state) and needs no alerting rules loaded where the gate asks;
* each SLO's burn over the stage (its bad-event ratio over the whole stage divided by its error budget)
  against the stage's ``max_burn_rate``, and its events against ``min_events``.

A grouped SLO (``group_by``) is judged per group, as its alerts fire per group: the worst group's burn and
the group whose trigger breached decide, and the check names that group.

No data is never a promotion: an SLO without events in the stage holds, and so does one whose counts
cannot be true (NaN, an infinity, a negative count, more bad events than events). Without ``since`` the gate cannot
know the stage's age: it judges the last ``duration`` and at best holds.
The decision is the worst outcome of all checks: rollback > hold > promote.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

from slokit.counts import unsound
from slokit.prometheus_client import Series
from slokit.rollouts import conditions
from slokit.rollouts.conditions import Trigger
from slokit.rules.build import BURN_RATE_WINDOW
from slokit.series import Group, group_of, group_text
from slokit.spec.model import SLO, Service, Stage
from slokit.spec.units import Duration, format_number

Outcome = Literal["ok", "hold", "rollback"]
Decision = Literal["promote", "hold", "rollback"]
EXIT_CODES: dict[Decision, int] = {"promote": 0, "hold": 10, "rollback": 20}
#: Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS = 11_000


class Prometheus(Protocol):
    """What the gate asks Prometheus: range queries, whose answers keep each series' labels (a grouped SLO's
    group); a value at one time is a range of one point."""

    def range(self, expr: str, start: float, end: float, step: float) -> list[Series]: ...


@dataclass(frozen=True)
class Check:
    kind: Literal["time", "trigger", "burn", "partial"]
    name: str
    outcome: Outcome
    detail: str
    #: The measured value (burn rate, longest breach in seconds, elapsed seconds); None without data.
    value: float | None = None
    #: The SLO the check is about ("" for the stage's time).
    slo: str = ""
    #: The group of a grouped SLO that decided the check (the worst one), () otherwise.
    group: Group = ()


@dataclass(frozen=True)
class Verdict:
    service: str
    stage: int  # 1-based, as on the command line
    percent: int
    description: str
    start: float
    at: float
    since_given: bool
    checks: tuple[Check, ...]

    @property
    def decision(self) -> Decision:
        outcomes = {c.outcome for c in self.checks}
        return "rollback" if "rollback" in outcomes else "hold" if "hold" in outcomes else "promote"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]


def timestamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _elapsed(seconds: float) -> Duration:
    return Duration(int(seconds) * 1000)


def judge(service: Service, number: int, prom: Prometheus, *, at: float, since: float | None) -> Verdict:
    """The verdict for stage ``number`` (1-based) of ``service``'s rollout. ``since`` must be before ``at``."""
    assert service.rollout is not None
    stage = service.rollout.stages[number - 1]
    judged = stage.duration if stage.duration.ms else BURN_RATE_WINDOW
    start = since if since is not None else at - judged.seconds
    if start >= at:
        raise ValueError(f"the stage start {timestamp(start)} is not before {timestamp(at)}")
    checks = [_time_check(stage, at - start, since is not None)]
    checks += [_trigger_check(service, t, prom, start, at) for t in conditions.triggers(service)]
    checks += [_burn_check(service, slo, stage, prom, start, at) for slo in service.slos]
    return Verdict(service.name, number, stage.percent, stage.description, start, at, since is not None,
                   tuple(checks))


def _time_check(stage: Stage, elapsed: float, since_given: bool) -> Check:
    age = _elapsed(elapsed)
    if not since_given:
        return Check("time", "duration", "hold",
                     f"stage start not given (--since): judged over the last {age}, cannot promote", elapsed)
    if elapsed * 1000 < stage.duration.ms:
        return Check("time", "duration", "hold", f"too early: {age} of {stage.duration} at this stage", elapsed)
    return Check("time", "duration", "ok", f"{age} at this stage (at least {stage.duration})", elapsed)


def breaches(points: Sequence[tuple[float, float]], step: float) -> list[tuple[float, float]]:
    """Runs of consecutive evaluations in ``points`` (a step apart), as (first, last) times."""
    runs: list[tuple[float, float]] = []
    for t, _ in sorted(points):
        if runs and t - runs[-1][1] <= step * 1.5:
            runs[-1] = (runs[-1][0], t)
        else:
            runs.append((t, t))
    return runs


def range_step(service: Service, start: float, at: float) -> float:
    """The rule group's interval, coarser only where the stage is too long for one range query."""
    step = conditions.step(service).seconds
    return max(step, math.ceil((at - start) / (MAX_POINTS - 1)))


def _about(slo: SLO, group: Group, groups: int = 1) -> str:
    """Who a check is about: the SLO, and for a grouped SLO the group (and of how many) when one decided."""
    if not slo.group_by or not group:
        return slo.name
    of = f", worst of {groups} groups" if groups > 1 else ""
    return f"{slo.name} ({group_text(group)}{of})"


def _trigger_check(service: Service, t: Trigger, prom: Prometheus, start: float, at: float) -> Check:
    """A trigger's verdict from its breaching evaluations, per series: a grouped SLO's alert fires per group,
    so a run is one group's, and the group with the longest run (rollback) or breaching now (hold) is named."""
    step = range_step(service, start, at)
    answer = prom.range(t.condition.expr, start, at, step)
    per_group = [(group_of(t.slo.group_by, s.labels), runs) for s in answer if (runs := breaches(s.points, step))]
    title = t.alert.title
    if not per_group:
        return Check("trigger", t.name, "ok", f"{_about(t.slo, ())}: {title}: not breached in the stage", 0.0,
                     t.slo.name)
    group, longest = max(((g, max(runs, key=lambda r: r[1] - r[0])) for g, runs in per_group),
                         key=lambda item: (item[1][1] - item[1][0], item[0]))
    held = longest[1] - longest[0]
    what = f"{_about(t.slo, group)}: {title}"
    if held * 1000 >= t.for_.ms:
        return Check("trigger", t.name, "rollback",
                     f"{what}: held {_elapsed(held)} from {timestamp(longest[0])} (for: {t.for_})", held, t.slo.name,
                     group)
    now = [(g, runs[-1]) for g, runs in per_group if at - runs[-1][1] <= step * 1.5]
    if now:
        group, last = max(now, key=lambda item: (item[1][1] - item[1][0], item[0]))
        return Check("trigger", t.name, "hold",
                     f"{_about(t.slo, group)}: {title}: breached for {_elapsed(last[1] - last[0])} now, under its "
                     f"for: {t.for_}", held, t.slo.name, group)
    return Check("trigger", t.name, "ok", f"{what}: breached at most {_elapsed(held)}, under its for: {t.for_}",
                 held, t.slo.name, group)


def _by_group(prom: Prometheus, slo: SLO, expr: str, at: float) -> dict[Group, float]:
    """Each group's value of ``expr`` at ``at`` (one, without labels, for an ungrouped SLO), NaN and infinities
    kept so that they can be refused. A one-point range query: unlike an instant answer, it keeps the labels."""
    out: dict[Group, float] = {}
    for s in prom.range(expr, at, at, 1.0):
        group = group_of(slo.group_by, s.labels)
        for _, v in s.points[-1:]:
            out[group] = out.get(group, 0.0) + v
    return out


def _impossible(slo: SLO, events: Mapping[Group, float], bad: Mapping[Group, float]) -> str | None:
    """Why Prometheus' counts cannot be true, naming the group; None when they can."""
    for group in sorted(events.keys() | bad.keys()):
        wrong = unsound(bad.get(group, 0.0), events.get(group, 0.0))
        if wrong is not None:
            return f"{wrong} ({group_text(group)})" if slo.group_by else wrong
    return None


def _burn(bad: float, events: float, budget: float) -> float:
    bad = max(0.0, bad)  # within the slack of zero
    if budget <= 0:  # a 100 % objective: any bad event overspends
        return 0.0 if bad == 0 else math.inf
    return bad / events / budget


def _burn_check(service: Service, slo: SLO, stage: Stage, prom: Prometheus, start: float, at: float) -> Check:
    """The SLO's burn over the stage: every group of a grouped SLO is judged, the worst one named."""
    window = _elapsed(at - start)
    if window.ms == 0:
        return Check("burn", slo.name, "hold", f"{slo.name}: no data: the stage is under a second old", None,
                     slo.name)
    events = _by_group(prom, slo, conditions.events_query(service, slo, window), at)
    bad = _by_group(prom, slo, conditions.bad_events_query(service, slo, window), at)
    wrong = _impossible(slo, events, bad)
    if wrong is not None:
        return Check("burn", slo.name, "hold", f"{slo.name}: impossible data from Prometheus: {wrong}", None,
                     slo.name)
    total = sum(events.values())
    if total <= 0:
        return Check("burn", slo.name, "hold", f"{slo.name}: no data: no events in the last {window}", None,
                     slo.name)
    if total < stage.min_events:
        return Check("burn", slo.name, "hold",
                     f"{slo.name}: {total:.0f} events in the stage, fewer than the {stage.min_events} it needs",
                     None, slo.name)
    budget = float(slo.error_budget)
    burns = {g: _burn(bad.get(g, 0.0), n, budget) for g, n in events.items() if n > 0}
    group, worst = max(burns.items(), key=lambda item: (item[1], item[0]))
    limit = float(stage.max_burn_rate)
    over = sum(b > limit for b in burns.values())
    shown = "inf" if math.isinf(worst) else format_number(round(worst, 3))
    text = (f"{_about(slo, group, len(burns))}: burn {shown}x over {window} ({events[group]:.0f} events), "
            f"max {format_number(limit)}x")
    if over > 1:
        text += f"; {over} of {len(burns)} groups above it"
    return Check("burn", slo.name, "hold" if worst > limit else "ok", text,
                 worst if math.isfinite(worst) else None, slo.name, group)


def with_warnings(verdict: Verdict, warnings: Sequence[str]) -> Verdict:
    """``verdict`` with a hold when Prometheus answered with warnings: a partial response (how Thanos and
    Mimir answer when a store or querier is missing) is never grounds to promote."""
    warnings = list(dict.fromkeys(warnings))
    if not warnings:
        return verdict
    shown = "; ".join(warnings[:3]) + (f" (and {len(warnings) - 3} more)" if len(warnings) > 3 else "")
    check = Check("partial", "warnings", "hold", f"Prometheus answered with warnings, the data may be partial: {shown}")
    return replace(verdict, checks=(*verdict.checks, check))
