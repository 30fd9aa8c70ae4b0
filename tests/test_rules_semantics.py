"""What the generated rules compute, evaluated by the real promtool on synthetic series."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rules_helpers import counter, each_toolset, make_service, make_slo, promtool_test
from slokit import series
from slokit.rules.build import service_groups
from slokit.spec import load_services
from slokit.spec.model import HttpErrors, HttpLatency
from slokit.spec.units import Duration

pytestmark = each_toolset

COUNT = "http_server_request_duration_seconds_count"
BUCKET = "http_server_request_duration_seconds_bucket"
SEL = '{service="svc", slo="avail"}'


def ok_series(status: str, segments: list[tuple[int, float]], job: str = "svc") -> dict[str, str]:
    return {"series": f'{COUNT}{{job="{job}", http_response_status_code="{status}"}}', "values": counter(segments)}


def alerts(**labels: str) -> str:
    sel = ", ".join(f'{k}="{v}"' for k, v in {"alertstate": "firing", **labels}.items())
    return f"count(ALERTS{{{sel}}})"


def test_slo_window_ratio_is_summed_events_under_uneven_traffic(tmp_path: Path) -> None:
    """A busy clean day and a quiet failing hour: the 30d ratio weighs events (Sloth's average would not)."""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    # 6h at 6000 req/min with 0.1 % errors, then 1h at 60 req/min with 50 % errors, then 10 minutes idle.
    good = ok_series("200", [(360, 5994.0), (60, 30.0), (10, 0.0)])
    bad = ok_series("500", [(360, 6.0), (60, 30.0), (10, 0.0)])
    exact = (360 * 6 + 60 * 30) / (360 * 6000 + 60 * 60)
    averaged = (360 * 0.001 + 60 * 0.5) / 420  # what an average of 5m ratios gives: about 7.2 %
    assert abs(exact - averaged) > 0.05
    promtool_test(tmp_path, svc, [{
        "interval": "1m",
        "input_series": [good, bad],
        "promql_expr_test": [
            {"expr": f"abs(sum({series.error_ratio(Duration.parse('30d'))}{SEL}) / {exact!r} - 1) < bool 1e-9",
             "eval_time": "430m", "exp_samples": [{"labels": "{}", "value": 1}]},
            {"expr": f"abs(sum({series.BUDGET_REMAINING}{SEL}) - {1 - exact / 0.005!r}) < bool 1e-9",
             "eval_time": "430m", "exp_samples": [{"labels": "{}", "value": 1}]},
        ],
    }])


def test_zero_traffic_gives_no_nan_and_no_alert(tmp_path: Path) -> None:
    """Series that exist but never move: rates are 0, ratios have no sample at all (0/0 is dropped)."""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5.."), absent_for=Duration.parse("10m")))
    flat = [ok_series("200", [(180, 0.0)]), ok_series("500", [(180, 0.0)])]
    names = [series.error_ratio(Duration.parse(w)) for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")]
    names += [series.BURN_RATE, series.PERIOD_BURN_RATE, series.BUDGET_REMAINING]
    checks: list[dict[str, Any]] = [{"expr": f"count({n}{SEL})", "eval_time": "180m", "exp_samples": []}
                                    for n in names]
    checks += [
        {"expr": f"{series.total_rate(Duration.parse('5m'))}{SEL}", "eval_time": "180m",
         "exp_samples": [{"labels": f"{series.total_rate(Duration.parse('5m'))}{SEL}", "value": 0}]},
        {"expr": f"{series.bad_rate(Duration.parse('5m'))}{SEL}", "eval_time": "180m",
         "exp_samples": [{"labels": f"{series.bad_rate(Duration.parse('5m'))}{SEL}", "value": 0}]},
        {"expr": alerts(service="svc"), "eval_time": "180m", "exp_samples": []},
    ]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": flat, "promql_expr_test": checks}])


def test_traffic_after_a_silent_hour_is_not_poisoned(tmp_path: Path) -> None:
    """Silence, then traffic with 1 % errors: the long windows show 1 %, not NaN for the rest of the window."""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    good = ok_series("200", [(60, 0.0), (120, 990.0)])
    bad = ok_series("500", [(60, 0.0), (120, 10.0)])
    checks = [{"expr": f"abs(sum({series.error_ratio(Duration.parse(w))}{SEL}) - 0.01) < bool 1e-9",
               "eval_time": "180m", "exp_samples": [{"labels": "{}", "value": 1}]}
              for w in ("5m", "1h", "2h", "6h", "1d", "30d")]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": [good, bad], "promql_expr_test": checks}])


@pytest.mark.parametrize(("window", "factor", "fires_at", "quiet_at"), [
    ("28d", 13.44, 13.8, 13.0),  # 13.8x would not page with the 30d factor of 14.4
    ("7d", 3.36, 3.5, 3.2),
])
def test_burn_factors_follow_the_slo_window(tmp_path: Path, window: str, factor: float, fires_at: float,
                                             quiet_at: float) -> None:
    svc = make_service(make_slo("avail", "99.9", HttpErrors("5.."), window=window))
    burn = next(r for g in service_groups(svc) for r in g["rules"] if r.get("labels", {}).get("long_window") == "1h")
    assert f"> {factor * 0.001:.5f}".rstrip("0") in burn["expr"]
    tests = []
    for level, fires in ((fires_at, True), (quiet_at, False)):
        ratio = level * 0.001
        tests.append({
            "interval": "1m",
            "input_series": [ok_series("200", [(70, 1000 * (1 - ratio))]), ok_series("500", [(70, 1000 * ratio)])],
            "promql_expr_test": [{"expr": alerts(alertname="SLOErrorBudgetBurn", long_window="1h"),
                                  "eval_time": "70m",
                                  "exp_samples": [{"labels": "{}", "value": 1}] if fires else []}],
        })
    promtool_test(tmp_path, svc, tests)


@pytest.mark.parametrize(("threshold", "spelling"), [("300ms", "0.3"), ("300ms", "0.30"), ("1s", "1"),
                                                     ("1s", "1.0"), ("2500ms", "2.50")])
def test_latency_bucket_matches_any_le_spelling(tmp_path: Path, threshold: str, spelling: str) -> None:
    svc = make_service(make_slo("avail", "95", HttpLatency(Duration.parse(threshold))))
    labels = 'job="svc", http_route="/x", http_request_method="GET", http_response_status_code="200"'
    inputs = [
        {"series": f"{COUNT}{{{labels}}}", "values": counter([(30, 100.0)])},
        {"series": f'{BUCKET}{{{labels}, le="{spelling}"}}', "values": counter([(30, 80.0)])},
        {"series": f'{BUCKET}{{{labels}, le="+Inf"}}', "values": counter([(30, 100.0)])},
    ]
    checks = [{"expr": f"abs(sum({series.error_ratio(Duration.parse(w))}{SEL}) - 0.2) < bool 1e-9", "eval_time": "30m",
               "exp_samples": [{"labels": "{}", "value": 1}]} for w in ("5m", "30m")]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": inputs, "promql_expr_test": checks}])


def test_quotes_and_backslashes_in_spec_values_are_escaped(tmp_path: Path) -> None:
    """Selector and route values with quotes, backslashes and braces match exactly those series."""
    job = 'pay"ments\\prod'
    route = '/a"b\\c/{id}'
    svc = make_service(make_slo("avail", "99", HttpErrors("5..", route=route)), selector={"job": job})
    esc = job.replace("\\", "\\\\").replace('"', '\\"')
    esc_route = route.replace("\\", "\\\\").replace('"', '\\"')
    labels = f'job="{esc}", http_route="{esc_route}"'
    other = 'job="payments", http_route="/a"'  # would match if the quote ended the value early
    inputs = [
        {"series": f'{COUNT}{{{labels}, http_response_status_code="200"}}', "values": counter([(20, 90.0)])},
        {"series": f'{COUNT}{{{labels}, http_response_status_code="503"}}', "values": counter([(20, 10.0)])},
        {"series": f'{COUNT}{{{other}, http_response_status_code="500"}}', "values": counter([(20, 500.0)])},
    ]
    checks = [{"expr": f"abs(sum({series.error_ratio(Duration.parse('5m'))}{SEL}) - 0.1) < bool 1e-9",
               "eval_time": "20m", "exp_samples": [{"labels": "{}", "value": 1}]}]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": inputs, "promql_expr_test": checks}])


def test_errors_hidden_by_a_scrape_gap_count_in_the_long_windows(tmp_path: Path) -> None:
    """A 20-minute total outage while Prometheus misses every scrape (the counters keep counting): the first
    scrapes after the gap carry every failed request, so the 6h window sees them and the 6h/30m tier pages at
    once. (Summing recorded 5m rates lost them: no 5m rate spans the gap, and the 6h ratio read about 0.)"""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    # Minutes 0-340 healthy at 1000 req/min; 341-360 every request fails, unscraped; from 360 healthy again.
    good = {"series": f'{COUNT}{{job="svc", http_response_status_code="200"}}',
            "values": "0+1000x340 _x19 340000+1000x10"}
    bad = {"series": f'{COUNT}{{job="svc", http_response_status_code="500"}}', "values": "0+0x340 _x19 20000+0x10"}
    exact = 20000 / (340000 + 20000)  # the 6h window at minute 365 spans minutes 5-365
    six_hours = series.error_ratio(Duration.parse("6h"))
    checks = [
        {"expr": f"abs(sum({six_hours}{SEL}) / {exact!r} - 1) < bool 0.01", "eval_time": "365m",
         "exp_samples": [{"labels": "{}", "value": 1}]},
        {"expr": alerts(alertname="SLOErrorBudgetBurn", long_window="6h"), "eval_time": "340m", "exp_samples": []},
        {"expr": alerts(alertname="SLOErrorBudgetBurn", long_window="6h"), "eval_time": "362m",
         "exp_samples": [{"labels": "{}", "value": 1}]},
    ]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": [good, bad], "promql_expr_test": checks}])


def test_long_tiers_fire_on_the_exact_window_without_lag(tmp_path: Path) -> None:
    """5 % errors from minute 60 on: the 1d/2h ticket (above 1.5 %) crosses at minute 86 by the exact ratio
    5 % x (k - 60) / k. Summed recorded 5m rates lagged the exact window by about 2.5 minutes."""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    good = ok_series("200", [(60, 1000.0), (40, 950.0)])
    bad = ok_series("500", [(60, 0.0), (40, 50.0)])
    tier = alerts(alertname="SLOErrorBudgetBurn", long_window="1d")
    checks = [{"expr": tier, "eval_time": "85m", "exp_samples": []},
              {"expr": tier, "eval_time": "86m", "exp_samples": [{"labels": "{}", "value": 1}]}]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": [good, bad], "promql_expr_test": checks}])


def test_the_slo_window_ratio_is_exact_at_a_five_minute_evaluation_interval(tmp_path: Path) -> None:
    """Uneven traffic evaluated every 5m (the longest interval validate accepts): still the exact ratio."""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    svc = replace(svc, evaluation_interval=Duration.parse("5m"))
    good = ok_series("200", [(120, 5994.0), (60, 30.0)])
    bad = ok_series("500", [(120, 6.0), (60, 30.0)])
    exact = (120 * 6 + 60 * 30) / (120 * 6000 + 60 * 60)
    checks = [{"expr": f"abs(sum({series.error_ratio(Duration.parse('30d'))}{SEL}) / {exact!r} - 1) < bool 1e-9",
               "eval_time": "180m", "exp_samples": [{"labels": "{}", "value": 1}]},
              {"expr": alerts(service="svc", severity="ticket"), "eval_time": "180m", "exp_samples": []}]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": [good, bad], "promql_expr_test": checks}],
                  interval="5m")


@pytest.mark.parametrize("interval", ["6m", "10m"])
def test_validate_rejects_an_evaluation_interval_past_the_lookback(tmp_path: Path, interval: str) -> None:
    spec = tmp_path / "svc.yaml"
    spec.write_text(f"service: svc\nowner: team-a\nevaluation_interval: {interval}\nslos:\n  - name: avail\n"
                    '    objective: 99.5\n    sli:\n      http_errors: {status: "5.."}\n', encoding="utf-8")
    result = load_services([spec])
    assert [(d.loc.line, d.loc.col, d.path) for d in result.errors] == [(3, 22, "evaluation_interval")]
    assert f"must be at most 5m, got {interval}: a recorded series is read back" in result.errors[0].message


def test_page_tiers_fire_on_time_after_a_total_outage(tmp_path: Path) -> None:
    """Six healthy hours, then every request fails: the 1h/5m tier (raw windows) fires when the 1h ratio
    passes 7.2 % (the 5th failing minute), the 6h/30m tier (a sum of step counts) when the exact 6h ratio
    passes 3 % (the 11th), the minute the raw rate() rules fired, not one later."""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    good = ok_series("200", [(400, 1000.0), (30, 0.0)])
    bad = ok_series("500", [(400, 0.0), (30, 1000.0)])
    fast, slow = alerts(long_window="1h", severity="page"), alerts(long_window="6h", severity="page")
    checks = [{"expr": expr, "eval_time": f"{400 + m}m", "exp_samples": [{"labels": "{}", "value": 1}] if fires else []}
              for expr, m, fires in ((fast, 4, False), (fast, 5, True), (slow, 10, False), (slow, 11, True))]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": [good, bad], "promql_expr_test": checks}])


def test_step_counts_tile_into_exact_window_counts_and_coverage(tmp_path: Path) -> None:
    """The step counts of 3h of traffic rising from 100 to 460 req/min sum to the counters' exact increase
    over 2h (no extrapolation), and coverage counts the steps summed: all of the 2h window's 120 (or 119 when
    the period group runs before the fast one and does not see this minute's count yet), and the 181
    evaluations so far (or 180) of the 30d window's 43,200."""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    values = " ".join(str(sum(100 + 2 * j for j in range(m))) for m in range(181))
    bad_values = " ".join(str(m * (m - 1) // 2) for m in range(181))  # the bad rate rises too: 0, 1, 2 ...
    inputs = [{"series": f'{COUNT}{{job="svc", http_response_status_code="200"}}', "values": values},
              {"series": f'{COUNT}{{job="svc", http_response_status_code="500"}}', "values": bad_values}]
    total = sum(100 + 2 * j for j in range(60, 180)) + sum(range(60, 180))
    bad = sum(range(60, 180))
    sel = SEL
    checks = [
        {"expr": f"sum(sum_over_time({series.TOTAL_STEP}{sel}[1h59m30s]))", "eval_time": "180m",
         "exp_samples": [{"labels": "{}", "value": total}]},
        {"expr": f"abs(sum({series.error_ratio(Duration.parse('2h'))}{sel}) / {bad / total!r} - 1) < bool 1e-9",
         "eval_time": "180m", "exp_samples": [{"labels": "{}", "value": 1}]},
        {"expr": f"abs(sum({series.coverage(Duration.parse('30d'))}{sel}) * 43200 - 180.5) < bool 0.6",
         "eval_time": "180m", "exp_samples": [{"labels": "{}", "value": 1}]},
        {"expr": f"abs(sum({series.coverage(Duration.parse('2h'))}{sel}) * 120 - 119.5) < bool 0.6",
         "eval_time": "180m", "exp_samples": [{"labels": "{}", "value": 1}]},
    ]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": inputs, "promql_expr_test": checks}])


def test_step_counts_from_several_agents_add_up_in_one_ratio(tmp_path: Path) -> None:
    """Step counts arriving from two Prometheus with different external labels (remote write) and the local
    ones: level 2 sums them into one ratio per SLO, and the alerts join it without duplicate series."""
    svc = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    steps = []
    for agent, bad in (("a", 100), ("b", 0)):
        labels = f'service="svc", slo="avail", prometheus="{agent}", cluster="c-{agent}"'
        steps += [{"series": f"{series.TOTAL_STEP}{{{labels}}}", "values": "1000x420"},
                  {"series": f"{series.BAD_STEP}{{{labels}}}", "values": f"{bad}x420"}]
    checks = [
        {"expr": f"{series.error_ratio(Duration.parse('6h'))}{SEL}", "eval_time": "420m",
         "exp_samples": [{"labels": f"{series.error_ratio(Duration.parse('6h'))}{SEL}", "value": 0.05}]},
        {"expr": f"count({series.error_ratio(Duration.parse('30d'))}{SEL})", "eval_time": "420m",
         "exp_samples": [{"labels": "{}", "value": 1}]},
    ]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": steps, "promql_expr_test": checks}])
