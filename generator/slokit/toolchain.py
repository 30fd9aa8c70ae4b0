"""Which promtool, amtool, prometheus and prometheus-alertmanager slokit runs.

Users run several Prometheus generations at once (2.x LTS and 3.x), and what the generated rules and tests
mean depends on the one that evaluates them, so the tools are chosen in one place. In order:

1. ``SLOKIT_PROMTOOL``, ``SLOKIT_AMTOOL``, ``SLOKIT_PROMETHEUS``, ``SLOKIT_ALERTMANAGER``: one binary each,
   for a user who brings their own;
2. ``SLOKIT_TOOLS=<name>``: a tool set of ``toolsets.tsv`` installed by ``scripts/install-tools.sh`` under
   the tools folder (``SLOKIT_TOOLS_DIR``, else ``.tools`` in the working directory or the source checkout);
3. the newest tool set installed there;
4. ``PATH``.
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

INSTALL_HINT = (
    "run scripts/install-tools.sh (make does), or name your own binary with "
    "SLOKIT_PROMTOOL, SLOKIT_AMTOOL, SLOKIT_PROMETHEUS or SLOKIT_ALERTMANAGER"
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


@cache
def toolsets() -> tuple[ToolSet, ...]:
    """Every tool set slokit is tested on, oldest first."""
    text = resources.files("slokit").joinpath("toolsets.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return tuple(ToolSet(*(cell.strip() for cell in row)) for row in rows)


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


def path(tool: str) -> str:
    """The binary to run for ``tool`` (a key of :data:`TOOLS`); ToolMissing says where it looked."""
    if override := os.environ.get(TOOLS[tool]):
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise ToolMissing(f"{TOOLS[tool]}={override} is not an executable file")
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



def describe() -> str:
    """Which tools are in force, for the head of ``slokit check``'s report (CI logs should say what ran)."""
    overrides = [f"{var}={os.environ[var]}" for var in TOOLS.values() if os.environ.get(var)]
    ts = selected()
    base = (f"tool set {ts.name} (Prometheus {ts.prometheus}, Alertmanager {ts.alertmanager})" if ts is not None
            else "promtool and amtool from PATH")
    return "; ".join([base, *overrides])
