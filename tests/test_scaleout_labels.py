"""The rules stay correct when the series carry the labels of a scaled-out setup.

Agents add external labels (``cluster``) to everything they send, and a global view (Thanos querier, a
central store) also shows the recorded series of other rulers with their external labels. slokit's SLIs
``sum`` the raw series (so the instances of all clusters add up) and its joins between recorded series
match whole label sets or ``on ()`` with ``and`` (a set operation), so no join can fail with "found
duplicate series for the match group" (sloth issue 153). promtool evaluates the example's generated rules
on such input, once per tool set; an SLO with ``group_by: [cluster]`` keeps one ratio and one page per
cluster instead. tests/test_scaleout_live.py runs the aggregated case with real agents.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from rules_helpers import each_toolset, run_promtool
from slokit.artifacts import Options
from slokit.rules.render import emit_rules, rules_path
from slokit.spec import load_or_raise

ROOT = Path(__file__).resolve().parent.parent
COUNT = "http_server_request_duration_seconds_count"
OWN = {"service": "onboarding", "slo": "availability", "tier": "1"}


GROUPED = """
service: onboarding
owner: growth
selector: {job: onboarding}
slos:
  - name: availability
    objective: 99.5
    group_by: [cluster]
    sli:
      http_errors: {status: "5.."}
"""


def series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def write_rules(tmp_path: Path, spec: Path) -> None:
    (service,) = load_or_raise([spec])
    (tmp_path / "rules.yml").write_text(emit_rules([service], Options())[rules_path(service)], encoding="utf-8")


def run_tests(tmp_path: Path, tests: list[dict[str, object]]) -> None:
    test = tmp_path / "rules.test.yml"
    test.write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests},
                                   sort_keys=False), encoding="utf-8")
    proc = run_promtool("test", "rules", str(test))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "duplicate series" not in proc.stdout + proc.stderr


@each_toolset
def test_two_clusters_add_up_and_other_rulers_series_break_no_join(tmp_path: Path) -> None:
    write_rules(tmp_path, ROOT / "slo" / "onboarding.yaml")
    raw = {"job": "onboarding", "http_route": "/api/onboarding/steps", "http_request_method": "GET"}
    input_series = [
        # cluster a: 60 good and 6 failed requests a minute over two instances; cluster b: 54 good ones.
        {"series": series(COUNT, {**raw, "cluster": "a", "instance": "a1", "http_response_status_code": "200"}),
         "values": "0+30x40"},
        {"series": series(COUNT, {**raw, "cluster": "a", "instance": "a2", "http_response_status_code": "200"}),
         "values": "0+30x40"},
        {"series": series(COUNT, {**raw, "cluster": "a", "instance": "a1", "http_response_status_code": "500"}),
         "values": "0+6x40"},
        {"series": series(COUNT, {**raw, "cluster": "b", "instance": "b1", "http_response_status_code": "200"}),
         "values": "0+54x40"},
        # Another ruler's recorded series, seen with its external label (a global query view).
        {"series": series("slo:sli_total:rate5m", {**OWN, "cluster": "b"}), "values": "0.9x40"},
        {"series": series("slo:sli_error:ratio_rate1h", {**OWN, "cluster": "b"}), "values": "0x40"},
    ]
    own = series("slo:sli_error:ratio_rate5m", OWN)
    tests = [{
        "interval": "1m",
        "input_series": input_series,
        "promql_expr_test": [
            # 6 failed of 120 a minute, from both clusters together: one series without a cluster label.
            {"expr": own, "eval_time": "20m", "exp_samples": [{"labels": own, "value": 0.05}]},
            {"expr": series("slo:sli_error:ratio_rate1h", {"service": "onboarding", "slo": "availability"}),
             "eval_time": "20m",
             "exp_samples": [{"labels": series("slo:sli_error:ratio_rate1h", OWN), "value": 0.05},
                             {"labels": series("slo:sli_error:ratio_rate1h", {**OWN, "cluster": "b"}), "value": 0}]},
            {"expr": series("slo:sli_bad:rate5m", OWN), "eval_time": "20m",
             "exp_samples": [{"labels": series("slo:sli_bad:rate5m", OWN), "value": 0.1}]},
        ],
    }]
    run_tests(tmp_path, tests)


@each_toolset
def test_an_slo_grouped_by_cluster_keeps_one_ratio_and_one_page_per_cluster(tmp_path: Path) -> None:
    spec = tmp_path / "grouped.yaml"
    spec.write_text(GROUPED, encoding="utf-8")
    write_rules(tmp_path, spec)
    raw = {"job": "onboarding", "http_route": "/api/onboarding/steps", "http_request_method": "GET"}
    tests = [{
        "interval": "1m",
        "input_series": [
            {"series": series(COUNT, {**raw, "cluster": "a", "instance": "a1", "http_response_status_code": "200"}),
             "values": "0+20x40"},
            {"series": series(COUNT, {**raw, "cluster": "a", "instance": "a1", "http_response_status_code": "500"}),
             "values": "0+20x40"},
            {"series": series(COUNT, {**raw, "cluster": "b", "instance": "b1", "http_response_status_code": "200"}),
             "values": "0+50x40"},
        ],
        "promql_expr_test": [{
            "expr": 'slo:sli_error:ratio_rate5m{service="onboarding"}', "eval_time": "20m",
            "exp_samples": [
                {"labels": series("slo:sli_error:ratio_rate5m", {**OWN, "cluster": "a"}).replace(', tier="1"', ""),
                 "value": 0.5},
                {"labels": series("slo:sli_error:ratio_rate5m", {**OWN, "cluster": "b"}).replace(', tier="1"', ""),
                 "value": 0}]}, {
            # Half of cluster a's requests fail: its fastest tier pages, for cluster a only.
            "expr": 'count by (cluster) (ALERTS{alertstate="firing", severity="page", long_window="1h"})',
            "eval_time": "20m", "exp_samples": [{"labels": '{cluster="a"}', "value": 1}]}],
    }]
    run_tests(tmp_path, tests)
