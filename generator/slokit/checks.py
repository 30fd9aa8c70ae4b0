"""``slokit check``: run the real external tools (promtool, amtool) over a generated tree.

Each checker looks at the generated files under the output root and returns one result per file or
test it ran, so the CLI can report every problem at once instead of stopping at the first.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from slokit.spec.model import Service

INSTALL_HINT = (
    "install it with: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager "
    "(as root on Debian or Ubuntu; `make tools` does this), or put Prometheus' promtool and "
    "Alertmanager's amtool on PATH"
)


class ToolMissing(RuntimeError):
    """An external tool the check needs is not installed."""


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
    """Run an external tool and capture its output; a missing binary raises ``ToolMissing``."""
    if shutil.which(argv[0]) is None:
        raise ToolMissing(f"{argv[0]} not found on PATH: {INSTALL_HINT}")
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


def run_checks(out_dir: Path, services: Sequence[Service]) -> list[CheckResult]:
    results: list[CheckResult] = []
    for check in checkers():
        results.extend(check(out_dir, services))
    return results
