"""Every alerting rule of a generated file has its own label set, decided by the alert catalogue.

Two rules with the same alert name and labels write the same ``ALERTS`` series, and Alertmanager merges
them into one alert: a 1% and a 2% ticket would page as one, resolve as one and share one runbook link.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_helpers import each_toolset
from runbooks_specs import EDGE, MINIMAL, PAYMENTS, TWINS
from slokit import catalog, series
from slokit.artifacts import Options
from slokit.rules.build import service_groups, slo_labels
from slokit.rules.check import check_rules
from slokit.rules.render import dump, emit_rules
from slokit.spec import load_or_raise
from slokit.spec.model import Service


def _load(tmp_path: Path, name: str, text: str) -> Service:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    (service,) = load_or_raise([path])
    return service


@pytest.fixture
def twins(tmp_path: Path) -> Service:
    return _load(tmp_path, "twins", TWINS)


def _alert_rules(service: Service) -> list[Any]:
    """The alerting rules as the rule file writes them (through its YAML writer, without the slower tests)."""
    text = dump({"groups": service_groups(service)})
    return [r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "alert" in r]


def _thresholds(service: Service, slo: str) -> list[tuple[str, str | None, str | None]]:
    return [(a.name, a.labels.get(series.THRESHOLD_LABEL), a.labels.get(series.ROLLBACK_LABEL))
            for a in catalog.alerts_for(service, service.slo(slo)) if a.kind == "guardrail"]


def test_guardrail_twins_are_told_apart_by_their_level(twins: Service) -> None:
    ratio, p99, good = "SLOErrorRatioHigh", "SLOLatencyP99High", "SLOGoodRatioLow"
    assert _thresholds(twins, "avail") == [
        (ratio, "1%", None),
        (ratio, "2%", None),
        (ratio, "3% for 5m", None),  # the level alone is shared: its `for` tells them apart
        (ratio, "3% for 15m over 5m", None),  # level and `for` are shared: the window too
        (ratio, "3% for 15m over 30m", None),
        (ratio, "5%", "true"),  # rollback triggers are their own group: 1% there is not 1% above
        (ratio, "1%", "true"),
        (ratio, None, None),  # alone with its name, severity and rollback flag: no threshold label
        (ratio, None, "true"),
    ]
    assert _thresholds(twins, "latency") == [
        (p99, "1s", None), (p99, "2.5s", None),
        (good, "90% for 10m over 5m #1", None), (good, "90% for 10m over 5m #2", None),  # written twice
    ]


def test_alert_without_twins_gets_no_threshold_label(onboarding: Service) -> None:
    for slo in onboarding.slos:
        for a in catalog.alerts_for(onboarding, slo):
            assert series.THRESHOLD_LABEL not in a.labels
            if a.tier is not None:
                assert dict(a.labels) == {series.LONG_WINDOW_LABEL: str(a.tier.tier.long),
                                          series.SHORT_WINDOW_LABEL: str(a.tier.tier.short)}


@pytest.mark.parametrize(("name", "text"), [("payments", PAYMENTS), ("minimal", MINIMAL), ("edge", EDGE),
                                            ("twins", TWINS)])
def test_no_two_alerting_rules_share_name_and_labels(tmp_path: Path, name: str, text: str) -> None:
    service = _load(tmp_path, name, text)
    rules = _alert_rules(service)
    keys = Counter((r["alert"], tuple(sorted(r["labels"].items()))) for r in rules)  # type: ignore[attr-defined]
    assert [k for k, n in keys.items() if n > 1] == []
    assert len(rules) == sum(len(catalog.alerts_for(service, slo)) for slo in service.slos)


def test_example_alerting_rules_have_distinct_label_sets(onboarding: Service) -> None:
    rules = _alert_rules(onboarding)
    keys = {(r["alert"], tuple(sorted(r["labels"].items()))) for r in rules}  # type: ignore[attr-defined]
    assert len(keys) == len(rules)


def test_rules_carry_exactly_the_catalogue_labels(twins: Service) -> None:
    rules = iter(_alert_rules(twins))
    for slo in twins.slos:
        for a in catalog.alerts_for(twins, slo):
            rule = next(rules)
            expected = {**slo_labels(twins, slo), series.SEVERITY_LABEL: a.severity, series.TEAM_LABEL: twins.owner,
                        **a.labels}
            assert (rule["alert"], rule["labels"]) == (a.name, expected)


_MATCHER = re.compile(r'(\w+)(!?=)("(?:[^"\\]|\\.)*")')


def test_generated_tests_check_every_twin_by_its_own_labels(twins: Service) -> None:
    """Each guardrail has one timing test, reading ALERTS with its catalogue labels and nothing looser."""
    tests = yaml.safe_load(emit_rules([twins], Options())["alerts/twins.rules.test.yml"])["tests"]
    selectors: Counter[frozenset[tuple[str, str, str]]] = Counter()
    for t in tests:
        for c in t["promql_expr_test"]:
            if c["expr"].startswith("count(ALERTS{") and "SLOErrorBudgetBurn" not in c["expr"]:
                selectors[frozenset((k, op, json.loads(v)) for k, op, v in _MATCHER.findall(c["expr"]))] += 1
    expected: set[frozenset[tuple[str, str, str]]] = set()
    for slo in twins.slos:
        alerts = catalog.alerts_for(twins, slo)
        for a in alerts:
            if a.kind == "guardrail":
                labels = {"alertname": a.name, "alertstate": "firing", "service": twins.name, "slo": slo.name,
                          "severity": a.severity, **a.labels}
                rollback = {("rollback", "!=", "true")} if catalog.excludes_rollback(a, alerts) else set()
                expected.add(frozenset({(k, "=", v) for k, v in labels.items()} | rollback))
    assert set(selectors) <= expected and len(expected) == 13
    # Slow requests are synthesised just above the lowest latency level (1s), so the 2.5s twin has no
    # timing test (it could not fire); every other guardrail has its own.
    (untested,) = expected - set(selectors)
    assert ("threshold", "=", "2.5s") in untested


@each_toolset
def test_twin_guardrail_tests_pass_promtool(twins: Service, tmp_path: Path) -> None:
    """Each twin's test drives it past its own level: a selector that also counted its twin would see 2."""
    for rel, text in emit_rules([twins], Options()).items():
        if not rel.endswith("steady.test.yml"):
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text, encoding="utf-8")
    results = [r for r in check_rules(tmp_path, [twins]) if "missing" not in r.detail]
    assert [r.target for r in results] == ["alerts/twins.rules.yml", "alerts/twins.rules.test.yml"]
    assert all(r.ok for r in results), "\n".join(r.detail for r in results)
