"""The generated rule files and their promtool tests, for the example spec and for a varied one.

The promtool tests slokit writes prove the alert behaviour per SLO; here they are run with the real
promtool (through the same checker `slokit check` uses), next to structural checks of the rule files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_helpers import each_toolset, make_service, make_slo
from slokit import catalog, links, series
from slokit.artifacts import Options
from slokit.burnrate import plan
from slokit.rules.build import service_groups, slo_labels
from slokit.rules.check import check_rules
from slokit.rules.render import emit_rules
from slokit.spec import load_or_raise
from slokit.spec.model import HttpErrors, Service

VARIED = r"""
service: payments
owner: billing
labels: {tier: "2"}
selector: {job: 'pay"ments\x'}
slos:
  - name: checkout
    objective: 99.9
    window: 28d
    min_events: 100
    absent_for: 10m
    labels: {domain: checkout}
    sli:
      ratio:
        bad: sum(rate(payment_failures_total{job="payments"}[{{window}}]))
        total: sum(rate(payments_total{job="payments"}[{{window}}]))
    alerts:
      - {error_ratio_above: 2%, for: 5m, severity: page}
  - name: api-success
    objective: 99
    window: 7d
    sli:
      ratio:
        good: sum(rate(http_requests_total{job="payments", code=~"2.."}[{{window}}]))
        total: sum by (code) (rate(http_requests_total{job="payments"}[{{window}}]))
  - name: refunds
    objective: 90
    burn_rate: false
    sli: {http_errors: {status: "5..|429"}}
    alerts:
      - {good_ratio_below: 80%, for: 10m, severity: ticket, window: 30m}
  - name: slow
    objective: 99.5
    sli: {http_latency: {threshold: 250ms, route: "/pay/<int:id>", method: POST}}
    alerts:
      - {p99_above: 1s, for: 5m, severity: page}
  - name: opaque
    objective: 95
    window: 1d
    sli:
      ratio:
        bad: sum(rate(a_total[{{window}}])) + sum(rate(b_total[{{window}}]))
        total: sum(rate(c_total[{{window}}]))
"""


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Service:
    path = tmp_path_factory.mktemp("spec") / "payments.yaml"
    path.write_text(VARIED, encoding="utf-8")
    (service,) = load_or_raise([path])
    return service


def write(out: Path, services: list[Service], fmt: str = "prometheus") -> dict[str, str]:
    files = emit_rules(services, Options(rules_format=fmt))
    for rel, text in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
    return files


def rules_of(text: str) -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(text)["groups"] for r in g["rules"]]


# --- promtool: generated files check clean and their tests pass ---------------------------------------


@each_toolset
@pytest.mark.parametrize("fmt", ["prometheus-operator", "mimir"])
def test_example_rules_and_generated_tests_pass_promtool(onboarding: Service, tmp_path: Path, fmt: str) -> None:
    files = write(tmp_path, [onboarding], fmt)
    wrapped = ".prometheusrule.yml" if fmt == "prometheus-operator" else ".mimir.yml"
    assert f"alerts/onboarding{wrapped}" in files
    if fmt == "mimir":  # the promtool tests are the same in both formats: run them once
        (tmp_path / "alerts/onboarding.rules.steady.test.yml").unlink()
        (tmp_path / "alerts/onboarding.rules.test.yml").unlink()
    results = check_rules(tmp_path, [onboarding])
    failed = [r for r in results if not r.ok and "missing" not in r.detail]
    assert not failed, "\n".join(f"{r.target}: {r.detail}" for r in failed)
    checked = {r.target for r in results if r.ok}
    assert {"alerts/onboarding.rules.yml", f"alerts/onboarding{wrapped}"} <= checked


@each_toolset
def test_varied_spec_generated_tests_pass_promtool(varied: Service, tmp_path: Path) -> None:
    write(tmp_path, [varied])
    results = check_rules(tmp_path, [varied])
    assert [r.target for r in results] == ["alerts/payments.rules.yml", "alerts/payments.rules.test.yml",
                                           "alerts/payments.rules.steady.test.yml"]
    assert all(r.ok for r in results), "\n".join(f"{r.target}: {r.detail}" for r in results if not r.ok)


@each_toolset
def test_checker_reports_a_failing_generated_test(tmp_path: Path) -> None:
    """A rule file edited by hand (page threshold changed) fails its generated tests, and check says so."""
    service = make_service(make_slo("avail", "99.5", HttpErrors("5..")))
    write(tmp_path, [service])
    (tmp_path / "alerts/svc.rules.steady.test.yml").unlink()
    rules = tmp_path / "alerts/svc.rules.yml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("> 0.072", "> 0.2"), encoding="utf-8")
    results = {r.target: r for r in check_rules(tmp_path, [service])}
    assert results["alerts/svc.rules.yml"].ok
    test = results["alerts/svc.rules.test.yml"]
    assert not test.ok and "SLOErrorBudgetBurn" in test.detail
    missing = results["alerts/svc.rules.steady.test.yml"]
    assert not missing.ok and "missing" in missing.detail


# --- what the generated tests cover -------------------------------------------------------------------


def test_generated_tests_cover_every_tier_and_guardrail(varied: Service) -> None:
    files = emit_rules([varied], Options())
    names = [t["name"] for f in ("alerts/payments.rules.test.yml", "alerts/payments.rules.steady.test.yml")
             for t in yaml.safe_load(files[f])["tests"]]
    for slo in varied.slos:
        mine = [n for n in names if n.startswith(f"{slo.name}: ")]
        if slo.name == "opaque":  # two rate() selectors in one query: no series synthesised, metadata only
            assert mine == ["opaque: metadata series"]
            continue
        for t in plan(slo)[0]:
            assert any(f"just above the {t.tier.long}/{t.tier.short}" in n for n in mine), (slo.name, t)
            assert any(f"just below the {t.tier.long}/{t.tier.short}" in n for n in mine), (slo.name, t)
        if plan(slo)[0]:
            assert any("total outage" in n for n in mine)
            assert any("steady 0.5x burn for 3 days" in n for n in mine)
        for a in catalog.alerts_for(varied, slo):
            if a.kind == "guardrail":
                assert any(n.startswith(f"{slo.name}: {a.name} ") for n in mine), a
    assert any("fewer than 100 events" in n for n in names)
    assert any("checkout: no SLI series for 10m" in n for n in names)


def test_outage_test_predicts_the_workbook_minute(onboarding: Service) -> None:
    """99.5 %: the 1h ratio passes 14.4 x 0.5 % = 7.2 % five minutes into a total outage."""
    tests = yaml.safe_load(emit_rules([onboarding], Options())["alerts/onboarding.rules.test.yml"])["tests"]
    outage = next(t for t in tests if t["name"].startswith("availability: a total outage"))
    assert "5 minutes in" in outage["name"]
    checks = {(c["eval_time"], bool(c["exp_samples"])) for c in outage["promql_expr_test"]}
    assert ("69m", False) in checks and ("71m", True) in checks  # outage starts at 65m: fires by 70m, not at 69m


# --- the rule files ------------------------------------------------------------------------------------


def test_every_rule_carries_service_slo_and_spec_labels(varied: Service) -> None:
    for slo in varied.slos:
        groups = [g for g in service_groups(varied) if g["name"].startswith(f"payments/{slo.name}")]
        assert [g["interval"] for g in groups] == ["1m", "2m"]
        for rule in (r for g in groups for r in g["rules"]):
            labels = rule["labels"]
            assert labels["service"] == "payments" and labels["slo"] == slo.name and labels["tier"] == "2"
            if slo.name == "checkout":
                assert labels["domain"] == "checkout"
            if "alert" in rule:
                assert labels["severity"] in ("page", "ticket") and labels["team"] == "billing"
                # dashboard_url only with grafana.url: a relative one would be dead in a notification.
                assert set(rule["annotations"]) == {"summary", "description", "runbook_url"} | (
                    {"dashboard_url"} if varied.grafana_url else set())
                if rule["alert"] != catalog.ABSENT_ALERT:
                    assert "{{ $value" in rule["annotations"]["description"]
            else:
                assert set(labels) <= {"service", "slo", "tier", "domain", "description", "objective", "window",
                                       "sli", "owner", "runbook_url"}


def test_alerts_are_exactly_the_catalogue(onboarding: Service) -> None:
    rules = rules_of(emit_rules([onboarding], Options())["alerts/onboarding.rules.yml"])
    for slo in onboarding.slos:
        emitted = [r for r in rules if "alert" in r and r["labels"]["slo"] == slo.name]
        expected = catalog.alerts_for(onboarding, slo)
        assert [(r["alert"], r["labels"]["severity"]) for r in emitted] == [(a.name, a.severity) for a in expected]
        for rule, a in zip(emitted, expected, strict=True):
            assert rule["annotations"]["runbook_url"] == links.runbook_url(onboarding, slo, a.anchor)
            assert rule["annotations"].get("dashboard_url") == links.notification_dashboard_url(onboarding)
            assert (rule["labels"].get("rollback") == "true") == a.rollback
            assert rule["labels"] == {**slo_labels(onboarding, slo), "severity": a.severity, "team": onboarding.owner,
                                      **a.labels}
            if a.guardrail is not None:
                assert rule["for"] == str(a.guardrail.for_)


def test_rule_count_per_30d_slo() -> None:
    """Per 30d SLO without guardrails: 17 recording rules (10 ratio and rate, 7 metadata) and 4 tier alerts."""
    groups = service_groups(make_service(make_slo("avail", "99.9", HttpErrors("5.."))))
    rules = [r for g in groups for r in g["rules"]]
    recorded = {r["record"] for r in rules if "record" in r}
    assert len([r for r in rules if "record" in r]) == 17 and len(recorded) == 17
    assert len([r for r in rules if "alert" in r]) == 4
    for name in (series.OBJECTIVE, series.ERROR_BUDGET, series.BUDGET_REMAINING, series.BURN_RATE,
                 series.PERIOD_BURN_RATE, series.WINDOW_DAYS, series.INFO):
        assert name in recorded


def test_every_window_ratio_reads_the_counters_over_exactly_that_window(onboarding: Service) -> None:
    """Each ratio is rate() of the raw counters over its own window: no sum of recorded short-window rates,
    which would lose the events of a scrape gap and lag the window (tests/test_rules_semantics.py)."""
    rules = rules_of(emit_rules([onboarding], Options())["alerts/onboarding.rules.yml"])
    ratios = [r for r in rules if r.get("record", "").startswith("slo:sli_error:ratio_rate")]
    assert len(ratios) == 8 * len(onboarding.slos)
    for rule in ratios:
        window = rule["record"].removeprefix("slo:sli_error:ratio_rate")
        assert "sum_over_time" not in rule["expr"]
        if window != "5m":
            assert f"[{window}]" in rule["expr"] and ("http_server" in rule["expr"] or "cache_lookups" in rule["expr"])


def test_volatile_metadata_only_on_the_info_series(onboarding: Service) -> None:
    rules = rules_of(emit_rules([onboarding], Options())["alerts/onboarding.rules.yml"])
    for rule in rules:
        has_description = "description" in rule["labels"]
        assert has_description == (rule.get("record") == series.INFO)


def test_operator_and_mimir_envelopes(onboarding: Service) -> None:
    operator = emit_rules([onboarding], Options("prometheus-operator"))
    op = yaml.safe_load(operator["alerts/onboarding.prometheusrule.yml"])
    assert op["apiVersion"] == "monitoring.coreos.com/v1" and op["kind"] == "PrometheusRule"
    assert op["metadata"]["name"] == "slokit-onboarding"
    mimir = yaml.safe_load(emit_rules([onboarding], Options("mimir"))["alerts/onboarding.mimir.yml"])
    assert mimir["namespace"] == "onboarding"
    plain = yaml.safe_load(emit_rules([onboarding], Options())["alerts/onboarding.rules.yml"])
    assert op["spec"]["groups"] == plain["groups"] == mimir["groups"]
    with pytest.raises(ValueError, match="unknown rules format"):
        emit_rules([onboarding], Options("victoriametrics"))


def test_generated_test_file_points_at_its_rule_file(onboarding: Service) -> None:
    files = emit_rules([onboarding], Options())
    for name in ("alerts/onboarding.rules.test.yml", "alerts/onboarding.rules.steady.test.yml"):
        data = yaml.safe_load(files[name])
        assert data["rule_files"] == ["onboarding.rules.yml"]
        assert data["group_eval_order"] == [g["name"] for g in service_groups(onboarding)]


@pytest.mark.parametrize("value", ['x"y\\z', "yes", "no", "On", "", "1", "1.0", "a\n b", "a\nb\n", "é: x #y", "it's",
                                   "a\tb", "{a}", "- x", "x:", " lead", "~", "null", 1.5e-07, 3, True, "[5m]"])
def test_yaml_writer_round_trips(value: object) -> None:
    """The rule-file writer quotes whatever YAML would otherwise read as something else."""
    from slokit.rules.render import dump

    data = {"groups": [{"name": value, "rules": [{"expr": value, "labels": {"k": value}}], "e": [], "d": {}}]}
    assert yaml.safe_load(dump(data)) == data

