"""`slokit check --metrics-url/--prometheus`: specs checked against the example service's real metrics.

The example service (examples/onboarding/app.py with slo/onboarding.yaml, so the middleware has that spec's
buckets) runs on 127.0.0.1 and serves a few requests; a real Prometheus (slokit.stack) scrapes it as job
``onboarding``. Each broken spec below validates, yet can never get data, and the live check must say so
and exit 1; the example spec itself passes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from slokit import stack
from slokit.cli import main
from slokit.live_sources import Exposition
from slokit.livecheck import MetricsData, check_live
from slokit.prometheus_client import Sample
from slokit.spec import load_or_raise
from slokit.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "slo" / "onboarding.yaml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
STEPS = "/api/onboarding/steps/{id}"


@dataclass(frozen=True)
class Live:
    metrics_url: str
    prometheus_url: str


@contextmanager
def service_and_prometheus(tmp: Path) -> Iterator[tuple[str, LocalStack]]:
    """The example service on a free port and a Prometheus scraping it as job ``onboarding`` and itself as
    job ``prometheus`` (a target without the service's metrics); both stopped by pid on exit."""
    stack.binaries()
    with ExitStack() as resources:
        port = stack.free_port()
        app = stack.start_process("onboarding service", [
            sys.executable, "-m", "examples.onboarding.app", "--port", str(port), "--spec", str(EXAMPLE),
        ], tmp / "app.log", cwd=ROOT)
        resources.callback(app.stop)
        base = f"http://127.0.0.1:{port}"
        stack.wait_http_ok(app, f"{base}/health")
        am_config = tmp / "alertmanager.yml"
        am_config.write_text("route: {receiver: none}\nreceivers: [{name: none}]\n", encoding="utf-8")
        prom_port = stack.free_port()
        local = LocalStack(tmp, rule_files=[], alertmanager_config=am_config, prometheus_port=prom_port,
                           scrape={"onboarding": f"127.0.0.1:{port}", "prometheus": f"127.0.0.1:{prom_port}"})
        resources.callback(local.close)
        local.start()
        await_value(local, 'sum(up{job="onboarding"})')
        yield base, local


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with service_and_prometheus(tmp_path_factory.mktemp("live-check")) as (base, local):
        # Two rounds of requests with a scrape between: a labelled series appears at its first request, so
        # only the second round makes Prometheus see the counters rise (a rate, not just a start).
        serve(base)
        await_value(local, 'count(cache_lookups_total{job="onboarding"})')
        serve(base)
        await_value(local, 'sum(rate(cache_lookups_total{job="onboarding"}[5m]))')
        await_value(local, 'sum(rate(http_server_request_duration_seconds_count{job="onboarding"}[5m]))')
        yield Live(f"{base}/metrics", local.prometheus_url)


def serve(base: str) -> None:
    """Progress reads (cache lookups) and step updates, one of them stale (409)."""
    for _ in range(5):
        assert requests.get(f"{base}/api/onboarding", timeout=5).status_code == 200
    for step in requests.get(f"{base}/api/onboarding", timeout=5).json()["steps"]:
        body = {"version": step["version"], "done": not step["done"]}
        assert requests.patch(f"{base}/api/onboarding/steps/{step['id']}", json=body, timeout=5).status_code == 200
        assert requests.patch(f"{base}/api/onboarding/steps/{step['id']}", json=body, timeout=5).status_code == 409


def await_value(local: LocalStack, expr: str) -> None:
    """Wait until ``expr`` is positive in Prometheus (a few 1s scrapes)."""
    deadline = time.monotonic() + 30
    while not ((value := local.prometheus.value(expr)) and value > 0):
        assert time.monotonic() < deadline, f"{expr} never became positive in Prometheus"
        time.sleep(0.5)


def check(tmp_path: Path, text: str, *args: str) -> tuple[int, str]:
    spec = tmp_path / "onboarding.yaml"
    spec.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(spec), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout + result.stderr


def failures(output: str) -> str:
    """The FAIL lines with their details."""
    lines, keep = [], False
    for line in output.splitlines():
        if not line.startswith(" "):
            keep = line.startswith("FAIL")
        if keep:
            lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("source", ["--metrics-url", "--prometheus"])
def test_the_example_spec_passes_and_shows_each_slis_value(live: Live, tmp_path: Path, source: str) -> None:
    url = live.metrics_url if source == "--metrics-url" else live.prometheus_url
    code, out = check(tmp_path, EXAMPLE_TEXT, source, url)
    assert code == 0, out
    assert "FAIL" not in out
    for slo in ("availability", "latency", "conflicts", "cache-hits"):
        assert f"ok   {source[2:].split('-')[0]}: onboarding/{slo} SLI now: " in out, out
    span = "since the process started" if source == "--metrics-url" else "over the last 5m"
    assert f"bad {span}" in out
    assert "onboarding/latency threshold 300ms: a bucket bound" in out
    assert f"onboarding/conflicts route {STEPS}: seen" in out


@pytest.mark.parametrize("source", ["--metrics-url", "--prometheus"])
@pytest.mark.parametrize(("broken", "expected"), [
    (EXAMPLE_TEXT.replace(f'route: "{STEPS}"', 'route: "/api/onboarding/steps/{step}"'),
     ["route /api/onboarding/steps/{step}", "never seen; routes seen:"]),
    # The spec says the service has a 777ms bucket; the running service does not.
    (EXAMPLE_TEXT.replace("threshold: 300ms}", "threshold: 777ms}").replace("500ms, 750ms", "500ms, 750ms, 777ms"),
     ["threshold 777ms", "777ms is not a bucket of http_server_request_duration_seconds", "buckets seen: "]),
    (EXAMPLE_TEXT.replace("cache: step-definitions", "cache: step-definition"),
     ["cache step-definition", "caches seen: step-definitions; did you mean step-definitions?"]),
    (EXAMPLE_TEXT.replace("owner: growth", "owner: growth\nmetrics_preset: classic"),
     ["series http_request_duration_seconds_count", "set metrics_preset: otel"]),
], ids=["route-never-served", "threshold-not-a-bucket", "missing-cache", "wrong-preset"])
def test_a_spec_that_can_never_get_data_fails(live: Live, tmp_path: Path, source: str, broken: str,
                                              expected: list[str]) -> None:
    url = live.metrics_url if source == "--metrics-url" else live.prometheus_url
    code, out = check(tmp_path, broken, source, url)
    assert code == 1, out
    failed = failures(out)
    for text in expected:
        assert text in failed, out


@pytest.mark.parametrize(("selector", "expected"), [
    ("{job: checkout}", 'no scrape target matches the spec\'s selector {job="checkout"} '
                        '(targets\' jobs: onboarding, prometheus)'),
    ("{job: onboarding, env: prod}", 'no scrape target matches the spec\'s selector {env="prod", job="onboarding"}'),
    ("{job: prometheus}", 'no series with the spec\'s selector {job="prometheus"}; this metric has: job="onboarding"'),
], ids=["wrong-job", "label-the-scrape-does-not-add", "another-targets-job"])
def test_a_wrong_selector_fails_against_prometheus(live: Live, tmp_path: Path, selector: str, expected: str) -> None:
    code, out = check(tmp_path, EXAMPLE_TEXT.replace("selector: {job: onboarding}", f"selector: {selector}"),
                      "--prometheus", live.prometheus_url)
    assert code == 1, out
    assert expected in failures(out)
    # /metrics carries no scrape labels: the selector is reported as not checked there, never as passed.
    code, out = check(tmp_path, EXAMPLE_TEXT.replace("selector: {job: onboarding}", f"selector: {selector}"),
                      "--metrics-url", live.metrics_url)
    assert code == 0 and "WARN metrics: onboarding selector" in out


def test_unreachable_url_exits_3(tmp_path: Path) -> None:
    port = stack.free_port()  # nothing listens there
    started = time.monotonic()
    code, out = check(tmp_path, EXAMPLE_TEXT, "--prometheus", f"http://127.0.0.1:{port}",
                      "--retries", "1", "--timeout", "1")
    assert code == 3
    assert f"slokit check: cannot get an answer from Prometheus at http://127.0.0.1:{port}: connection refused" in out
    assert "(2 attempts)" in out
    assert time.monotonic() - started < 10


def test_credentials_in_the_url_are_a_usage_error_never_echoed(tmp_path: Path) -> None:
    code, out = check(tmp_path, EXAMPLE_TEXT, "--prometheus", f"http://admin:s3cret@127.0.0.1:{stack.free_port()}")
    assert code == 2
    assert "must not contain credentials; pass them with --prometheus-bearer-token-file" in out
    assert "s3cret" not in out and "admin" not in out


def test_not_a_prometheus_exits_3(live: Live, tmp_path: Path) -> None:
    code, out = check(tmp_path, EXAMPLE_TEXT, "--prometheus", live.metrics_url.removesuffix("/metrics"))
    assert code == 3, out
    assert "slokit check: no Prometheus API at " in out and "/api/v1/query (HTTP 404)" in out


def test_no_traffic_yet_is_a_warning_not_a_failure() -> None:
    """A service that has served nothing declares its metric families without samples: warnings only."""
    (service,) = load_or_raise([EXAMPLE])
    m = service.metrics
    declared = {f"{m.duration}_bucket", f"{m.duration}_count", f"{m.duration}_sum", m.cache_lookups_total}
    results = check_live(MetricsData(Exposition("http://x/metrics", {}, frozenset(declared))), [service])
    assert results and all(not r.ok and r.level == "warning" for r in results), results
    assert any("declared but no sample yet" in r.detail for r in results)


def test_sli_value_since_start_counts_bad_events_from_metrics() -> None:
    """Cumulative counts from /metrics: 3 of 40 requests on the SLO's route answered 409 = 7.5 %."""
    (service,) = load_or_raise([EXAMPLE])
    m = service.metrics
    labels = {m.route_label: STEPS, m.method_label: "PATCH"}
    samples = {m.duration_count: (Sample({**labels, m.status_label: "200"}, 37.0),
                                  Sample({**labels, m.status_label: "409"}, 3.0),
                                  Sample({m.route_label: "/api/onboarding", m.method_label: "GET",
                                          m.status_label: "409"}, 100.0))}
    data = MetricsData(Exposition("http://x/metrics", samples, frozenset(samples)))
    (now,) = data.sli_now(service, service.slo("conflicts"))
    assert now.words == "7.5% bad since the process started (40 events) (within the 10% the 90% objective allows)"


def test_a_service_without_traffic_gives_warnings_only_against_prometheus(tmp_path: Path) -> None:
    """Before the first request the middleware's families have no sample; Prometheus knows them from the
    scrape's metadata, so nothing fails: every finding is a 'no traffic yet' warning."""
    with service_and_prometheus(tmp_path) as (_, local):
        deadline = time.monotonic() + 30
        while True:
            code, out = check(tmp_path, EXAMPLE_TEXT, "--prometheus", local.prometheus_url)
            if "declared but no sample yet" in out or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert code == 0, out
    assert "FAIL" not in out and "declared but no sample yet" in out
    assert "no cache lookup recorded yet" in out and "no route seen yet" in out


RATIO_SLO = """  - name: conflicts-ratio
    objective: 90
    sli:
      ratio:
        bad: >-
          sum(rate(http_server_request_duration_seconds_count{job="onboarding",
          http_response_status_code="409"}[{{window}}]))
        total: >-
          sum(rate(http_server_request_duration_seconds_count{job="onboarding",
          http_route="/api/onboarding/steps/{id}"}[{{window}}]))
"""


def with_slo(slo: str) -> str:
    """The example spec with one more SLO, before its rollout: section."""
    return EXAMPLE_TEXT.replace("\nrollout:", "\n" + slo + "rollout:", 1)


def test_a_route_without_its_slash_is_refused_before_any_live_check(tmp_path: Path) -> None:
    """validate itself refuses it (the middleware never records such a route), so no URL is read."""
    code, out = check(tmp_path, EXAMPLE_TEXT.replace(f'route: "{STEPS}"', 'route: "api/onboarding/steps/{id}"'),
                      "--metrics-url", "http://127.0.0.1:9/metrics")
    assert code == 1 and f"must start with '/' (did you mean '{STEPS}'?)" in out and "nothing checked" in out, out


def test_a_ratio_sli_is_evaluated_in_prometheus(live: Live, tmp_path: Path) -> None:
    """Half the step updates answered 409: the generic SLI's own queries say so; a total query over a
    metric that does not exist is a warning (it may also be a query for a series still to come)."""
    code, out = check(tmp_path, with_slo(RATIO_SLO), "--prometheus", live.prometheus_url)
    assert code == 0, out
    assert "ok   prometheus: onboarding/conflicts-ratio SLI now: 50% bad over the last 5m" in out, out
    missing = RATIO_SLO.rsplit("total:", 1)[0] + "total: 'sum(rate(nope_total[{{window}}]))'\n"
    code, out = check(tmp_path, with_slo(missing), "--prometheus", live.prometheus_url)
    assert code == 0 and "WARN prometheus: onboarding/conflicts-ratio SLI now" in out, out
    code, out = check(tmp_path, with_slo(RATIO_SLO), "--metrics-url", live.metrics_url)
    assert "WARN metrics: onboarding/conflicts-ratio ratio SLI" in out and "(--prometheus URL)" in out


def test_a_url_without_scheme_is_a_usage_error(tmp_path: Path) -> None:
    code, out = check(tmp_path, EXAMPLE_TEXT, "--prometheus", "localhost:9090")
    assert code == 2 and "--prometheus: the Prometheus URL must look like http://prometheus:9090" in out


@pytest.mark.parametrize(("route", "expected"), [
    ("/payments/{id}", "/payments/<int:payment_id>"),  # the same template in Flask's syntax, not a prefix
    ("/payment/{id}", "/payments/<int:payment_id>"),  # a typo: still the route with a parameter
    ("/paymnts", "/payments"),
    ("/api/onboarding/step/{id}", "/api/onboarding/steps/{id}"),
    ("/nothing/like/it/at/all", None),
])
def test_route_suggestions_are_ranked_by_structure(route: str, expected: str | None) -> None:
    from slokit.livecheck import closest_route

    seen = ["/payments", "/payments/<int:payment_id>", "/health", "/api/onboarding/steps/{id}",
            "/api/onboarding/steps"]
    assert closest_route(route, seen) == expected
