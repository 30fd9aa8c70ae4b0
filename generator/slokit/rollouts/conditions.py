"""What a rollout watches, built once for ``slokit gate`` and the Argo Rollouts / Flagger analyses.

Two kinds of condition per service:

* rollback triggers: the guardrails marked ``rollback: true``, with exactly the condition of their alerting
  rule (``slokit.rules.build.guardrail_condition``) in its self-contained form, which computes the rule's
  recorded ratio from the raw series; a trigger that holds for its ``for`` means roll back;
* each SLO's burn: its bad-event ratio over a window divided by its error budget, from the same builder as
  the rules' raw ratios; burning faster than the stage allows means hold.

Self-contained queries need nothing but the service's own series, so they work against any Prometheus that
scrapes it (also one without slokit's rules, or over a range that predates them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slokit.catalog import AlertDef, alerts_for
from slokit.rules.build import SLI_INTERVAL, Condition, guardrail_condition, raw_ratio
from slokit.rules.sli import sli_queries, zero_filled
from slokit.spec.model import SLO, Guardrail, Service
from slokit.spec.units import Duration, format_number


def metric_name(*parts: str) -> str:
    """A DNS-1123 label from spec names (Flagger MetricTemplates are Kubernetes objects): ``latency-p95-above-1s``."""
    text = "-".join(parts).lower().replace("%", "pct")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:63].rstrip("-")


@dataclass(frozen=True)
class Trigger:
    """A rollback trigger of one SLO: the alert, its guardrail and the condition the rule evaluates."""

    slo: SLO
    alert: AlertDef
    condition: Condition
    #: Unique within the service; the metric name in the Argo and Flagger files.
    name: str

    @property
    def guardrail(self) -> Guardrail:
        assert self.alert.guardrail is not None
        return self.alert.guardrail

    @property
    def for_(self) -> Duration:
        return self.guardrail.for_


def triggers(service: Service) -> list[Trigger]:
    """Every rollback trigger of ``service``, in spec order."""
    out: list[Trigger] = []
    seen: set[str] = set()
    for slo in service.slos:
        for a in alerts_for(service, slo):
            if not a.rollback:
                continue
            g = a.guardrail
            assert g is not None
            name = metric_name(slo.name, g.key, g.level_text)
            while name in seen:  # the same level twice with different `for` or window
                name += "-x"
            seen.add(name)
            out.append(Trigger(slo, a, guardrail_condition(service, slo, g, self_contained=True), name))
    return out


def burn_query(service: Service, slo: SLO, window: Duration) -> str:
    """The SLO's burn rate over ``window``: the bad-event ratio over it divided by the error budget."""
    return f"(\n{raw_ratio(service, slo, window)}\n)\n/ {format_number(slo.error_budget)}"


def worst_group(service: Service, slo: SLO, query: str, op: str, window: Duration) -> str:
    """``query`` reduced to its worst group, for the Argo Rollouts and Flagger analyses of a grouped SLO.

    A grouped SLO's queries give one sample per group, but Argo's conditions read ``result[0]`` and Flagger
    reads one value: either would judge an arbitrary group. So the per-group values are computed inside and
    ``max`` (bad is high: ``op`` ``>``) or ``min`` (good is high: ``<``) keeps the worst. A group without
    traffic over ``window`` has no value and drops out; but a group with traffic and no valid value (NaN, a
    negative ratio: bad data) empties the answer, as does no group at all, which the analyses read as
    inconclusive or failed, never as a pass. ``slokit gate`` keeps the per-group queries: it judges and names
    each group itself.
    """
    if not slo.group_by:
        return query
    _, total = sli_queries(service, slo, window)
    valid = f"count(\n{query}\n>= 0\n)\n== on ()\ncount({total} > 0)"
    return f"{'max' if op == '>' else 'min'}(\n{query}\n)\nand on ()\n({valid})"


def events_query(service: Service, slo: SLO, window: Duration) -> str:
    """Events of the SLO over ``window`` (its total rate over the window times the window's seconds)."""
    _, total = sli_queries(service, slo, window)
    return f"{total} * {format_number(window.ms / 1000)}"


def bad_events_query(service: Service, slo: SLO, window: Duration) -> str:
    """Bad events of the SLO over ``window``, zero (per group) where no bad event was counted; with
    :func:`events_query` the gate computes the burn itself, so it can tell an impossible count (bad events
    below zero or above all events, as a ``ratio`` SLI whose good query counts more than its total gives)
    from a real one."""
    bad, total = sli_queries(service, slo, window)
    return f"{zero_filled(bad, total, slo)} * {format_number(window.ms / 1000)}"


def step(service: Service) -> Duration:
    """How often a trigger is evaluated: the interval of the rule group its alert sits in."""
    return service.evaluation_interval or SLI_INTERVAL


def burn_name(slo: SLO) -> str:
    return metric_name(slo.name, "burn-rate")


def max_burn_rate(service: Service) -> str:
    """The strictest ``max_burn_rate`` of the stages: one analysis covers every stage of a Kubernetes canary."""
    assert service.rollout is not None
    return format_number(min(s.max_burn_rate for s in service.rollout.stages))

