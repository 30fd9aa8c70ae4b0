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

No data is never a promotion: an SLO without events in the stage holds. Without ``since`` the gate cannot
know the stage's age: it judges the last ``duration`` and at best holds.
The decision is the worst outcome of all checks: rollback > hold > promote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

from slokit.prometheus_client import Series
from slokit.rollouts import conditions
from slokit.rollouts.conditions import Trigger
from slokit.rules.build import BURN_RATE_WINDOW
from slokit.spec.model import SLO, Service, Stage
from slokit.spec.units import Duration, format_number

Outcome = Literal["ok", "hold", "rollback"]
Decision = Literal["promote", "hold", "rollback"]
EXIT_CODES: dict[Decision, int] = {"promote": 0, "hold": 10, "rollback": 20}
#: Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS = 11_000


class Prometheus(Protocol):
    def instant(self, expr: str, at: float) -> list[float]: ...
    def range(self, expr: str, start: float, end: float, step: float) -> list[Series]: ...


@dataclass(frozen=True)
class Check:
    kind: Literal["time", "trigger", "burn", "partial"]
    name: str
    outcome: Outcome
    detail: str
    #: The measured value (burn rate, longest breach in seconds, elapsed seconds); None without data.
    value: float | None = None


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


def _trigger_check(service: Service, t: Trigger, prom: Prometheus, start: float, at: float) -> Check:
    step = range_step(service, start, at)
    points = [p for s in prom.range(t.condition.expr, start, at, step) for p in s.points]
    runs = breaches(points, step)
    what = f"{t.slo.name}: {t.alert.title}"
    if not runs:
        return Check("trigger", t.name, "ok", f"{what}: not breached in the stage", 0.0)
    longest = max(runs, key=lambda r: r[1] - r[0])
    held = longest[1] - longest[0]
    if held * 1000 >= t.for_.ms:
        return Check("trigger", t.name, "rollback",
                     f"{what}: held {_elapsed(held)} from {timestamp(longest[0])} (for: {t.for_})", held)
    last = runs[-1]
    if at - last[1] <= step * 1.5:
        return Check("trigger", t.name, "hold",
                     f"{what}: breached for {_elapsed(last[1] - last[0])} now, under its for: {t.for_}", held)
    return Check("trigger", t.name, "ok", f"{what}: breached at most {_elapsed(held)}, under its for: {t.for_}",
                 held)


def _burn_check(service: Service, slo: SLO, stage: Stage, prom: Prometheus, start: float, at: float) -> Check:
    window = _elapsed(at - start)
    if window.ms == 0:
        return Check("burn", slo.name, "hold", "no data: the stage is under a second old")
    events = sum(prom.instant(conditions.events_query(service, slo, window), at))
    if events <= 0:
        return Check("burn", slo.name, "hold", f"no data: no events in the last {window}")
    if events < stage.min_events:
        return Check("burn", slo.name, "hold",
                     f"{events:.0f} events in the stage, fewer than the {stage.min_events} it needs")
    burn = prom.instant(conditions.burn_query(service, slo, window), at)
    if not burn:
        return Check("burn", slo.name, "hold", f"no data: no error ratio over the last {window}")
    limit = float(stage.max_burn_rate)
    text = f"burn {format_number(round(burn[0], 3))}x over {window} ({events:.0f} events), max {format_number(limit)}x"
    return Check("burn", slo.name, "hold" if burn[0] > limit else "ok", text, burn[0])


def with_warnings(verdict: Verdict, warnings: Sequence[str]) -> Verdict:
    """``verdict`` with a hold when Prometheus answered with warnings: a partial response (how Thanos and
    Mimir answer when a store or querier is missing) is never grounds to promote."""
    warnings = list(dict.fromkeys(warnings))
    if not warnings:
        return verdict
    shown = "; ".join(warnings[:3]) + (f" (and {len(warnings) - 3} more)" if len(warnings) > 3 else "")
    check = Check("partial", "warnings", "hold", f"Prometheus answered with warnings, the data may be partial: {shown}")
    return replace(verdict, checks=(*verdict.checks, check))
