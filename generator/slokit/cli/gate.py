"""``slokit gate``: the rollout gate on the command line (reading the specs and Prometheus are the edges).

Exit codes: 0 promote, 10 hold, 20 roll back, 1 a spec has errors, 2 usage error (unknown service, no
``rollout:``, a stage out of range, a bad time, URL or connection option), 3 Prometheus unusable
(unreachable, refusing the credentials, failing, or answering in a shape that is not its API).
An answer with ``warnings`` (a partial response from Thanos or Mimir) is at most a hold.
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
from slokit.cli.options import ConnectionOptions, RequestPolicy, prometheus_connection_options, request_options
from slokit.prometheus_client import ConfigProblem, PrometheusClient, PrometheusError, Series
from slokit.spec.units import Duration, UnitError


def _usage(message: str) -> NoReturn:
    click.echo(f"slokit gate: {message}", err=True)
    sys.exit(EXIT_USAGE)


#: The latest time the gate accepts (the end of year 9999, as far as datetimes go).
MAX_TIME = 253_402_300_799.0


def parse_time(text: str, now: float, option: str) -> float:
    """Unix seconds from ``now``, RFC 3339 (``2026-12-01T10:00:00Z``), a unix timestamp, or a duration ago
    (``36h``), as ``slokit report --at`` takes them; a usage error for a time before 1970 or after the year
    9999."""
    text = text.strip()
    if text.lower() == "now":
        return now
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _in_range(float(text), text, option)
    try:
        return _in_range(now - Duration.parse(text).seconds, text, option)
    except UnitError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _usage(f"{option}: {text!r} is not a time (now, RFC 3339 like 2026-12-01T10:00:00Z, unix seconds, "
               "or a duration ago like 36h)")
    if parsed.tzinfo is None:
        _usage(f"{option}: {text!r} has no time zone; add Z or an offset such as +01:00")
    return _in_range(parsed.timestamp(), text, option)


def _in_range(t: float, text: str, option: str) -> float:
    if not 0 <= t <= MAX_TIME:
        _usage(f"{option}: {text!r} is not a time between 1970 and the year 9999")
    return t


class _Reads:
    """The gate's read (:class:`gate.Prometheus`) over the Prometheus client: range queries, whose series keep
    NaN and infinities so that the gate can refuse them."""

    def __init__(self, client: PrometheusClient) -> None:
        self.client = client

    def range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        return list(self.client.query_range(expr, start, end, step))


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
        "checks": [{"kind": c.kind, "name": c.name, "slo": c.slo or None, "group": dict(c.group) or None,
                    "outcome": c.outcome, "detail": c.detail, "value": c.value} for c in verdict.checks],
    }, indent=2))


@click.command("gate")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--service", "service_name", required=True, help="The service whose rollout is gated.")
@click.option("--stage", "number", required=True, type=int, help="The stage running now, 1 = the first in rollout:.")
@click.option("--prometheus", "url", required=True, envvar="PROMETHEUS_URL",
              help="Prometheus' base URL (or PROMETHEUS_URL), e.g. http://prometheus:9090.")
@click.option("--since", help="When the stage started: RFC 3339, unix seconds, or a duration ago (36h). "
                              "Without it the gate never promotes.")
@click.option("--at", "at_text", help="Judge as of this earlier time instead of now (same forms as --since).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@request_options(timeout=10.0, retries=3)
@prometheus_connection_options
def gate_command(paths: tuple[str, ...], service_name: str, number: int, url: str, since: str | None,
                 at_text: str | None, as_json: bool, requests: RequestPolicy,
                 prometheus_options: ConnectionOptions) -> None:
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
    now = time.time()
    at = parse_time(at_text, now, "--at") if at_text else now
    if at > now:  # the stage's time would count as passed, judged on the data there is so far
        _usage(f"--at {gate.timestamp(at)} is in the future: the gate judges what has happened")
    start = parse_time(since, now, "--since") if since else None
    if start is not None and start >= at:
        _usage(f"--since {gate.timestamp(start)} is not before {gate.timestamp(at)}")
    try:
        client = PrometheusClient(prometheus_options.connection(url), timeouts=requests.timeouts,
                                  retry=requests.retry)
    except ConfigProblem as exc:
        _usage(f"--prometheus: {exc}")
    try:
        with client:
            verdict = gate.judge(service, number, _Reads(client), at=at, since=start)
    except PrometheusError as exc:
        click.echo(f"slokit gate: {exc}; no verdict (exit {EXIT_UNREACHABLE})", err=True)
        sys.exit(EXIT_UNREACHABLE)
    verdict = gate.with_warnings(verdict, client.warnings)
    (_json if as_json else _print)(verdict)
    sys.exit(verdict.exit_code)
