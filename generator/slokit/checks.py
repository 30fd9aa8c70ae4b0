"""``slokit check``: run the real external tools (promtool, amtool) over a generated tree.

Each checker looks at the generated files under the output root and returns one result per file or
test it ran, so the CLI can report every problem at once instead of stopping at the first. What the
checkers share is in :mod:`slokit.check_common`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from slokit.alertmanager.check import check_alertmanager
from slokit.check_common import CheckResult
from slokit.dashboards.check import check_dashboards
from slokit.rules.check import check_rules
from slokit.runbooks.check import check_runbooks
from slokit.spec.model import Service

Checker = Callable[[Path, Sequence[Service]], list[CheckResult]]


def checkers() -> list[Checker]:
    """Every checker, in the order they run."""
    return [check_rules, check_alertmanager, check_dashboards, check_runbooks]


def run_checks(out_dir: Path, services: Sequence[Service]) -> list[CheckResult]:
    results: list[CheckResult] = []
    for check in checkers():
        results.extend(check(out_dir, services))
    return results
