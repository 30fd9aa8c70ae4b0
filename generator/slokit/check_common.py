"""What every check of ``slokit check`` shares: its result, its wording for a missing or stale file, and
the runner of the external tools (promtool, amtool).

The per-artifact checks (``rules/check.py``, ``alertmanager/check.py``, ...) import these from here, and
:mod:`slokit.checks` runs them, so no check depends on the module that collects them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from slokit import toolchain

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


def run_tool(argv: Sequence[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run an external tool (``argv[0]`` is its name, resolved by :mod:`slokit.toolchain`) and capture its
    output; a missing binary raises ``ToolMissing``."""
    argv = [toolchain.path(argv[0]), *argv[1:]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
