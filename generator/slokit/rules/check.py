"""``slokit check`` for the rule files: ``promtool check rules --lint=all`` and ``promtool test rules``.

One result per file. The Prometheus Operator and Mimir files wrap the same groups in another envelope;
their groups are extracted into a temporary plain rule file so that promtool checks exactly what those
files carry.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from slokit.check_common import MISSING, CheckResult, run_tool
from slokit.rules.render import ALERTS_DIR, rules_path, steady_test_path, test_path
from slokit.spec.model import Service

TOOL = "promtool"
#: Wrapped formats: file suffix and how to reach the rule groups inside.
_WRAPPED: dict[str, tuple[str, ...]] = {".prometheusrule.yml": ("spec", "groups"), ".mimir.yml": ("groups",)}


def _output(proc_out: str, proc_err: str) -> str:
    return "\n".join(x for x in (proc_out.strip(), proc_err.strip()) if x)


def _check_rules(path: Path, label: str) -> CheckResult:
    proc = run_tool([TOOL, "check", "rules", "--lint=all", "--lint-fatal", str(path)])
    return CheckResult(TOOL, label, proc.returncode == 0, "" if proc.returncode == 0 else
                       _output(proc.stdout, proc.stderr))


def _check_wrapped(path: Path, keys: tuple[str, ...], label: str) -> CheckResult:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in keys:
            data = data[key]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        return CheckResult(TOOL, label, False, f"cannot read the rule groups ({'.'.join(keys)}): {exc}")
    with tempfile.TemporaryDirectory(prefix="slokit-rules-") as tmp:
        plain = Path(tmp) / path.name
        plain.write_text(yaml.safe_dump({"groups": data}, sort_keys=False), encoding="utf-8")
        return _check_rules(plain, label)


def _test_rules(path: Path, label: str) -> CheckResult:
    proc = run_tool([TOOL, "test", "rules", str(path)])
    return CheckResult(TOOL, label, proc.returncode == 0, "" if proc.returncode == 0 else
                       _output(proc.stdout, proc.stderr))


def check_rules(out_dir: Path, services: Sequence[Service]) -> list[CheckResult]:
    """Check every service's rule file and run its promtool tests; check any Operator or Mimir file too."""
    jobs: list[tuple[str, Path, str, tuple[str, ...]]] = []
    results: list[CheckResult] = []
    for service in services:
        for rel, kind in ((rules_path(service), "check"), (test_path(service), "test"),
                          (steady_test_path(service), "test")):
            path = out_dir / rel
            if path.is_file():
                jobs.append((kind, path, rel, ()))
            else:
                results.append(CheckResult(TOOL, rel, False, MISSING))
    alerts = out_dir / ALERTS_DIR
    for suffix, keys in _WRAPPED.items():
        for path in sorted(alerts.glob(f"*{suffix}")) if alerts.is_dir() else []:
            jobs.append(("wrapped", path, f"{ALERTS_DIR}/{path.name}", keys))

    def run(job: tuple[str, Path, str, tuple[str, ...]]) -> CheckResult:
        kind, path, label, keys = job
        if kind == "check":
            return _check_rules(path, label)
        if kind == "wrapped":
            return _check_wrapped(path, keys, label)
        return _test_rules(path, label)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results.extend(pool.map(run, jobs))
    return results
