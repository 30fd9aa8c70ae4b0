"""What every emitter takes and gives: the generate command's options in, a tree of artifacts out.

Each emitter maps the whole model to ``{relative path: file text}``; paths are POSIX and relative to the
output root (``alerts/onboarding.rules.yml``). The emitters import these types from here and
:mod:`slokit.pipeline` runs them, so no emitter depends on the pipeline that calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slokit.spec.model import Service

Artifacts = dict[str, str]


@dataclass(frozen=True)
class Options:
    """Choices of the ``generate`` command that change what emitters produce."""

    #: Rule file flavour: "prometheus", "prometheus-operator" or "mimir".
    rules_format: str = "prometheus"


Emitter = Callable[[Sequence[Service], Options], Artifacts]
