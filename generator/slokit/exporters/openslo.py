"""slokit specs as OpenSLO v1 documents: a Service, and per SLO an SLO with its indicator and alert policies.

What OpenSLO can say, is said: the SLI's PromQL (built-in SLIs as the queries slokit generates), the rolling
window, occurrence budgeting, the objective, and every alert whose condition is a burn rate over one window
(slokit's tiers, and ratio guardrails: a bad share above X over W is a burn rate of X / error budget over W).
Queries keep slokit's ``{{window}}`` placeholder, the convention Sloth uses for OpenSLO, so that
``slokit import openslo`` reads the export back into an equivalent spec. What OpenSLO cannot say (routing,
runbooks, dashboards, rollout stages, latency-quantile guardrails, a tier's short window) is listed in
comments.
Pure: model in, text out.
"""

from __future__ import annotations

from typing import Any

from slokit import catalog
from slokit.rules.sli import event_queries
from slokit.spec.model import SLO, WINDOW_PLACEHOLDER, Guardrail, Service
from slokit.spec.units import format_number
from slokit.yamlout import Path, render

API_VERSION = "openslo/v1"


def export(service: Service) -> str:
    """Every document of ``service`` as one ``---``-separated YAML stream."""
    docs = [_service(service), *(_slo(service, slo) for slo in service.slos)]
    return "---\n".join(render(data, notes, header) for data, notes, header in docs)


Doc = tuple[dict[str, Any], dict[Path, list[str]], list[str]]


def _service(service: Service) -> Doc:
    labels = {"team": service.owner, **service.labels}
    spec = {"description": service.description} if service.description else {}
    left_out = [name for name, value in (
        ("routing", service.routing.page or service.routing.ticket), ("runbook_url", service.runbook_url),
        ("grafana", service.grafana_url), ("selector (built into the queries)", service.selector),
        ("evaluation_interval", service.evaluation_interval),
        ("rollout (the stages `slokit gate` and the Argo Rollouts/Flagger files follow)", service.rollout)) if value]
    header = [f"Exported from {service.source} by slokit export openslo."]
    if left_out:
        header.append(f"Not in OpenSLO, so not exported: {', '.join(left_out)}.")
    data = {"apiVersion": API_VERSION, "kind": "Service",
            "metadata": {"name": service.name, "labels": labels}, "spec": spec}
    return data, {}, header


def _slo(service: Service, slo: SLO) -> Doc:
    notes: dict[Path, list[str]] = {}
    queries = event_queries(service, slo, WINDOW_PLACEHOLDER)
    ratio: dict[str, Any] = {"counter": False}
    for part, query in (("good", queries.good), ("bad", queries.bad), ("total", queries.total)):
        if query is not None:
            ratio[part] = {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}
    if slo.sli.kind != "ratio":
        notes[("spec", "indicator")] = [f"slokit's built-in {slo.sli.kind} SLI, as the queries it generates."]
    spec: dict[str, Any] = {}
    if slo.description:
        spec["description"] = slo.description
    spec.update({
        "service": service.name,
        "indicator": {"metadata": {"name": slo.name}, "spec": {"ratioMetric": ratio}},
        "timeWindow": [{"duration": _shorthand(slo.window.ms), "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"displayName": slo.name, "target": slo.objective}],
    })
    policies, left_out = _policies(service, slo)
    if policies:
        spec["alertPolicies"] = policies
    dropped = [*left_out, *(["min_events"] if slo.min_events else []), *(["absent_for"] if slo.absent_for else []),
               *([f"group_by {', '.join(slo.group_by)} (OpenSLO has no per-label SLOs)"] if slo.group_by else []),
               *(["runbook"] if slo.runbook != type(slo.runbook)() else [])]
    header = [f"Not in OpenSLO, so not exported: {', '.join(dropped)}."] if dropped else []
    metadata: dict[str, Any] = {"name": slo.name}
    if slo.labels:
        metadata["labels"] = dict(slo.labels)
    return {"apiVersion": API_VERSION, "kind": "SLO", "metadata": metadata, "spec": spec}, notes, header


def _policies(service: Service, slo: SLO) -> tuple[list[dict[str, Any]], list[str]]:
    """One AlertPolicy per alert with a single burn-rate condition (OpenSLO allows one condition a policy)."""
    policies: list[dict[str, Any]] = []
    left_out: list[str] = []
    for alert in catalog.alerts_for(service, slo):
        if alert.tier is not None:
            policies.append(_policy(f"{slo.name}-{alert.anchor}", alert.severity, alert.tier.factor,
                                    str(alert.tier.tier.long), None, False,
                                    f"slokit burn-rate tier; it also needs the {alert.tier.tier.short} window to "
                                    "burn that fast"))
        elif alert.guardrail is not None and alert.guardrail.kind != "quantile_above":
            g = alert.guardrail
            if g.window.ms % 60_000 or g.for_.ms % 60_000:
                left_out.append(f"the exact window {g.window} and for {g.for_} of the {g.key} {g.level_text} alert "
                                "(OpenSLO durations are whole minutes: rounded)")
            policies.append(_policy(f"{slo.name}-{alert.anchor}", g.severity, _bad_share(g) / slo.error_budget,
                                    _shorthand(g.window.ms), _shorthand(g.for_.ms), g.rollback,
                                    g.description or ""))
        elif alert.guardrail is not None:
            left_out.append(f"{alert.guardrail.key} alert (no latency-quantile condition in OpenSLO)")
    return policies, left_out


def _bad_share(g: Guardrail) -> Any:
    return g.threshold if g.kind == "error_ratio_above" else 1 - g.threshold


def _policy(name: str, severity: str, factor: Any, lookback: str, after: str | None, rollback: bool,
            description: str) -> dict[str, Any]:
    condition: dict[str, Any] = {"kind": "burnrate", "op": "gt", "threshold": float(format_number(factor)),
                                 "lookbackWindow": lookback}
    if after is not None:
        condition["alertAfter"] = after
    meta: dict[str, Any] = {"name": name}
    if rollback:
        meta["labels"] = {"rollback": "true"}
    spec: dict[str, Any] = {"description": description} if description else {}
    spec.update({"severity": severity, "condition": condition})
    return {"kind": "AlertPolicy", "metadata": {"name": name},
            "spec": {"alertWhenBreaching": True,
                     "conditions": [{"kind": "AlertCondition", "metadata": meta, "spec": spec}]}}


def _shorthand(ms: int) -> str:
    """A duration in OpenSLO's shorthand (one unit: 5m, 1h, 30d); minutes are its smallest unit."""
    if ms == 0:
        return "0m"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{max(1, round(ms / 60_000))}m"

