"""Rollout analyses generated from the spec's ``rollout:`` and rollback triggers (only for specs that have one).

Outputs (relative to the output root): ``rollouts/<service>.argo.yml`` (an Argo Rollouts AnalysisTemplate),
``rollouts/<service>.argo-strategy.yml`` (the Rollout's ``spec.strategy``: canary steps and the analysis),
``rollouts/<service>.flagger.yml`` (Flagger MetricTemplates) and ``rollouts/<service>.flagger-analysis.yml``
(a Canary's ``spec.analysis``). Their queries are the gate's (``slokit.rollouts.conditions``).
"""

from __future__ import annotations

from collections.abc import Sequence

from slokit.artifacts import Artifacts, Options
from slokit.rollouts import argo, flagger
from slokit.rules.render import dump, generated_header
from slokit.spec.model import Service

DIR = "rollouts"


def paths(service: Service) -> dict[str, str]:
    """The four files of ``service`` by kind: argo, argo-strategy, flagger, flagger-analysis."""
    return {kind: f"{DIR}/{service.name}.{kind}.yml" for kind in ("argo", "argo-strategy", "flagger",
                                                                  "flagger-analysis")}


def emit(services: Sequence[Service], options: Options) -> Artifacts:
    del options  # the analyses do not depend on the rule-file flavour
    out: Artifacts = {}
    for service in services:
        if service.rollout is None:
            continue
        header = generated_header(service)
        p = paths(service)
        out[p["argo"]] = dump(argo.analysis_template(service), header)
        out[p["argo-strategy"]] = dump({"strategy": argo.canary_strategy(service)},
                                       header + "# spec.strategy of the service's Argo Rollouts Rollout\n")
        out[p["flagger"]] = header + "".join("---\n" + dump(t) for t in flagger.metric_templates(service))
        out[p["flagger-analysis"]] = dump({"analysis": flagger.analysis(service)},
                                          header + "# spec.analysis of the service's Flagger Canary\n")
    return out
