"""`slokit report` against a real Prometheus holding 89 days of backfilled history (tests/report_tsdb.py).

Every expected number is arithmetic over the injected per-minute increments. Tolerance: a 5m rate read
every minute spreads each minute's events over the next minutes, so events within 3 minutes of a period's
edges may land on the other side; counts are asserted within 3 minutes of that SLO's traffic per edge, and
ratios within what that moves them. Runs on the default (newest) tool set: the arithmetic does not depend
on the Prometheus version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from report_tsdb import (
    ALERT_EPISODES,
    INCIDENT,
    INCIDENT_DAY,
    QUIET_DAY,
    SPECS,
    TRAFFIC,
    BackfilledPrometheus,
)
from slokit.report.jsondoc import schema
from slokit.stack import NotificationReceiver, generate

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackfilledPrometheus]:
    work = tmp_path_factory.mktemp("report-tsdb")
    generate([SPECS / "shop.yaml"], work / "generated")
    prom = BackfilledPrometheus(work)
    try:
        yield prom.build(work / "generated")
    finally:
        prom.close()


def run_report(prom: BackfilledPrometheus, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slokit", "report", str(SPECS), "--prometheus", prom.url, *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "SLOKIT_DEBUG": ""})


def report_json(prom: BackfilledPrometheus, *args: str, code: int) -> dict[str, Any]:
    proc = run_report(prom, "--format", "json", *args)
    assert proc.returncode == code, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    jsonschema.validate(doc, schema())
    return doc


def slo_of(doc: dict[str, Any], service: str, slo: str) -> dict[str, Any]:
    (found,) = [s for svc in doc["services"] if svc["service"] == service for s in svc["slos"] if s["slo"] == slo]
    return found


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def edge_tolerance(service: str, slo: str, start: datetime, end: datetime) -> float:
    """Events of 3 minutes at each edge of (start, end]: the most a 5m rate can move across an edge."""
    traffic = TRAFFIC[(service, slo)]
    return float(sum(traffic.sums(e - timedelta(minutes=3), e + timedelta(minutes=3))[1] for e in (start, end)))


def assert_events(got: dict[str, Any], service: str, slo: str, start: datetime, end: datetime) -> None:
    bad, total = TRAFFIC[(service, slo)].sums(start, end)
    tol = edge_tolerance(service, slo, start, end)
    assert got["events"] == pytest.approx(total, abs=tol)
    assert got["bad_events"] == pytest.approx(bad, abs=max(tol * bad / total, 3.0) if total else 0.5)
    if total:
        assert got["sli"] == pytest.approx(1 - bad / total, abs=tol / total + 1e-6)
    else:
        assert got["sli"] is None, "a period without traffic is no data, never 100 %"


def remaining(service: str, slo: str, end: datetime, window: timedelta, budget: float) -> float:
    bad, total = TRAFFIC[(service, slo)].sums(end - window, end)
    return 1 - (bad / total) / budget


def test_incident_day_from_recorded_series(prometheus: BackfilledPrometheus) -> None:
    end = INCIDENT_DAY + DAY
    doc = report_json(prometheus, "--period", "1d", "--at", end.isoformat(), code=1)
    assert (t(doc["period"]["start"]), t(doc["period"]["end"])) == (INCIDENT_DAY, end)
    s = slo_of(doc, "shop", "availability")
    assert s["source"] == "recorded"
    assert s["coverage"] == {"period": 1.0, "window": 1.0}, "the backfilled rules recorded every step"
    assert_events(s["period"], "shop", "availability", INCIDENT_DAY, end)
    assert_events(s["window_to_end"], "shop", "availability", end - 7 * DAY, end)
    budget = s["error_budget"]
    assert budget["events"] == pytest.approx(0.005 * s["window_to_end"]["events"])
    assert budget["events_left"] == pytest.approx(budget["events"] - s["window_to_end"]["bad_events"])
    assert budget["ratio"] == pytest.approx(0.005)
    # Within 1.5 % of the budget: 3 minutes of 1,000 requests at 0.1 % errors, against 8.6M requests at 0.5 %.
    assert budget["remaining_start"] == pytest.approx(remaining("shop", "availability", INCIDENT_DAY, 7 * DAY,
                                                                0.005), abs=0.015)
    assert budget["remaining_end"] == pytest.approx(remaining("shop", "availability", end, 7 * DAY, 0.005), abs=0.015)
    bad_day, _ = TRAFFIC[("shop", "availability")].sums(INCIDENT_DAY, end)
    _, total_window = TRAFFIC[("shop", "availability")].sums(end - 7 * DAY, end)
    assert budget["consumed"] == pytest.approx(bad_day / (0.005 * total_window), rel=0.01)
    # 0.8 of the budget left before, 0.25 after: the incident is what the verdict and the burn-down show.
    assert s["verdict"] == "at risk"
    assert s["burn_down"][0]["value"] == budget["remaining_start"]
    assert s["burn_down"][-1]["value"] == pytest.approx(budget["remaining_end"])
    assert len(s["burn_down"]) == 25 and len(s["sli_over_time"]) == 24
    # The two incident hours are the worst, with 200 bad requests a minute (within 3 minutes' worth).
    worst = s["worst_hours"]
    assert {t(h["start"]) for h in worst[:2]} == {INCIDENT[0], INCIDENT[0] + timedelta(hours=1)}
    for h in worst[:2]:
        assert h["bad_events"] == pytest.approx(12_000, abs=600)
        assert h["events"] == pytest.approx(60_000, abs=1)
    (alert,) = s["alerts"]
    assert alert["alertname"] == "SLOErrorBudgetBurn" and alert["severity"] == "page"
    assert alert["labels"]["long_window"] == "1h"
    assert t(alert["first"]) == ALERT_EPISODES[0][0], "pending samples before it are not firing"
    assert t(alert["last"]) == ALERT_EPISODES[1][1]
    assert alert["episodes"] == 2

    cache = slo_of(doc, "shop", "catalog-cache")
    assert cache["source"] == "recorded" and cache["verdict"] == "met"
    assert_events(cache["period"], "shop", "catalog-cache", INCIDENT_DAY, end)
    assert cache["alerts"] == []

    ledger = slo_of(doc, "ledger", "availability")
    assert ledger["source"] == "raw", "its rules were not backfilled: the raw SLI queries are read"
    assert ledger["coverage"] == {"period": None, "window": None}
    assert_events(ledger["period"], "ledger", "availability", INCIDENT_DAY, end)
    assert_events(ledger["window_to_end"], "ledger", "availability", end - 28 * DAY, end)
    assert ledger["verdict"] == "breached"
    assert ledger["error_budget"]["remaining_end"] == pytest.approx(1 - 0.01 / 0.001, abs=0.01)

    ghost = slo_of(doc, "ghost", "availability")
    assert ghost["source"] == "missing" and ghost["verdict"] == "no data"
    assert ghost["period"]["sli"] is None and ghost["window_to_end"]["sli"] is None
    assert doc["verdict"] == "breached"
    assert doc["counts"] == {"met": 1, "at risk": 1, "breached": 1, "no data": 1}


def test_quiet_day_is_no_data_never_100_percent(prometheus: BackfilledPrometheus) -> None:
    end = QUIET_DAY + DAY
    doc = report_json(prometheus, "--period", "1d", "--at", end.isoformat(), code=4)
    for service, slo in TRAFFIC:
        s = slo_of(doc, service, slo)
        assert s["period"] == {"sli": None, "events": 0, "bad_events": 0, "burn_rate": None}
        assert s["verdict"] == "no data" and s["reason"] == "no traffic in the period"
        assert all(p["value"] is None for p in s["sli_over_time"])
        assert s["worst_hours"] == []
    shop = slo_of(doc, "shop", "availability")
    assert shop["source"] == "recorded"
    # The window still holds the days before: the budget left is known even on a quiet day.
    assert shop["error_budget"]["remaining_end"] == pytest.approx(
        remaining("shop", "availability", end, 7 * DAY, 0.005), abs=0.015)
    md = run_report(prometheus, "--period", "1d", "--at", end.isoformat())
    assert md.returncode == 4
    assert "| shop | availability | 99.500% | no data |" in md.stdout
    assert "100.000%" not in md.stdout


@pytest.mark.parametrize(("at", "start", "days"), [
    ("2026-02-15", datetime(2026, 2, 1, tzinfo=UTC), 28),
    ("2026-03-31T23:59:00Z", datetime(2026, 3, 1, tzinfo=UTC), 31),
    ("2026-04-01", datetime(2026, 4, 1, tzinfo=UTC), 30),
])
def test_calendar_months(prometheus: BackfilledPrometheus, at: str, start: datetime, days: int) -> None:
    doc = report_json(prometheus, "--period", "calendar-month", "--at", at, code=1)
    end = start + timedelta(days=days)
    assert (t(doc["period"]["start"]), t(doc["period"]["end"])) == (start, end)
    assert doc["period"]["complete"] is True and doc["period"]["title"] == start.strftime("%Y-%m")
    for service, slo in TRAFFIC:
        s = slo_of(doc, service, slo)
        # The shop's rules cover only 9 days of April: for a whole month the raw series reach further back.
        assert s["source"] == "raw"
        assert_events(s["period"], service, slo, start, end)
        assert len(s["sli_over_time"]) == days, "periods over 7 days are plotted per day"
    ledger = slo_of(doc, "ledger", "availability")
    if start == datetime(2026, 2, 1, tzinfo=UTC):
        assert ledger["error_budget"]["remaining_start"] is None, "no data before February: no budget, not 100 %"
    else:
        assert ledger["error_budget"]["remaining_start"] == pytest.approx(-9, abs=0.01)


def test_html_renders_plots_in_chromium(prometheus: BackfilledPrometheus, tmp_path: Path) -> None:
    from browser import chromium_dump_dom, chromium_screenshot, distinct_colours

    out = tmp_path / "out"
    proc = run_report(prometheus, "--period", "1d", "--at", (INCIDENT_DAY + DAY).isoformat(), "--format", "html",
                      "--format", "md", "--format", "json", "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md"]
    dom = chromium_dump_dom(out / "report.html", tmp_path / "profile")
    # Two plots per SLO (burn-down, SLI over time), each an inline <svg> with drawn paths.
    assert dom.count('<div class="plot burn-down"><svg') == 4
    assert dom.count('<div class="plot sli-over-time"><svg') == 4
    assert dom.count("<path") > 40
    png = chromium_screenshot(out / "report.html", tmp_path / "profile", tmp_path / "shot.png")
    assert distinct_colours(png) > 50, "the page rendered blank"


def test_post_slack_keeps_the_webhook_secret(prometheus: BackfilledPrometheus, tmp_path: Path) -> None:
    receiver = NotificationReceiver().start()  # stands in for Slack's incoming webhook on 127.0.0.1
    try:
        webhook = tmp_path / "webhook"
        secret_url = receiver.slack_url + "?token=T000SECRET-B000SECRET"
        webhook.write_text(secret_url + "\n")
        out = tmp_path / "out"
        proc = run_report(prometheus, "--period", "1d", "--at", (INCIDENT_DAY + DAY).isoformat(), "--out", str(out),
                          "--post-slack", "--slack-webhook-file", str(webhook))
        assert proc.returncode == 1, proc.stderr
        (note,) = receiver.notifications()
        text = note.body["text"]
        assert text.startswith("*SLO report 1d to 2026-04-21 00:00 UTC*: breached")
        assert "`shop/availability` at risk: SLI 98.2" in text
        assert "`ghost/availability` no data: SLI no data" in text
        for leak in (proc.stdout, proc.stderr, (out / "report.md").read_text()):
            assert "SECRET" not in leak and secret_url not in leak
    finally:
        receiver.stop()
    # The receiver is gone: the report is written, the post fails without showing the URL, exit 5.
    ok_day = (INCIDENT_DAY - DAY).isoformat()
    proc = run_report(prometheus, "--period", "1d", "--at", ok_day, "--post-slack", "--slack-webhook-file",
                      str(webhook), "--quiet")
    assert "SECRET" not in proc.stderr + proc.stdout
    assert "posting to the Slack webhook of" in proc.stderr
    assert proc.returncode in (1, 5)
