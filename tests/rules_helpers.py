"""Helpers of the rules tests: model objects built directly, and promtool runs on generated rules."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml

from slokit import toolchain
from slokit.rules.build import service_groups
from slokit.semconv import DEFAULT_BUCKETS, OTEL
from slokit.spec.model import SLI, SLO, Guardrail, Service
from slokit.spec.units import Duration

#: Runs a test once per tool set (conftest.py's ``toolset``): what rules mean depends on the Prometheus.
each_toolset = pytest.mark.usefixtures("toolset")


def d(text: str) -> Duration:
    return Duration.parse(text)


def make_slo(name: str, objective: str, sli: SLI, window: str = "30d", alerts: Sequence[Guardrail] = (),
             **kw: Any) -> SLO:
    return SLO(name=name, objective=Fraction(objective) / 100, window=d(window), sli=sli, alerts=tuple(alerts), **kw)


def make_service(*slos: SLO, name: str = "svc", selector: Mapping[str, str] | None = None,
                 labels: Mapping[str, str] | None = None, buckets: Sequence[float] = DEFAULT_BUCKETS) -> Service:
    return Service(name=name, owner="team-a", slos=slos, metrics=OTEL, buckets=tuple(buckets),
                   selector=MappingProxyType(dict(selector or {"job": name})),
                   labels=MappingProxyType(dict(labels or {})))


def run_promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """promtool of the tool set in force (``SLOKIT_TOOLS``, else the newest installed)."""
    return subprocess.run([toolchain.path("promtool"), *args], capture_output=True, text=True, timeout=300,
                          check=False, cwd=cwd)


def promtool_test(tmp_path: Path, service: Service, tests: list[dict[str, Any]], interval: str = "1m") -> None:
    """Write the service's rules and the given promtool test groups, and require promtool to pass them."""
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": service_groups(service)}, sort_keys=False), encoding="utf-8")
    test = tmp_path / "rules.test.yml"
    test.write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": interval, "tests": tests},
                                   sort_keys=False), encoding="utf-8")
    proc = run_promtool("test", "rules", str(test))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def run_vmalert_tests(directory: Path, test_files: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run promtool test files under ``vmalert-tool unittest``: the same format, with ``promql_expr_test``
    named ``metricsql_expr_test``. Copies sit next to the originals so that their ``rule_files`` resolve."""
    try:
        tool = toolchain.path("vmalert-tool")
    except toolchain.ToolMissing as e:
        pytest.fail(f"vmalert-tool is not installed: {e}", pytrace=False)
    args = [tool, "unittest"]
    for name in test_files:
        src = directory / name
        copy = src.with_name(src.name.replace(".yml", ".vm.yml"))
        copy.write_text(src.read_text(encoding="utf-8").replace("promql_expr_test:", "metricsql_expr_test:"),
                        encoding="utf-8")
        args += ["--files", str(copy)]
    return subprocess.run(args, capture_output=True, text=True, timeout=1800, check=False, cwd=directory)


def counter(per_minute: Sequence[tuple[int, float]]) -> str:
    """Expanding notation of a counter from (minutes, increase per minute) segments, starting at 0."""
    parts, value = ["0"], 0.0
    for minutes, step in per_minute:
        parts.append(f"{value + step}+{step}x{minutes - 1}")
        value += step * minutes
    return " ".join(parts)
