"""The Argo Rollouts and Flagger analyses of a grouped SLO judge its worst group, not an arbitrary one.

Three markets; only ``fr`` fails (half its requests 5xx and slow, half its payments not ok) for 30 minutes.
promtool evaluates every generated query: each answers one sample (Argo reads ``result[0]``, Flagger one
value), equal to the failing market's own recorded value, and its Argo failure condition holds during the
incident only; without traffic the answer is empty (inconclusive for Argo, never a success).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rules_helpers import counter, each_toolset, run_promtool
from slokit import pipeline
from slokit.rollouts import paths
from slokit.spec import load_or_raise
from slokit.spec.model import Service

SPEC = """service: shop
owner: team-shop
selector: {job: shop}
slos:
  - name: availability
    objective: 99.5
    group_by: [market]
    sli: {http_errors: {status: "5.."}}
    alerts:
      - {error_ratio_above: 5%, for: 5m, severity: page, rollback: true}
      - {p95_above: 1s, for: 10m, severity: ticket, rollback: true}
  - name: checkout
    objective: 99.9
    group_by: [market]
    sli:
      ratio:
        good: 'sum by (market) (rate(payments_ok_total[{{window}}]))'
        total: 'sum by (market) (rate(payments_total[{{window}}]))'
    alerts:
      - {good_ratio_below: 90%, for: 3m, severity: page, rollback: true}
  - name: plain
    objective: 99
    sli: {http_errors: {status: "5.."}}
rollout:
  stages:
    - {percent: 10, duration: 1h}
    - {percent: 100}
"""
MARKETS = ("de", "fr", "us")
#: Minutes of healthy traffic, of fr's incident, of healthy traffic again.
HEALTHY, INCIDENT, AFTER = 60, 30, 30
#: (time, fr failing?) where every analysis is evaluated.
TIMES = [("50m", False), ("75m", True), ("89m", True)]
#: What each metric's value equals for the failing market: its recorded series (the p95 has none).
FR = '{service="shop", slo="%s", market="fr"}'
RECORDED = {
    "availability-error-ratio-above-5pct": "slo:sli_error:ratio_rate5m" + FR % "availability",
    "checkout-good-ratio-below-90pct": "1 - slo:sli_error:ratio_rate5m" + FR % "checkout",
    "availability-burn-rate": "slo:burn_rate:ratio" + FR % "availability",
    "checkout-burn-rate": "slo:burn_rate:ratio" + FR % "checkout",
}


def _series(service: Service) -> list[dict[str, str]]:
    """100 requests and 100 payments a minute per market; fr's incident: half 5xx and slow (3 s), half not ok."""
    m = service.metrics
    out: list[dict[str, str]] = []
    les = [*(repr(float(b)) for b in sorted(service.buckets)), "+Inf"]
    for market in MARKETS:
        bad = 50 if market == "fr" else 0
        ok = counter([(HEALTHY, 100), (INCIDENT, 100 - bad), (AFTER, 100)])
        failing = counter([(HEALTHY, 0), (INCIDENT, bad), (AFTER, 0)])
        base = f'job="shop", market="{market}", http_request_method="GET", http_route="/pay"'
        out.append({"series": f'{m.duration_count}{{{base}, http_response_status_code="200"}}', "values": ok})
        out.append({"series": f'{m.duration_count}{{{base}, http_response_status_code="500"}}', "values": failing})
        for le in les:
            slow = le == "+Inf" or float(le) >= 3
            out.append({"series": f'{m.duration_bucket}{{{base}, http_response_status_code="200", le="{le}"}}',
                        "values": ok})
            out.append({"series": f'{m.duration_bucket}{{{base}, http_response_status_code="500", le="{le}"}}',
                        "values": failing if slow else "0+0x120"})
        out.append({"series": f'payments_total{{market="{market}"}}', "values": counter([(120, 100)])})
        out.append({"series": f'payments_ok_total{{market="{market}"}}', "values": ok})
    return out


def _expr(expr: str, at: str, value: float | None) -> dict[str, Any]:
    return {"expr": expr, "eval_time": at, "exp_samples": [] if value is None else [{"labels": "{}", "value": value}]}


def _generate(tmp_path: Path) -> tuple[Service, dict[str, dict[str, Any]]]:
    """The service, its rules under ``tmp_path`` and the Argo metrics by name (the Flagger queries equal)."""
    spec = tmp_path / "shop.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    (service,) = load_or_raise([spec])
    files = pipeline.generate([service])
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    (template,) = yaml.safe_load_all(files[paths(service)["argo"]])
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    flagger = {d["spec"]["query"] for d in yaml.safe_load_all(files[paths(service)["flagger"]]) if d}
    assert flagger == {m["provider"]["prometheus"]["query"] for m in metrics.values()}
    return service, metrics


def _promtool(tmp_path: Path, series: list[dict[str, str]], tests: list[dict[str, Any]]) -> None:
    test_file = {"rule_files": ["alerts/shop.rules.yml"], "evaluation_interval": "1m",
                 "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}]}
    (tmp_path / "grouped.test.yml").write_text(yaml.safe_dump(test_file, sort_keys=False), encoding="utf-8")
    proc = run_promtool("test", "rules", "grouped.test.yml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


@each_toolset
def test_the_worst_group_decides_every_analysis(tmp_path: Path) -> None:
    service, metrics = _generate(tmp_path)
    assert set(RECORDED) | {"availability-p95-above-1s"} <= set(metrics)

    tests: list[dict[str, Any]] = []
    for name, metric in metrics.items():
        if name == "plain-burn-rate":
            continue
        query = metric["provider"]["prometheus"]["query"]
        assert metric["successCondition"].startswith("len(result) > 0 && result[0] ")
        if metric["failureCondition"] == "false":  # an SLO's burn: held above the stages' max_burn_rate
            op, threshold = ">", metric["successCondition"].rsplit(" ", 1)[1]
        else:
            op, threshold = metric["failureCondition"].split("result[0] ", 1)[1].split(" ")
        tests.append(_expr(f"count(({query})) or vector(0)", "0m", 0))  # no traffic yet: no answer at all
        for at, failing in TIMES:
            # exactly one sample, whose labels are gone: what result[0] reads is the aggregate over groups
            tests.append(_expr(f"count(({query})) or vector(0)", at, 1))
            tests.append(_expr(f"count(({query}) {op} {threshold}) or vector(0)", at, 1 if failing else 0))
            if name in RECORDED and failing:
                tests.append(_expr(f"abs(({query}) - on () ({RECORDED[name]})) < bool 1e-9", at, 1))
    # The scenario is meaningful: only fr fails, the two other markets stay within every limit.
    tests.append({"expr": 'slo:sli_error:ratio_rate5m{service="shop", slo="availability"} > 0.05', "eval_time": "89m",
                  "exp_samples": [{"labels": 'slo:sli_error:ratio_rate5m{market="fr", service="shop", '
                                   'slo="availability"}', "value": 0.5}]})
    _promtool(tmp_path, _series(service), tests)


@each_toolset
def test_a_group_with_impossible_data_leaves_no_answer(tmp_path: Path) -> None:
    """de counts more good payments than payments (a broken exporter): its bad ratio is negative and drops
    out of the per-group values. Judging the remaining healthy markets would promote on bad data; instead the
    checkout analyses answer nothing (Argo: inconclusive; Flagger: no value, a failed check)."""
    service, metrics = _generate(tmp_path)
    series = [s for s in _series(service) if "payments" not in s["series"]]
    for market, good in (("fr", 100), ("us", 99), ("de", 150)):
        series.append({"series": f'payments_total{{market="{market}"}}', "values": counter([(120, 100)])})
        series.append({"series": f'payments_ok_total{{market="{market}"}}', "values": counter([(120, good)])})
    tests = []
    for name, metric in metrics.items():
        query = metric["provider"]["prometheus"]["query"]
        broken = name.startswith("checkout-")
        tests.append(_expr(f"count(({query})) or vector(0)", "50m", 0 if broken else 1))
    assert sum(name.startswith("checkout-") for name in metrics) == 2
    _promtool(tmp_path, series, tests)

