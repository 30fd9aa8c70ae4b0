"""Alertmanager routing generated from the specs: one ``alerts/alertmanager.yml`` for every service."""

from __future__ import annotations

from collections.abc import Sequence

from slokit.alertmanager.config import PATH, render
from slokit.artifacts import Artifacts, Options
from slokit.spec.model import Service


def emit(services: Sequence[Service], options: Options) -> Artifacts:
    """The pipeline's emitter; the rule format option does not concern Alertmanager."""
    return {PATH: render(services)}
