"""What a runbook page says: budget arithmetic, owner text, structure that spec text cannot break, queries
that Prometheus parses and that return the breakdown they promise (evaluated with the real promtool)."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from rules_helpers import run_promtool
from runbooks_specs import EDGE, MINIMAL, PAYMENTS
from slokit import burnrate
from slokit.artifacts import Options
from slokit.catalog import alerts_for
from slokit.runbooks import emit
from slokit.runbooks.pages import span
from slokit.spec import load_or_raise
from slokit.spec.model import Service
from slokit.spec.units import Duration

_MD = MarkdownIt("commonmark").enable("table")
SECTIONS = [
    "What this SLO measures",
    "Alerts and urgency",
    "Impact",
    "Diagnosis",
    "Mitigation",
    "Escalation",
    "Related alerts and inhibitions",
]
PROMQL_BLOCK = re.compile(r"^(`{3,})promql\n(.*?)\n\1$", re.S | re.M)


def load(tmp_path: Path, text: str, name: str) -> Service:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (service,) = load_or_raise([path])
    return service


@pytest.fixture
def payments(tmp_path: Path) -> Service:
    return load(tmp_path, PAYMENTS, "payments.yaml")


def page(service: Service, slo: str) -> str:
    return emit([service], Options())[f"runbooks/{service.name}/{slo}.md"]


def headings(text: str) -> list[tuple[str, str]]:
    """(tag, plain text) of every heading, as a Markdown renderer sees them."""
    tokens = _MD.parse(text)
    out = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            inline = tokens[i + 1]
            out.append((tok.tag, "".join(c.content for c in inline.children or () if c.type != "html_inline")))
    return out


def sections(text: str) -> dict[str, str]:
    """The page's Markdown split at its ``## `` headings (outside code blocks)."""
    tokens: list[Token] = _MD.parse(text)
    lines = text.split("\n")
    starts = [(tok.map[0], tokens[i + 1].content) for i, tok in enumerate(tokens)
              if tok.type == "heading_open" and tok.tag == "h2" and tok.map]
    out = {}
    for n, (line, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        out[re.sub(r"<a id=\"[^\"]+\"></a>", "", title)] = "\n".join(lines[line:end])
    return out


def alert_section(text: str, anchor: str) -> str:
    start = text.index(f'<a id="{anchor}"></a>')
    end = text.find("\n### ", start)
    end2 = text.find("\n## ", start)
    return text[start: min(e for e in (end, end2, len(text)) if e != -1)]


# --- budget arithmetic ------------------------------------------------------------------------------------


def test_exhaustion_is_window_over_factor_for_every_window() -> None:
    for window in ("30d", "28d", "7d"):
        slo_window = Duration.parse(window)
        for tier in burnrate.DEFAULT_TIERS:
            f = burnrate.factor(tier, slo_window)
            active = burnrate.ActiveTier(tier, f, f * Fraction(1, 1000))
            assert active.exhaustion.ms == round(Fraction(slo_window.ms) / f)


def test_page_tier_of_30d_shows_2d2h(onboarding: Service) -> None:
    text = page(onboarding, "availability")
    section = alert_section(text, "sloerrorbudgetburn-page-1h-5m")
    assert "14.4x" in section
    assert "gone in 2d2h (50h)" in section
    assert "above 7.2%" in section  # 14.4 x 0.5 %
    assert span(Duration.parse("50h")) == "2d2h (50h)"
    assert span(Duration.parse("30d")) == "30d"
    # The urgency table carries the same number for every alert.
    row = next(line for line in text.splitlines() if "(#sloerrorbudgetburn-page-6h-30m)" in line)
    assert "| 5d |" in row


def test_28d_and_7d_factors_and_guardrail_exhaustion(payments: Service) -> None:
    latency = page(payments, "latency-28d")
    assert "13.44x" in alert_section(latency, "sloerrorbudgetburn-page-1h-5m")
    checkout = page(payments, "checkout_errors")
    first = alert_section(checkout, "sloerrorbudgetburn-page-1h-5m")
    assert "3.36x" in first and "gone in 2d2h (50h)" in first
    # 2 % errors against a 0.1 % budget burn 20x: the 7d budget lasts 7d / 20 = 8h24m.
    assert "Budget gone in** 8h24m" in alert_section(checkout, "sloerrorratiohigh-page-2")
    # 10 % bad (good ratio below 90 %) burns 100x: 7d / 100 = 1h40m48s, shown to the minute.
    assert "Budget gone in** 1h41m" in alert_section(checkout, "slogoodratiolow-ticket-90")


def test_minimum_traffic_guard_is_explained(tmp_path: Path) -> None:
    minimal = load(tmp_path, MINIMAL, "minimal.yaml")
    text = page(minimal, "hits")
    for alert in alerts_for(minimal, minimal.slo("hits")):
        section = alert_section(text, alert.anchor)
        assert ("at least 500 events in" in section) == (alert.kind == "burn_rate")


def test_guardrail_below_the_budget_rate_and_without_for(tmp_path: Path) -> None:
    edge = load(tmp_path, EDGE, "edge.yaml")
    text = page(edge, "short")
    section = alert_section(text, "sloerrorratiohigh-ticket-0-001")
    assert "the error ratio over 1d is above 0.001% at a single evaluation" in section
    assert "Budget gone in** more than the 1d window (below the budget rate)" in section
    assert "\\# hi \\| there \\<x\\>" in section  # the guardrail's description, kept on its line
    assert "slo:sli_error:ratio_rate1d" in section
    assert "3d/6h: its long window is longer than the SLO window 1d" in sections(text)["Alerts and urgency"]


def test_dropped_tiers_and_disabled_burn_rate_are_explained(onboarding: Service, payments: Service) -> None:
    conflicts = page(onboarding, "conflicts")
    assert "can never fire" in sections(conflicts)["Alerts and urgency"]
    assert "sloerrorbudgetburn-page-1h-5m" not in conflicts
    ledger = page(payments, "ledger")
    assert "`burn_rate: false`" in ledger
    assert "SLOErrorBudgetBurn" not in ledger


# --- structure and owner text ------------------------------------------------------------------------------


@pytest.mark.parametrize("slo", ["checkout_errors", "latency-28d", "ledger"])
def test_structure_survives_hostile_spec_text(payments: Service, slo: str) -> None:
    text = page(payments, slo)
    found = headings(text)
    assert [t for tag, t in found if tag == "h1"] == [f"Runbook: payments-api / {slo}"]
    assert [t for tag, t in found if tag == "h2"] == SECTIONS
    alerts = alerts_for(payments, payments.slo(slo))
    assert len([t for tag, t in found if tag == "h3"]) == len(alerts)
    # The description's newline and '#' stay inside one paragraph; its '|' does not split a table cell.
    assert "\n# boom" not in text and "\n## nor this" not in text


def test_owner_text_is_rendered_in_its_sections(payments: Service) -> None:
    text = page(payments, "checkout_errors")
    parts = sections(text)
    assert "Checkout **failing** means lost revenue." in text.split("## ")[0]
    assert "Customers cannot pay; carts are abandoned." in parts["Impact"]
    assert "Look at `psp_errors_total`." in parts["Diagnosis"]
    assert "Fail over to the backup PSP with `make psp-failover`." in parts["Mitigation"]
    assert "Payments lead: @alice; PSP support +1 555 0100" in parts["Escalation"]
    # The owner's '# Check the PSP' is demoted below the page's sections, its unclosed fence and comment
    # are contained: the sections after it are still headings.
    assert ("h4", "Check the PSP") in headings(text)


def test_rollback_triggers_are_marked_in_mitigation(payments: Service) -> None:
    text = page(payments, "checkout_errors")
    mitigation = sections(text)["Mitigation"]
    for alert in alerts_for(payments, payments.slo("checkout_errors")):
        assert (f"(#{alert.anchor})" in mitigation) == alert.rollback, alert.anchor
    assert "**rollback trigger**" in alert_section(text, "sloerrorratiohigh-page-2")
    assert "**rollback trigger**" not in alert_section(text, "sloerrorratiohigh-ticket-2")
    first_line = alert_section(text, "sloerrorratiohigh-page-2").split("\n\n")[1]
    assert first_line.startswith("**Rollback trigger: stop the progressive rollout and roll back")


def test_related_section_names_the_inhibited_tickets(onboarding: Service) -> None:
    related = sections(page(onboarding, "availability"))["Related alerts and inhibitions"]
    assert "inhibits" in related
    for alert in alerts_for(onboarding, onboarding.slo("availability")):
        assert (f"(#{alert.anchor})" in related) == (alert.severity == "ticket")
    assert "[latency](latency.md)" in related


def test_escalation_names_team_and_channel_but_no_secret(onboarding: Service, payments: Service) -> None:
    esc = sections(page(onboarding, "availability"))["Escalation"]
    assert "growth" in esc and "PagerDuty" in esc and "`#onboarding-alerts`" in esc
    no_page = sections(page(payments, "ledger"))["Escalation"]
    assert "placeholder receiver" in no_page and "`#payments`" in no_page
    for service in (onboarding, payments):
        for text in emit([service], Options()).values():
            assert "/etc/alertmanager" not in text


def test_every_section_starts_with_what_to_do(onboarding: Service) -> None:
    text = page(onboarding, "availability")
    assert text.split("\n\n")[1].startswith("**On call:")
    for alert in alerts_for(onboarding, onboarding.slo("availability")):
        first = alert_section(text, alert.anchor).split("\n\n")[1]
        assert first.startswith("**") and first.endswith("**"), first


def test_output_is_deterministic(onboarding: Service, tmp_path: Path) -> None:
    minimal = load(tmp_path, MINIMAL, "minimal.yaml")
    first = emit([onboarding, minimal], Options())
    assert first == emit([onboarding, minimal], Options())
    assert first["runbooks/README.md"] == emit([minimal, onboarding], Options())["runbooks/README.md"]
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", t) for t in first.values())


def test_dashboard_link_absolute_only_with_grafana_url(onboarding: Service, payments: Service) -> None:
    assert "(<https://grafana.example.com/g(x)/d/slokit-payments-api/" in page(payments, "ledger")
    diagnosis = sections(page(onboarding, "availability"))["Diagnosis"]
    assert "`/d/slokit-onboarding/slos-onboarding` on your Grafana" in diagnosis


# --- the queries -------------------------------------------------------------------------------------------



def promql_blocks(text: str) -> list[str]:
    return [m.group(2) for m in PROMQL_BLOCK.finditer(text)]


def test_every_query_on_every_page_parses(onboarding: Service, payments: Service, tmp_path: Path) -> None:
    minimal, edge = load(tmp_path, MINIMAL, "minimal.yaml"), load(tmp_path, EDGE, "edge.yaml")
    pages = emit([onboarding, payments, minimal, edge], Options()).values()
    exprs = sorted({q for t in pages for q in promql_blocks(t)})
    assert len(exprs) > 40
    rules = {"groups": [{"name": "runbook-queries",
                         "rules": [{"record": f"runbook_query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    proc = run_promtool("check", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_diagnosis_queries_break_errors_down_by_route_and_instance(onboarding: Service, tmp_path: Path) -> None:
    """Route /b fails half its requests on instance i2; /a is healthy on i1: the queries must say so."""
    text = page(onboarding, "availability")
    diagnosis = promql_blocks(sections(text)["Diagnosis"])
    by_route, by_status, by_instance = diagnosis
    sli_ratio = promql_blocks(sections(text)["What this SLO measures"])[0]
    count = "http_server_request_duration_seconds_count"
    series = [
        (f'{count}{{job="onboarding", http_route="/a", http_response_status_code="200", instance="i1"}}', "0+60x20"),
        (f'{count}{{job="onboarding", http_route="/b", http_response_status_code="200", instance="i2"}}', "0+30x20"),
        (f'{count}{{job="onboarding", http_route="/b", http_response_status_code="503", instance="i2"}}', "0+30x20"),
        (f'{count}{{job="other", http_route="/a", http_response_status_code="500", instance="i3"}}', "0+600x20"),
    ]
    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series],
            "promql_expr_test": [
                {"expr": by_route, "eval_time": "10m",
                 "exp_samples": [{"labels": '{http_route="/a"}', "value": 0},
                                 {"labels": '{http_route="/b"}', "value": 0.5}]},
                {"expr": by_instance, "eval_time": "10m",
                 "exp_samples": [{"labels": '{instance="i1"}', "value": 0},
                                 {"labels": '{instance="i2"}', "value": 0.5}]},
                {"expr": by_status, "eval_time": "10m",
                 "exp_samples": [{"labels": '{http_response_status_code="200"}', "value": 1.5},
                                 {"labels": '{http_response_status_code="503"}', "value": 0.5}]},
                # 0.5 of 2 requests per second fail over the whole service: the SLI's ratio is 25 %.
                {"expr": sli_ratio, "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 0.25}]},
            ],
        }],
    }
    path = tmp_path / "diagnosis.test.yml"
    path.write_text(yaml.safe_dump(tests), encoding="utf-8")
    proc = run_promtool("test", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_latency_diagnosis_finds_the_slow_route(onboarding: Service, tmp_path: Path) -> None:
    """Route /slow answers every request in 0.4 s (above the 300 ms threshold), /fast in 0.1 s."""
    by_route = promql_blocks(sections(page(onboarding, "latency"))["Diagnosis"])[0]
    bucket = "http_server_request_duration_seconds_bucket"
    input_series = []
    for route, le_hit in (("/fast", True), ("/slow", False)):
        sel = f'job="onboarding", http_route="{route}", http_response_status_code="200"'
        for le in ("0.1", "0.3", "0.5", "+Inf"):
            fast_enough = le != "0.1" if le_hit else le in ("0.5", "+Inf")
            input_series.append({"series": f'{bucket}{{{sel}, le="{le}"}}',
                                 "values": "0+60x20" if fast_enough else "0+0x20"})
        input_series.append({"series": f"http_server_request_duration_seconds_count{{{sel}}}", "values": "0+60x20"})
    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": input_series,
            "promql_expr_test": [{"expr": by_route, "eval_time": "10m",
                                  "exp_samples": [{"labels": '{http_route="/fast"}', "value": 0},
                                                  {"labels": '{http_route="/slow"}', "value": 1}]}],
        }],
    }
    path = tmp_path / "latency.test.yml"
    path.write_text(yaml.safe_dump(tests), encoding="utf-8")
    proc = run_promtool("test", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ratio_diagnosis_queries_read_the_slos_own_series(payments: Service, tmp_path: Path) -> None:
    """A ``ratio`` SLI (good/total over ledger_writes_total): the diagnosis shows its own queries and the
    recorded series, evaluated by promtool over the generated rules, and nothing about HTTP 5xx."""
    from slokit.rules.render import emit_rules

    text = sections(page(payments, "ledger"))["Diagnosis"]
    assert "http_server_request_duration_seconds" not in text and "5xx" not in text
    share_now, share_1h, bad, good, total, recorded = promql_blocks(text)[:6]
    rules_text = next(t for p, t in emit_rules([payments], Options()).items() if p.endswith(".rules.yml"))
    rules = tmp_path / "rules.yml"
    rules.write_text(rules_text, encoding="utf-8")
    windows = {r["record"] for g in yaml.safe_load(rules_text)["groups"] for r in g["rules"]
               if r.get("record", "").startswith("slo:sli_error:ratio_rate") and r["labels"]["slo"] == "ledger"}

    def one(expr: str, value: float) -> dict[str, object]:
        """``expr`` is one label-free sample within 1e-9 of ``value`` (promtool compares exactly)."""
        return {"expr": f"abs(({expr}) - {value}) < bool 1e-9", "eval_time": "40m",
                "exp_samples": [{"labels": "{}", "value": 1}]}

    tests = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        # 1 write per second, 5 % of them failed: the SLI reads 5 % over every window.
        "input_series": [{"series": 'ledger_writes_total{result="ok"}', "values": "0+57x60"},
                         {"series": 'ledger_writes_total{result="error"}', "values": "0+3x60"}],
        "promql_expr_test": [
            one(share_now, 0.05), one(share_1h, 0.05), one(bad, 0.05), one(good, 0.95), one(total, 1),
            one(f"min({recorded})", 0.05), one(f"max({recorded})", 0.05), one(f"count({recorded})", len(windows)),
        ],
    }]}
    path = tmp_path / "ratio.test.yml"
    path.write_text(yaml.safe_dump(tests), encoding="utf-8")
    proc = run_promtool("test", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
