"""The alerts an SLO gets, named once: rules emit them, runbooks document them, routing tests them.

An alert's name, severity, identifying labels and runbook anchor must agree across the rule file, the
runbook page, the generated promtool tests and the Alertmanager route tests; this catalogue is the single
place that decides them. Two alerting rules of one SLO with the same name and label set would write the
same ``ALERTS`` series and merge into one alert in Alertmanager, so every alert gets labels that no other
alert of its SLO shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from slokit import burnrate
from slokit.links import slug
from slokit.series import LONG_WINDOW_LABEL, ROLLBACK_LABEL, SHORT_WINDOW_LABEL, THRESHOLD_LABEL
from slokit.spec.model import SLO, Guardrail, Service, Severity
from slokit.spec.units import format_factor

BURN_ALERT = "SLOErrorBudgetBurn"
ABSENT_ALERT = "SLOMetricsAbsent"
_GUARDRAIL_NAMES = {"error_ratio_above": "SLOErrorRatioHigh", "good_ratio_below": "SLOGoodRatioLow"}

AlertKind = Literal["burn_rate", "guardrail", "absent"]
_NO_LABELS: Mapping[str, str] = MappingProxyType({})


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
    #: Labels that tell this alert apart from the others of its SLO, on top of the labels every alert of
    #: the SLO carries (service, slo, the spec's labels, severity, team). Rules emit exactly these.
    labels: Mapping[str, str] = field(default_factory=lambda: _NO_LABELS, hash=False)

    @property
    def rollback(self) -> bool:
        return self.guardrail is not None and self.guardrail.rollback


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
    return f"{what} for {g.for_.human}" + (" (rollback trigger)" if g.rollback else "")


def _threshold_texts(guards: Sequence[Guardrail]) -> list[str]:
    """Distinct ``threshold`` label values for guardrails sharing alert name, severity and rollback flag.

    The level alone where it is unique among them (``1%``), else the level and its ``for`` (``2% for 10m``),
    else also the window; guardrails the spec repeats outright are numbered in spec order.
    """
    texts = [g.level_text for g in guards]
    texts = [t if texts.count(t) == 1 else f"{t} for {g.for_.human}" for t, g in zip(texts, guards, strict=True)]
    texts = [t if texts.count(t) == 1 else f"{t} over {g.window.human}" for t, g in zip(texts, guards, strict=True)]
    return [t if texts.count(t) == 1 else f"{t} #{texts[:i].count(t) + 1}" for i, t in enumerate(texts)]


def _guardrail_labels(guards: Sequence[Guardrail]) -> list[dict[str, str]]:
    """Identifying labels of each guardrail of one SLO: rollback triggers are marked, and guardrails that
    share name, severity and rollback flag (a 1% and a 2% ticket) carry their level, so their ALERTS stay apart."""
    groups: dict[tuple[str, str, bool], list[int]] = {}
    for i, g in enumerate(guards):
        groups.setdefault((guardrail_name(g), g.severity, g.rollback), []).append(i)
    out: list[dict[str, str]] = [{} for _ in guards]
    for members in groups.values():
        if len(members) > 1:
            for i, text in zip(members, _threshold_texts([guards[i] for i in members]), strict=True):
                out[i][THRESHOLD_LABEL] = text
    for labels, g in zip(out, guards, strict=True):
        if g.rollback:
            labels[ROLLBACK_LABEL] = "true"
    return out


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
                title=f"error budget burning {format_factor(t.factor)}x over {t.tier.long} and {t.tier.short}",
                tier=t,
                # Tiers share the alert name and may share severity; their windows tell them apart.
                labels=MappingProxyType({LONG_WINDOW_LABEL: str(t.tier.long), SHORT_WINDOW_LABEL: str(t.tier.short)}),
            )
        )
    seen: set[str] = set()
    for g, labels in zip(slo.alerts, _guardrail_labels(slo.alerts), strict=True):
        name = guardrail_name(g)
        anchor = slug(f"{name}-{g.severity}-{g.level_text}")
        while anchor in seen:  # the same level twice with different `for`: keep anchors unique
            anchor += "-x"
        seen.add(anchor)
        out.append(
            AlertDef(name=name, severity=g.severity, kind="guardrail", anchor=anchor,
                     title=_guardrail_title(g), guardrail=g, labels=MappingProxyType(labels))
        )
    if slo.absent_for is not None:
        out.append(
            AlertDef(name=ABSENT_ALERT, severity="ticket", kind="absent", anchor=slug(ABSENT_ALERT),
                     title=f"no SLI series for {slo.absent_for.human}")
        )
    return tuple(out)


def excludes_rollback(a: AlertDef, alerts: Sequence[AlertDef]) -> bool:
    """Whether a selector of ``a`` must say ``rollback!="true"`` to select ``a`` alone.

    A rollback trigger of the same name and severity carries ``rollback="true"`` on top of labels that may
    include all of ``a``'s (``a`` has no rollback label at all), so matching ``a``'s labels alone selects it too.
    """
    if ROLLBACK_LABEL in a.labels:
        return False
    return any(
        o is not a and (o.name, o.severity) == (a.name, a.severity) and o.labels.get(ROLLBACK_LABEL) == "true"
        and all(o.labels.get(k) == v for k, v in a.labels.items())
        for o in alerts
    )
