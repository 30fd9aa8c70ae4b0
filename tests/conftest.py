"""Shared fixtures: the example spec, loaded through the real loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from slokit.spec import load_or_raise
from slokit.spec.model import Service

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SPEC = ROOT / "slo" / "onboarding.yaml"


@pytest.fixture(scope="session")
def onboarding() -> Service:
    (service,) = load_or_raise([EXAMPLE_SPEC])
    return service
