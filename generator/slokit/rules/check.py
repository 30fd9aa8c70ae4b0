"""``slokit check`` for the rule files: ``promtool check rules --lint=all`` and ``promtool test rules``.

One result per file. The Prometheus Operator and Mimir files wrap the same groups in another envelope;
their groups are extracted into a temporary plain rule file so that promtool checks exactly what those
files carry. The Thanos Ruler file is checked the same way once its ``partial_response_strategy`` (which
promtool does not know) is checked and taken out; the remote-write profile's file goes to promtool as it is
(Prometheus 2.42 refuses its ``query_offset``); the vmalert file goes to ``vmalert -dryRun``.
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
VMALERT = "vmalert"
#: Wrapped formats: file suffix and how to reach the rule groups inside.
_WRAPPED: dict[str, tuple[str, ...]] = {".prometheusrule.yml": ("spec", "groups"), ".mimir.yml": ("groups",),
                                        ".thanos-ruler.yml": ("groups",)}
#: Thanos Ruler's own group field, and the values it takes.
_THANOS_FIELD, _THANOS_VALUES = "partial_response_strategy", frozenset({"abort", "warn"})
#: Plain rule files of a target, checked as they are: suffix and the tool.
_PLAIN: dict[str, str] = {".remote-write.yml": TOOL, ".vmalert.yml": VMALERT}


def _output(proc_out: str, proc_err: str) -> str:
    return "\n".join(x for x in (proc_out.strip(), proc_err.strip()) if x)


def _check_rules(path: Path, label: str) -> CheckResult:
    proc = run_tool([TOOL, "check", "rules", "--lint=all", "--lint-fatal", str(path)])
    detail = "" if proc.returncode == 0 else _output(proc.stdout, proc.stderr)
    if "field query_offset not found" in detail:
        detail += ("\nquery_offset (the remote-write profile) needs Prometheus 2.53 or later: on this Prometheus "
                   "load the plain rule file instead")
    return CheckResult(TOOL, label, proc.returncode == 0, detail)


def _vmalert_dry_run(path: Path, label: str) -> CheckResult:
    proc = run_tool([VMALERT, "-dryRun", f"-rule={path}", "-loggerLevel=ERROR"])
    return CheckResult(VMALERT, label, proc.returncode == 0, "" if proc.returncode == 0 else
                       _output(proc.stdout, proc.stderr))


def _without_thanos_field(groups: Any) -> Any:
    """Thanos Ruler's groups without ``partial_response_strategy``; ValueError for a value Thanos refuses."""
    out = []
    for group in groups:
        rest = dict(group)
        value = rest.pop(_THANOS_FIELD, "abort")
        if str(value).lower() not in _THANOS_VALUES:
            raise ValueError(f"{rest.get('name')}: {_THANOS_FIELD} {value!r} is not abort or warn")
        out.append(rest)
    return out


def _check_wrapped(path: Path, keys: tuple[str, ...], label: str) -> CheckResult:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in keys:
            data = data[key]
        if path.name.endswith(".thanos-ruler.yml"):
            data = _without_thanos_field(data)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
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
    """Check every service's rule file and run its promtool tests; check every target's file there too."""
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
    for suffix, tool in _PLAIN.items():
        for path in sorted(alerts.glob(f"*{suffix}")) if alerts.is_dir() else []:
            jobs.append(("check" if tool == TOOL else "vmalert", path, f"{ALERTS_DIR}/{path.name}", ()))

    def run(job: tuple[str, Path, str, tuple[str, ...]]) -> CheckResult:
        kind, path, label, keys = job
        if kind == "check":
            return _check_rules(path, label)
        if kind == "wrapped":
            return _check_wrapped(path, keys, label)
        if kind == "vmalert":
            return _vmalert_dry_run(path, label)
        return _test_rules(path, label)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results.extend(pool.map(run, jobs))
    return results
