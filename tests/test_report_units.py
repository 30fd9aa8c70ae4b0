"""`slokit report` without Prometheus data: periods, the arithmetic of the model, exit codes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from slokit.cli.report import EXIT_FAILED, EXIT_MET, EXIT_NO_DATA, exit_code
from slokit.report import jsondoc, markdown
from slokit.report.model import Buckets, Report, ServiceReport, SLOParams, build_slo_report, step_for
from slokit.report.period import PeriodError, parse_at, resolve
from slokit.stack import free_port

NOW = datetime(2026, 12, 2, 15, 37, 12, tzinfo=UTC)
SPECS = Path(__file__).parent / "report"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("at", "start", "days"), [
    ("2026-02-01", utc(2026, 2, 1), 28),
    ("2026-02-28T23:59:59Z", utc(2026, 2, 1), 28),
    ("2028-02-10", utc(2028, 2, 1), 29),
    ("2026-04-30T12:00:00+02:00", utc(2026, 4, 1), 30),
    ("2026-01-31", utc(2026, 1, 1), 31),
    ("2025-12-31T23:00:00Z", utc(2025, 12, 1), 31),
])
def test_calendar_month_contains_at(at: str, start: datetime, days: int) -> None:
    p = resolve("calendar-month", parse_at(at), NOW if start.year < 2028 else utc(2029, 1, 1))
    assert (p.start, p.end, p.complete) == (start, start + timedelta(days=days), True)


def test_calendar_month_defaults_to_the_last_complete_month() -> None:
    assert resolve("calendar-month", None, NOW).start == utc(2026, 11, 1)
    assert resolve("calendar-month", None, utc(2026, 1, 1, 0, 30)).start == utc(2025, 12, 1)
    assert resolve("calendar-month", None, utc(2026, 1, 1, 0, 30)).end == utc(2026, 1, 1)


def test_month_in_progress_ends_now_and_says_so() -> None:
    p = resolve("calendar-month", parse_at("2026-12-01"), NOW)
    assert (p.start, p.end, p.complete) == (utc(2026, 12, 1), utc(2026, 12, 2, 15, 37), False)
    assert p.title == "2026-12 (to date)"


def test_fixed_periods_end_at_at_or_the_start_of_this_hour() -> None:
    assert resolve("7d", None, NOW).end == utc(2026, 12, 2, 15)
    assert resolve("7d", None, NOW).start == utc(2026, 11, 25, 15)
    assert resolve("30d", parse_at("1767225600"), NOW).start == utc(2025, 12, 2)
    with pytest.raises(PeriodError, match="in the future"):
        resolve("1d", utc(2027, 1, 1), NOW)
    with pytest.raises(PeriodError, match="not a time"):
        parse_at("yesterday")


def test_step_divides_window_and_period() -> None:
    assert step_for(timedelta(days=30), timedelta(days=1)) == timedelta(hours=1)
    assert step_for(timedelta(minutes=90), timedelta(days=1)) == timedelta(minutes=30)


def _params(objective: str = "0.99", window_h: int = 2) -> SLOParams:
    return SLOParams("svc", "avail", "", Fraction(objective), timedelta(hours=window_h), f"{window_h}h", "http_errors")


def test_model_arithmetic_and_no_traffic() -> None:
    period = resolve("1d", utc(2026, 1, 2), NOW)
    step = timedelta(hours=1)
    # 2h window + 24h period = 26 hourly buckets; hour 5 of the day is quiet, hour 10 has 50 % errors.
    total = [100.0] * 26
    bad = [1.0] * 26
    total[2 + 5], bad[2 + 5] = 0.0, 0.0
    bad[2 + 10] = 50.0
    r = build_slo_report(_params(), period, Buckets(step, period.end, tuple(bad), tuple(total)), "recorded")
    assert r.period_events == 2300 and r.period_bad_events == 22 + 50
    assert r.period_sli == pytest.approx(1 - 72 / 2300)
    assert r.window_sli == pytest.approx(0.99)
    assert r.budget_remaining_start == pytest.approx(0.0)  # 1 % errors on a 1 % budget
    assert r.budget_remaining_end == pytest.approx(0.0)
    assert r.budget_consumed == pytest.approx(72 / (0.01 * 200))
    quiet = r.sli_over_time[5]
    assert quiet.value is None, "an hour without traffic is a gap, not 100 %"
    # The burn-down point right after the 50 % hour: window = hours 9 and 10 -> 51 bad of 200.
    assert r.burn_down[11].value == pytest.approx(1 - (51 / 200) / 0.01)
    assert r.worst_hours[0].bad_events == 50 and r.worst_hours[0].start == utc(2026, 1, 1, 10)
    assert r.verdict == "at risk"

    empty = build_slo_report(_params(), period, Buckets(step, period.end, (0.0,) * 26, (0.0,) * 26), "recorded")
    assert empty.period_sli is None and empty.window_sli is None and empty.budget_remaining_end is None
    assert empty.verdict == "no data" and empty.reason == "no traffic in the period"
    report = Report(period, NOW, "http://127.0.0.1:9090", (ServiceReport("svc", "team", (r, empty)),))
    assert "| svc | avail | 99.000% | no data | no data (2h) |" in markdown.render(report)
    doc = json.loads(jsondoc.render(report))
    jsonschema.validate(doc, jsondoc.schema())
    assert doc["services"][0]["slos"][1]["period"]["sli"] is None


@pytest.mark.parametrize(("bad_per_hour", "verdict", "code", "at_risk_code"), [
    (0.1, "met", EXIT_MET, EXIT_MET),
    (0.8, "at risk", EXIT_MET, EXIT_FAILED),
    (2.0, "breached", EXIT_FAILED, EXIT_FAILED),
])
def test_verdicts_and_exit_codes(bad_per_hour: float, verdict: str, code: int, at_risk_code: int) -> None:
    period = resolve("1d", utc(2026, 1, 2), NOW)
    data = Buckets(timedelta(hours=1), period.end, (bad_per_hour,) * 26, (100.0,) * 26)
    r = build_slo_report(_params(), period, data, "raw")
    assert r.verdict == verdict
    report = Report(period, NOW, "x", (ServiceReport("svc", "team", (r,)),))
    assert exit_code(report, "breached") == code
    assert exit_code(report, "at-risk") == at_risk_code
    missing = build_slo_report(_params(), period, Buckets(timedelta(hours=1), period.end, (0.0,) * 26, (0.0,) * 26),
                               "missing")
    both = Report(period, NOW, "x", (ServiceReport("svc", "team", (r, missing)),))
    assert exit_code(both, "breached") == (code if code else EXIT_NO_DATA)


def slokit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slokit", "report", *args], capture_output=True, text=True,
                          timeout=60)


def test_unreachable_prometheus_is_exit_3_without_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = slokit(str(SPECS), "--prometheus", url, "--retries", "1", "--backoff", "0")
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (f"slokit report: cannot get an answer from Prometheus at {url}: "
                                                    "connection refused (2 attempts)")


def test_credentials_in_the_url_are_refused_and_never_shown() -> None:
    """As in every command that reads Prometheus: a usage error that names the options to use instead."""
    proc = slokit(str(SPECS), "--prometheus", f"http://user:hunter2@127.0.0.1:{free_port()}", "--retries", "0")
    assert proc.returncode == 2 and "hunter2" not in proc.stderr and "user:" not in proc.stderr
    assert "must not contain credentials; pass them with --prometheus-bearer-token-file" in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "md", "--format", "json"], "several --format values need --out DIR"),
    (["--post-slack"], "--post-slack needs --slack-webhook-file FILE"),
    (["--post-slack", "--slack-webhook-file", "/nonexistent/hook"], "cannot read the Slack webhook file"),
    (["--at", "soon"], "--at 'soon' is not a time"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    proc = slokit(str(SPECS), "--prometheus", "http://127.0.0.1:9", *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_no_url_and_bad_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    proc = slokit(str(SPECS))
    assert proc.returncode == 2 and "no Prometheus URL" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("service: x\nowner: y\nslos:\n  - name: a\n    objective: 120\n"
                   "    sli: {http_errors: {status: '5..'}}\n")
    proc = slokit(str(bad), "--prometheus", "http://127.0.0.1:9")
    assert proc.returncode == 1 and f"{bad}:5:" in proc.stderr and "Traceback" not in proc.stderr


def test_a_100_percent_objective_has_no_budget_share_but_can_breach() -> None:
    period = resolve("1d", utc(2026, 1, 2), NOW)
    data = Buckets(timedelta(hours=1), period.end, (0.0,) * 25 + (1.0,), (100.0,) * 26)
    r = build_slo_report(_params("1"), period, data, "recorded")
    assert r.verdict == "breached"
    assert r.budget_remaining_end is None and r.budget_consumed is None and r.period_burn_rate is None
    report = Report(period, NOW, "x", (ServiceReport("svc", "team", (r,)),))
    jsonschema.validate(json.loads(jsondoc.render(report)), jsondoc.schema())


def test_coverage_counts_from_the_recordings_first_bucket() -> None:
    """Rules loaded 10 hours before the end of a 1d period (a 1d window): the buckets before hold no steps
    and no events either way, so coverage counts from the first recorded bucket, which may start within it."""
    period = resolve("1d", utc(2026, 1, 2), NOW)
    n = 48
    covered = (0.0,) * 38 + (0.5,) + (1.0,) * 9
    data = Buckets(timedelta(hours=1), period.end, (0.0,) * n, (0.0,) * 38 + (1000.0,) * 10, covered)
    r = build_slo_report(_params(window_h=24), period, data, "recorded")
    assert (r.coverage_period, r.coverage_window, r.verdict) == (1.0, 1.0, "met")
    holed = build_slo_report(_params(window_h=24), period, Buckets(data.step, data.end, data.bad, data.total,
                                                        (0.0,) * 38 + (0.5,) + (1.0,) * 4 + (0.0,) + (1.0,) * 4),
                             "recorded")
    assert holed.coverage_window == pytest.approx(0.9) and holed.verdict == "at risk"
