"""Spec texts for the runbook tests: other service names, windows, guardrails, owner text, hostile text."""

from __future__ import annotations

PAYMENTS = r"""
service: payments-api
owner: payments
description: "Card payments <b>API</b> | # not a heading\n## nor this"
metrics_preset: classic
buckets: [100ms, 250ms, 500ms, 1s, 2s, 2500ms, 5s]
selector: {job: payments, env: "prod\"x"}
runbook_url: https://wiki.example.com/sre/runbooks/
grafana: {folder: Payments, url: "https://grafana.example.com/g(x)"}
routing:
  ticket: {slack: {channel: "#payments", api_url_file: /etc/alertmanager/slack-payments}}
slos:
  - name: checkout_errors
    description: "Checkout <script>alert('x')</script> errors\n# boom | x"
    window: 7d
    objective: 99.9
    sli: {http_errors: {status: "5..|429", route: "/v1/checkout", method: POST}}
    absent_for: 15m
    alerts:
      - {error_ratio_above: 2%, for: 5m, severity: page, rollback: true}
      - {error_ratio_above: 2%, for: 10m, severity: ticket}
      - {error_ratio_above: 2%, for: 30m, severity: ticket}
      - {good_ratio_below: 90%, for: 10m, severity: ticket}
      - {p99_above: 2s, for: 10m, severity: page}
      - {p99_above: 2s, for: 1h, severity: page, rollback: true}
    runbook:
      summary: "Checkout **failing** means lost revenue."
      impact: "Customers cannot pay; carts are abandoned."
      diagnosis: |
        # Check the PSP
        Look at `psp_errors_total`.
        Setext
        ===
        <!-- unclosed
        ```
        unclosed fence
      mitigation: "Fail over to the backup PSP with `make psp-failover`."
      contacts: "Payments lead: @alice; PSP support +1 555 0100"
  - name: latency-28d
    window: 28d
    objective: 99
    sli: {http_latency: {threshold: 250ms}}
    alerts:
      - {p95_above: 1s, for: 5m, severity: ticket}
  - name: ledger
    window: 28d
    objective: 99.95
    burn_rate: false
    sli:
      ratio:
        good: 'sum(rate(ledger_writes_total{result="ok"}[{{window}}]))'
        total: 'sum(rate(ledger_writes_total[{{window}}]))'
    alerts: [{error_ratio_above: 1%, for: 5m, severity: page}]
"""

#: No runbook_url (links stay repo-relative), no routing, no description, a cache SLI with few tiers.
MINIMAL = r"""
service: search_1
owner: discovery
slos:
  - name: hits
    objective: 90
    window: 7d
    min_events: 500
    sli: {cache_misses: {cache: "results|v2"}}
    alerts:
      - {good_ratio_below: 50%, for: 15m, severity: page}
      - {good_ratio_below: 50%, for: 30m, severity: page}
"""

#: A 1d window (the 3d tier is left out), a guardrail below the budget rate read over the whole window, a
#: generic ratio SLI with a backtick, a latency rollback trigger with its own window.
EDGE = r"""
service: edge2
owner: t
slos:
  - name: short
    objective: 99.99
    window: 1d
    sli: {http_errors: {status: "5.."}}
    alerts:
      - {error_ratio_above: 0.001%, for: 0s, severity: ticket, window: 1d, description: "# hi\n| there <x>"}
  - name: r
    objective: 99.9
    sli: {ratio: {bad: 'rate(x_total{a=`q`}[{{window}}])', total: 'sum(rate(y_total[{{window}}])) by (z)'}}
  - name: lat
    objective: 50
    window: 1d
    sli: {http_latency: {threshold: 1s}}
    alerts: [{p99_above: 1s, for: 5m, severity: page, rollback: true, window: 1h}]
"""

#: Guardrails that share alert name, severity and rollback flag: distinct levels, a shared level with
#: different `for`, a shared level and `for` with different windows, an outright repeat, and non-rollback
#: alerts whose rollback twin carries the same threshold label.
TWINS = r"""
service: twins
owner: t
slos:
  - name: avail
    objective: 99
    window: 7d
    sli: {http_errors: {status: "5.."}}
    alerts:
      - {error_ratio_above: 1%, for: 10m, severity: ticket}
      - {error_ratio_above: 2%, for: 30m, severity: ticket}
      - {error_ratio_above: 3%, for: 5m, severity: ticket}
      - {error_ratio_above: 3%, for: 15m, severity: ticket}
      - {error_ratio_above: 3%, for: 15m, severity: ticket, window: 30m}
      - {error_ratio_above: 5%, for: 5m, severity: ticket, rollback: true}
      - {error_ratio_above: 1%, for: 5m, severity: ticket, rollback: true}
      - {error_ratio_above: 4%, for: 5m, severity: page}
      - {error_ratio_above: 6%, for: 2m, severity: page, rollback: true}
  - name: latency
    objective: 99
    window: 7d
    sli: {http_latency: {threshold: 250ms}}
    alerts:
      - {p99_above: 1s, for: 5m, severity: page}
      - {p99_above: 2500ms, for: 5m, severity: page}
      - {good_ratio_below: 90%, for: 10m, severity: ticket}
      - {good_ratio_below: 90%, for: 10m, severity: ticket}
"""
