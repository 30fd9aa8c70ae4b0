"""``slokit export openslo``: OpenSLO v1 documents that ``slokit import openslo`` reads back into an equivalent
spec: the same SLIs (as PromQL), objectives, windows, labels, burn-rate tiers and ratio guardrails."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import yaml
from click.testing import CliRunner

from conftest import EXAMPLE_SPEC, ROOT
from slokit import burnrate
from slokit.cli import main
from slokit.exporters.openslo import export
from slokit.importers import openslo
from slokit.rules.sli import sli_queries
from slokit.spec import load_or_raise, load_services
from slokit.spec.model import Guardrail, Service
from slokit.spec.units import Duration

E2E_SPEC = ROOT / "tests" / "e2e" / "onboarding.yaml"

SEVEN_DAYS = """service: payments
owner: money
labels: {market: fr}
selector: {job: payments}
slos:
  - name: checkout
    objective: 99.9
    window: 7d
    labels: {kind: availability}
    sli: {http_errors: {status: "5..", route: /pay}}
    alerts:
      - {good_ratio_below: 97%, window: 30m, for: 2m, severity: page, rollback: true}
      - {p99_above: 1s, for: 5m, severity: ticket}
  - name: quiet
    objective: 95
    window: 28d
    burn_rate: false
    sli: {ratio: {bad: 'sum(rate(err_total[{{window}}]))', total: 'sum(rate(all_total[{{window}}]))'}}
"""


def _load(path: Path) -> Service:
    result = load_services([path])
    assert result.ok, "\n".join(map(str, result.errors))
    (service,) = result.services
    return service


def _ratio_alerts(service: Service) -> set[tuple[str, Fraction, Duration, Duration, str, bool]]:
    """Ratio guardrails as the bad share they fire above (good_ratio_below 97 % is a bad share above 3 %)."""
    def share(g: Guardrail) -> Fraction:
        return g.threshold if g.kind == "error_ratio_above" else 1 - g.threshold
    return {(slo.name, share(g), g.window, g.for_, g.severity, g.rollback)
            for slo in service.slos for g in slo.alerts if g.kind != "quantile_above"}


def _round_trip(original: Service, tmp_path: Path) -> Service:
    result = openslo.convert([("exported.yaml", export(original))])
    assert not result.diagnostics, "\n".join(map(str, result.diagnostics))
    (draft,) = result.drafts
    out = tmp_path / "back"
    out.mkdir()
    (out / f"{draft.service}.yaml").write_text(draft.text("OpenSLO"), encoding="utf-8")
    return _load(out / f"{draft.service}.yaml")


def _assert_equivalent(original: Service, back: Service) -> None:
    assert (back.name, back.owner, dict(back.labels), back.description) == (
        original.name, original.owner, dict(original.labels), original.description)
    assert [s.name for s in back.slos] == [s.name for s in original.slos]
    for a, b in zip(original.slos, back.slos, strict=True):
        assert (b.objective, b.window, b.description, dict(b.labels)) == (
            a.objective, a.window, a.description, dict(a.labels))
        for window in ("5m", "1h", "3d"):
            assert sli_queries(back, b, Duration.parse(window)) == sli_queries(original, a, Duration.parse(window))
        assert burnrate.plan(b)[0] == burnrate.plan(a)[0]
    assert _ratio_alerts(back) == _ratio_alerts(original)


def test_export_then_import_gives_an_equivalent_spec(tmp_path: Path) -> None:
    original = _load(EXAMPLE_SPEC)
    _assert_equivalent(original, _round_trip(original, tmp_path))


def test_sub_minute_durations_are_rounded_and_said_so(tmp_path: Path) -> None:
    """OpenSLO durations have no seconds: the 10s guardrail windows of the end-to-end spec become 1m."""
    original = _load(E2E_SPEC)
    text = export(original)
    assert "the exact window 10s and for 0s of the error_ratio_above 1% alert" in text
    back = _round_trip(original, tmp_path)
    assert {g.window for s in back.slos for g in s.alerts} == {Duration.parse("1m")}
    assert [s.burn_rate for s in back.slos] == [s.burn_rate for s in original.slos]


def test_round_trip_keeps_windows_rollback_flags_and_disabled_burn_rates(tmp_path: Path) -> None:
    (tmp_path / "payments.yaml").write_text(SEVEN_DAYS, encoding="utf-8")
    original = _load(tmp_path / "payments.yaml")
    back = _round_trip(original, tmp_path)
    _assert_equivalent(original, back)
    assert back.slo("quiet").burn_rate is False
    assert [g.rollback for g in back.slo("checkout").alerts] == [True]


def test_export_is_openslo_v1_and_says_what_it_leaves_out(tmp_path: Path) -> None:
    (tmp_path / "payments.yaml").write_text(SEVEN_DAYS, encoding="utf-8")
    text = export(_load(tmp_path / "payments.yaml"))
    docs = list(yaml.safe_load_all(text))
    assert [(d["apiVersion"], d["kind"]) for d in docs] == [("openslo/v1", "Service")] + [("openslo/v1", "SLO")] * 2
    checkout = docs[1]["spec"]
    assert checkout["timeWindow"] == [{"duration": "7d", "isRolling": True}]
    assert checkout["budgetingMethod"] == "Occurrences"
    assert checkout["objectives"] == [{"displayName": "checkout", "target": 0.999}]
    for policy in checkout["alertPolicies"]:
        assert len(policy["spec"]["conditions"]) == 1
        assert policy["spec"]["conditions"][0]["spec"]["condition"]["kind"] == "burnrate"
    assert "p99_above alert (no latency-quantile condition in OpenSLO)" in text
    assert "alertPolicies" not in docs[2]["spec"]


def test_cli_export_writes_one_file_per_service(tmp_path: Path) -> None:
    run = CliRunner().invoke(main, ["export", "openslo", str(EXAMPLE_SPEC), "--out", str(tmp_path / "o")])
    assert run.exit_code == 0, run.output
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["onboarding.openslo.yaml"]
    back = CliRunner().invoke(main, ["import", "openslo", str(tmp_path / "o" / "onboarding.openslo.yaml"),
                                     "--out", str(tmp_path / "slo")])
    assert back.exit_code == 0, back.output
    assert CliRunner().invoke(main, ["validate", str(tmp_path / "slo")]).exit_code == 0


def test_cross_file_references_resolve(tmp_path: Path) -> None:
    """An SLO in one file may name its SLI, alert policy and data source in another."""
    shared = """apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec: {type: Prometheus, connectionDetails: {url: "http://prometheus:9090"}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: errors}
spec:
  ratioMetric:
    counter: true
    bad: {metricSource: {metricSourceRef: prom, spec: {query: 'http_errors_total{job="api"}'}}}
    total: {metricSource: {metricSourceRef: prom, spec: {query: 'http_requests_total{job="api"}'}}}
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: fast-burn}
spec: {severity: critical, condition: {kind: burnrate, op: gte, threshold: 10, lookbackWindow: 1h, alertAfter: 5m}}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: fast}
spec: {conditions: [{conditionRef: fast-burn}]}
"""
    slo = """apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: api
  indicatorRef: errors
  timeWindow: [{duration: 4w, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{targetPercent: 99}]
  alertPolicies: [{alertPolicyRef: fast}]
"""
    result = openslo.convert([("shared.yaml", shared), ("slo.yaml", slo)], owner="team-api")
    assert not result.diagnostics, "\n".join(map(str, result.diagnostics))
    (draft,) = result.drafts
    (tmp_path / "api.yaml").write_text(draft.text("OpenSLO"), encoding="utf-8")
    service = _load(tmp_path / "api.yaml")
    (a,) = service.slos
    assert (service.owner, a.window, a.objective, a.burn_rate) == ("team-api", Duration.parse("28d"),
                                                                   Fraction(99, 100), False)
    assert sli_queries(service, a, Duration.parse("5m")) == (
        'sum(rate(http_errors_total{job="api"}[5m]))', 'sum(rate(http_requests_total{job="api"}[5m]))')
    (g,) = a.alerts
    assert (g.threshold, g.window, g.for_, g.severity) == (Fraction(1, 10), Duration.parse("1h"),
                                                          Duration.parse("5m"), "page")


def test_a_missing_reference_is_an_error_at_its_line() -> None:
    slo = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: api\n  indicatorRef: nope\n" \
          "  objectives: [{target: 0.99}]\n"
    result = openslo.convert([("slo.yaml", slo)])
    assert [(d.loc.line, d.path) for d in result.diagnostics] == [(6, "spec.indicatorRef")]
    assert "no SLI document named 'nope'" in result.diagnostics[0].message


def test_export_lists_the_rollout_it_leaves_out() -> None:
    """OpenSLO has no rollout stages: the example's rollout: must be named, not silently dropped."""
    service = load_or_raise([EXAMPLE_SPEC])[0]
    assert service.rollout is not None
    text = export(service)
    header = text.split("---\n", 1)[0]
    left_out = next(line for line in header.splitlines() if "Not in OpenSLO" in line)
    assert "rollout" in left_out
