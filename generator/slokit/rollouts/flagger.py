"""Flagger: one ``MetricTemplate`` per rollback trigger and per SLO burn, and a Canary's ``analysis`` block.

Flagger checks every metric once per ``interval`` against its ``thresholdRange``; a failed check holds the
canary's weight, and ``threshold`` failed checks roll it back. ``interval`` is the rules' evaluation interval
and ``threshold`` the number of intervals in the shortest trigger's ``for`` plus one, the evaluation at which
its alert fires. Flagger has one interval for all steps, so ``stepWeights`` carries the stages' shares but
not their minimum durations; a 0 % stage has no Flagger equivalent (see docs/gate-and-rollouts.md for running
``slokit gate`` beside it). A grouped SLO's templates answer with the worst group's value only
(``conditions.worst_group``): Flagger reads one value, so the query must pick the group that decides.
"""

from __future__ import annotations

from typing import Any

from slokit.rollouts import conditions
from slokit.rules.build import BURN_RATE_WINDOW
from slokit.rules.render import k8s_name
from slokit.spec.model import SLO, Service
from slokit.spec.units import single_unit

API_VERSION = "flagger.app/v1beta1"
DEFAULT_ADDRESS = "http://prometheus:9090"


def template_name(service: Service, metric: str) -> str:
    return conditions.metric_name(k8s_name(service), metric)


def _template(service: Service, metric: str, query: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "MetricTemplate",
        "metadata": {"name": template_name(service, metric), "labels": {"app.kubernetes.io/managed-by": "slokit"}},
        "spec": {"provider": {"type": "prometheus", "address": DEFAULT_ADDRESS}, "query": query},
    }


def metric_templates(service: Service) -> list[dict[str, Any]]:
    out = [_template(service, t.name, conditions.worst_group(service, t.slo, t.condition.value, t.condition.op,
                                                             t.guardrail.window))
           for t in conditions.triggers(service)]
    out += [_template(service, conditions.burn_name(slo), conditions.worst_group(
                service, slo, conditions.burn_query(service, slo, BURN_RATE_WINDOW), ">", BURN_RATE_WINDOW))
            for slo in service.slos]
    return out


def _burn_metric(service: Service, slo: SLO) -> dict[str, Any]:
    return {
        "name": conditions.burn_name(slo),
        "templateRef": {"name": template_name(service, conditions.burn_name(slo))},
        "thresholdRange": {"max": float(conditions.max_burn_rate(service))},
        "interval": single_unit(BURN_RATE_WINDOW),
    }


def analysis(service: Service) -> dict[str, Any]:
    """The ``analysis`` block of a Canary (``spec.analysis``)."""
    assert service.rollout is not None
    interval = conditions.step(service)
    triggers = conditions.triggers(service)
    metrics: list[dict[str, Any]] = []
    for t in triggers:
        bound = "max" if t.condition.op == ">" else "min"
        metrics.append({
            "name": t.name,
            "templateRef": {"name": template_name(service, t.name)},
            "thresholdRange": {bound: float(t.condition.threshold)},
            "interval": single_unit(t.guardrail.window),
        })
    metrics += [_burn_metric(service, slo) for slo in service.slos]
    shortest = min((t.for_.ms for t in triggers), default=0)
    return {
        "interval": single_unit(interval),
        "threshold": shortest // interval.ms + 1,
        "stepWeights": [s.percent for s in service.rollout.stages if 0 < s.percent < 100],
        "metrics": metrics,
    }
