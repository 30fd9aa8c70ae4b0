# ruff: noqa: E501  (expected messages are kept whole so they read as the user sees them)
"""Every way a spec can be wrong gets one clear message at the right place (the bad-spec corpus).

Each case is a small spec and the exact diagnostics `slokit validate` must print for it: file, line,
column, field path and message. Warnings are listed too, so a new stray warning fails a case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slokit.spec import load_services

BASE = """service: pay
owner: team-a
slos:
  - name: avail
    objective: 99.9
    sli:
      http_errors: {status: "5.."}
"""
CASES: dict[str, str] = {
    "yaml_unclosed_flow": "service: [pay\nowner: x\n",
    "yaml_bad_mapping": "service: pay\nowner: a: b\n",
    "yaml_tab_indent": "service: pay\nowner: a\nslos:\n\t- name: x\n",
    "yaml_tab_separator": "service: pay\nowner:\ta\n",
    "unknown_top_key": BASE.replace("owner:", "ownr:"),
    "unknown_slo_key": BASE.replace("objective:", "objectiv:"),
    "missing_service": BASE.replace("service: pay\n", ""),
    "missing_slos": "service: pay\nowner: team-a\n",
    "empty_slos": "service: pay\nowner: team-a\nslos: []\n",
    "objective_120": BASE.replace("99.9", "120"),
    "objective_zero": BASE.replace("99.9", "0"),
    "objective_999": BASE.replace("99.9", "999"),
    "objective_9995_text": BASE.replace("99.9", '"9995%"'),
    "objective_100": BASE.replace("99.9", "100"),
    "objective_100_no_burn_rate": BASE.replace("99.9", "100") + "    burn_rate: false\n",
    "objective_text": BASE.replace("99.9", "high"),
    "objective_quoted_number": BASE.replace("99.9", '"99.9"'),
    "objective_bool": BASE.replace("99.9", "yes"),
    "window_words": BASE + "    window: 30 days\n",
    "window_too_short": BASE + "    window: 1h\n",
    "for_bad_duration": BASE + "    alerts:\n      - {error_ratio_above: 1%, for: 5 min, severity: ticket}\n",
    "ratio_above_100": BASE + "    alerts:\n      - {error_ratio_above: 150%, for: 5m, severity: ticket}\n",
    "ratio_unparseable": BASE + "    alerts:\n      - {error_ratio_above: lots, for: 5m, severity: ticket}\n",
    "severity_critical": BASE + "    alerts:\n      - {error_ratio_above: 1%, for: 5m, severity: critical}\n",
    "severity_missing": BASE + "    alerts:\n      - {error_ratio_above: 1%, for: 5m}\n",
    "two_levels": BASE + "    alerts:\n      - {error_ratio_above: 1%, p95_above: 1s, for: 5m, severity: page}\n",
    "no_level": BASE + "    alerts:\n      - {for: 5m, severity: page}\n",
    "for_not_shorter_than_window": BASE
    + "    window: 7d\n    alerts:\n      - {error_ratio_above: 1%, for: 7d, severity: ticket}\n",
    "two_sli_kinds": BASE.replace(
        '      http_errors: {status: "5.."}\n', '      http_errors: {status: "5.."}\n      cache_misses: {cache: c}\n'
    ),
    "no_sli_kind": BASE.replace('      http_errors: {status: "5.."}\n', "      {}\n").replace(
        "    sli:\n      {}", "    sli: {}"
    ),
    "ratio_no_window": BASE.replace(
        '      http_errors: {status: "5.."}\n',
        "      ratio:\n        bad: sum(rate(fail_total[5m]))\n        total: sum(rate(req_total[{{window}}]))\n",
    ),
    "ratio_bad_equals_total": BASE.replace(
        '      http_errors: {status: "5.."}\n',
        "      ratio:\n        bad: sum(rate(req_total[{{window}}]))\n        total: sum(rate(req_total[{{ window }}]))\n",
    ),
    "ratio_bad_and_good": BASE.replace(
        '      http_errors: {status: "5.."}\n',
        "      ratio:\n        bad: sum(rate(a[{{window}}]))\n        good: sum(rate(b[{{window}}]))\n        total: sum(rate(c[{{window}}]))\n",
    ),
    "label_name_invalid": BASE.replace("owner: team-a\n", "owner: team-a\nlabels: {1tier: x}\n"),
    "label_reserved": BASE.replace("owner: team-a\n", "owner: team-a\nlabels: {severity: x}\n"),
    "label_value_mapping": BASE.replace("owner: team-a\n", "owner: team-a\nlabels: {tier: {a: 1}}\n"),
    "selector_dunder": BASE.replace("owner: team-a\n", "owner: team-a\nselector: {__name__: up}\n"),
    "latency_zero": BASE.replace('http_errors: {status: "5.."}', "http_latency: {threshold: 0s}"),
    "latency_words": BASE.replace('http_errors: {status: "5.."}', "http_latency: {threshold: fast}"),
    "latency_number": BASE.replace('http_errors: {status: "5.."}', "http_latency: {threshold: 0.3}"),
    "latency_not_bucket": BASE.replace("owner: team-a\n", "owner: team-a\nbuckets: [100ms, 250ms, 1s]\n").replace(
        'http_errors: {status: "5.."}', "http_latency: {threshold: 300ms}"
    ),
    "duplicate_slo": BASE + "  - name: avail\n    objective: 99\n    sli: {cache_misses: {cache: c}}\n",
    "service_name_invalid": BASE.replace("service: pay", "service: Pay Service"),
    "inline_secret": BASE.replace(
        "owner: team-a\n", "owner: team-a\nrouting:\n  page: {pagerduty: {routing_key: abc123secret}}\n"
    ),
    "quantile_on_cache": BASE.replace('http_errors: {status: "5.."}', "cache_misses: {cache: c}")
    + "    alerts:\n      - {p95_above: 1s, for: 5m, severity: page}\n",
    "status_bad_regex": BASE.replace('"5.."', '"5(("'),
    "method_lower": BASE.replace('{status: "5.."}', '{status: "5..", method: patch}'),
    "empty_file": "",
    "duplicate_key": BASE.replace("owner: team-a\n", "owner: team-a\nowner: team-b\n"),
    "top_level_list": "- service: pay\n",
    "runbook_url_ftp": BASE.replace("owner: team-a\n", "owner: team-a\nrunbook_url: ftp://x\n"),
    "routing_empty_receiver": BASE.replace("owner: team-a\n", "owner: team-a\nrouting:\n  page: {}\n"),
    "tier_never_fires": BASE.replace("99.9", "90"),
    "control_character": "service: pay\nowner: a\x01b\n",
    "service_name_reserved": BASE.replace("service: pay", "service: slo-overview"),
    "quantile_at_top_bucket": BASE.replace('http_errors: {status: "5.."}', "http_latency: {threshold: 250ms}") + "    alerts:\n      - {p99_above: 10s, for: 5m, severity: page}\n",
    "python_tag": "service: !!python/object:os.system pay\n",
    "latency_not_default_bucket": BASE.replace('http_errors: {status: "5.."}', "http_latency: {threshold: 777ms}"),
    "quantile_not_default_bucket": BASE.replace('http_errors: {status: "5.."}', "http_latency: {threshold: 250ms}")
    + "    alerts:\n      - {p99_above: 800ms, for: 5m, severity: page}\n",
    "quantile_not_bucket": BASE.replace("owner: team-a\n", "owner: team-a\nbuckets: [100ms, 250ms, 1s]\n").replace(
        'http_errors: {status: "5.."}', "http_latency: {threshold: 250ms}"
    ) + "    alerts:\n      - {p95_above: 500ms, for: 5m, severity: page}\n",
    "route_no_slash": BASE.replace('{status: "5.."}', '{status: "5..", route: api/checkout}'),
    "route_query": BASE.replace('{status: "5.."}', '{status: "5..", route: "/checkout?step=1"}'),
    "route_wildcard": BASE.replace('{status: "5.."}', '{status: "5..", route: "/checkout/*"}'),
    "route_space": BASE.replace('{status: "5.."}', '{status: "5..", route: "/check out"}'),
    "route_convertor": BASE.replace('{status: "5.."}', '{status: "5..", route: "/files/{rest:path}"}'),
    "route_unclosed_param": BASE.replace('{status: "5.."}', '{status: "5..", route: "/items/{id"}'),
    "slack_channel_no_hash": BASE.replace(
        "owner: team-a\n", "owner: team-a\nrouting:\n  ticket: {slack: {channel: alerts, api_url_file: /s}}\n"
    ),
    "slack_channel_upper": BASE.replace(
        "owner: team-a\n", "owner: team-a\nrouting:\n  ticket: {slack: {channel: '#Alerts', api_url_file: /s}}\n"
    ),
    "alias_recursive": BASE.replace("    sli:", "    labels: &l {a: *l}\n    sli:"),
    "alias_too_many": BASE.replace("owner: team-a\n", "owner: team-a\nlabels: {a: &s x}\nselector: {job: [" + ",".join(["*s"] * 1001) + "]}\n"),
    "alias_nests_too_deep": BASE.replace("owner: team-a\n", "owner: team-a\nlabels: {a: &d " + "[" * 40 + "]" * 40 + "}\n") + "    description: " + "[" * 30 + "*d" + "]" * 30 + "\n",
    "alias_text_too_long": BASE.replace("owner: team-a\n", "owner: team-a\ndescription: &s " + "a" * 20000 + "\nlabels: {a: [" + ",".join(["*s"] * 60) + "]}\n"),
    "nested_too_deep": BASE + "    description: " + "[" * 100 + "]" * 100 + "\n",
    "nested_too_deep_block": BASE + "    description:\n" + "".join(" " * (6 + i) + "- \n" for i in range(70)),
    "surrogate_in_description": BASE.replace("owner: team-a\n", 'owner: team-a\ndescription: "x\\ud800y"\n'),
    "surrogate_in_key": BASE.replace("owner: team-a\n", 'owner: team-a\nlabels: {"t\\udc00": x}\n'),
    "surrogate_in_query": BASE.replace('      http_errors: {status: "5.."}\n', '      ratio:\n        bad: "sum(rate(fail\\ud800_total[{{window}}]))"\n        total: sum(rate(req_total[{{window}}]))\n'),
    "surrogate_pair": BASE.replace("owner: team-a\n", 'owner: team-a\ndescription: "ok \\ud83d\\ude00"\n'),
    "nul_escape": BASE.replace("owner: team-a\n", 'owner: team-a\ndescription: "a\\0b"\n'),
    "number_too_long": BASE.replace("99.9", "9" * 5000),
    "sexagesimal_too_long": BASE.replace("99.9", "1" + ":1" * 100),
    "tagged_int_empty": BASE.replace("99.9", '!!int ""'),
    "tagged_bool_word": BASE.replace("owner: team-a\n", "owner: team-a\nslos_enabled: !!bool maybe\n"),
    "timestamp_impossible": BASE.replace("owner: team-a\n", "owner: team-a\ndescription: 2001-13-45\n"),
}

NO_ROUTING = [
    "spec.yaml:1:1: routing.page: warning: no receiver for page alerts: they go to the team's placeholder "
    "receiver, which notifies nobody",
    "spec.yaml:1:1: routing.ticket: warning: no receiver for ticket alerts: they go to the team's placeholder "
    "receiver, which notifies nobody",
]

EXPECTED: dict[str, list[str]] = {
    "yaml_unclosed_flow": [
        "spec.yaml:2:6: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got ':'"
    ],
    "yaml_bad_mapping": ["spec.yaml:2:9: invalid YAML: mapping values are not allowed here"],
    "unknown_top_key": [
        "spec.yaml:1:1: owner: is required",
        "spec.yaml:2:1: ownr: unknown key 'ownr'; did you mean 'owner'?",
    ],
    "unknown_slo_key": [
        "spec.yaml:4:5: slos[0].objective: is required",
        "spec.yaml:5:5: slos[0].objectiv: unknown key 'objectiv'; did you mean 'objective'?",
    ],
    "missing_service": ["spec.yaml:1:1: service: is required"],
    "missing_slos": ["spec.yaml:1:1: slos: is required"],
    "empty_slos": ["spec.yaml:3:7: slos: must have at least 1 item(s)"],
    "objective_120": ["spec.yaml:5:16: slos[0].objective: must be between 0 and 100 (exclusive of 0), got 120"],
    "objective_zero": ["spec.yaml:5:16: slos[0].objective: must be between 0 and 100 (exclusive of 0), got 0"],
    "objective_text": ["spec.yaml:5:16: slos[0].objective: must be a percentage number like 99.5, got a string"],
    "objective_bool": ["spec.yaml:5:16: slos[0].objective: must be a percentage number like 99.5, got a boolean"],
    "window_words": [
        "spec.yaml:8:13: slos[0].window: not a duration: '30 days' (write it like 30s, 5m, 1h, 28d or 1h30m)"
    ],
    "window_too_short": ["spec.yaml:8:13: slos[0].window: must be at least 1d, got 1h"],
    "for_bad_duration": [
        "spec.yaml:9:38: slos[0].alerts[0].for: not a duration: '5 min' (write it like 30s, 5m, 1h, 28d or 1h30m)"
    ],
    "ratio_above_100": [
        "spec.yaml:9:29: slos[0].alerts[0].error_ratio_above: must be between 0 % and 100 % (exclusive), got '150%'"
    ],
    "ratio_unparseable": [
        "spec.yaml:9:29: slos[0].alerts[0].error_ratio_above: value must be a percentage like '1%' or a fraction like 0.01, got 'lots'"
    ],
    "severity_critical": ["spec.yaml:9:52: slos[0].alerts[0].severity: must be one of page, ticket, got 'critical'"],
    "severity_missing": ["spec.yaml:9:9: slos[0].alerts[0].severity: is required"],
    "two_levels": [
        "spec.yaml:9:33: slos[0].alerts[0]: has error_ratio_above and p95_above: give only one of error_ratio_above, good_ratio_below or pNN_above (p95_above, p99_above...)"
    ],
    "no_level": [
        "spec.yaml:9:9: slos[0].alerts[0]: needs one of error_ratio_above, good_ratio_below or pNN_above (p95_above, p99_above...)"
    ],
    "for_not_shorter_than_window": [
        *NO_ROUTING,
        "spec.yaml:10:38: slos[0].alerts[0].for: 7d is not shorter than the SLO window 7d: the alert could never matter",
    ],
    "two_sli_kinds": [
        "spec.yaml:8:7: slos[0].sli: has http_errors and cache_misses: give only one of http_errors, http_latency, cache_misses, ratio"
    ],
    "no_sli_kind": ["spec.yaml:6:10: slos[0].sli: needs one of http_errors, http_latency, cache_misses, ratio"],
    "ratio_no_window": [
        "spec.yaml:8:14: slos[0].sli.ratio.bad: must contain the {{window}} placeholder for the range, e.g. sum(rate(errors_total[{{window}}]))"
    ],
    "ratio_bad_equals_total": [
        *NO_ROUTING,
        "spec.yaml:8:14: slos[0].sli.ratio.bad: bad and total are the same query: the error ratio would always be 100 %",
    ],
    "ratio_bad_and_good": ["spec.yaml:9:9: slos[0].sli.ratio: has bad and good: give only one of bad, good"],
    "label_name_invalid": [
        "spec.yaml:3:10: labels.1tier: '1tier' is not a valid Prometheus label name (letters, digits and _, not starting with a digit or __)"
    ],
    "label_reserved": ["spec.yaml:3:10: labels.severity: label 'severity' is set by slokit and cannot be overridden"],
    "label_value_mapping": ["spec.yaml:3:16: labels.tier: label value must be a string, got a mapping"],
    "selector_dunder": [
        "spec.yaml:3:12: selector.__name__: '__name__' is not a valid Prometheus label name (letters, digits and _, not starting with a digit or __)"
    ],
    "latency_zero": ["spec.yaml:7:33: slos[0].sli.http_latency.threshold: must be a positive duration, got 0"],
    "latency_words": [
        "spec.yaml:7:33: slos[0].sli.http_latency.threshold: not a duration: 'fast' (write it like 30s, 5m, 1h, 28d or 1h30m)"
    ],
    "latency_number": [
        "spec.yaml:7:33: slos[0].sli.http_latency.threshold: must be a duration with a unit like 5m, 1h or 30d, got a number 0.3"
    ],
    "latency_not_bucket": [
        *NO_ROUTING,
        "spec.yaml:8:33: slos[0].sli.http_latency.threshold: 300ms is not one of the spec's buckets (nearest: 250ms and 1s): the SLI counts good requests from the bucket whose bound equals the threshold, so without that bucket it gets no data; pick one of the buckets, or add it to buckets: and to the middleware's buckets=",
    ],
    "duplicate_slo": [*NO_ROUTING, "spec.yaml:8:11: slos[1].name: SLO name 'avail' is already used by slos[0]"],
    "service_name_invalid": [
        "spec.yaml:1:10: service: must be lower-case letters, digits, '-' or '_', starting with a letter or digit, got 'Pay Service'"
    ],
    "inline_secret": [
        "spec.yaml:4:21: routing.page.pagerduty.routing_key_file: is required",
        "spec.yaml:4:22: routing.page.pagerduty.routing_key: unknown key 'routing_key': secrets never go into the spec; put it in a file readable by Alertmanager and name the file with routing_key_file",
    ],
    "quantile_on_cache": [
        *NO_ROUTING,
        "spec.yaml:9:10: slos[0].alerts[0].p95_above: p95_above needs an HTTP SLI (http_errors or http_latency): it reads the request duration histogram, and this SLO's SLI is cache_misses",
    ],
    "status_bad_regex": [
        "spec.yaml:7:29: slos[0].sli.http_errors.status: is not a valid regular expression: missing ), unterminated subpattern at position 2"
    ],
    "method_lower": [
        "spec.yaml:7:44: slos[0].sli.http_errors.method: must be an HTTP method in upper case (CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE)"
    ],
    "empty_file": ["spec.yaml:1:1: file is empty: expected a service spec"],
    "duplicate_key": ["spec.yaml:3:1: duplicate key 'owner'"],
    "top_level_list": ["spec.yaml:1:1: must be a mapping, got a list"],
    "runbook_url_ftp": ["spec.yaml:3:14: runbook_url: must be an http(s) URL, got 'ftp://x'"],
    "routing_empty_receiver": ["spec.yaml:4:9: routing.page: needs at least one of pagerduty, slack"],
    "tier_never_fires": [
        *NO_ROUTING,
        "spec.yaml:4:5: slos[0]: note: burn-rate page tier 1h/5m can never fire: burn rate 14.4 x error budget 10% = 144% of events would have to fail, and at most 100 % can; it is left out (expected for this objective and window: 1 other page tier(s) still alert)",
    ],
    "control_character": ["spec.yaml:2:9: invalid YAML: character 0x0001 is not allowed (special characters are not allowed)"],
    "service_name_reserved": ["spec.yaml:1:10: service: 'slo-overview' is reserved: slokit writes dashboards/slo-overview.json for all services together"],
    "quantile_at_top_bucket": [*NO_ROUTING, "spec.yaml:9:9: slos[0].alerts[0].p99_above: warning: 10s is not below the largest bucket bound (10s): histogram_quantile never returns more than that, so this alert can never fire; add a larger bucket (buckets:) or lower the level"],
    "python_tag": [
        "spec.yaml:1:10: invalid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'"
    ],
    "latency_not_default_bucket": [
        *NO_ROUTING,
        "spec.yaml:7:33: slos[0].sli.http_latency.threshold: 777ms is not one of the middleware's default buckets (nearest: 750ms and 1s): the SLI counts good requests from the bucket whose bound equals the threshold, so without that bucket it gets no data; pick one of the default buckets, or add buckets: to the spec listing the buckets the service's middleware is configured with (its buckets=, or service= this spec)",
    ],
    "quantile_not_bucket": [
        *NO_ROUTING,
        "spec.yaml:10:21: slos[0].alerts[0].p95_above: 500ms is not one of the spec's buckets (nearest: 250ms and 1s): the quantile is interpolated between bucket bounds, so the alert would fire late or early; pick one of the buckets, or add it to buckets: and to the middleware's buckets=",
    ],
    "quantile_not_default_bucket": [
        *NO_ROUTING,
        "spec.yaml:9:21: slos[0].alerts[0].p99_above: 800ms is not one of the middleware's default buckets (nearest: 750ms and 1s): the quantile is interpolated between bucket bounds, so the alert would fire late or early; pick one of the default buckets, or add buckets: to the spec listing the buckets the service's middleware is configured with (its buckets=, or service= this spec)",
    ],
    "route_no_slash": [
        "spec.yaml:7:43: slos[0].sli.http_errors.route: must start with '/' (did you mean '/api/checkout'?): the middleware records the route template as the framework writes it, e.g. /items/{id} (Starlette, FastAPI), /items/<int:id> (Flask, Django)",
    ],
    "route_query": [
        'spec.yaml:7:43: slos[0].sli.http_errors.route: must not contain a query string or fragment: the middleware records the route template as the framework writes it, e.g. /items/{id} (Starlette, FastAPI), /items/<int:id> (Flask, Django)',
    ],
    "route_space": [
        'spec.yaml:7:43: slos[0].sli.http_errors.route: must not contain spaces: the middleware records the route template as the framework writes it, e.g. /items/{id} (Starlette, FastAPI), /items/<int:id> (Flask, Django)',
    ],
    "route_unclosed_param": [
        'spec.yaml:7:43: slos[0].sli.http_errors.route: is not a route template: the middleware records the route template as the framework writes it, e.g. /items/{id} (Starlette, FastAPI), /items/<int:id> (Flask, Django)',
    ],
    "route_wildcard": [
        'spec.yaml:7:43: slos[0].sli.http_errors.route: is matched exactly, not as a wildcard: the middleware records the route template as the framework writes it, e.g. /items/{id} (Starlette, FastAPI), /items/<int:id> (Flask, Django)',
    ],
    "slack_channel_no_hash": [
        "spec.yaml:4:29: routing.ticket.slack.channel: must be a channel name starting with '#' (lower case, e.g. '#team-alerts'), a channel ID such as C0123ABCD, or '@user' (did you mean '#alerts'? quote it: a bare # starts a YAML comment)",
    ],
    "slack_channel_upper": [
        "spec.yaml:4:29: routing.ticket.slack.channel: must be a channel name starting with '#' (lower case, e.g. '#team-alerts'), a channel ID such as C0123ABCD, or '@user'",
    ],
    "route_convertor": [
        "spec.yaml:7:43: slos[0].sli.http_errors.route: the middleware records Starlette and FastAPI parameters without their convertor (the router's path_format): write /files/{rest}",
    ],
    "objective_100": [
        'spec.yaml:5:16: slos[0].objective: warning: 100 % leaves no error budget: burn-rate alerts are not generated (guardrails, recording rules and dashboards are); set burn_rate: false to say so, or lower the objective',
    ],
    "objective_100_no_burn_rate": [],
    "objective_999": [
        'spec.yaml:5:16: slos[0].objective: must be between 0 and 100 (exclusive of 0), got 999 (did you mean 99.9?)',
    ],
    "objective_9995_text": [
        "spec.yaml:5:16: slos[0].objective: must be between 0 and 100 (exclusive of 0), got '9995%' (did you mean 99.95?)",
    ],
    "objective_quoted_number": [
        *NO_ROUTING,
    ],
    "yaml_tab_indent": [
        'spec.yaml:4:1: invalid YAML: a tab character; YAML indents and separates with spaces only: replace the tab with spaces',
    ],
    "yaml_tab_separator": [
        'spec.yaml:2:7: invalid YAML: a tab character; YAML indents and separates with spaces only: replace the tab with spaces',
    ],
    "alias_recursive": ["spec.yaml:6:20: alias *l is used inside the node it names (a recursive structure)"],
    "alias_too_many": ["spec.yaml:4:3018: alias *s: more than 1000 aliases in one document"],
    "alias_nests_too_deep": ["spec.yaml:9:48: alias *d nests the document more than 64 levels deep"],
    "alias_text_too_long": ["spec.yaml:4:170: alias *s expands the document by more than 1048576 characters of text (aliases are bounded so that a small file cannot expand into a huge one)"],
    "nested_too_deep": ["spec.yaml:8:82: nested more than 64 levels deep"],
    "nested_too_deep_block": ["spec.yaml:70:68: nested more than 64 levels deep"],
    "surrogate_in_description": ["spec.yaml:3:14: description: U+D800 at character 2 of this text is a lone surrogate, which cannot be written as UTF-8; write the character itself"],
    "surrogate_in_key": [
        "spec.yaml:3:10: labels: U+DC00 at character 2 of this text is a lone surrogate, which cannot be written as UTF-8; write the character itself",
        "spec.yaml:3:10: labels.t\\udc00: 't\\udc00' is not a valid Prometheus label name (letters, digits and _, not starting with a digit or __)",
    ],
    "surrogate_in_query": ["spec.yaml:8:14: slos[0].sli.ratio.bad: U+D800 at character 14 of this text is a lone surrogate, which cannot be written as UTF-8; write the character itself"],
    "surrogate_pair": ["spec.yaml:3:14: description: U+D83D at character 4 of this text starts a UTF-16 surrogate pair, which cannot be written as UTF-8; write the character itself or \\U0001F600"],
    "nul_escape": ["spec.yaml:3:14: description: U+0000 at character 2 of this text is not allowed in YAML text, so no generated file could hold it"],
    "number_too_long": ["spec.yaml:5:16: slos[0].objective: a number of 5000 characters is too long (at most 100)"],
    "sexagesimal_too_long": ["spec.yaml:5:16: slos[0].objective: a number of 201 characters is too long (at most 100)"],
    "tagged_int_empty": ["spec.yaml:5:16: slos[0].objective: invalid YAML: not a valid int value"],
    "tagged_bool_word": ["spec.yaml:3:15: slos_enabled: invalid YAML: not a valid bool value"],
    "timestamp_impossible": ["spec.yaml:3:14: description: invalid YAML: not a valid timestamp value: month must be in 1..12"],
}


def test_corpus_is_large_enough() -> None:
    errors = [name for name, diags in EXPECTED.items() if any(("warning:" not in d and "note:" not in d) for d in diags)]
    assert len(errors) >= 30
    assert set(EXPECTED) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_spec(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("spec.yaml").write_text(CASES[name], encoding="utf-8")
    result = load_services(["spec.yaml"])
    assert [str(d) for d in result.diagnostics] == EXPECTED[name]
    has_error = any(("warning:" not in d and "note:" not in d) for d in EXPECTED[name])
    assert result.ok is not has_error
    assert (result.services == ()) is has_error
