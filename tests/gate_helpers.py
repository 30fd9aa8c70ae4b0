"""Helpers of the gate tests: run ``slokit gate`` as a pipeline would, and a spec with short stages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from rollout_traffic import Mix, openmetrics
from rules_helpers import run_promtool
from slokit import stack
from slokit.cli import main
from slokit.spec import load_or_raise

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


@contextmanager
def backfilled_prometheus(tmp: Path, spec: Path, timeline: Sequence[tuple[int, Mix]], start: float) -> Iterator[str]:
    """A real Prometheus (the tool set in force) on 127.0.0.1 holding ``timeline``'s traffic of the spec's
    service from ``start``, backfilled with promtool; yields its URL and stops it by pid."""
    (service,) = load_or_raise([spec])
    data = tmp / "data.om"
    data.write_text("\n".join(openmetrics(service, timeline, start)) + "\n")
    proc = run_promtool("tsdb", "create-blocks-from", "openmetrics", str(data), str(tmp / "tsdb"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "1m"}, "scrape_configs": []}))
    port = stack.free_port()
    prometheus_bin, _ = stack.binaries()
    prometheus = stack.start_process("Prometheus", [prometheus_bin, f"--config.file={config}",
                                                    f"--storage.tsdb.path={tmp / 'tsdb'}",
                                                    f"--web.listen-address={stack.HOST}:{port}"], tmp / "prom.log")
    try:
        stack.wait_http_ok(prometheus, f"http://{stack.HOST}:{port}/-/ready")
        yield f"http://{stack.HOST}:{port}"
    finally:
        prometheus.stop()
