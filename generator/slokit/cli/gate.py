"""``slokit gate``: the rollout gate on the command line (reading the specs and Prometheus are the edges).

Exit codes: 0 promote, 10 hold, 20 roll back, 1 a spec has errors, 2 usage error (unknown service, no
``rollout:``, a stage out of range, a bad time or URL), 3 Prometheus unreachable or answering with errors.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime
from typing import NoReturn

import click

from slokit import gate
from slokit.cli.common import EXIT_UNREACHABLE, EXIT_USAGE, load_or_exit
from slokit.grafana_api import RetryPolicy, Timeouts
from slokit.prometheus_api import PrometheusClient, PrometheusError
from slokit.spec.units import Duration, UnitError


def _usage(message: str) -> NoReturn:
    click.echo(f"slokit gate: {message}", err=True)
    sys.exit(EXIT_USAGE)


def parse_time(text: str, now: float, option: str) -> float:
    """Unix seconds from RFC 3339 (``2026-12-01T10:00:00Z``), a unix timestamp, or a duration ago (``36h``)."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        return now - Duration.parse(text).seconds
    except UnitError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _usage(f"{option}: {text!r} is not a time (RFC 3339 like 2026-12-01T10:00:00Z, unix seconds, or a "
               "duration ago like 36h)")
    if parsed.tzinfo is None:
        _usage(f"{option}: {text!r} has no time zone; add Z or an offset such as +01:00")
    return parsed.timestamp()


def _print(verdict: gate.Verdict) -> None:
    since = gate.timestamp(verdict.start) + ("" if verdict.since_given else " (assumed)")
    what = f"{verdict.percent}%" + (f", {verdict.description}" if verdict.description else "")
    click.echo(f"{verdict.service} stage {verdict.stage} ({what}), since {since}, "
               f"at {gate.timestamp(verdict.at)}")
    for c in verdict.checks:
        click.echo(f"  {c.outcome.upper():<9}{c.kind:<8}{c.detail}")
    click.echo(f"verdict: {verdict.decision} (exit {verdict.exit_code})")


def _json(verdict: gate.Verdict) -> None:
    click.echo(json.dumps({
        "service": verdict.service, "stage": verdict.stage, "percent": verdict.percent,
        "description": verdict.description,
        "since": gate.timestamp(verdict.start), "since_given": verdict.since_given,
        "at": gate.timestamp(verdict.at), "verdict": verdict.decision, "exit_code": verdict.exit_code,
        "checks": [{"kind": c.kind, "name": c.name, "outcome": c.outcome, "detail": c.detail, "value": c.value}
                   for c in verdict.checks],
    }, indent=2))


@click.command("gate")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--service", "service_name", required=True, help="The service whose rollout is gated.")
@click.option("--stage", "number", required=True, type=int, help="The stage running now, 1 = the first in rollout:.")
@click.option("--prometheus", "url", required=True, envvar="PROMETHEUS_URL",
              help="Prometheus' base URL (or PROMETHEUS_URL), e.g. http://prometheus:9090.")
@click.option("--since", help="When the stage started: RFC 3339, unix seconds, or a duration ago (36h). "
                              "Without it the gate never promotes.")
@click.option("--at", "at_text", help="Judge as of this time instead of now (same forms as --since).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for each answer.")
@click.option("--retries", default=3, show_default=True, help="Retries after a failed request.")
@click.option("--backoff", default=0.5, show_default=True, help="First retry delay in seconds (doubles).")
def gate_command(paths: tuple[str, ...], service_name: str, number: int, url: str, since: str | None,
                 at_text: str | None, as_json: bool, timeout: float, retries: int, backoff: float) -> None:
    """Promote, hold or roll back a rollout stage: evaluates the rollback triggers and each SLO's burn over
    the stage against Prometheus. Exit 0 promote, 10 hold, 20 roll back, 1 spec errors, 2 usage error,
    3 Prometheus unreachable."""
    result = load_or_exit(paths, "gate")
    service = next((s for s in result.services if s.name == service_name), None)
    if service is None:
        _usage(f"no service {service_name!r} in the specs (found: {', '.join(s.name for s in result.services)})")
    if service.rollout is None:
        _usage(f"service {service_name!r} has no rollout: section in {service.source}")
    stages = len(service.rollout.stages)
    if not 1 <= number <= stages:
        _usage(f"--stage must be between 1 and {stages} (the stages of {service_name}), got {number}")
    if timeout <= 0 or retries < 0 or backoff < 0:
        _usage("--timeout must be positive, --retries and --backoff not negative")
    now = time.time()
    at = parse_time(at_text, now, "--at") if at_text else now
    start = parse_time(since, now, "--since") if since else None
    if start is not None and start >= at:
        _usage(f"--since {gate.timestamp(start)} is not before {gate.timestamp(at)}")
    try:
        client = PrometheusClient(url, timeouts=Timeouts(connect=timeout, read=timeout),
                                  retry=RetryPolicy(attempts=retries + 1, backoff=backoff))
    except ValueError as exc:
        _usage(f"--prometheus: {exc}")
    try:
        with client:
            verdict = gate.judge(service, number, client, at=at, since=start)
    except PrometheusError as exc:
        click.echo(f"slokit gate: {exc}; no verdict (exit {EXIT_UNREACHABLE})", err=True)
        sys.exit(EXIT_UNREACHABLE)
    (_json if as_json else _print)(verdict)
    sys.exit(verdict.exit_code)
