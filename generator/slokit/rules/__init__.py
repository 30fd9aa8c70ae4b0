"""Prometheus rules of SLOs: recording rules, burn-rate and guardrail alerts, their promtool tests."""
