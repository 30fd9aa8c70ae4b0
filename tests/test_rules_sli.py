"""SLI queries (the PromQL runbooks show and rules record) and the series synthesis of generated tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules_helpers import counter, d, each_toolset, make_service, make_slo, promtool_test
from slokit import series
from slokit.rules.sli import sli_queries, user_query
from slokit.rules.synth import matches, parse_rate_query, satisfy
from slokit.spec.model import CacheMisses, HttpErrors, HttpLatency, RatioQueries


def test_http_errors_queries_scope_route_method_and_selector() -> None:
    slo = make_slo("a", "99", HttpErrors("5..", route="/x/{id}", method="PATCH"))
    bad, total = sli_queries(make_service(slo, selector={"job": "api", "env": "prod"}), slo, d("30m"))
    scope = 'env="prod", job="api", http_route="/x/{id}", http_request_method="PATCH"'
    assert total == f"sum(rate(http_server_request_duration_seconds_count{{{scope}}}[30m]))"
    status = 'http_response_status_code=~"5.."'
    assert bad == f"sum(rate(http_server_request_duration_seconds_count{{{scope}, {status}}}[30m]))"


def test_latency_bad_is_total_minus_the_threshold_bucket() -> None:
    slo = make_slo("a", "99", HttpLatency(d("1s")))
    bad, total = sli_queries(make_service(slo), slo, d("5m"))
    assert bad.startswith(total + " - (sum(rate(http_server_request_duration_seconds_bucket{")
    assert 'le=~"1(\\\\.0*)?"' in bad and bad.endswith(" or vector(0))")


def test_cache_misses_queries() -> None:
    slo = make_slo("a", "80", CacheMisses('step "defs"'))
    bad, total = sli_queries(make_service(slo), slo, d("1h"))
    assert bad == 'sum(rate(cache_lookups_total{job="svc", cache="step \\"defs\\"", outcome="miss"}[1h]))'
    assert total == 'sum(rate(cache_lookups_total{job="svc", cache="step \\"defs\\""}[1h]))'


@pytest.mark.parametrize(("query", "expected"), [
    ("sum(rate(x[{{window}}]))", "sum(rate(x[2h]))"),
    ("rate(x[{{window}}])", "sum(rate(x[2h]))"),
    ("sum(rate(x[{{window}}])) by (code)", "sum(sum(rate(x[2h])) by (code))"),
    ("sum(rate(x[{{window}}])) / sum(rate(y[{{window}}]))", "sum(sum(rate(x[2h])) / sum(rate(y[2h])))"),
    ('sum(rate(x{a=")"}[{{window}}]))', 'sum(rate(x{a=")"}[2h]))'),
])
def test_user_queries_are_summed_to_one_sample(query: str, expected: str) -> None:
    assert user_query(query, d("2h")) == expected


def test_ratio_good_query_becomes_total_minus_good() -> None:
    sli = RatioQueries(total="sum(rate(t[{{window}}]))", good="sum(rate(g[{{window}}]))")
    slo = make_slo("a", "99", sli)
    assert sli_queries(make_service(slo), slo, d("5m")) == (
        "sum(rate(t[5m])) - (sum(rate(g[5m])) or vector(0))", "sum(rate(t[5m]))")


@pytest.mark.parametrize(("query", "shape_ok"), [
    ('sum(rate(http_requests_total{job="x", code=~"5.."}[{{window}}]))', True),
    ("sum by (code) (rate(x_total[{{window}}]))", True),
    ("rate({__name__=\"x\", a!='b'}[{{window}}])", True),
    ("sum(increase(x[{{window}}]))", False),
    ("sum(rate(a[{{window}}])) + sum(rate(b[{{window}}]))", False),
    ("sum(rate(x[{{window}}])) / 60", False),
])
def test_only_rate_of_one_selector_is_synthesised(query: str, shape_ok: bool) -> None:
    matchers = parse_rate_query(query)
    assert (matchers is not None) == shape_ok
    if matchers is not None:
        labels = satisfy(matchers)
        assert labels is not None and matches(labels, matchers)


@each_toolset
def test_good_query_without_any_good_series_counts_everything_bad(tmp_path: Path) -> None:
    """A service that fails every request from its first one never creates its 2xx series."""
    sli = RatioQueries(total='sum(rate(http_requests_total{job="svc"}[{{window}}]))',
                       good='sum(rate(http_requests_total{job="svc", code=~"2.."}[{{window}}]))')
    svc = make_service(make_slo("avail", "99", sli))
    inputs = [{"series": 'http_requests_total{job="svc", code="500"}', "values": counter([(20, 60.0)])}]
    sel = '{service="svc", slo="avail"}'
    checks = [{"expr": f"sum({series.error_ratio(d(w))}{sel})", "eval_time": "20m",
               "exp_samples": [{"labels": "{}", "value": 1}]} for w in ("5m", "30m", "2h")]
    promtool_test(tmp_path, svc, [{"interval": "1m", "input_series": inputs, "promql_expr_test": checks}])


def test_unsynthesisable_status_regex_falls_back() -> None:
    from slokit.rules.synth import synthesize

    slo = make_slo("a", "99", HttpErrors(".*"))  # matches every status: there is no good request to make up
    assert synthesize(make_service(slo), slo) is None
    slo = make_slo("a", "99", HttpErrors("5.."))
    assert synthesize(make_service(slo), slo) is not None
