"""``slokit check`` for ``dashboards/``: the files are what the specs generate, load in Grafana, and query well.

Grafana cannot run here, so the checks are the properties Grafana relies on and fails on quietly: no null
data source (the panel silently uses the instance default), threshold steps with a real null base and
increasing numbers, unique panel ids, panels inside the 24-column grid without overlaps, no Angular
panels (disabled in Grafana 11), uids within 40 characters. Every query is parsed by the real
``promtool`` (with each variable on "All"), so a query Prometheus would reject fails here, not on a
dashboard at 3 a.m.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from slokit.artifacts import Options
from slokit.check_common import MISSING, STALE, CheckResult, run_tool
from slokit.dashboards import DIR, emit
from slokit.dashboards.grafana import DATASOURCE, MODERN_PANEL_TYPES, WIDTH
from slokit.spec.model import Service

TOOL = "dashboards"
UID_MAX = 40
_VARIABLE = re.compile(r"\$\{?[a-zA-Z_][a-zA-Z0-9_]*(?::[a-z]+)?\}?")


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(model: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, expr) of every target."""
    for panel in panels(model):
        for target in panel.get("targets", []):
            yield f"panel {panel.get('id')} {panel.get('title', '')!r} {target.get('refId')}", str(target.get("expr"))


def _threshold_problems(where: str, th: Any) -> list[str]:
    steps = th.get("steps") if isinstance(th, dict) else None
    if not isinstance(steps, list) or not steps:
        return [f"{where}: thresholds without steps"]
    out = []
    if steps[0].get("value") is not None:
        out.append(f"{where}: base threshold step value is {steps[0].get('value')!r}, not null")
    values = [s.get("value") for s in steps[1:]]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        out.append(f"{where}: threshold step values must be numbers, got {values!r}")
    elif values != sorted(set(values)):
        out.append(f"{where}: threshold step values must increase, got {values!r}")
    return out


def _datasource_problems(node: Any, where: str) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and value != dict(DATASOURCE):
                yield f"{where}: datasource {value!r} (expected the ${{datasource}} variable)"
            yield from _datasource_problems(value, where)
    elif isinstance(node, list):
        for item in node:
            yield from _datasource_problems(item, where)


def _rect(grid: Any) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of a gridPos inside the grid, or None."""
    if not isinstance(grid, dict):
        return None
    values = [grid.get(k) for k in ("x", "y", "w", "h")]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    x, y, w, h = (int(v) for v in values)  # type: ignore[arg-type]
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > WIDTH:
        return None
    return x, y, w, h


def lint(model: dict[str, Any]) -> list[str]:
    """Problems Grafana would show as broken or silently wrong panels; empty when the model is sound."""
    problems: list[str] = []
    uid = model.get("uid")
    if not isinstance(uid, str) or not 0 < len(uid) <= UID_MAX:
        problems.append(f"uid {uid!r} must be 1 to {UID_MAX} characters")
    seen_ids: set[Any] = set()
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(model):
        where = f"panel {panel.get('id')} {panel.get('title', '')!r}"
        if panel.get("type") not in MODERN_PANEL_TYPES:
            problems.append(f"{where}: panel type {panel.get('type')!r} is not a modern Grafana panel")
        if panel.get("id") in seen_ids:
            problems.append(f"{where}: duplicate panel id")
        seen_ids.add(panel.get("id"))
        if panel.get("targets") and "datasource" not in panel:
            problems.append(f"{where}: no datasource (Grafana would use the instance default)")
        problems.extend(_datasource_problems(panel, where))
        field_config = panel.get("fieldConfig", {})
        if "thresholds" in field_config.get("defaults", {}):
            problems.extend(_threshold_problems(where, field_config["defaults"]["thresholds"]))
        for override in field_config.get("overrides", []):
            for prop in override.get("properties", []):
                if prop.get("id") == "thresholds":
                    problems.extend(_threshold_problems(f"{where} override", prop.get("value")))
        rect = _rect(panel.get("gridPos"))
        if rect is None:
            problems.append(f"{where}: gridPos {panel.get('gridPos')!r} outside the {WIDTH}-column grid")
            continue
        area = [(cx, cy) for cx in range(rect[0], rect[0] + rect[2]) for cy in range(rect[1], rect[1] + rect[3])]
        overlap = next((cells[c] for c in area if c in cells), None)
        if overlap is not None:
            problems.append(f"{where}: overlaps {overlap}")
        cells.update(dict.fromkeys(area, where))
    for var in model.get("templating", {}).get("list", []):
        problems.extend(f"variable {var.get('name')!r}: {p}" for p in _datasource_problems(var, "query"))
    return problems


def parse_problems(exprs: Sequence[tuple[str, str]]) -> str | None:
    """promtool's complaint about the queries (variables set to "All"), or None when all parse."""
    if not exprs:
        return None
    rules = [{"record": f"slokit:dashboard_query:{i}", "expr": _VARIABLE.sub(".*", expr)}
             for i, (_, expr) in enumerate(exprs)]
    with tempfile.TemporaryDirectory(prefix="slokit-dashboards-") as tmp:
        path = Path(tmp) / "queries.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}),
                        encoding="utf-8")
        proc = run_tool(["promtool", "check", "rules", str(path)])
    if proc.returncode == 0:
        return None
    # promtool names the failing rule by index; map it back to the panel.
    text = (proc.stdout + proc.stderr).replace(str(path), "queries")
    return re.sub(r"slokit:dashboard_query:(\d+)", lambda m: exprs[int(m.group(1))][0], text).strip()


def check_dashboards(out_dir: Path, services: Sequence[Service]) -> list[CheckResult]:
    results: list[CheckResult] = []
    expected = emit(services, Options())
    for rel in sorted(expected):
        path = out_dir / rel
        if not path.is_file():
            results.append(CheckResult(TOOL, rel, False, MISSING))
            continue
        text = path.read_text(encoding="utf-8")
        stale = [] if text == expected[rel] else [STALE]
        if not rel.endswith(".json"):
            results.append(CheckResult(TOOL, rel, not stale, "\n".join(stale)))
            continue
        try:
            model = json.loads(text)
        except json.JSONDecodeError as exc:
            results.append(CheckResult(TOOL, rel, False, f"not JSON: {exc}"))
            continue
        problems = stale + lint(model)
        parse = parse_problems(list(queries(model)))
        if parse:
            problems.append(f"promtool rejects a query:\n{parse}")
        results.append(CheckResult(TOOL, rel, not problems, "\n".join(problems)))
    for extra in sorted((out_dir / DIR).glob("*.json")) if (out_dir / DIR).is_dir() else []:
        if f"{DIR}/{extra.name}" not in expected:
            results.append(CheckResult(TOOL, f"{DIR}/{extra.name}", False,
                                       "no loaded spec generates this file (a removed service?)", level="warning"))
    return results
