"""`slokit report` on recorded step counts with holes: the coverage of the period and of the SLO window is
shown, and an SLO whose steps are not all counted is never "met" on that basis alone.

A real Prometheus serves backfilled ``slo:sli_total:events_step`` and ``slo:sli_bad:events_step`` samples
(one a minute, as the rules' 1m group records them), with the minutes of a hole left out (missed rule
evaluations). No raw counters exist, so the report reads the recorded source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from slokit import series
from slokit.report.jsondoc import schema
from test_report_verdicts import BAD_TOTAL, SPEC
from verdict_tsdb import openmetrics, serving

LABELS = '{service="pay",slo="checkout"}'
HOURS = 50
#: The report's period is the last day before ``at`` (hour 49), its 1d SLO window the same day: buckets of
#: hours 25 to 49. The hole is 2 of those 24 hours.
AT_HOUR = 49
HOLE = range(30 * 60 + 1, 32 * 60 + 1)


def _report(tmp_path: Path, bad: Callable[[int], float | None], total: Callable[[int], float | None],
            *args: str) -> tuple[int, dict[str, Any], str]:
    start = (time.time() // 3600) * 3600 - (HOURS + 2) * 3600
    gauges = {series.TOTAL_STEP + LABELS: total, series.BAD_STEP + LABELS: bad}
    text = openmetrics({}, start, HOURS * 60, gauges)
    spec = tmp_path / "pay.yaml"
    spec.write_text(SPEC.format(queries=BAD_TOTAL), encoding="utf-8")
    at = datetime.fromtimestamp(start + AT_HOUR * 3600, UTC).isoformat()
    with serving(tmp_path, text) as url:
        def run(fmt: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "slokit", "report", str(spec), "--prometheus", url, "--quiet",
                                   "--retries", "0", "--at", at, "--format", fmt, *args], capture_output=True,
                                  text=True, timeout=120, env={**os.environ, "SLOKIT_DEBUG": ""}, check=False)
        proc, md = run("json"), run("md")
    doc: dict[str, Any] = json.loads(proc.stdout)
    jsonschema.validate(doc, schema())
    (slo,) = doc["services"][0]["slos"]
    return proc.returncode, slo, md.stdout


def _holed(value: float) -> Callable[[int], float | None]:
    return lambda i: None if i in HOLE else value


def test_full_coverage_is_100_percent_and_met(tmp_path: Path) -> None:
    code, slo, md = _report(tmp_path, lambda i: 1, lambda i: 1000)
    assert code == 0 and slo["source"] == "recorded"
    assert slo["verdict"] == "met", slo["reason"]
    assert slo["coverage"] == {"period": 1.0, "window": 1.0}
    assert slo["window_to_end"]["events"] == 24 * 60 * 1000
    assert slo["error_budget"]["events"] == pytest.approx(0.01 * 24 * 60 * 1000)
    assert slo["error_budget"]["events_left"] == pytest.approx(0.01 * 24 * 60 * 1000 - 24 * 60)
    assert "| coverage | 100.0% of the period's rule steps recorded, 100.0% of the SLO window's |" in md
    assert "| error budget in events | 14,400 bad events allowed, 12,960 left |" in md


def test_a_hole_shows_the_coverage_and_is_not_met(tmp_path: Path) -> None:
    code, slo, md = _report(tmp_path, _holed(1), _holed(1000))
    covered = 22 / 24
    assert slo["coverage"]["period"] == pytest.approx(covered) and slo["coverage"]["window"] == pytest.approx(covered)
    assert slo["window_to_end"]["events"] == 22 * 60 * 1000, "the hole's steps hold no counts"
    assert slo["verdict"] == "at risk" and code == 0, "at risk fails only with --fail-on at-risk"
    assert slo["reason"] == ("the recording rules counted only 91.7% of the SLO window's steps, so the budget is known "
                             "for that share only")
    assert ("| error budget in events | 13,200 bad events allowed, 11,880 left (of the 91.7% of the SLO window the "
            "recording rules counted) |") in md
    assert "### pay / checkout: at risk" in md


def test_a_hole_never_turns_a_breach_into_met(tmp_path: Path) -> None:
    code, slo, _ = _report(tmp_path, _holed(20), _holed(1000))
    assert slo["verdict"] == "breached" and code == 1
    assert "below the objective" in slo["reason"] and "counted only 91.7%" in slo["reason"]


@pytest.mark.parametrize("bad", [lambda i: None, _holed(0)], ids=["bad-never-recorded", "bad-missing-for-2h"])
def test_a_missing_bad_step_series_is_no_data_never_met(tmp_path: Path, bad: Callable[[int], float | None]) -> None:
    """The rules record a bad step count (0 when nothing failed) wherever they record a total: a total without
    it is lost data, not a day without bad events."""
    code, slo, md = _report(tmp_path, bad, lambda i: 1000)
    assert slo["verdict"] == "no data" and code == 4
    assert slo["reason"].startswith(f"broken data from Prometheus: the recorded {series.BAD_STEP} is missing where "
                                    f"{series.TOTAL_STEP} has counts, in the bucket ending "), slo["reason"]
    assert slo["period"]["sli"] is None and slo["error_budget"]["remaining_end"] is None
    assert "| pay | checkout | 99.000% | no data | no data (1d) | no data | no data |" in md
