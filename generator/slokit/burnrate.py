"""Multi-window, multi-burn-rate tiers (SRE Workbook, "Alerting on SLOs"), derived for any SLO window.

A tier spends ``budget_share`` of the error budget within its long window. Its burn-rate factor is
``budget_share x SLO window / long window``: 14.4 for 2 % in 1 h of a 30 d window, 13.44 on 28 d. The
short window (1/12 of the long one) makes the alert reset quickly once the burn stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from slokit.spec.model import SLO, Severity
from slokit.spec.units import Duration, format_factor, format_percent


@dataclass(frozen=True)
class Tier:
    severity: Severity
    long: Duration
    short: Duration
    budget_share: Fraction


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("page", Duration.parse("1h"), Duration.parse("5m"), Fraction(2, 100)),
    Tier("page", Duration.parse("6h"), Duration.parse("30m"), Fraction(5, 100)),
    Tier("ticket", Duration.parse("1d"), Duration.parse("2h"), Fraction(10, 100)),
    Tier("ticket", Duration.parse("3d"), Duration.parse("6h"), Fraction(10, 100)),
)

#: Every window a burn-rate alert reads, shortest first: the recording rules record each of them.
ALERT_WINDOWS: tuple[Duration, ...] = tuple(sorted({w for t in DEFAULT_TIERS for w in (t.short, t.long)}))


@dataclass(frozen=True)
class ActiveTier:
    """A tier applied to one SLO: its factor and the bad-event ratio above which it fires."""

    tier: Tier
    factor: Fraction
    threshold: Fraction

    @property
    def exhaustion(self) -> Duration:
        """How long the whole budget lasts at this burn rate: SLO window / factor."""
        return Duration(round(self.tier.long.ms / self.tier.budget_share))

    def spending(self, window: Duration) -> str:
        """What this rate does to the budget of an SLO over ``window``, for people: it is gone within some
        time, or (a factor below 1, as on the 28d 3d/6h tier) only part of it is spent within the window."""
        if self.exhaustion <= window:
            return f"the whole budget is gone within {self.exhaustion.human}"
        return f"{format_percent(self.factor)} of the budget is spent by the end of the {window} window"


@dataclass(frozen=True)
class DroppedTier:
    tier: Tier
    reason: str


def factor(tier: Tier, window: Duration) -> Fraction:
    return tier.budget_share * Fraction(window.ms, tier.long.ms)


def plan(slo: SLO, tiers: tuple[Tier, ...] = DEFAULT_TIERS) -> tuple[list[ActiveTier], list[DroppedTier]]:
    """The tiers that can fire for ``slo``, and the ones left out with the reason why."""
    active: list[ActiveTier] = []
    dropped: list[DroppedTier] = []
    if not slo.burn_rate:
        return active, dropped
    if not slo.has_budget:
        reason = "objective 100 % leaves no error budget to burn"
        return active, [DroppedTier(t, f"{t.severity} tier {t.long}/{t.short}: {reason}") for t in tiers]
    for tier in tiers:
        f = factor(tier, slo.window)
        threshold = f * slo.error_budget
        name = f"{tier.severity} tier {tier.long}/{tier.short}"
        if tier.long > slo.window:
            dropped.append(DroppedTier(tier, f"{name}: its long window is longer than the SLO window {slo.window}"))
        elif threshold >= 1:
            dropped.append(
                DroppedTier(
                    tier,
                    f"{name} can never fire: burn rate {format_factor(f)} x error budget "
                    f"{format_percent(slo.error_budget)} = {format_percent(threshold)} of events would "
                    "have to fail, and at most 100 % can",
                )
            )
        else:
            active.append(ActiveTier(tier, f, threshold))
    return active, dropped
