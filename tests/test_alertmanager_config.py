"""The generated ``alerts/alertmanager.yml``: golden files, structure, and its templates rendered by amtool.

Golden files live in ``tests/golden/alertmanager/``. After an intended change to the output, regenerate them
with ``SLOKIT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_alertmanager_config.py`` and review the
diff. The multi-service golden loads ``slo/onboarding.yaml`` plus the specs in
``tests/golden/alertmanager/specs/``: a second service of the same team with the same routing (shared
receivers), a team whose two services route differently (per-service receivers, one with a local PagerDuty
URL, one without ticket routing) and a service without any routing (placeholders).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from slokit.alertmanager import emit
from slokit.alertmanager.config import DEFAULT_TIMINGS, GROUP_BY, PATH, build, render, template_literal
from slokit.alertmanager.routing import PLACEHOLDER, name_token, plan, quote
from slokit.artifacts import Options
from slokit.pipeline import generate
from slokit.spec import load_or_raise
from slokit.spec.model import PagerDuty, Receiver, Routing, Service, Slack

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "alertmanager"
EXAMPLE = ROOT / "slo" / "onboarding.yaml"
MORE_SPECS = GOLDEN / "specs"


def multi_services() -> tuple[Service, ...]:
    return load_or_raise([EXAMPLE, MORE_SPECS])


def by_name(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in config["receivers"]}


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SLOKIT_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with SLOKIT_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: review, then SLOKIT_UPDATE_GOLDEN=1"


# --- golden files ---------------------------------------------------------------------------------------


def test_example_spec_matches_golden(onboarding: Service) -> None:
    assert_golden("onboarding.alertmanager.yml", render([onboarding]))


def test_multi_service_config_matches_golden() -> None:
    assert_golden("multi.alertmanager.yml", render(multi_services()))


def test_pipeline_writes_one_config_for_all_services() -> None:
    services = multi_services()
    assert emit(services, Options()) == {PATH: render(services)}
    assert generate(services)[PATH] == render(services)


def test_output_does_not_depend_on_input_order() -> None:
    services = multi_services()
    assert render(services) == render(tuple(reversed(services)))


# --- route tree -----------------------------------------------------------------------------------------


def team_route(config: dict[str, Any], team: str) -> dict[str, Any]:
    (route,) = [r for r in config["route"]["routes"] if r["matchers"] == [f"team={quote(team)}"]]
    return route


def severity_route(config: dict[str, Any], team: str, severity: str) -> dict[str, Any]:
    (route,) = [r for r in team_route(config, team)["routes"] if r["matchers"] == [f'severity="{severity}"']]
    return route


def test_example_routes_pages_to_pagerduty_and_tickets_to_slack(onboarding: Service) -> None:
    config = build([onboarding])
    receivers = by_name(config)
    page = receivers[severity_route(config, "growth", "page")["receiver"]]
    ticket = receivers[severity_route(config, "growth", "ticket")["receiver"]]
    assert [c["routing_key_file"] for c in page["pagerduty_configs"]] == [
        "/etc/alertmanager/secrets/onboarding-pagerduty"]
    assert "slack_configs" not in page
    assert [(c["channel"], c["api_url_file"]) for c in ticket["slack_configs"]] == [
        ("#onboarding-alerts", "/etc/alertmanager/secrets/slack-webhook")]
    assert "pagerduty_configs" not in ticket


def test_root_groups_by_alertname_service_slo_and_falls_back_to_placeholder(onboarding: Service) -> None:
    root = build([onboarding])["route"]
    assert root["group_by"] == ["alertname", "service", "slo"] == list(GROUP_BY)
    assert root["receiver"] == PLACEHOLDER
    assert by_name(build([onboarding]))[PLACEHOLDER] == {"name": PLACEHOLDER}


def test_every_severity_route_sets_its_own_timings(onboarding: Service) -> None:
    config = build([onboarding])
    page, ticket = (severity_route(config, "growth", s) for s in ("page", "ticket"))
    for route, severity in ((page, "page"), (ticket, "ticket")):
        assert {k: route[k] for k in ("group_wait", "group_interval", "repeat_interval")} == (
            DEFAULT_TIMINGS[severity].as_dict())  # type: ignore[index]
    # A ticket waits longer than a page, so a page that starts together with it inhibits it before it is sent.
    assert page["group_wait"] == "30s" and ticket["group_wait"] == "5m"
    assert page["repeat_interval"] == "1h" and ticket["repeat_interval"] == "24h"


def test_same_team_same_routing_shares_receivers() -> None:
    config = build(multi_services())
    assert severity_route(config, "growth", "page")["receiver"] == "growth/page"
    assert severity_route(config, "growth", "ticket")["receiver"] == "growth/ticket"
    assert "routes" not in severity_route(config, "growth", "page")
    p = plan(multi_services())
    assert p.targets[("onboarding", "page")] == p.targets[("referrals", "page")] == "growth/page"


def test_same_team_conflicting_routing_gets_receivers_per_service() -> None:
    config = build(multi_services())
    page = severity_route(config, "payments", "page")
    assert page["receiver"] == "payments/unrouted"
    assert page["routes"] == [
        {"matchers": ['service="checkout"'], "receiver": "payments/checkout/page"},
        {"matchers": ['service="ledger"'], "receiver": "payments/ledger/page"},
    ]
    ticket = severity_route(config, "payments", "ticket")
    assert [r["receiver"] for r in ticket["routes"]] == ["payments/checkout/ticket", "payments/unrouted"]
    receivers = by_name(config)
    checkout = receivers["payments/checkout/page"]
    assert checkout["pagerduty_configs"][0]["url"] == "http://127.0.0.1:9999/v2/enqueue"
    assert checkout["slack_configs"][0]["channel"] == "#payments-oncall"  # pagerduty and slack together
    assert "url" not in receivers["payments/ledger/page"]["pagerduty_configs"][0]


def test_service_without_routing_reaches_its_team_placeholder_not_a_drop() -> None:
    config = build(multi_services())
    for severity in ("page", "ticket"):
        assert severity_route(config, "data", severity)["receiver"] == "data/unrouted"
    assert team_route(config, "data")["receiver"] == "data/unrouted"
    assert by_name(config)["data/unrouted"] == {"name": "data/unrouted"}


def test_empty_receiver_counts_as_no_routing(onboarding: Service) -> None:
    svc = replace(onboarding, routing=Routing(page=Receiver(), ticket=None))
    assert plan([svc]).targets[("onboarding", "page")] == "growth/unrouted"


def test_no_services_still_gives_a_valid_config() -> None:
    config = build([])
    assert config["route"]["routes"] == [] and by_name(config) == {PLACEHOLDER: {"name": PLACEHOLDER}}


# --- inhibition, receivers, secrets ---------------------------------------------------------------------


def test_page_inhibits_ticket_of_same_service_and_slo(onboarding: Service) -> None:
    (rule,) = build([onboarding])["inhibit_rules"]
    assert rule == {
        "source_matchers": ['severity="page"', 'service=~".+"', 'slo=~".+"'],
        "target_matchers": ['severity="ticket"'],
        "equal": ["service", "slo"],
    }


def all_keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in all_keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in all_keys(v)}
    return set()


def test_only_alertmanager_025_syntax_and_no_inline_secrets() -> None:
    keys = all_keys(build(multi_services()))
    legacy = {"match", "match_re", "source_match", "source_match_re", "target_match", "target_match_re",
              "msteams_configs", "url_file"}  # deprecated matchers, and what 0.25 does not know
    inline_secrets = {"routing_key", "service_key", "api_url", "http_config"}
    assert not keys & (legacy | inline_secrets)
    assert {"matchers", "source_matchers", "target_matchers", "routing_key_file", "api_url_file"} <= keys


def test_pagerduty_and_slack_fields() -> None:
    receivers = by_name(build(with_grafana()))
    pd = receivers["payments/checkout/page"]["pagerduty_configs"][0]
    assert pd["severity"] == "critical" and pd["send_resolved"] is True
    assert [link["text"] for link in pd["links"]] == ["Runbook", "Dashboard"]
    assert {"service", "slo", "severity", "team", "runbook_url", "dashboard_url"} <= set(pd["details"])
    slack = receivers["growth/ticket"]["slack_configs"][0]
    assert slack["send_resolved"] is True  # Alertmanager's default for Slack is false
    assert "runbook_url" in slack["title_link"]


def test_pagerduty_on_a_ticket_receiver_maps_to_warning(onboarding: Service) -> None:
    pd = PagerDuty("/run/secrets/pd")
    svc = replace(onboarding, routing=Routing(page=Receiver(pagerduty=pd), ticket=Receiver(pagerduty=pd)))
    receivers = by_name(build([svc]))
    assert receivers["growth/ticket"]["pagerduty_configs"][0]["severity"] == "warning"


def test_channel_cannot_inject_a_template(onboarding: Service) -> None:
    slack = Slack("#x{{ .ExternalURL }}", "/run/secrets/slack")
    svc = replace(onboarding, routing=Routing(ticket=Receiver(slack=slack)))
    channel = by_name(build([svc]))["growth/ticket"]["slack_configs"][0]["channel"]
    assert channel == '#x{{ "{{" }} .ExternalURL }}' == template_literal(slack.channel)


# --- templates, rendered by Alertmanager's own template engine ---------------------------------------------

ALERT_LABELS = {"alertname": "SLOErrorRatioHigh", "service": "onboarding", "slo": "availability",
                "severity": "page", "team": "growth", "rollback": "true"}
ANNOTATIONS = {
    "summary": "onboarding availability: error ratio above 5% for 10m (rollback trigger)",
    "description": "The error ratio of onboarding over 5m is 7.42%, above 5%.",
    "runbook_url": "https://runbooks.example.com/onboarding/availability.md#sloerrorratiohigh",
    "dashboard_url": "https://grafana.example.com/d/slokit-onboarding/slos-onboarding",
}
TEMPLATE_DATA = {
    "receiver": "growth/page", "status": "firing", "externalURL": "http://127.0.0.1:9093",
    "groupLabels": {"alertname": "SLOErrorRatioHigh", "service": "onboarding", "slo": "availability"},
    "commonLabels": ALERT_LABELS, "commonAnnotations": ANNOTATIONS,
    "alerts": [{"status": "firing", "labels": ALERT_LABELS, "annotations": ANNOTATIONS,
                "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": "0123456789abcdef"}],
}


@pytest.fixture(scope="module")
def render_template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("am-templates")
    (work / "none.tmpl").write_text("", encoding="utf-8")
    data = work / "data.json"
    data.write_text(json.dumps(TEMPLATE_DATA), encoding="utf-8")

    def run(text: str) -> str:
        from slokit.check_common import run_tool

        proc = run_tool(["amtool", "template", "render", f"--template.glob={work / 'none.tmpl'}",
                         f"--template.data={data}", f"--template.text={text}"])
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    return run


def rendered(render_template: Any, fields: Sequence[str]) -> str:
    return "\n".join(render_template(f) for f in fields)


def with_grafana() -> tuple[Service, ...]:
    """The same services with Grafana's address, so their alerts carry an absolute dashboard link."""
    return tuple(replace(s, grafana_url="https://grafana.example.com") for s in multi_services())


def test_slack_message_names_service_slo_severity_value_and_links(render_template: Any) -> None:
    slack = by_name(build(with_grafana()))["growth/ticket"]["slack_configs"][0]
    title = render_template(slack["title"])
    assert title == "[FIRING:1] page: onboarding / availability SLOErrorRatioHigh"
    assert render_template(slack["title_link"]) == ANNOTATIONS["runbook_url"]
    text = render_template(slack["text"])
    for expected in ("7.42%", "(rollback trigger)", "`onboarding`", "`availability`", "`page`", "`growth`",
                     f"<{ANNOTATIONS['runbook_url']}|Runbook>", f"<{ANNOTATIONS['dashboard_url']}|Dashboard>"):
        assert expected in text


def test_pagerduty_event_fields_render(render_template: Any) -> None:
    pd = by_name(build(with_grafana()))["growth/page"]["pagerduty_configs"][0]
    description = render_template(pd["description"])
    # The summary names service, SLO and the rollback trigger: the title says each once.
    assert description == f"{ANNOTATIONS['summary']} (page)"
    assert description.count("onboarding") == description.count("availability") == 1
    assert description.count("rollback trigger") == 1
    details = {k: render_template(v) for k, v in pd["details"].items()}
    assert details["service"] == "onboarding" and details["slo"] == "availability"
    assert details["severity"] == "page" and details["team"] == "growth"
    (alert,) = [json.loads(line) for line in details["alerts"].splitlines()]  # quoted: no Alertmanager reparses it
    assert alert.startswith("[firing] ") and "7.42%" in alert and alert.endswith("(rollback trigger)")
    assert details["num_firing"] == "1"
    assert [render_template(link["href"]) for link in pd["links"]] == [
        ANNOTATIONS["runbook_url"], ANNOTATIONS["dashboard_url"]]
    assert render_template(pd["client_url"]) == ANNOTATIONS["dashboard_url"]


def test_without_grafana_url_no_dead_dashboard_link_is_sent(render_template: Any,
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    """Without ``grafana.url`` the dashboard address is relative: PagerDuty gets no dashboard link, client
    URL or detail, and Slack's text, rendered for an alert without the annotation, has no Dashboard link."""
    config = build(multi_services())
    pd = by_name(config)["growth/page"]["pagerduty_configs"][0]
    assert [link["text"] for link in pd["links"]] == ["Runbook"]
    assert "client_url" not in pd and "dashboard_url" not in pd["details"]
    assert "Dashboard" not in yaml.safe_dump(pd)

    slack = by_name(config)["growth/ticket"]["slack_configs"][0]
    bare = {k: v for k, v in ANNOTATIONS.items() if k != "dashboard_url"}
    data = json.loads(json.dumps(TEMPLATE_DATA))
    data["commonAnnotations"] = bare
    data["alerts"][0]["annotations"] = bare
    work = tmp_path_factory.mktemp("am-no-dashboard")
    (work / "none.tmpl").write_text("", encoding="utf-8")
    (work / "data.json").write_text(json.dumps(data), encoding="utf-8")
    from slokit.check_common import run_tool

    proc = run_tool(["amtool", "template", "render", f"--template.glob={work / 'none.tmpl'}",
                     f"--template.data={work / 'data.json'}", f"--template.text={slack['text']}"])
    assert proc.returncode == 0, proc.stderr
    assert f"<{ANNOTATIONS['runbook_url']}|Runbook>\n" in proc.stdout
    assert "Dashboard" not in proc.stdout


# --- names and quoting ----------------------------------------------------------------------------------


def test_quote_uses_exactly_alertmanagers_escapes() -> None:
    assert quote('a"b\\c\nd,e}{\té') == '"a\\"b\\\\c\\nd,e}{\té"'


def test_receiver_name_tokens_are_unique_and_comma_free() -> None:
    assert name_token("growth") == "growth"
    odd = [name_token(t) for t in ("Growth", "growth ", "a,b", "a/b", "a b")]
    assert len(set(odd)) == len(odd)
    assert all("," not in t and "/" not in t for t in odd)


def test_yaml_is_plain_data(onboarding: Service) -> None:
    assert yaml.safe_load(render([onboarding])) == build([onboarding])


def test_the_config_says_how_to_merge_it_into_an_existing_alertmanager(onboarding: Service) -> None:
    header = [line for line in render([onboarding]).splitlines() if line.startswith("#")]
    text = " ".join(line.lstrip("# ") for line in header)
    assert "This is a whole Alertmanager config" in text
    assert "merge instead of replacing yours" in text and "route.routes" in text and "receivers" in text
