"""Objective 100 % (no error budget) and 99.999 % go through every emitter and pass `slokit check`.

100 % means no bad event is allowed: there is no budget to burn, so no burn-rate alerts and no budget
series (they would divide by zero), while recording rules, guardrails, runbooks and dashboards still work.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from slokit import series
from slokit.cli import main

SPEC = """service: ledger
owner: money
buckets: [100ms, 250ms, 500ms, 1s]
routing:
  page: {{pagerduty: {{routing_key_file: /etc/am/pd}}}}
  ticket: {{slack: {{channel: "#ledger", api_url_file: /etc/am/slack}}}}
slos:
  - name: writes
    objective: {objective}
    sli: {{http_errors: {{status: "5.."}}}}
    alerts:
      - {{error_ratio_above: 1%, for: 5m, severity: page}}
  - name: fast
    objective: {objective}
    window: 28d
    sli: {{http_latency: {{threshold: 250ms}}}}
    alerts:
      - {{p99_above: 1s, for: 10m, severity: ticket}}
  - name: postings
    objective: {objective}
    window: 7d
    sli:
      ratio:
        bad: sum(rate(postings_failed_total[{{{{window}}}}]))
        total: sum(rate(postings_total[{{{{window}}}}]))
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def generated(tmp_path: Path, objective: str) -> tuple[Path, str]:
    spec = tmp_path / "ledger.yaml"
    spec.write_text(SPEC.format(objective=objective), encoding="utf-8")
    code, _, err = run("validate", str(spec))
    assert code == 0, err
    code, _, err = run("generate", str(spec), "--out", str(tmp_path / "out"))
    assert code == 0, err
    return spec, err


@pytest.mark.parametrize("objective", ["100", "99.999"])
def test_generate_and_check_pass_promtool_and_amtool(tmp_path: Path, objective: str, toolset: object) -> None:
    spec, _ = generated(tmp_path, objective)
    code, out, err = run("check", str(spec), "--out", str(tmp_path / "out"))
    assert code == 0, out + err
    assert "FAIL" not in out


def test_objective_100_means_no_budget_in_every_artifact(tmp_path: Path) -> None:
    spec, _ = generated(tmp_path, "100")
    code, _, err = run("validate", str(spec))
    assert code == 0
    warnings = [line for line in err.splitlines() if "objective: warning: 100 % leaves no error budget" in line]
    assert len(warnings) == 3, err  # one per SLO, at the objective
    assert warnings[0].startswith(f"{spec}:9:16: slos[0].objective:")
    out = tmp_path / "out"
    rules = yaml.safe_load((out / "alerts/ledger.rules.yml").read_text())["groups"]
    names = [r.get("alert") or r.get("record") for g in rules for r in g["rules"]]
    exprs = [r["expr"] for g in rules for r in g["rules"]]
    assert "SLOErrorBudgetBurn" not in names
    assert {"SLOErrorRatioHigh", "SLOLatencyP99High"} <= set(names)
    for absent in (series.BUDGET_REMAINING, series.BURN_RATE, series.PERIOD_BURN_RATE):
        assert absent not in names
    assert not [e for e in exprs if "/ 0\n" in e or e.endswith("/ 0")]
    assert "vector(0)" in next(r["expr"] for g in rules for r in g["rules"] if r.get("record") == series.ERROR_BUDGET)
    page = (out / "runbooks/ledger/writes.md").read_text()
    assert "none (objective 100 %)" in page and "0 % error budget" not in page and "above 0%" not in page
    assert "no error budget (objective 100 %): the first bad event misses the SLO" in page
    assert (out / "alerts/alertmanager.yml").is_file()
    board = json.loads((out / "dashboards/ledger.json").read_text())
    texts = [p for p in board["panels"] if p.get("type") == "text" and p.get("title") == "Error budget"]
    assert len(texts) == 3
    assert series.BUDGET_REMAINING not in json.dumps(board)
