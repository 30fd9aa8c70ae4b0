"""``slokit check`` for ``alerts/alertmanager.yml``: amtool's own checks plus route tests from the specs.

``amtool check-config`` proves the file loads in Alertmanager 0.25. It cannot know where alerts should
go, so every service, SLO and severity (and each rollback trigger) also gets an
``amtool config routes test --verify.receivers=<expected>`` whose expectation comes from the specs: a
route tree that sends a page to the wrong receiver fails CI. The receivers the file defines are compared
with the specs too (key files, channels), so a stale or hand-edited file cannot pass with the right name
on the wrong integration. Secret files are only looked at (exists, non-empty), never read; a relative
path is not looked up at all: Alertmanager reads ``routing_key_file`` and ``api_url_file`` when it sends,
relative to its own working directory (only templates and http_config files are resolved against the
config file's folder), which slokit cannot know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from slokit import links
from slokit.alertmanager.config import PATH, build
from slokit.alertmanager.routing import RoutingPlan, is_placeholder, matcher, plan
from slokit.catalog import BURN_ALERT, alerts_for
from slokit.check_common import MISSING, STALE, CheckResult, run_tool
from slokit.rules.render import rules_path
from slokit.spec.model import SEVERITIES, Service, Severity

TOOL = "amtool"
#: Label of the results slokit decides itself (secret files, stale receivers, unrouted severities).
OWN = "alertmanager"
#: Fields that say where a receiver delivers: what must match the specs.
_WHERE = ("routing_key_file", "url", "api_url_file", "channel")
#: Labels a route test's name already shows.
_NAMED = frozenset({"alertname", "service", "slo", "severity", "team", "rollback"})


@dataclass(frozen=True)
class RouteTest:
    """One ``amtool config routes test`` call: the labels of an alert and the receiver it must reach."""

    service: str
    slo: str
    severity: Severity
    labels: Mapping[str, str]
    expected: str
    #: The rule file whose alert labels these are; empty for a test built from the model alone.
    rule_file: str = ""

    @property
    def name(self) -> str:
        rollback = " rollback" if self.labels.get("rollback") == "true" else ""
        alert = ""
        if self.rule_file:
            extra = "".join(f" {k}={v}" for k, v in sorted(self.labels.items()) if k not in _NAMED)
            alert = f" {self.rule_file} {self.labels.get('alertname', '')}{extra}"
        return f"{self.service}/{self.slo}{alert} severity={self.severity}{rollback}"

    def argv(self, config: Path) -> list[str]:
        return [
            TOOL, "config", "routes", "test", f"--config.file={config}", f"--verify.receivers={self.expected}",
            *(matcher(k, v) for k, v in sorted(self.labels.items())),
        ]


def route_tests(services: Sequence[Service], routing: RoutingPlan | None = None) -> list[RouteTest]:
    """Every SLO x severity with the labels its alerts carry; rollback triggers once more with theirs."""
    routing = routing or plan(services)
    tests: list[RouteTest] = []
    for service in services:
        for slo in service.slos:
            alerts = alerts_for(service, slo)
            for severity in SEVERITIES:
                expected = routing.targets[(service.name, severity)]
                mine = [a for a in alerts if a.severity == severity]
                variants = [(mine[0].name if mine else BURN_ALERT, False)]
                variants += [(a.name, True) for a in mine if a.rollback][:1]
                for alertname, rollback in variants:
                    labels = {**service.labels, **slo.labels, "alertname": alertname, "service": service.name,
                              "slo": slo.name, "severity": severity, "team": service.owner}
                    if rollback:
                        labels["rollback"] = "true"
                    tests.append(RouteTest(service.name, slo.name, severity, labels, expected))
    return tests


def rule_route_tests(
    out_dir: Path, services: Sequence[Service], routing: RoutingPlan
) -> tuple[list[RouteTest], list[CheckResult]]:
    """Route tests with the labels the generated alerting rules really carry, when their files exist.

    This ties the routing to the rules: an alert whose ``team``, ``service`` or ``severity`` label does
    not match what the route tree expects fails here, not silently in production.
    """
    tests: list[RouteTest] = []
    problems: list[CheckResult] = []
    for service in services:
        rel = rules_path(service)
        try:
            doc = yaml.safe_load((out_dir / rel).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except yaml.YAMLError:
            problems.append(CheckResult(OWN, rel, False, "not valid YAML: cannot derive route tests"))
            continue
        seen: set[tuple[tuple[str, str], ...]] = set()
        for rule in _alerting_rules(doc):
            labels = {str(k): str(v) for k, v in (rule.get("labels") or {}).items()}
            labels["alertname"] = str(rule["alert"])
            severity = labels.get("severity")
            if severity not in SEVERITIES:
                problems.append(CheckResult(OWN, f"{rel} {rule['alert']}", False,
                                            f"severity label {severity!r} is neither page nor ticket"))
                continue
            key = tuple(sorted(labels.items()))
            if key in seen:
                continue
            seen.add(key)
            sev: Severity = "page" if severity == "page" else "ticket"
            tests.append(RouteTest(service.name, labels.get("slo", ""), sev, labels,
                                   routing.targets[(service.name, sev)], rel))
    return tests, problems


def _alerting_rules(doc: Any) -> list[dict[str, Any]]:
    groups = doc.get("groups") if isinstance(doc, dict) else None
    return [rule for group in groups or [] if isinstance(group, dict)
            for rule in group.get("rules") or [] if isinstance(rule, dict) and "alert" in rule]


def _run_route_test(config: Path, test: RouteTest) -> CheckResult:
    proc = run_tool(test.argv(config))
    target = f"{PATH} route {test.name}"
    if proc.returncode == 0:
        return CheckResult(TOOL, target, True)
    got = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else proc.stderr.strip()
    return CheckResult(TOOL, target, False, f"expected receiver {test.expected!r}, amtool routed to {got!r}")


def _where(receiver: Mapping[str, Any]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    out = []
    for kind in ("pagerduty_configs", "slack_configs"):
        for cfg in receiver.get(kind) or []:
            out.append((kind, tuple((k, str(cfg[k])) for k in _WHERE if k in cfg)))
    return sorted(out)


def _drift(config: Path, services: Sequence[Service]) -> list[CheckResult]:
    """Receivers in the file that do not deliver where the specs say (or are missing)."""
    try:
        loaded = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        actual = {r["name"]: r for r in loaded.get("receivers") or []}
    except (yaml.YAMLError, AttributeError, KeyError, TypeError) as exc:
        return [CheckResult(OWN, PATH, False, f"cannot read receivers: {type(exc).__name__}")]
    stale = STALE
    results = []
    for wanted in build(services)["receivers"]:
        name = wanted["name"]
        if name not in actual:
            results.append(CheckResult(OWN, f"{PATH} receiver {name}", False,
                                       f"missing; {stale}"))
        elif _where(actual[name]) != _where(wanted):
            results.append(CheckResult(OWN, f"{PATH} receiver {name}", False,
                                       f"delivers elsewhere than the specs say; {stale}"))
    return results


def _warnings(routing: RoutingPlan, services: Sequence[Service]) -> list[CheckResult]:
    results = []
    for service in services:
        if (problem := links.dashboard_link_problem(service)) is not None:
            results.append(CheckResult(OWN, f"{PATH} dashboard links of {service.name}", False, problem,
                                       level="warning"))
        for severity in SEVERITIES:
            target = routing.targets[(service.name, severity)]
            used = any(a.severity == severity for slo in service.slos for a in alerts_for(service, slo))
            if used and is_placeholder(target):
                results.append(CheckResult(
                    OWN, f"{PATH} route {service.name} severity={severity}", False,
                    f"service {service.name} gives no routing for {severity}: its {severity} alerts reach the "
                    f"placeholder receiver {target!r} and notify nobody", level="warning"))
    files: dict[str, str] = {}
    for r in routing.receivers:
        if r.routing is not None and r.routing.pagerduty is not None:
            files.setdefault(r.routing.pagerduty.routing_key_file, f"PagerDuty routing key of {r.name}")
        if r.routing is not None and r.routing.slack is not None:
            files.setdefault(r.routing.slack.api_url_file, f"Slack webhook URL of {r.name}")
    for path, what in sorted(files.items()):
        p = Path(path)
        problem = None
        if not p.is_absolute():
            results.append(CheckResult(
                OWN, path, False,
                f"{what}: {path} is a relative path, which Alertmanager resolves against the working directory it "
                f"was started in (not the folder of {PATH}) when it sends, so it cannot be checked here; write "
                "an absolute path", level="warning"))
            continue
        if not p.is_file():
            problem = ("does not exist on this machine (expected where Alertmanager does not run: run check where "
                       "it does)")
        elif p.stat().st_size == 0:
            problem = "is empty"
        if problem:
            results.append(CheckResult(
                OWN, path, False,
                f"{what}: {path} {problem}; Alertmanager reads it only when it sends, so the notification "
                "would fail then", level="warning"))
    return results


def check_alertmanager(out_dir: Path, services: Sequence[Service]) -> list[CheckResult]:
    config = out_dir / PATH
    if not config.is_file():
        return [CheckResult(TOOL, PATH, False, MISSING)]
    proc = run_tool([TOOL, "check-config", str(config)])
    if proc.returncode != 0:
        # amtool echoes no secret (the file holds only paths to them); its message says what is wrong.
        return [CheckResult(TOOL, PATH, False, "\n".join(t.strip() for t in (proc.stdout, proc.stderr) if t.strip()))]
    results = [CheckResult(TOOL, PATH, True, "check-config passed")]
    routing = plan(services)
    from_rules, results_rules = rule_route_tests(out_dir, services, routing)
    tests = route_tests(services, routing) + from_rules
    results.extend(results_rules)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results.extend(pool.map(lambda t: _run_route_test(config, t), tests))
    results.extend(_drift(config, services))
    results.extend(_warnings(routing, services))
    return results
