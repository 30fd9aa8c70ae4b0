# ruff: noqa: E501  (expected messages are kept whole so they read as the user sees them)
"""Specs that would leak a secret or give rules Prometheus refuses are refused by validate, at their place.

Each case is a spec and the exact diagnostics `slokit validate` prints for it (file, line, column, field
path, message), like tests/test_spec_corpus.py. No message may repeat a secret, even a misplaced one.
The regex cases are proven against promtool itself: what validate accepts loads, what it refuses does not.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from slokit import pipeline
from slokit.check_common import run_tool
from slokit.spec import load_services
from slokit.spec.re2 import re2_problem
from slokit.toolchain import ToolMissing
from slokit.writers import write_tree

KEY = "e93facc04764012d7bfb002500d5d1a6"  # the shape of a PagerDuty integration key
HOOK = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/xXyYzZ0123456789abcdEFGH"
BASE = """service: pay
owner: team-a
grafana: {url: "https://grafana.example.com"}
routing:
  page: {pagerduty: {routing_key_file: /etc/am/pd}}
  ticket: {slack: {channel: "#pay", api_url_file: /etc/am/slack}}
slos:
  - name: avail
    objective: 99.9
    sli:
      http_errors: {status: "5.."}
"""
CASES: dict[str, str] = {
    "webhook_url_as_file": BASE.replace("api_url_file: /etc/am/slack", f"api_url_file: {HOOK}"),
    "webhook_url_without_scheme_as_file": BASE.replace("api_url_file: /etc/am/slack", f"api_url_file: {HOOK.removeprefix('https://')}"),
    "key_as_file": BASE.replace("routing_key_file: /etc/am/pd", f"routing_key_file: {KEY}"),
    "key_as_pagerduty_url": BASE.replace("routing_key_file: /etc/am/pd", f"routing_key_file: /etc/am/pd, url: {KEY}"),
    "key_in_pagerduty_url": BASE.replace("routing_key_file: /etc/am/pd", f"routing_key_file: /etc/am/pd, url: 'https://events.pagerduty.com/v2/enqueue?routing_key={KEY}'"),
    "relative_secret_file": BASE.replace("api_url_file: /etc/am/slack", "api_url_file: secrets/slack"),
    "key_as_yaml_key": BASE.replace("routing_key_file: /etc/am/pd", f"routing_key_file: /etc/am/pd, {KEY}: x"),
    "key_as_duplicate_key": BASE.replace("routing_key_file: /etc/am/pd", f"routing_key_file: /etc/am/pd, {KEY}: x, {KEY}: y"),
    "u2028_selector": BASE.replace("owner: team-a\n", 'owner: team-a\nselector: {job: "pay\\u2028x"}\n'),
    "u2029_cache": BASE.replace('http_errors: {status: "5.."}', 'cache_misses: {cache: "c\\u2029d"}'),
    "nel_label": BASE.replace("owner: team-a\n", 'owner: team-a\nlabels: {tier: "1\\x85"}\n'),
    "status_possessive": BASE.replace('"5.."', '"5.++"'),
    "status_backreference": BASE.replace('"5.."', '"(5)\\\\1."'),
    "status_lookahead": BASE.replace('"5.."', '"(?!4)..."'),
    "status_5xx": BASE.replace('"5.."', "5xx"),
    "status_letters": BASE.replace('"5.."', "server_error"),
    "label_template": BASE.replace("owner: team-a\n", 'owner: team-a\nlabels: {tier: "{{ $value }}"}\n'),
    "slo_label_template": BASE + '    labels: {x: "a{{b"}\n',
    "runbook_url_template": BASE.replace("owner: team-a\n", 'owner: team-a\nrunbook_url: "https://rb.example.com/{{x}}"\n'),
    "grafana_url_template": BASE.replace("https://grafana.example.com", "https://g.example.com/{{x}}"),
    "objective_fraction": BASE.replace("99.9", "0.999"),
    "objective_fraction_text": BASE.replace("99.9", '"0.995"'),
    "objective_one": BASE.replace("99.9", "1"),
    "objective_fraction_opt_out": BASE.replace("99.9", '"0.999%"'),
    "channel_unquoted_flow": BASE.replace('channel: "#pay"', "channel: #pay"),
    "channel_unquoted_block": BASE.replace('  ticket: {slack: {channel: "#pay", api_url_file: /etc/am/slack}}\n',
                                           "  ticket:\n    slack:\n      channel: #pay\n      api_url_file: /etc/am/slack\n"),
}
EXPECTED: dict[str, list[str]] = {
    "webhook_url_as_file": ["spec.yaml:6:51: routing.ticket.slack.api_url_file: is a URL, not a file path (the value is not shown): the webhook URL is a secret and never goes into the spec or the generated alertmanager.yml; put it in a file readable by Alertmanager (e.g. /etc/alertmanager/secrets/slack-webhook) and give that file's path here"],
    "webhook_url_without_scheme_as_file": ["spec.yaml:6:51: routing.ticket.slack.api_url_file: is a URL, not a file path (the value is not shown): the webhook URL is a secret and never goes into the spec or the generated alertmanager.yml; put it in a file readable by Alertmanager (e.g. /etc/alertmanager/secrets/slack-webhook) and give that file's path here"],
    "key_as_file": ["spec.yaml:5:40: routing.page.pagerduty.routing_key_file: is the routing key itself, not a file path (the value is not shown): the routing key is a secret and never goes into the spec or the generated alertmanager.yml; put it in a file readable by Alertmanager (e.g. /etc/alertmanager/secrets/pagerduty-key) and give that file's path here"],
    "key_as_pagerduty_url": ["spec.yaml:5:57: routing.page.pagerduty.url: must be an http(s) URL (a routing key goes in the file routing_key_file names, never in the spec), got a value that looks like a secret (not shown)"],
    "key_in_pagerduty_url": ["spec.yaml:5:57: routing.page.pagerduty.url: carries what looks like a key or a password (the value is not shown), and this URL is written into the generated alertmanager.yml: give the endpoint only, and the routing key in the file routing_key_file names"],
    "relative_secret_file": ["spec.yaml:6:51: routing.ticket.slack.api_url_file: warning: is a relative path, which Alertmanager resolves against the working directory it is started in (not the folder of alertmanager.yml); write an absolute path"],
    "key_as_yaml_key": ["spec.yaml:5:52: routing.page.pagerduty.<key not shown>: unknown key that looks like a secret (not shown): secrets never go into the spec; put it in a file readable by Alertmanager and name the file with a *_file field"],
    "key_as_duplicate_key": ["spec.yaml:5:89: duplicate key that looks like a secret (not shown)", "spec.yaml:5:89: routing.page.pagerduty.<key not shown>: unknown key that looks like a secret (not shown): secrets never go into the spec; put it in a file readable by Alertmanager and name the file with a *_file field"],
    "u2028_selector": ["spec.yaml:3:17: selector.job: U+2028 at character 4 of this text is a line break to the YAML readers of Prometheus and Alertmanager, so the generated files would not load; remove it"],
    "u2029_cache": ["spec.yaml:11:29: slos[0].sli.cache_misses.cache: U+2029 at character 2 of this text is a line break to the YAML readers of Prometheus and Alertmanager, so the generated files would not load; remove it"],
    "nel_label": ["spec.yaml:3:16: labels.tier: U+0085 at character 2 of this text is a line break to the YAML readers of Prometheus and Alertmanager, so the generated files would not load; remove it"],
    "status_possessive": ["spec.yaml:11:29: slos[0].sli.http_errors.status: is not a regular expression Prometheus accepts: possessive quantifier ++ is not supported by Prometheus' regex engine (RE2); write + alone"],
    "status_backreference": ["spec.yaml:11:29: slos[0].sli.http_errors.status: is not a regular expression Prometheus accepts: back-reference \\1 is not supported by Prometheus' regex engine (RE2)"],
    "status_lookahead": ["spec.yaml:11:29: slos[0].sli.http_errors.status: is not a regular expression Prometheus accepts: lookaround ((?=, (?!, (?<=, (?<!) is not supported by Prometheus' regex engine (RE2)"],
    "status_5xx": ["spec.yaml:11:29: slos[0].sli.http_errors.status: matches no HTTP status code: it is a regex matched against the whole three-digit code (100 to 599), and '.' is its wildcard; did you mean '5..'?"],
    "status_letters": ["spec.yaml:11:29: slos[0].sli.http_errors.status: matches no HTTP status code: it is a regex matched against the whole three-digit code (100 to 599), and '.' is its wildcard (e.g. '5..' for every 5xx, or '409')"],
    "label_template": ["spec.yaml:3:16: labels.tier: must not contain '{{': Prometheus expands alert labels as Go templates, so the rules would not load or the label would read differently"],
    "slo_label_template": ["spec.yaml:12:17: slos[0].labels.x: must not contain '{{': Prometheus expands alert labels as Go templates, so the rules would not load or the label would read differently"],
    "runbook_url_template": ["spec.yaml:3:14: runbook_url: must not contain '{{': Prometheus expands alert labels and annotations as Go templates, so the rules would not load or would print something else"],
    "grafana_url_template": ["spec.yaml:3:16: grafana.url: must not contain '{{': Prometheus expands alert labels and annotations as Go templates, so the rules would not load or would print something else"],
    "objective_fraction": ["spec.yaml:9:16: slos[0].objective: is a percentage, so 0.999 means 0.999 % of events good; did you mean 99.9 (a fraction, as OpenSLO's target writes it)? Write 99.9, or '0.999%' if you do mean 0.999 %"],
    "objective_fraction_text": ["spec.yaml:9:16: slos[0].objective: is a percentage, so 0.995 means 0.995 % of events good; did you mean 99.5 (a fraction, as OpenSLO's target writes it)? Write 99.5, or '0.995%' if you do mean 0.995 %"],
    "objective_one": ["spec.yaml:9:16: slos[0].objective: is a percentage, so 1 means 1 % of events good; did you mean 100 (a fraction, as OpenSLO's target writes it)? Write 100, or '1%' if you do mean 1 %"],
    "objective_fraction_opt_out": ["spec.yaml:8:5: slos[0]: note: burn-rate page tier 1h/5m can never fire: burn rate 14.4 x error budget 99.001% = 1425.614% of events would have to fail, and at most 100 % can; it is left out (expected for this objective and window: this SLO gets no burn-rate pages, its other tiers and guardrails still alert)", "spec.yaml:8:5: slos[0]: note: burn-rate page tier 6h/30m can never fire: burn rate 6 x error budget 99.001% = 594.006% of events would have to fail, and at most 100 % can; it is left out (expected for this objective and window: this SLO gets no burn-rate pages, its other tiers and guardrails still alert)", "spec.yaml:8:5: slos[0]: note: burn-rate ticket tier 1d/2h can never fire: burn rate 3 x error budget 99.001% = 297.003% of events would have to fail, and at most 100 % can; it is left out (expected for this objective and window: 1 other ticket tier(s) still alert)"],
    "channel_unquoted_flow": ["spec.yaml:7:5: invalid YAML: while parsing a flow mapping, expected ',' or '}', but got ':' (line 6 has #pay unquoted: a bare # starts a YAML comment, which drops the rest of the line; quote it: \"#pay\")"],
    "channel_unquoted_block": ["spec.yaml:8:15: routing.ticket.slack.channel: must be a string, got nothing (null) (this line has #pay unquoted: a bare # starts a YAML comment, which drops the rest of the line; quote it: \"#pay\")"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_spec_is_refused_at_its_place(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("spec.yaml").write_text(CASES[name], encoding="utf-8")
    result = load_services(["spec.yaml"])
    shown = [str(d) for d in result.diagnostics]
    assert shown == EXPECTED[name]
    assert result.ok is not any(("warning:" not in d and "note:" not in d) for d in shown)
    for secret in (KEY, HOOK, "xXyYzZ0123456789abcdEFGH"):
        assert not any(secret in line for line in shown)


def test_no_secret_reaches_the_output_of_validate(tmp_path: Path) -> None:
    """The whole command, stdout and stderr, for every secret case."""
    for name in ("webhook_url_as_file", "webhook_url_without_scheme_as_file", "key_as_file", "key_as_pagerduty_url", "key_in_pagerduty_url",
                 "key_as_yaml_key", "key_as_duplicate_key"):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(CASES[name], encoding="utf-8")
        for command in ("validate", "generate", "check"):
            proc = subprocess.run([".venv/bin/slokit", command, str(spec), *(["--out", str(tmp_path / "o")] if command != "validate" else [])],
                                  capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
            assert proc.returncode == 1, (name, command, proc.stderr)
            assert KEY not in proc.stdout + proc.stderr and "hooks.slack.com" not in proc.stdout + proc.stderr
        assert not (tmp_path / "o").exists()


#: Regexes Python's `re` compiles; each is checked against promtool's verdict on `up{status=~"<regex>"}`.
REGEXES = ["5..", "5.++", "(5)\\1", "(?=5)...", "(?!4)...", "(?<=x)5", "(?>5..)", "5\\d\\d", "5\\Z", "5..|409",
           "(?i)5..", "(?x)5..", "(?a)5..", "5{2}", "5{1001}", "5{2}+", "[5]{1}..", "(?P<x>5)..", "\\u0035..",
           "5.?+", "a{,3}", "a{x}+", "[\\d]..", "5.*+", "(?#c)5..", "(?s:5..)", "5\\b", "[+]+", "\\++", "4(0[89]|29)"]


def _promtool_accepts(regexes: list[str], tmp_path: Path) -> list[bool]:
    rules = [{"record": f"q{i}", "expr": "up{status=~" + json.dumps(r) + "}"} for i, r in enumerate(regexes)]
    verdicts = []
    for i, rule in enumerate(rules):
        path = tmp_path / f"r{i}.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]}), encoding="utf-8")
        try:
            verdicts.append(run_tool(["promtool", "check", "rules", str(path)], timeout=60).returncode == 0)
        except ToolMissing:
            pytest.skip("promtool is not installed (make tools)")
    return verdicts


def test_the_re2_check_agrees_with_promtool(tmp_path: Path, toolset: object) -> None:
    verdicts = _promtool_accepts(REGEXES, tmp_path)
    disagree = [(r, ok) for r, ok in zip(REGEXES, verdicts, strict=True) if (re2_problem(r) is None) != ok]
    assert not disagree, f"validate and promtool disagree on (regex, promtool accepts): {disagree}"


@pytest.mark.parametrize("status", ["5..", "409", "4(0[89]|29)", "(?i)5..", "5\\d\\d", "[45]0[0-9]"])
def test_accepted_status_regexes_give_rules_that_load(status: str, tmp_path: Path, toolset: object) -> None:
    spec = tmp_path / "pay.yaml"
    spec.write_text(BASE.replace('"5.."', json.dumps(status)), encoding="utf-8")
    result = load_services([str(spec)])
    assert result.ok, [str(d) for d in result.diagnostics]
    write_tree(tmp_path / "out", pipeline.generate(result.services), pipeline.MANAGED_DIRS)
    proc = run_tool(["promtool", "check", "rules", str(tmp_path / "out" / "alerts" / "pay.rules.yml")], timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_example_spec_says_each_warning_is_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A newcomer's first `make` shows the example's warnings: each must say it is expected, and tiers that
    a low objective cannot reach are notes, not warnings."""
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    result = load_services(["slo"])
    assert result.ok
    advisories = [str(d) for d in result.diagnostics]
    assert advisories and all("expected" in line for line in advisories), advisories
    assert len(result.warnings) <= 1  # grafana.url, which a real spec sets


def test_the_example_check_says_each_warning_is_expected() -> None:
    """`make` ends with `slokit check`: its WARN lines on the example are part of the first screen too."""
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([".venv/bin/slokit", "check"], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    details = [lines[i + 1] for i, line in enumerate(lines) if line.startswith("WARN")]
    assert all("expected" in d for d in details), details
