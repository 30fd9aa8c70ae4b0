"""``slokit check``: run the real external tools (promtool, amtool) over a generated tree.

Each checker looks at the generated files under the output root and returns one result per file or
test it ran, so the CLI can report every problem at once instead of stopping at the first.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from slokit import toolchain
from slokit.spec.model import Service
from slokit.toolchain import ToolMissing

__all__ = ["MISSING", "RUN_GENERATE", "STALE", "CheckResult", "Checker", "ToolMissing", "checkers", "run_checks",
           "run_tool"]

#: The one wording every check uses for a generated file that is not there or not what the specs generate.
RUN_GENERATE = "run `slokit generate`"
MISSING = f"missing: {RUN_GENERATE}"
STALE = f"differs from what the specs generate (stale or edited by hand): {RUN_GENERATE}"


@dataclass(frozen=True)
class CheckResult:
    tool: str
    target: str
    ok: bool
    detail: str = ""
    level: Literal["error", "warning"] = "error"


Checker = Callable[[Path, Sequence[Service]], list[CheckResult]]


def checkers() -> list[Checker]:
    """Every checker, in the order they run."""
    from slokit.alertmanager.check import check_alertmanager
    from slokit.dashboards.check import check_dashboards
    from slokit.rules.check import check_rules
    from slokit.runbooks.check import check_runbooks

    return [check_rules, check_alertmanager, check_dashboards, check_runbooks]


def run_tool(argv: Sequence[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run an external tool (``argv[0]`` is its name, resolved by :mod:`slokit.toolchain`) and capture its
    output; a missing binary raises ``ToolMissing``."""
    argv = [toolchain.path(argv[0]), *argv[1:]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def run_checks(out_dir: Path, services: Sequence[Service]) -> list[CheckResult]:
    results: list[CheckResult] = []
    for check in checkers():
        results.extend(check(out_dir, services))
    return results
