"""Helpers of the gate tests: run ``slokit gate`` as a pipeline would, and a spec with short stages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from slokit.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SPEC = ROOT / "slo" / "onboarding.yaml"


@dataclass(frozen=True)
class GateRun:
    code: int
    out: str
    err: str

    @property
    def report(self) -> dict[str, Any]:
        """The ``--json`` answer."""
        return dict(json.loads(self.out))

    def outcomes(self) -> dict[str, str]:
        return {c["name"]: c["outcome"] for c in self.report["checks"]}


def gate(spec: Path, prometheus: str, stage: int, *args: str, child: bool = False) -> GateRun:
    """``slokit gate`` through its command line: in this process (click's runner: the same code, exit code and
    output, without a second interpreter's start-up), or with ``child`` in a child process as a CI job runs it."""
    argv = ["gate", str(spec), "--service", "onboarding", "--stage", str(stage), "--prometheus", prometheus,
            "--retries", "1", "--backoff", "0.1", "--timeout", "5", *args]
    if child:
        proc = subprocess.run([sys.executable, "-m", "slokit", *argv], capture_output=True, text=True, timeout=120,
                              check=False)
        return GateRun(proc.returncode, proc.stdout, proc.stderr)
    result = CliRunner().invoke(main, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return GateRun(result.exit_code, result.stdout, result.stderr)


def with_stages(dest: Path, stages: str, source: Path = EXAMPLE_SPEC, extra: str = "") -> Path:
    """A copy of ``source`` whose ``rollout:`` has the given stages (YAML flow items, one per line)."""
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^rollout:.*\Z", "", text)
    items = "".join(f"    - {line.strip()}\n" for line in stages.strip().splitlines())
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text + extra + "rollout:\n  stages:\n" + items, encoding="utf-8")
    return dest
