"""The generation pipeline: validated services in, a tree of artifacts out (pure, no I/O).

It runs every emitter (their types are in :mod:`slokit.artifacts`) and checks that their outputs neither
overlap nor leave the managed folders. The writer puts the union on disk in one move.
"""

from __future__ import annotations

from collections.abc import Sequence

from slokit.alertmanager import emit as alertmanager
from slokit.artifacts import Artifacts, Emitter, Options
from slokit.dashboards import emit as dashboards
from slokit.rollouts import emit as rollouts
from slokit.rules.render import emit_rules
from slokit.runbooks import emit as runbooks
from slokit.spec.model import Service

#: The output folders the generator owns: each is replaced whole on every run.
MANAGED_DIRS: tuple[str, ...] = ("alerts", "dashboards", "runbooks", "rollouts")


def emitters() -> list[Emitter]:
    """Every emitter, in the order they run."""
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
