"""Argo Rollouts: an ``AnalysisTemplate`` (Prometheus provider) and the canary ``steps`` of the stages.

Each rollback trigger is a metric measured every rule-evaluation interval whose ``failureCondition`` is
the alert's condition; ``failureLimit`` is the number of intervals in its ``for``, so the metric fails on
the measurement at which the alert would fire (Argo counts failed measurements, not consecutive ones: a
trigger that flaps rolls back no later than the alert, possibly earlier). Each SLO's burn over the last
hour is a metric that never fails but is only successful at or under the stages' ``max_burn_rate``: above
it, or without data, the measurement is inconclusive and Argo pauses the rollout (hold). Every condition
tests ``len(result) > 0`` first, so an empty answer is inconclusive too, never a success. A grouped SLO's
queries keep only the worst group's value (``conditions.worst_group``), so the group closest to failing decides.
"""

from __future__ import annotations

from typing import Any

from slokit.rollouts import conditions
from slokit.rollouts.conditions import Trigger
from slokit.rules.build import BURN_RATE_WINDOW
from slokit.rules.render import k8s_name
from slokit.spec.model import Service
from slokit.spec.units import go_duration

API_VERSION = "argoproj.io/v1alpha1"
#: The AnalysisTemplate argument that holds Prometheus' URL (its default is in the template).
ADDRESS_ARG = "prometheus-address"
DEFAULT_ADDRESS = "http://prometheus:9090"
_NOT_NEGATED = {">": "<=", "<": ">="}


def _prometheus(query: str) -> dict[str, Any]:
    return {"prometheus": {"address": "{{args." + ADDRESS_ARG + "}}", "query": query}}


def _trigger_metric(service: Service, t: Trigger) -> dict[str, Any]:
    c = t.condition
    interval = conditions.step(service)
    return {
        "name": t.name,
        "interval": go_duration(interval),
        "failureLimit": t.for_.ms // interval.ms,
        "successCondition": f"len(result) > 0 && result[0] {_NOT_NEGATED[c.op]} {c.threshold}",
        "failureCondition": f"len(result) > 0 && result[0] {c.op} {c.threshold}",
        "provider": _prometheus(conditions.worst_group(service, t.slo, c.value, c.op, t.guardrail.window)),
    }


def analysis_template(service: Service) -> dict[str, Any]:
    metrics = [_trigger_metric(service, t) for t in conditions.triggers(service)]
    limit = conditions.max_burn_rate(service)
    for slo in service.slos:
        metrics.append({
            "name": conditions.burn_name(slo),
            "interval": "5m",
            "successCondition": f"len(result) > 0 && result[0] <= {limit}",
            "failureCondition": "false",
            "provider": _prometheus(conditions.worst_group(
                service, slo, conditions.burn_query(service, slo, BURN_RATE_WINDOW), ">", BURN_RATE_WINDOW)),
        })
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": {"name": k8s_name(service), "labels": {"app.kubernetes.io/managed-by": "slokit"}},
        "spec": {"args": [{"name": ADDRESS_ARG, "value": DEFAULT_ADDRESS}], "metrics": metrics},
    }


def canary_strategy(service: Service) -> dict[str, Any]:
    """``spec.strategy`` of a Rollout: the analysis in the background and one setWeight/pause per stage.

    A stage at 100 % needs no step (Argo promotes fully after the last one) unless it has a duration.
    """
    assert service.rollout is not None
    steps: list[dict[str, Any]] = []
    for stage in service.rollout.stages:
        if stage.percent == 100 and stage.duration.ms == 0:
            continue
        steps.append({"setWeight": stage.percent})
        if stage.duration.ms:
            steps.append({"pause": {"duration": go_duration(stage.duration)}})
    return {"canary": {"analysis": {"templates": [{"templateName": k8s_name(service)}]}, "steps": steps}}
