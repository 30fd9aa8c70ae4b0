"""The cost benchmark's measurement works: a real Prometheus on a small backfilled TSDB, three rule sets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import rules_cost
from slokit import toolchain


def test_cost_measurement_runs_every_rule_set_on_a_real_prometheus(tmp_path: Path) -> None:
    try:
        toolchain.path("prometheus")
    except toolchain.ToolMissing:
        pytest.skip("no prometheus installed")
    costs = rules_cost.measure(4, tmp_path, settle_s=20, days=2)
    assert set(costs) == {"slokit", "sloth", "pyrra"}
    assert all(c.failed == 0 and c.samples_per_min > 0 for c in costs.values())
    # Even on two days of data slokit reads less than Sloth: its long windows sum two aggregated series.
    assert costs["slokit"].samples_per_min < costs["sloth"].samples_per_min
