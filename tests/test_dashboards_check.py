"""``slokit check`` on dashboards: a generated tree passes; each kind of breakage is reported by file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slokit.artifacts import Options
from slokit.checks import checkers
from slokit.dashboards import OVERVIEW_FILE, PROVISIONING_FILE, emit, file_name
from slokit.dashboards.check import check_dashboards, lint
from slokit.spec.model import Service


def write_tree(root: Path, services: list[Service]) -> None:
    for rel, text in emit(services, Options()).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def edit(root: Path, svc: Service, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "dashboards" / file_name(svc)
    model = json.loads(path.read_text(encoding="utf-8"))
    change(model)
    path.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _steps(model: dict[str, Any], index: int) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = model["panels"][index]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return steps


def failures(root: Path, svc: Service) -> dict[str, str]:
    return {r.target: r.detail for r in check_dashboards(root, [svc]) if not r.ok}


def test_registered_in_slokit_check() -> None:
    assert check_dashboards in checkers()


def test_generated_tree_passes(onboarding: Service, tmp_path: Path) -> None:
    write_tree(tmp_path, [onboarding])
    results = check_dashboards(tmp_path, [onboarding])
    assert {r.target for r in results} == {f"dashboards/{n}" for n in
                                           (file_name(onboarding), OVERVIEW_FILE, PROVISIONING_FILE)}
    assert all(r.ok for r in results), [r.detail for r in results if not r.ok]


def test_missing_and_stale_files(onboarding: Service, tmp_path: Path) -> None:
    write_tree(tmp_path, [onboarding])
    (tmp_path / "dashboards" / OVERVIEW_FILE).unlink()
    (tmp_path / "dashboards" / PROVISIONING_FILE).write_text("apiVersion: 1\nproviders: []\n", encoding="utf-8")
    (tmp_path / "dashboards" / "gone.json").write_text("{}", encoding="utf-8")
    results = {r.target: r for r in check_dashboards(tmp_path, [onboarding])}
    assert "missing" in results[f"dashboards/{OVERVIEW_FILE}"].detail
    assert "stale" in results[f"dashboards/{PROVISIONING_FILE}"].detail
    assert results["dashboards/gone.json"].level == "warning"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["panels"][1]["targets"][0].update(datasource=None), "datasource None"),
        (lambda m: m["panels"][1].pop("datasource"), "no datasource"),
        (lambda m: m["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"][0].update(value="null"),
         "base threshold step value is 'null'"),
        (lambda m: _steps(m, 2).insert(1, _steps(m, 2).pop()), "must increase"),
        (lambda m: m["panels"][2].update(id=m["panels"][1]["id"]), "duplicate panel id"),
        (lambda m: m["panels"][2]["gridPos"].update(x=m["panels"][1]["gridPos"]["x"]), "overlaps"),
        (lambda m: m["panels"][2]["gridPos"].update(x=20), "outside the 24-column grid"),
        (lambda m: m["panels"][1].update(type="graph"), "not a modern Grafana panel"),
        (lambda m: m.update(uid="x" * 41), "must be 1 to 40 characters"),
        (lambda m: m["panels"][1]["targets"][0].update(expr='sum(rate(x{job="a"}[5m])'), "promtool rejects"),
    ],
    ids=["null-target-datasource", "no-panel-datasource", "string-null-step", "decreasing-steps", "duplicate-id",
         "overlap", "too-wide", "angular-graph", "long-uid", "bad-promql"],
)
def test_each_breakage_is_reported(onboarding: Service, tmp_path: Path, change: Any, message: str) -> None:
    write_tree(tmp_path, [onboarding])
    edit(tmp_path, onboarding, change)
    detail = failures(tmp_path, onboarding)[f"dashboards/{file_name(onboarding)}"]
    assert message in detail, detail
    if message == "promtool rejects":
        assert "SLI (30d)" in detail  # the failing query is named by its panel, not a rule index


def test_lint_accepts_every_generated_model(onboarding: Service) -> None:
    for rel, text in emit([onboarding], Options()).items():
        if rel.endswith(".json"):
            assert lint(json.loads(text)) == []
