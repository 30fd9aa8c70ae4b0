"""`slokit report`: broken data is never "met", owner text is never markup, groups are capped and counted,
``--at now``, plots of one bucket of data.

Broken data twice: against a local server answering crafted JSON (NaN, infinities, negative counts), and
against a real Prometheus serving a ``ratio`` SLI whose good query counts more than its total.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from markdown_it import MarkdownIt

from crafted_prometheus import crafted
from slokit.report import html, jsondoc, markdown, plots, slack
from slokit.report.model import Buckets, Report, ServiceReport, SLOParams, build_slo_report, worst_first
from slokit.report.period import parse_at, resolve
from verdict_tsdb import openmetrics, serving

NOW = datetime(2026, 12, 2, 15, 37, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
SPEC = """service: pay
owner: payments
slos:
  - name: checkout
    objective: 99
    window: 1d
    sli:
      ratio:
        {queries}
"""
BAD_TOTAL = ("bad: 'sum(rate(payments_failed_total[{{window}}]))'\n"
             "        total: 'sum(rate(payments_total[{{window}}]))'")
GOOD_TOTAL = ("good: 'sum(rate(payments_good_total[{{window}}]))'\n"
              "        total: 'sum(rate(payments_total[{{window}}]))'")


def _params(description: str = "", group_by: tuple[str, ...] = ()) -> SLOParams:
    return SLOParams("pay", "checkout", description, Fraction("0.99"), timedelta(days=1), "1d", "ratio", group_by)


def _report(*slos: object, period_end: datetime = datetime(2026, 12, 2, tzinfo=UTC)) -> Report:
    period = resolve("1d", period_end, NOW)
    return Report(period, NOW, "http://127.0.0.1:9090", (ServiceReport("pay", "payments", tuple(slos)),))  # type: ignore[arg-type]


def _run(spec: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slokit", "report", str(spec), "--prometheus", url, "--quiet",
                           "--retries", "0", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SLOKIT_DEBUG": ""}, check=False)


# --- broken data --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "total", "reason"), [
    (math.nan, 6000.0, "bad events = nan"),
    (math.inf, 6000.0, "bad events = inf"),
    (-5.0, 6000.0, "bad events = -5"),
    (6.0, -math.inf, "events = -inf"),
    (7000.0, 6000.0, "more bad events than events (7000 of 6000)"),
])
def test_one_broken_bucket_makes_the_slo_no_data_never_met(bad: float, total: float, reason: str) -> None:
    period = resolve("1d", datetime(2026, 12, 2, tzinfo=UTC), NOW)
    n = 48
    bads = [6.0] * n
    totals = [6000.0] * n
    bads[40], totals[40] = bad, total
    r = build_slo_report(_params(), period, Buckets(HOUR, period.end, tuple(bads), tuple(totals)), "raw")
    assert r.verdict == "no data"
    assert r.reason.startswith("broken data from Prometheus: ") and reason in r.reason
    assert r.period_sli is None and r.budget_remaining_end is None and r.source == "raw"
    jsonschema.validate(json.loads(jsondoc.render(_report(r))), jsondoc.schema())


@pytest.fixture
def crafted_server() -> Iterator[tuple[str, dict[str, str]]]:
    """Every range query of the SLI answered with a sample per step: 6000 events and 6 bad ones, except one
    bucket of bad events that is ``broken["value"]``, and ``broken["warning"]`` (if set) in every answer; the
    recorded series and ALERTS do not exist."""
    broken: dict[str, str] = {}

    def answer(path: str, params: dict[str, str]) -> dict[str, Any]:
        query = params["query"]
        if path != "/api/v1/query_range":
            return {"resultType": "vector", "result": [{"metric": {}, "value": [0, "1"]}]}
        if "payments_" not in query:
            return {"resultType": "matrix", "result": []}
        start, end, step = (float(params[k]) for k in ("start", "end", "step"))
        n = round((end - start) / step) + 1
        bad = "payments_failed_total" in query
        values = [[start + i * step, (broken["value"] if i == n - 3 else "6") if bad else "6000"] for i in range(n)]
        return {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}

    with crafted(answer, lambda: [broken["warning"]] if "warning" in broken else []) as url:
        yield url, broken


@pytest.mark.parametrize(("value", "reason"), [
    ("NaN", "bad events = nan"), ("+Inf", "bad events = inf"), ("-Inf", "bad events = -inf"),
    ("-6", "bad events = -6"),
])
def test_crafted_broken_answers_are_no_data_exit_4(tmp_path: Path, crafted_server: tuple[str, dict[str, str]],
                                                   value: str, reason: str) -> None:
    url, broken = crafted_server
    broken["value"] = value
    spec = tmp_path / "pay.yaml"
    spec.write_text(SPEC.format(queries=BAD_TOTAL), encoding="utf-8")
    proc = _run(spec, url, "--format", "json", "--at", "2026-12-02T00:00:00Z")
    assert proc.returncode == 4, proc.stderr
    (slo,) = json.loads(proc.stdout)["services"][0]["slos"]
    assert slo["verdict"] == "no data" and slo["period"]["sli"] is None
    assert slo["reason"].startswith("broken data from Prometheus: ") and reason in slo["reason"]


def test_the_control_with_sound_answers_is_met(tmp_path: Path, crafted_server: tuple[str, dict[str, str]]) -> None:
    url, broken = crafted_server
    broken["value"] = "6"
    spec = tmp_path / "pay.yaml"
    spec.write_text(SPEC.format(queries=BAD_TOTAL), encoding="utf-8")
    proc = _run(spec, url, "--format", "json", "--at", "2026-12-02T00:00:00Z")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "met"


def test_a_partial_answer_is_no_data_and_shows_none_of_its_numbers(
        tmp_path: Path, crafted_server: tuple[str, dict[str, str]]) -> None:
    """The sound answers of the control, but partial: no number of them is shown, in any format."""
    url, broken = crafted_server
    broken["value"] = "6"
    broken["warning"] = "partial response: store 10.0.0.7:10901 unavailable"
    spec = tmp_path / "pay.yaml"
    spec.write_text(SPEC.format(queries=BAD_TOTAL), encoding="utf-8")
    out = tmp_path / "out"
    proc = _run(spec, url, "--format", "json", "--format", "md", "--format", "html", "--out", str(out),
                "--at", "2026-12-02T00:00:00Z")
    assert proc.returncode == 4, proc.stderr
    doc = json.loads((out / "report.json").read_text())
    jsonschema.validate(doc, jsondoc.schema())
    (slo,) = doc["services"][0]["slos"]
    assert slo["verdict"] == "no data" and slo["reason"].startswith("partial data: Prometheus answered with warnings")
    assert slo["period"] == {"sli": None, "events": 0, "bad_events": 0, "burn_rate": None}
    assert slo["window_to_end"]["sli"] is None and slo["error_budget"]["remaining_end"] is None
    assert slo["worst_hours"] == [] and all(p["value"] is None for p in slo["burn_down"] + slo["sli_over_time"])
    md = (out / "report.md").read_text()
    assert "| pay | checkout | 99.000% | no data | no data (1d) | no data | no data | 0 | no data |" in md
    assert "99.900%" not in md and "99.9%" not in (out / "report.html").read_text()


def test_a_good_query_counting_more_than_the_total_is_no_data_on_a_real_prometheus(tmp_path: Path) -> None:
    start = (time.time() // 3600) * 3600 - 30 * 3600
    text = openmetrics({"payments_total": lambda i: 100, "payments_good_total": lambda i: 150}, start, 29 * 60)
    spec = tmp_path / "pay.yaml"
    spec.write_text(SPEC.format(queries=GOOD_TOTAL), encoding="utf-8")
    at = datetime.fromtimestamp(start + 28 * 3600, UTC).isoformat()
    with serving(tmp_path, text) as url:
        proc = _run(spec, url, "--format", "json", "--at", at)
    assert proc.returncode == 4, proc.stderr
    (slo,) = json.loads(proc.stdout)["services"][0]["slos"]
    assert slo["verdict"] == "no data"
    assert slo["reason"].startswith("broken data from Prometheus: bad events = -"), slo["reason"]


# --- owner text in report.md ----------------------------------------------------------------------------------

HOSTILE = "ok.\n# Owned heading\n<!-- hide the rest\n<img src=x onerror=alert(1)> [link](javascript:alert(1)) *x*"


def test_a_description_cannot_add_markup_to_report_md() -> None:
    period = resolve("1d", datetime(2026, 12, 2, tzinfo=UTC), NOW)
    r = build_slo_report(_params(HOSTILE), period, Buckets(HOUR, period.end, (1.0,) * 48, (1000.0,) * 48), "raw")
    md = markdown.render(_report(r))
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<img" not in rendered and "<!--" not in rendered and "Owned heading</h" not in rendered
    assert "<a href" not in rendered and "<em>" not in rendered
    assert "Worst hours" in rendered, "nothing after the description is hidden"
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered, "the text is still there, as text"
    page = html.render(_report(r))
    assert "<img" not in page and "<!-- hide" not in page and "&lt;img src=x" in page


# --- grouped SLOs: worst first, capped, counted ------------------------------------------------------------------


def test_groups_beyond_ten_are_counted_not_shown() -> None:
    period = resolve("1d", datetime(2026, 12, 2, tzinfo=UTC), NOW)
    reports = []
    for i in range(13):
        bad = 50.0 if i == 7 else 1.0  # m07 breaches, the others meet the objective
        buckets = Buckets(HOUR, period.end, (bad,) * 48, (1000.0,) * 48)
        reports.append(build_slo_report(_params(group_by=("market",)), period, buckets, "raw",
                                        group=(("market", f"m{i:02}"),)))
    report = _report(*worst_first(reports))
    md = markdown.render(report)
    assert md.index("| pay | checkout (market=m07) |") < md.index("| pay | checkout (market=m00) |")
    assert "checkout (market=m10)" not in md and "checkout (market=m09)" in md
    assert "pay / checkout: 3 more groups by market not shown (3 met)." in md
    doc = json.loads(jsondoc.render(report))
    jsonschema.validate(doc, jsondoc.schema())
    svc = doc["services"][0]
    assert len(svc["slos"]) == 10 and svc["slos"][0]["group"] == {"market": "m07"}
    assert svc["hidden_groups"] == [{"slo": "checkout", "group_by": ["market"], "groups": 3, "counts": {"met": 3}}]
    assert doc["counts"] == {"met": 12, "at risk": 0, "breached": 1, "no data": 0}
    message = slack.summary(report)["text"].splitlines()
    assert len(message) == 1 + 10 + 1 and message[1].startswith(":red_circle: `pay/checkout (market=m07)` breached")
    assert message[-1] == "pay / checkout: 3 more groups by market not shown (3 met)"


# --- --at now and plots ------------------------------------------------------------------------------------


def test_at_now_is_the_reports_time() -> None:
    assert parse_at("now", NOW) == NOW
    assert resolve("1d", parse_at("now", NOW), NOW).end == NOW


def test_a_period_ending_before_the_data_says_so(tmp_path: Path) -> None:
    start = (time.time() // 60) * 60 - 3 * 3600
    text = openmetrics({"payments_total": lambda i: 100, "payments_failed_total": lambda i: 0}, start, 3 * 60 + 5)
    spec = tmp_path / "pay.yaml"
    spec.write_text(SPEC.format(queries=BAD_TOTAL), encoding="utf-8")
    before = datetime.fromtimestamp(start - 3600, UTC).isoformat()
    with serving(tmp_path, text) as url:
        early = _run(spec, url, "--format", "json", "--at", before)
        now = _run(spec, url, "--format", "json", "--at", "now")
    assert early.returncode == 4, early.stderr
    (slo,) = json.loads(early.stdout)["services"][0]["slos"]
    assert "no series in the period, but there are some after its end" in slo["reason"]
    assert "--at now reads up to now" in slo["reason"] and "not scraped" not in slo["reason"]
    assert now.returncode == 0, now.stderr
    assert json.loads(now.stdout)["verdict"] == "met"


def test_plots_of_one_bucket_span_the_period_and_show_the_point() -> None:
    period = resolve("1d", datetime(2026, 12, 2, tzinfo=UTC), NOW)
    bad = (0.0,) * 47 + (1.0,)
    total = (0.0,) * 47 + (1000.0,)
    r = build_slo_report(_params(), period, Buckets(HOUR, period.end, bad, total), "raw")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "identical low and high xlims" is a failure here
        svgs = [plots.burn_down(r), plots.sli_over_time(r)]
    for svg in svgs:
        assert "2025" not in svg and "2029" not in svg, "the x axis is the period, not years around it"
        assert "Dec" in svg or "12-0" in svg
        assert "<use " in svg, "the lone point is drawn as a marker"


def test_a_group_label_value_from_prometheus_is_text_everywhere() -> None:
    """Label values come from the server: in Markdown, HTML, plots and Slack they are text, never markup."""
    period = resolve("1d", datetime(2026, 12, 2, tzinfo=UTC), NOW)
    value = "<!channel> <img src=x onerror=alert(1)> $x^2$"
    buckets = Buckets(HOUR, period.end, (1.0,) * 48, (1000.0,) * 48)
    r = build_slo_report(_params(group_by=("market",)), period, buckets, "raw", group=(("market", value),))
    report = _report(r)
    rendered = MarkdownIt("commonmark").enable("table").render(markdown.render(report))
    assert "<img" not in rendered and "&lt;img src=x onerror=alert(1)&gt;" in rendered
    page = html.render(report)
    assert "<img" not in page and "<!channel>" not in page
    assert "$x^2$" in plots.burn_down(r), "drawn as typed, not as mathtext"
    message = slack.summary(report)["text"]
    assert "<!channel>" not in message and "&lt;!channel&gt;" in message
