"""Which binaries slokit runs: overrides, a chosen tool set, the newest installed, then PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slokit import toolchain
from slokit.toolchain import ToolMissing

ROOT = Path(__file__).resolve().parent.parent


def fake_set(base: Path, name: str) -> Path:
    bin_dir = base / name / "bin"
    bin_dir.mkdir(parents=True)
    for tool in toolchain.TOOLS:
        exe = bin_dir / tool
        exe.write_text("#!/bin/sh\n", encoding="utf-8")
        exe.chmod(0o755)
    return bin_dir


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty tools folder, no overrides, nothing on PATH."""
    for var in [*toolchain.TOOLS.values(), "SLOKIT_TOOLS"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLOKIT_TOOLS_DIR", str(tmp_path / "tools"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    return tmp_path / "tools"


def test_the_versions_file_lists_the_sets_oldest_first() -> None:
    names = [ts.name for ts in toolchain.toolsets()]
    assert names == ["2.42", "2.53", "3.5"]
    assert [ts.major for ts in toolchain.toolsets()] == [2, 2, 3]
    assert [ts.alertmanager for ts in toolchain.toolsets()] == ["0.25", "0.28", "0.33"]


def test_the_newest_installed_set_is_the_default(clean: Path) -> None:
    fake_set(clean, "2.42")
    newest = fake_set(clean, "3.5")
    assert toolchain.path("promtool") == str(newest / "promtool")
    assert toolchain.describe() == "tool set 3.5 (Prometheus 3.5, Alertmanager 0.33)"


def test_slokit_tools_picks_a_set_and_an_override_wins(clean: Path, monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    old = fake_set(clean, "2.42")
    fake_set(clean, "3.5")
    monkeypatch.setenv("SLOKIT_TOOLS", "2.42")
    assert toolchain.path("amtool") == str(old / "amtool")
    own = tmp_path / "my-promtool"
    own.write_text("#!/bin/sh\n", encoding="utf-8")
    own.chmod(0o755)
    monkeypatch.setenv("SLOKIT_PROMTOOL", str(own))
    assert toolchain.path("promtool") == str(own)
    assert toolchain.path("amtool") == str(old / "amtool")  # the others still come from the set
    assert toolchain.describe() == f"tool set 2.42 (Prometheus 2.42, Alertmanager 0.25); SLOKIT_PROMTOOL={own}"


def test_unknown_or_missing_sets_and_nothing_anywhere_are_clear_errors(clean: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOKIT_TOOLS", "9.9")
    with pytest.raises(ToolMissing, match=r"unknown tool set '9.9' \(SLOKIT_TOOLS\); known: 2.42, 2.53, 3.5"):
        toolchain.path("promtool")
    monkeypatch.setenv("SLOKIT_TOOLS", "2.53")
    with pytest.raises(ToolMissing, match=r"tool set 2.53 \(SLOKIT_TOOLS\) is not installed: run scripts/install"):
        toolchain.path("promtool")
    monkeypatch.delenv("SLOKIT_TOOLS")
    with pytest.raises(ToolMissing, match=r"promtool not found \(no tool set installed, not on PATH\)"):
        toolchain.path("promtool")


def test_a_set_missing_one_binary_is_not_installed(clean: Path) -> None:
    bin_dir = fake_set(clean, "3.5")
    (bin_dir / "amtool").unlink()
    assert toolchain.installed() == []


def test_every_set_is_installed_and_reports_its_versions() -> None:
    """What `make test` installed: each binary answers with its set's version (the wrapper included)."""
    for ts in toolchain.toolsets():
        bin_dir = toolchain.installed_dir(ts)
        assert bin_dir is not None, f"tool set {ts.name} is not installed (make test installs it)"
        for tool, version in (("promtool", ts.prometheus), ("prometheus", ts.prometheus), ("amtool", ts.alertmanager),
                              ("prometheus-alertmanager", ts.alertmanager)):
            out = subprocess.run([str(bin_dir / tool), "--version"], capture_output=True, text=True, check=False)
            assert f"version {version}." in (out.stdout + out.stderr).splitlines()[0], (tool, out.stdout + out.stderr)


def test_check_on_the_oldest_set_passes_and_says_which_tools_ran(tmp_path: Path) -> None:
    """`SLOKIT_TOOLS=2.42 slokit check`, as a user on Debian 12's Prometheus would run it."""
    name = toolchain.toolsets()[0].name
    env = {**os.environ, "SLOKIT_TOOLS": name}
    for var in toolchain.TOOLS.values():
        env.pop(var, None)
    cli = [sys.executable, "-m", "slokit"]
    spec = str(ROOT / "slo" / "onboarding.yaml")
    subprocess.run([*cli, "generate", spec, "--out", str(tmp_path)], env=env, capture_output=True, check=True)
    proc = subprocess.run([*cli, "check", spec, "--out", str(tmp_path)], env=env, capture_output=True, text=True,
                          check=False, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ts = toolchain.toolset(name)
    assert proc.stdout.startswith(f"using tool set {name} (Prometheus {ts.prometheus}, Alertmanager {ts.alertmanager})")


def test_victoria_metrics_binaries_come_from_the_engine_or_an_override(clean: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (vm,) = toolchain.engines()
    assert (vm.name, vm.package, vm.debian_suite) == ("vm", "victoria-metrics", "forky")
    assert set(vm.binaries) == set(toolchain.ENGINE_TOOLS)
    for var in toolchain.ENGINE_TOOLS.values():
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ToolMissing, match=r"vmalert not found \(no engine installed, not on PATH\).*SLOKIT_VMALERT"):
        toolchain.path("vmalert")
    bin_dir = clean / "vm" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in toolchain.ENGINE_TOOLS:
        (bin_dir / tool).write_text("#!/bin/sh\n", encoding="utf-8")
        (bin_dir / tool).chmod(0o755)
    assert toolchain.path("vmalert-tool") == str(bin_dir / "vmalert-tool")
    own = tmp_path / "my-vmalert"
    own.write_text("#!/bin/sh\n", encoding="utf-8")
    own.chmod(0o755)
    monkeypatch.setenv("SLOKIT_VMALERT", str(own))
    assert toolchain.path("vmalert") == str(own)
    assert toolchain.path("vmagent") == str(bin_dir / "vmagent")


def test_the_engine_is_installed_with_its_recorded_version() -> None:
    """What `make test` installed: Debian's VictoriaMetrics of engines.tsv, whose binaries run here."""
    (vm,) = toolchain.engines()
    for tool in vm.binaries:
        path = Path(toolchain.path(tool))
        assert path.parent.parent.name == vm.name, f"{tool} is not the installed engine's: {path}"
    recorded = (Path(toolchain.path("vmalert")).parent.parent / "version").read_text().strip()
    assert recorded.startswith(vm.version + "."), recorded
    proc = subprocess.run([toolchain.path("victoria-metrics"), "-version"], capture_output=True, text=True,
                          check=False, timeout=30)
    assert proc.returncode == 0, proc.stderr  # its shared libraries (libzstd) are there
