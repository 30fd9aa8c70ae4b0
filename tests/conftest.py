"""Shared fixtures: the example spec, loaded through the real loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from slokit import toolchain
from slokit.spec import load_or_raise
from slokit.spec.model import Service

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SPEC = ROOT / "slo" / "onboarding.yaml"


@pytest.fixture(scope="session")
def onboarding() -> Service:
    (service,) = load_or_raise([EXAMPLE_SPEC])
    return service


@pytest.fixture(params=[ts.name for ts in toolchain.toolsets()])
def toolset(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> toolchain.ToolSet:
    """Runs the test once per tool set of toolsets.tsv, with that set's binaries in force.

    A missing set fails the test instead of skipping it: `make test` installs all of them, and a suite that
    skipped the Prometheus it claims to support would prove nothing."""
    ts = toolchain.toolset(request.param)
    for var in toolchain.TOOLS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLOKIT_TOOLS", ts.name)
    if toolchain.installed_dir(ts) is None:
        pytest.fail(f"tool set {ts.name} is not installed: run scripts/install-tools.sh (make test does)")
    return ts
