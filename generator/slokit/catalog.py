"""The alerts an SLO gets, named once: rules emit them, runbooks document them, routing tests them.

An alert's name, severity and runbook anchor must agree across the rule file, the runbook page and the
Alertmanager route tests; this catalogue is the single place that decides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from slokit import burnrate
from slokit.links import slug
from slokit.spec.model import SLO, Guardrail, Service, Severity

BURN_ALERT = "SLOErrorBudgetBurn"
ABSENT_ALERT = "SLOMetricsAbsent"
_GUARDRAIL_NAMES = {"error_ratio_above": "SLOErrorRatioHigh", "good_ratio_below": "SLOGoodRatioLow"}

AlertKind = Literal["burn_rate", "guardrail", "absent"]


@dataclass(frozen=True)
class AlertDef:
    """One alerting rule of an SLO."""

    name: str
    severity: Severity
    kind: AlertKind
    #: Anchor of the alert's section on the SLO's runbook page; unique within the page.
    anchor: str
    #: One line a person reads first: what crossed which line.
    title: str
    tier: burnrate.ActiveTier | None = None
    guardrail: Guardrail | None = None

    @property
    def rollback(self) -> bool:
        return self.guardrail is not None and self.guardrail.rollback


def _factor_text(factor: Fraction) -> str:
    """14.4, 13.44, 0.93: two decimals at most, for titles people read (rules keep the exact factor)."""
    return f"{float(factor):.2f}".rstrip("0").rstrip(".")


def guardrail_name(g: Guardrail) -> str:
    if g.kind == "quantile_above":
        return f"SLOLatency{g.key.removesuffix('_above').upper()}High"
    return _GUARDRAIL_NAMES[g.kind]


def _guardrail_title(g: Guardrail) -> str:
    if g.kind == "quantile_above":
        what = f"{g.key.removesuffix('_above')} latency above {g.level_text}"
    elif g.kind == "error_ratio_above":
        what = f"error ratio above {g.level_text}"
    else:
        what = f"good ratio below {g.level_text}"
    return f"{what} for {g.for_}" + (" (rollback trigger)" if g.rollback else "")


def alerts_for(service: Service, slo: SLO) -> tuple[AlertDef, ...]:
    """Every alert of ``slo``, burn-rate tiers first (in tier order), then guardrails as written."""
    out: list[AlertDef] = []
    active, _ = burnrate.plan(slo)
    for t in active:
        window = f"{t.tier.long}-{t.tier.short}"
        out.append(
            AlertDef(
                name=BURN_ALERT,
                severity=t.tier.severity,
                kind="burn_rate",
                anchor=slug(f"{BURN_ALERT}-{t.tier.severity}-{window}"),
                title=f"error budget burning {_factor_text(t.factor)}x over {t.tier.long} and {t.tier.short}",
                tier=t,
            )
        )
    seen: set[str] = set()
    for g in slo.alerts:
        name = guardrail_name(g)
        anchor = slug(f"{name}-{g.severity}-{g.level_text}")
        while anchor in seen:  # the same level twice with different `for`: keep anchors unique
            anchor += "-x"
        seen.add(anchor)
        out.append(
            AlertDef(name=name, severity=g.severity, kind="guardrail", anchor=anchor,
                     title=_guardrail_title(g), guardrail=g)
        )
    if slo.absent_for is not None:
        out.append(
            AlertDef(name=ABSENT_ALERT, severity="ticket", kind="absent", anchor=slug(ABSENT_ALERT),
                     title=f"no SLI series for {slo.absent_for}")
        )
    return tuple(out)
