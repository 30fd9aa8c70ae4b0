"""What every emitter takes and gives: the generate command's options in, a tree of artifacts out.

Each emitter maps the whole model to ``{relative path: file text}``; paths are POSIX and relative to the
output root (``alerts/onboarding.rules.yml``). The emitters import these types from here and
:mod:`slokit.pipeline` runs them, so no emitter depends on the pipeline that calls it.
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
