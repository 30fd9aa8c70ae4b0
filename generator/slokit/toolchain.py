"""Which promtool, amtool, prometheus and prometheus-alertmanager slokit runs.

Users run several Prometheus generations at once (2.x LTS and 3.x), and what the generated rules and tests
mean depends on the one that evaluates them, so the tools are chosen in one place. In order:

1. ``SLOKIT_PROMTOOL``, ``SLOKIT_AMTOOL``, ``SLOKIT_PROMETHEUS``, ``SLOKIT_ALERTMANAGER``: one binary each,
   for a user who brings their own;
2. ``SLOKIT_TOOLS=<name>``: a tool set of ``toolsets.tsv`` installed by ``scripts/install-tools.sh`` under
   the tools folder (``SLOKIT_TOOLS_DIR``, else ``.tools`` in the working directory or the source checkout);
3. the newest tool set installed there;
4. ``PATH``.

VictoriaMetrics' binaries (``victoria-metrics``, ``vmagent``, ``vmalert``, ``vmalert-tool``) come from one
engine of ``engines.tsv`` (Debian's ``victoria-metrics`` package, unpacked into ``.tools/vm``), with the same
order: ``SLOKIT_VICTORIA_METRICS``, ``SLOKIT_VMAGENT``, ``SLOKIT_VMALERT``, ``SLOKIT_VMALERT_TOOL``; the
installed engine; ``PATH``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

#: The binaries of a tool set, by the name slokit asks for them, and the variable that overrides each.
TOOLS: dict[str, str] = {
    "promtool": "SLOKIT_PROMTOOL",
    "amtool": "SLOKIT_AMTOOL",
    "prometheus": "SLOKIT_PROMETHEUS",
    "prometheus-alertmanager": "SLOKIT_ALERTMANAGER",
}

#: The binaries of the scale-out engines (``engines.tsv``), by name, and the variable that overrides each.
ENGINE_TOOLS: dict[str, str] = {
    "victoria-metrics": "SLOKIT_VICTORIA_METRICS",
    "vmagent": "SLOKIT_VMAGENT",
    "vmalert": "SLOKIT_VMALERT",
    "vmalert-tool": "SLOKIT_VMALERT_TOOL",
}

INSTALL_HINT = (
    "run scripts/install-tools.sh (make does), or name your own binary with "
    "SLOKIT_PROMTOOL, SLOKIT_AMTOOL, SLOKIT_PROMETHEUS or SLOKIT_ALERTMANAGER"
)
ENGINE_HINT = (
    "run scripts/install-tools.sh (make does), or name your own binary with "
    "SLOKIT_VICTORIA_METRICS, SLOKIT_VMAGENT, SLOKIT_VMALERT or SLOKIT_VMALERT_TOOL"
)


class ToolMissing(RuntimeError):
    """An external tool slokit needs is not installed where it looked."""


@dataclass(frozen=True)
class ToolSet:
    """One row of ``toolsets.tsv``: a Prometheus and an Alertmanager release tested together."""

    name: str
    debian_suite: str
    prometheus: str
    alertmanager: str

    @property
    def major(self) -> int:
        """Prometheus' major version: 3 reads ranges left-open, 2 closed (the generated tests care)."""
        return int(self.prometheus.split(".")[0])


@dataclass(frozen=True)
class Engine:
    """One row of ``engines.tsv``: a Debian package holding a scale-out engine's binaries."""

    name: str
    debian_suite: str
    package: str
    version: str
    binaries: tuple[str, ...]


def _rows(filename: str) -> list[list[str]]:
    text = resources.files("slokit").joinpath(filename).read_text(encoding="utf-8")
    return [[cell.strip() for cell in line.split("\t")] for line in text.splitlines()
            if line.strip() and not line.startswith("#")]


@cache
def engines() -> tuple[Engine, ...]:
    """Every scale-out engine slokit is tested on."""
    return tuple(Engine(name, suite, package, version, tuple(binaries.split(",")))
                 for name, suite, package, version, binaries in _rows("engines.tsv"))


@cache
def toolsets() -> tuple[ToolSet, ...]:
    """Every tool set slokit is tested on, oldest first."""
    return tuple(ToolSet(*row) for row in _rows("toolsets.tsv"))


def toolset(name: str) -> ToolSet:
    for candidate in toolsets():
        if candidate.name == name:
            return candidate
    known = ", ".join(t.name for t in toolsets())
    raise ToolMissing(f"unknown tool set {name!r} (SLOKIT_TOOLS); known: {known}")


def tools_dirs() -> list[Path]:
    """Where installed tool sets are looked for, first match wins."""
    if env := os.environ.get("SLOKIT_TOOLS_DIR"):
        return [Path(env)]
    checkout = Path(__file__).resolve().parents[2] / ".tools"  # generator/slokit/ -> the source checkout
    return list(dict.fromkeys([Path.cwd() / ".tools", checkout]))


def installed_dir(ts: ToolSet) -> Path | None:
    """The ``bin`` folder of ``ts`` when all four binaries are installed, else None."""
    for base in tools_dirs():
        bin_dir = base / ts.name / "bin"
        if all(os.access(bin_dir / tool, os.X_OK) for tool in TOOLS):
            return bin_dir
    return None


def installed() -> list[ToolSet]:
    """The tool sets installed under the tools folder, oldest first."""
    return [ts for ts in toolsets() if installed_dir(ts) is not None]


def selected() -> ToolSet | None:
    """The tool set in force: ``SLOKIT_TOOLS``, else the newest installed, else None (then PATH is used)."""
    if name := os.environ.get("SLOKIT_TOOLS"):
        ts = toolset(name)
        if installed_dir(ts) is None:
            raise ToolMissing(f"tool set {name} (SLOKIT_TOOLS) is not installed: {INSTALL_HINT}")
        return ts
    found = installed()
    return found[-1] if found else None


def _override(var: str) -> str | None:
    if override := os.environ.get(var):
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise ToolMissing(f"{var}={override} is not an executable file")
        return override
    return None


def path(tool: str) -> str:
    """The binary to run for ``tool`` (a key of :data:`TOOLS` or :data:`ENGINE_TOOLS`); ToolMissing says where
    it looked."""
    if tool in ENGINE_TOOLS:
        return _engine_path(tool)
    if override := _override(TOOLS[tool]):
        return override
    ts = selected()
    if ts is not None:
        bin_dir = installed_dir(ts)
        assert bin_dir is not None  # selected() only returns installed sets
        return str(bin_dir / tool)
    found = shutil.which(tool)
    if found is None:
        raise ToolMissing(f"{tool} not found (no tool set installed, not on PATH): {INSTALL_HINT}")
    return found

def _engine_path(tool: str) -> str:
    if override := _override(ENGINE_TOOLS[tool]):
        return override
    for engine in engines():
        if tool not in engine.binaries:
            continue
        for base in tools_dirs():
            candidate = base / engine.name / "bin" / tool
            if os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which(tool)
    if found is None:
        raise ToolMissing(f"{tool} not found (no engine installed, not on PATH): {ENGINE_HINT}")
    return found


def describe() -> str:
    """Which tools are in force, for the head of ``slokit check``'s report (CI logs should say what ran)."""
    overrides = [f"{var}={os.environ[var]}" for var in TOOLS.values() if os.environ.get(var)]
    ts = selected()
    base = (f"tool set {ts.name} (Prometheus {ts.prometheus}, Alertmanager {ts.alertmanager})" if ts is not None
            else "promtool and amtool from PATH")
    return "; ".join([base, *overrides])
