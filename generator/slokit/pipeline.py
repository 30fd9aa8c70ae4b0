"""The generation pipeline: validated services in, a tree of artifacts out (pure, no I/O).

Each emitter maps the whole model to ``{relative path: file text}``; paths are POSIX and relative to the
output root (``alerts/onboarding.rules.yml``). The writer puts the union on disk in one move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slokit.spec.model import Service
from slokit.spec.units import Duration

Artifacts = dict[str, str]


@dataclass(frozen=True)
class Options:
    """Choices of the ``generate`` command that change what emitters produce."""

    #: Rule file target (``slokit generate --target``): "prometheus", "prometheus-operator", "mimir",
    #: "thanos-ruler" or "vmalert" (slokit.rules.render.TARGETS).
    rules_format: str = "prometheus"
    #: The remote-write profile (``--remote-write``): how far back each rule group evaluates, so that it
    #: does not read samples still in flight from the agents; None for a Prometheus that scrapes itself.
    query_offset: Duration | None = None
    #: Extra ``metadata.labels`` of the PrometheusRule object (``--rule-label``): what the Operator's
    #: ``ruleSelector`` matches.
    rule_labels: tuple[tuple[str, str], ...] = ()


Emitter = Callable[[Sequence[Service], Options], Artifacts]

#: The output folders the generator owns: each is replaced whole on every run.
MANAGED_DIRS: tuple[str, ...] = ("alerts", "dashboards", "runbooks", "rollouts")


def emitters() -> list[Emitter]:
    """Every emitter, imported here so that a missing one fails loudly and the order is fixed."""
    from slokit.alertmanager import emit as alertmanager
    from slokit.dashboards import emit as dashboards
    from slokit.rollouts import emit as rollouts
    from slokit.rules.render import emit_rules
    from slokit.runbooks import emit as runbooks

    return [emit_rules, alertmanager, dashboards, runbooks, rollouts]


def generate(services: Sequence[Service], options: Options = Options()) -> Artifacts:
    out: Artifacts = {}
    for emit in emitters():
        for path, text in emit(services, options).items():
            if path in out:
                raise RuntimeError(f"two emitters wrote {path}")
            if path.split("/", 1)[0] not in MANAGED_DIRS:
                raise RuntimeError(f"emitter wrote {path} outside {', '.join(MANAGED_DIRS)}")
            out[path] = text
    return out
