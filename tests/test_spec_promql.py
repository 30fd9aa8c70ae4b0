"""`validate` parses every PromQL a spec holds with Prometheus' own parser and reports each error once, at
the spec's line and column; `generate` then writes nothing. Without promtool, validate still works and says
the queries were not parsed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from slokit.cli import main

SPEC = """service: ledger
owner: money
slos:
  - name: writes
    objective: 99.9
    sli:
      ratio:
        bad: sum(rate(postings_failed_total{job="x"[{{window}}]))
        total: 'sum(rate(postings_total[{{ window }}])) by'
  - name: reads
    objective: 99
    sli:
      ratio:
        good: |
          sum(rate(reads_ok_total[{{window}}]))
            + foo{
        total: sum(rate(reads_total[{{window}}]))
  - name: fine
    objective: 99
    sli:
      ratio:
        bad: sum by (job) (rate(x_failed_total{job=~"a|b"}[{{window}}]))
        total: sum by (job) (rate(x_total[{{window}}]))
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_each_broken_query_is_reported_once_at_its_place(tmp_path: Path) -> None:
    spec = tmp_path / "ledger.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    code, _, err = run("validate", str(spec))
    assert code == 1
    errors = [line for line in err.splitlines() if "warning" not in line]
    assert errors == [
        f"{spec}:8:52: slos[0].sli.ratio.bad: not valid PromQL: unexpected character inside braces: '['",
        f'{spec}:9:59: slos[0].sli.ratio.total: not valid PromQL: unexpected end of input in grouping opts, '
        'expected "("',
        f"{spec}:14:15: slos[1].sli.ratio.good: not valid PromQL (line 3, column 1 of the query): unexpected end "
        "of input inside braces",
        "3 errors in 1 file(s)",
    ]
    assert "nothing written" not in err  # validate never writes


def test_generate_writes_nothing_for_a_broken_query(tmp_path: Path) -> None:
    spec = tmp_path / "ledger.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    code, _, err = run("generate", str(spec), "--out", str(tmp_path / "out"))
    assert code == 1
    assert err.count("not valid PromQL") == 3
    assert err.rstrip().endswith("3 errors in 1 file(s); nothing written")
    assert not (tmp_path / "out").exists()


def test_valid_queries_pass(tmp_path: Path) -> None:
    spec = tmp_path / "ledger.yaml"
    spec.write_text(SPEC.split("  - name: reads")[0].replace("{job=\"x\"[", "{job=\"x\"}[").replace(" by'", "'"),
                    encoding="utf-8")
    code, out, err = run("validate", str(spec))
    assert code == 0, err
    assert out.startswith("ok: 1 file(s)")


def test_without_promtool_validate_warns_that_queries_were_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SLOKIT_TOOLS_DIR", str(empty))
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("SLOKIT_PROMTOOL", raising=False)
    monkeypatch.delenv("SLOKIT_TOOLS", raising=False)
    spec = tmp_path / "ledger.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    code, out, err = run("validate", str(spec))
    assert code == 0, err
    assert "warning: promtool is not installed, so the PromQL of ratio SLIs was not parsed" in err
    assert out.startswith("ok: 1 file(s), 1 service(s), 3 SLO(s)")
