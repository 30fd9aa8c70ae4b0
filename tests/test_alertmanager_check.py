"""``slokit check`` on the Alertmanager config, with the real amtool (Alertmanager 0.25).

Route tests are derived from the specs, so these tests also prove the checker fails when the route tree is
wrong, when the file's receivers drift from the specs, and that secrets never leak into the config or the
checker's output.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slokit.alertmanager.check import check_alertmanager, route_tests, rule_route_tests
from slokit.alertmanager.config import PATH, render
from slokit.alertmanager.routing import plan
from slokit.artifacts import Options
from slokit.check_common import CheckResult
from slokit.checks import checkers
from slokit.cli import main
from slokit.spec import load_or_raise
from slokit.spec.model import PagerDuty, Receiver, Routing, Service, Slack

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "slo" / "onboarding.yaml"
MORE_SPECS = ROOT / "tests" / "golden" / "alertmanager" / "specs"

pytestmark = pytest.mark.usefixtures("toolset")  # amtool's checks differ between Alertmanager releases

FAKE_PD_KEY = "R0UT1NGKEY-fake-4f2a9c1e7b3d"
FAKE_WEBHOOK = "https://hooks.slack.com/services/TFAKE000/BFAKE000/fakeSecretToken9f8e7d"


def write_config(out: Path, services: tuple[Service, ...] | list[Service]) -> Path:
    path = out / PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(services), encoding="utf-8")
    return path


def errors(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.ok and r.level == "error"]


def multi() -> tuple[Service, ...]:
    return load_or_raise([EXAMPLE, MORE_SPECS])


def test_checker_is_registered() -> None:
    assert check_alertmanager in checkers()


@pytest.mark.parametrize("specs", ["example", "multi", "none"])
def test_generated_configs_pass_check_config_and_every_route_test(specs: str, tmp_path: Path) -> None:
    services = {"example": lambda: load_or_raise([EXAMPLE]), "multi": multi, "none": tuple}[specs]()
    write_config(tmp_path, services)
    results = check_alertmanager(tmp_path, services)
    assert errors(results) == []
    assert results[0] == CheckResult("amtool", PATH, True, "check-config passed")
    routes = [r for r in results if " route " in r.target and r.tool == "amtool"]
    assert len(routes) == len(route_tests(services))


def test_route_tests_cover_every_service_slo_and_severity_and_rollback_triggers() -> None:
    services = multi()
    tests = route_tests(services)
    covered = {(t.service, t.slo, t.severity) for t in tests}
    assert covered == {(s.name, slo.name, sev) for s in services for slo in s.slos for sev in ("page", "ticket")}
    rollback = [t for t in tests if t.labels.get("rollback") == "true"]
    assert {(t.service, t.slo) for t in rollback} == {
        ("onboarding", "availability"), ("onboarding", "latency"), ("checkout", "availability")}
    expected = {(t.service, t.severity): t.expected for t in tests}
    assert expected[("checkout", "page")] == "payments/checkout/page"
    assert expected[("ledger", "ticket")] == "payments/unrouted"
    assert expected[("referrals", "ticket")] == "growth/ticket"


def test_a_routing_mistake_fails_the_check(tmp_path: Path) -> None:
    services = multi()
    path = write_config(tmp_path, services)
    config = yaml.safe_load(path.read_text())
    growth = next(r for r in config["route"]["routes"] if r["matchers"] == ['team="growth"'])
    page, ticket = growth["routes"]
    page["receiver"], ticket["receiver"] = ticket["receiver"], page["receiver"]  # pages to Slack, tickets to PD
    path.write_text(yaml.safe_dump(config))
    failed = errors(check_alertmanager(tmp_path, services))
    assert failed and all(r.tool == "amtool" and " route " in r.target for r in failed)
    assert {r.target.split(" route ")[1].split("/")[0] for r in failed} == {"onboarding", "referrals"}
    assert "expected receiver 'growth/page', amtool routed to 'growth/ticket'" in {r.detail for r in failed}


def test_a_receiver_that_drifted_from_the_specs_fails(tmp_path: Path) -> None:
    services = load_or_raise([EXAMPLE])
    path = write_config(tmp_path, services)
    path.write_text(path.read_text().replace("/etc/alertmanager/secrets/onboarding-pagerduty", "/tmp/other-key"))
    (failed,) = errors(check_alertmanager(tmp_path, services))
    assert failed.target == f"{PATH} receiver growth/page" and "stale" in failed.detail


def test_an_invalid_config_reports_amtools_message(tmp_path: Path) -> None:
    services = load_or_raise([EXAMPLE])
    path = write_config(tmp_path, services)
    path.write_text(path.read_text().replace("receiver: growth/page", "receiver: nobody"))
    (result,) = check_alertmanager(tmp_path, services)
    assert not result.ok and 'undefined receiver "nobody" used in route' in result.detail


def test_missing_config_is_reported_not_raised(tmp_path: Path) -> None:
    (result,) = check_alertmanager(tmp_path, load_or_raise([EXAMPLE]))
    assert not result.ok and "slokit generate" in result.detail


def test_unrouted_severities_are_warnings(tmp_path: Path) -> None:
    services = multi()
    write_config(tmp_path, services)
    warned = {r.target for r in check_alertmanager(tmp_path, services) if r.level == "warning"
              and "placeholder" in r.detail}
    assert warned == {f"{PATH} route exports severity=page", f"{PATH} route exports severity=ticket",
                      f"{PATH} route ledger severity=ticket"}


def with_secrets(service: Service, tmp_path: Path, *, create: bool) -> Service:
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    pd, hook = secrets / "pagerduty-key", secrets / "slack-webhook"
    if create:
        pd.write_text(FAKE_PD_KEY)
        hook.write_text(FAKE_WEBHOOK)
    return replace(service, routing=Routing(
        page=Receiver(pagerduty=PagerDuty(str(pd), url="http://127.0.0.1:9/v2/enqueue")),
        ticket=Receiver(slack=Slack("#onboarding-alerts", str(hook)))))


def test_secrets_never_appear_in_config_or_check_output(onboarding: Service, tmp_path: Path) -> None:
    service = replace(with_secrets(onboarding, tmp_path, create=True), grafana_url="https://grafana.example.com")
    text = write_config(tmp_path, [service]).read_text()
    results = check_alertmanager(tmp_path, [service])
    assert errors(results) == [] and [r for r in results if r.level == "warning"] == []
    output = text + "\n".join(f"{r.tool} {r.target} {r.detail}" for r in results)
    for secret in (FAKE_PD_KEY, FAKE_WEBHOOK, "fakeSecretToken", "R0UT1NGKEY"):
        assert secret not in output
    assert f"routing_key_file: {tmp_path}/secrets/pagerduty-key" in text


def test_missing_or_empty_secret_files_are_warnings(onboarding: Service, tmp_path: Path) -> None:
    service = with_secrets(onboarding, tmp_path, create=False)
    (tmp_path / "secrets" / "slack-webhook").write_text("")
    write_config(tmp_path, [service])
    results = check_alertmanager(tmp_path, [service])
    warnings = {r.target: r.detail for r in results if r.level == "warning"}
    assert errors(results) == []
    assert "does not exist" in warnings[str(tmp_path / "secrets" / "pagerduty-key")]
    assert "is empty" in warnings[str(tmp_path / "secrets" / "slack-webhook")]


def test_cli_generate_then_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only this area's checker: the others (promtool tests...) have their own tests and take longer.
    monkeypatch.setattr("slokit.checks.checkers", lambda: [check_alertmanager])
    runner = CliRunner()
    out = tmp_path / "out"
    spec_dir = tmp_path / "slo"
    spec_dir.mkdir()
    shutil.copy(EXAMPLE, spec_dir)
    for spec in MORE_SPECS.glob("*.yaml"):
        shutil.copy(spec, spec_dir)
    gen = runner.invoke(main, ["generate", str(spec_dir), "--out", str(out)])
    assert gen.exit_code == 0, gen.output
    assert (out / PATH).read_text() == render(multi())
    checked = runner.invoke(main, ["check", str(spec_dir), "--out", str(out)])
    assert checked.exit_code == 0, checked.output
    lines = checked.output.splitlines()
    assert "ok   amtool: alerts/alertmanager.yml route checkout/availability severity=page rollback" in lines
    assert not [line for line in lines if line.startswith("FAIL")]
    assert "WARN alertmanager: alerts/alertmanager.yml route exports severity=page" in lines


# --- odd names: quoting must survive Alertmanager's own matcher parser ------------------------------------

ODD = st.text(alphabet=st.sampled_from(list('ab Z9_-.,"\\{}=~!/#\n\té✓')), min_size=1, max_size=10)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(team=ODD, first=ODD, second=ODD)
def test_any_team_and_service_names_route_correctly(
    onboarding: Service, tmp_path: Path, team: str, first: str, second: str
) -> None:
    """Names the loader would reject still yield a valid config whose route tests pass (defence in depth)."""
    if first == second:
        second += "x"
    slo = replace(onboarding.slos[0], name=f"{first}/slo")
    a = replace(onboarding, name=first, owner=team, slos=(slo,))
    # Same team, different page routing: exercises the per-service ``service`` matchers too.
    b = replace(a, name=second, routing=Routing(page=Receiver(pagerduty=PagerDuty("/run/other-key"))))
    write_config(tmp_path, [a, b])
    results = check_alertmanager(tmp_path, [a, b])
    assert errors(results) == [], [r.detail for r in errors(results)]
    assert sum(" route " in r.target and r.tool == "amtool" for r in results) == len(route_tests([a, b])) == 6


# --- route tests from the generated rule files ---------------------------------------------------------------


def write_rules(out: Path, services: tuple[Service, ...]) -> None:
    from slokit.rules.render import emit_rules

    for rel, text in emit_rules(services, Options()).items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")


def test_every_generated_alerting_rule_reaches_its_receiver(tmp_path: Path) -> None:
    services = multi()
    write_config(tmp_path, services)
    write_rules(tmp_path, services)
    routing = plan(services)
    tests, problems = rule_route_tests(tmp_path, services, routing)
    assert problems == []
    alerting = 0
    for service in services:
        doc = yaml.safe_load((tmp_path / "alerts" / f"{service.name}.rules.yml").read_text())
        alerting += sum("alert" in r for g in doc["groups"] for r in g["rules"])
    assert len(tests) == alerting  # no two alerting rules carry the same labels
    assert {t.expected for t in tests if t.service == "checkout" and t.severity == "page"} == {
        "payments/checkout/page"}
    results = check_alertmanager(tmp_path, services)
    assert errors(results) == []
    assert sum(".rules.yml " in r.target for r in results) == alerting


def test_an_alerting_rule_with_a_wrong_team_label_fails(tmp_path: Path) -> None:
    services = load_or_raise([EXAMPLE])
    write_config(tmp_path, services)
    write_rules(tmp_path, services)
    rules = tmp_path / "alerts" / "onboarding.rules.yml"
    doc = yaml.safe_load(rules.read_text())
    broken = next(r for g in doc["groups"] for r in g["rules"] if r.get("alert") and r["labels"]["severity"] == "page")
    broken["labels"]["team"] = "growht"
    rules.write_text(yaml.safe_dump(doc))
    failed = errors(check_alertmanager(tmp_path, services))
    assert [r.detail for r in failed] == ["expected receiver 'growth/page', amtool routed to 'unrouted'"]


def test_relative_secret_paths_are_not_looked_up_in_slokits_folder(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Alertmanager reads routing_key_file and api_url_file relative to its own working directory (only
    templates and http_config files are resolved against the config's folder): slokit's current directory
    says nothing about them, so a file that happens to be there must not pass as found."""
    monkeypatch.chdir(tmp_path)
    Path("pd-key").write_text("k")
    spec = tmp_path / "pay.yaml"
    spec.write_text("service: pay\nowner: payments\ngrafana: {url: 'https://grafana.example.com'}\nrouting:\n"
                    "  page: {pagerduty: {routing_key_file: pd-key}}\n"
                    "  ticket: {slack: {channel: '#pay', api_url_file: secrets/slack}}\n"
                    "slos:\n  - {name: avail, objective: 99.9, sli: {http_errors: {status: '5..'}}}\n")
    services = load_or_raise([spec])
    write_config(tmp_path, services)
    warnings = {r.target: r.detail for r in check_alertmanager(tmp_path, services) if r.level == "warning"}
    for path in ("pd-key", "secrets/slack"):
        assert "is a relative path, which Alertmanager resolves against the working directory it was started " \
               "in (not the folder of alerts/alertmanager.yml)" in warnings[path]
        assert "write an absolute path" in warnings[path]
