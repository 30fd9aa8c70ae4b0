"""A grouped SLO (by ``market``: de, fr, us; only fr failing) through ``check --prometheus``, ``report`` (md,
html, json) and ``gate``, against a real Prometheus serving 50 hours of backfilled traffic up to now.

Per minute and market 1,000 requests; de and us answer 0.1 % of them with a 503, fr 3 % (the objective of
99 % allows 1 %). Prometheus returns groups in label order, so fr is never the first group: a command that
looks at one group only (the first) reads de, which is healthy. Each command must judge every group and
name fr. ``ALERTS`` samples say the page fired for fr (the last two hours) and for us (ten minutes), so the
report's alert tables can be told apart per group.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate_helpers import gate
from slokit.gate import judge
from slokit.live_sources import Sample
from slokit.livecheck import PrometheusData, check_live
from slokit.prometheus_client import Series
from slokit.report.jsondoc import schema
from slokit.spec import load_or_raise
from verdict_tsdb import openmetrics, serving

SPEC = """service: shop
owner: payments
selector: {job: shop}
slos:
  - name: availability
    description: Checkout requests that do not fail.
    objective: 99
    window: 1d
    group_by: [market]
    sli: {http_errors: {status: "5.."}}
    alerts:
      - {error_ratio_above: 5%, for: 10m, severity: page, rollback: true}
rollout:
  stages:
    - {percent: 10, duration: 1h, max_burn_rate: 2}
    - {percent: 100}
"""
MINUTES = 50 * 60
AHEAD = 10  # minutes of data past now, so that the last 5 minutes always have samples
ERRORS = {"de": 1, "fr": 30, "us": 1}  # of 1,000 requests a minute
COUNT = "http_server_request_duration_seconds_count"
ALERT = ('ALERTS{{alertname="SLOErrorBudgetBurn",alertstate="firing",service="shop",slo="availability",'
         'severity="page",long_window="1h",short_window="5m",market="{market}"}}')


@dataclass(frozen=True)
class Shop:
    url: str
    spec: Path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    tmp = tmp_path_factory.mktemp("grouped")
    spec = tmp / "shop.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    start = (time.time() // 60) * 60 - (MINUTES - AHEAD) * 60
    counters = {}
    for market, errors in ERRORS.items():
        for status, n in (("200", 1000 - errors), ("503", errors)):
            counters[f'{COUNT}{{job="shop",market="{market}",http_response_status_code="{status}"}}'] = (
                lambda i, n=n: float(n))
    now = MINUTES - AHEAD
    alerts = {ALERT.format(market="fr"): lambda i: 1.0 if now - 120 <= i <= now else None,
              ALERT.format(market="us"): lambda i: 1.0 if now - 300 <= i <= now - 290 else None}
    with serving(tmp, openmetrics(counters, start, MINUTES, alerts)) as url:
        yield Shop(url, spec)


def slokit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slokit", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SLOKIT_DEBUG": ""}, check=False)


def test_check_shows_every_market_the_failing_one_first(shop: Shop) -> None:
    proc = slokit("check", str(shop.spec), "--prometheus", shop.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "SLI now" in line]
    assert [re.search(r"\(market=(\w+)\)", line).group(1) for line in lines] == ["fr", "de", "us"], lines  # type: ignore[union-attr]
    assert "3% bad over the last 5m" in lines[0] and "(above the 1% the 99% objective allows)" in lines[0]
    assert all("(within the 1%" in line for line in lines[1:])


def test_report_judges_each_market_in_md_html_and_json(shop: Shop, tmp_path: Path) -> None:
    proc = slokit("report", str(shop.spec), "--prometheus", shop.url, "--at", "now", "--quiet",
                  "--format", "md", "--format", "html", "--format", "json", "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stderr  # fr breached
    assert [line for line in proc.stderr.splitlines() if "`slokit validate` lists them" not in line] == []
    doc: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(doc, schema())
    assert doc["schema_version"] == 2
    (service,) = doc["services"]
    slos = service["slos"]
    assert [(s["group"], s["verdict"]) for s in slos] == [
        ({"market": "fr"}, "breached"), ({"market": "de"}, "met"), ({"market": "us"}, "met")]
    assert service["hidden_groups"] == []
    assert doc["counts"] == {"met": 2, "at risk": 0, "breached": 1, "no data": 0}
    fr, de, _ = slos
    # 3 % bad of the market's own requests, not of all markets (which would be about 1.07 %).
    assert fr["period"]["sli"] == pytest.approx(0.97, abs=0.001)
    assert de["period"]["sli"] == pytest.approx(0.999, abs=0.0005)
    assert fr["error_budget"]["remaining_end"] == pytest.approx(1 - 0.03 / 0.01, abs=0.1)
    # Each market's alerts only, labelled with the market.
    assert [a["labels"]["market"] for a in fr["alerts"]] == ["fr"]
    assert de["alerts"] == [] and [a["labels"]["market"] for a in slos[2]["alerts"]] == ["us"]

    md = (tmp_path / "report.md").read_text()
    assert "| shop | availability (market=fr) | 99.000% | 97.000% |" in md
    assert md.index("### shop / availability (market=fr): breached") < md.index(
        "### shop / availability (market=de): met")
    assert "| SLOErrorBudgetBurn | page | long\\_window=1h, market=fr, short\\_window=5m |" in md
    html = (tmp_path / "report.html").read_text()
    assert '<h2>shop / availability (market=fr): <span class="verdict-breached">breached</span></h2>' in html
    assert '<section id="shop-availability-market-fr">' in html


def test_gate_holds_on_the_failing_market_and_names_it(shop: Shop) -> None:
    run = gate(shop.spec, shop.url, 1, "--service", "shop", "--since", "90m", "--json")
    assert run.code == 10, run.out + run.err
    checks = {c["kind"]: c for c in run.report["checks"]}
    burn = checks["burn"]
    assert burn["outcome"] == "hold" and burn["group"] == {"market": "fr"}
    assert burn["value"] == pytest.approx(3.0, rel=0.02)
    assert burn["detail"].startswith("availability (market=fr, worst of 3 groups): burn ")
    assert checks["trigger"]["outcome"] == "ok"  # 3 % stays under the 5 % rollback trigger
    text = gate(shop.spec, shop.url, 1, "--service", "shop", "--since", "90m")
    (line,) = [line for line in text.out.splitlines() if line.split()[:2] == ["HOLD", "burn"]]
    assert "availability (market=fr, worst of 3 groups): burn 3" in line and "max 2x" in line


class Stub:
    """Prometheus answering the trigger's condition with two markets breaching one after the other, 6 minutes
    each (under the 10m ``for``), and healthy counts for the burn."""

    def __init__(self, at: float) -> None:
        self.at = at

    def range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        if start == end:  # the burn's counts: 1,000 events, 1 bad, per market
            value = 1.0 if "503" in expr or "5.." in expr else 1000.0
            return [Series({"market": m}, ((end, value),)) for m in ("de", "fr")]
        de = tuple((self.at - 1800 + 60 * i, 0.06) for i in range(7))  # minutes 0..6 of the last half hour
        fr = tuple((self.at - 1800 + 60 * i, 0.06) for i in range(7, 14))  # minutes 7..13
        return [Series({"market": "de"}, de), Series({"market": "fr"}, fr)]


def test_a_trigger_runs_per_group_so_two_short_breaches_are_not_one_long_one(tmp_path: Path) -> None:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    (service,) = load_or_raise([spec])
    at = 1_800_000_000.0
    verdict = judge(service, 1, Stub(at), at=at, since=at - 3600)
    (trigger,) = [c for c in verdict.checks if c.kind == "trigger"]
    assert trigger.outcome == "ok", trigger.detail  # merged, de then fr would read as 13 minutes: roll back
    assert trigger.value == pytest.approx(360.0)
    assert trigger.group == (("market", "de"),) or trigger.group == (("market", "fr"),)


class Api:
    """The live check's Prometheus API: per market 10 events/s, fr's bad share ``fr``, the others 0.1 %."""

    url = "http://stub"

    def __init__(self, fr: float, markets: int) -> None:
        self.fr, self.markets = fr, [f"m{i:02}" for i in range(markets - 1)] + ["fr"]

    def query(self, expr: str) -> list[Sample]:
        share = " / " in expr  # the bad share; else the total rate
        return [Sample({"market": m}, (self.fr if m == "fr" else 0.001) if share else 10.0) for m in self.markets]


@pytest.mark.parametrize(("fr", "level"), [(0.03, "ok"), (-0.5, "warning"), (math.nan, "warning")])
def test_check_shows_ten_markets_and_counts_the_rest_impossible_shares_warn(tmp_path: Path, fr: float,
                                                                             level: str) -> None:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    (service,) = load_or_raise([spec])
    results = check_live(PrometheusData(Api(fr, 13)), [service])  # type: ignore[arg-type]
    now = [r for r in results if "SLI now" in r.target]
    assert len(now) == 11
    first = now[0]
    assert "SLI now (market=fr)" in first.target, first
    assert (first.ok, first.level if not first.ok else "ok") == (level == "ok", level)
    text = first.target + first.detail
    assert ("3% bad" in text) if level == "ok" else ("impossible counts" in text)
    assert now[-1].target.endswith("SLI now: 3 more groups of market, 0 of them above the budget")
