"""``slokit check``: promtool and amtool over the generated files, or the specs against live metrics."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from slokit import __version__, toolchain
from slokit.check_common import CheckResult
from slokit.checks import run_checks
from slokit.cli.common import EXIT_SPEC, EXIT_UNREACHABLE, fail_usage, load_or_exit
from slokit.cli.options import ConnectionOptions, RequestPolicy, prometheus_connection_options, request_options
from slokit.live_sources import Unreachable, scrape
from slokit.livecheck import MetricsData, PrometheusData, check_live
from slokit.prometheus_client import ConfigProblem, Connection, PrometheusClient, PrometheusError
from slokit.spec.model import Service
from slokit.toolchain import ToolMissing
from slokit.transport import RetryPolicy, Timeouts


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Root folder the artifacts were generated into.")
@click.option("--metrics-url", default=None, metavar="URL",
              help="Check the specs against a running service's /metrics instead of the generated files.")
@click.option("--prometheus", "prometheus_url", default=None, metavar="URL",
              help="Check the specs against a live Prometheus (its HTTP API) instead of the generated files.")
@request_options(timeout=5.0, retries=2)
@prometheus_connection_options
def check(paths: tuple[str, ...], out_dir: str, metrics_url: str | None, prometheus_url: str | None,
          requests: RequestPolicy, prometheus_options: ConnectionOptions) -> None:
    """Run promtool and amtool over the generated artifacts and report per file; with --metrics-url or
    --prometheus, check instead that every SLO's series, routes, buckets and caches exist in live data.

    Exit codes: 0 passed, 1 a check failed, 2 usage error, 3 a --metrics-url/--prometheus URL gave no
    usable answer (unreachable, credentials refused, malformed answers)."""
    result = load_or_exit(paths, "check")
    if metrics_url or prometheus_url:
        connection = None
        if prometheus_url:
            try:
                connection = prometheus_options.connection(prometheus_url)
            except ConfigProblem as exc:
                fail_usage(f"--prometheus: {exc}")
        _report(_live(result.services, metrics_url, connection, requests.timeouts, requests.retry))
        return
    try:
        results = run_checks(Path(out_dir), result.services)
    except ToolMissing as exc:
        click.echo(f"slokit check: {exc}", err=True)
        sys.exit(EXIT_SPEC)
    click.echo(f"using {toolchain.describe()}")
    _report(results)


def _live(services: Sequence[Service], metrics_url: str | None, connection: Connection | None,
          timeouts: Timeouts, retry: RetryPolicy) -> list[CheckResult]:
    """The live checks of every source given; an unusable URL exits 3 with one line saying why. Warnings in
    Prometheus' answers (a partial response) are a check of their own that fails as a warning."""
    if metrics_url is not None and not metrics_url.startswith(("http://", "https://")):
        fail_usage("--metrics-url must be an http:// or https:// URL")
    results: list[CheckResult] = []
    try:
        if metrics_url:
            results.extend(check_live(MetricsData(scrape(metrics_url, timeouts, retry)), services))
        if connection:
            with PrometheusClient(connection, timeouts=timeouts, retry=retry,
                                  user_agent=f"slokit/{__version__}") as client:
                results.extend(check_live(PrometheusData(client), services))
            for warning in dict.fromkeys(client.warnings):
                results.append(CheckResult("prometheus", "answers complete", False,
                                           f"Prometheus answered with a warning, the data may be partial: {warning}",
                                           "warning"))
    except (Unreachable, PrometheusError) as exc:
        click.echo(f"slokit check: {exc}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    return results


def _report(results: Sequence[CheckResult]) -> None:
    """One line per check (details under failures and warnings); exit 1 when any failed."""
    failed = 0
    for r in results:
        status = "ok" if r.ok else ("WARN" if r.level == "warning" else "FAIL")
        click.echo(f"{status:<4} {r.tool}: {r.target}")
        if r.detail and not r.ok:
            click.echo("\n".join(f"     {line}" for line in r.detail.rstrip().splitlines()))
        failed += (not r.ok) and r.level == "error"
    click.echo(f"{len(results) - failed} of {len(results)} check(s) passed" + (f", {failed} failed" if failed else ""))
    if failed:
        sys.exit(EXIT_SPEC)
