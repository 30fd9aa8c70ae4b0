"""The ``slokit push`` command: reads the token and URL, runs the push, prints one line per dashboard."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections import Counter
from pathlib import Path

import click

from slokit import __version__
from slokit.cli.common import load_or_exit
from slokit.cli.options import RequestPolicy, request_options
from slokit.grafana_api import ConfigError, GrafanaClient, check_token
from slokit.push import INPUT_ERROR, Report, collect, push
from slokit.transport import FileProblem, check_ca_file, read_small_file

EXIT_CODES = """\b
Exit codes:
  0  every dashboard pushed (or, with --dry-run, compared)
  1  a spec file is invalid
  2  usage: URL, token or CA file missing or unusable, dashboard files missing or malformed
  3  Grafana unreachable (connection refused, DNS, TLS, timeout) after the retries
  4  401: token missing, wrong or expired
  5  403: token not allowed to do this
  6  404/400: the dashboard's folder does not exist
  7  412: version-mismatch, name-exists or plugin-dashboard
  8  5xx after the retries, or Grafana reports its database failing
  9  Grafana rejected the request otherwise (400, 422, redirect)
With several failures the code is that of the first one."""


def read_token(token_file: str | None) -> str:
    """The token from ``--token-file`` or ``GRAFANA_TOKEN``; the message never includes the value."""
    if token_file:
        try:
            text = read_small_file(token_file, "Grafana token file")
        except FileProblem as err:
            raise ConfigError(str(err)) from None
    else:
        text = os.environ.get("GRAFANA_TOKEN", "")
        if not text.strip():
            raise ConfigError(
                "no Grafana token: set GRAFANA_TOKEN or pass --token-file FILE "
                "(a service-account token with the Editor role)"
            )
    return check_token(text)


@click.command("push", epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Root folder `slokit generate` wrote into; dashboards are read from its dashboards/.")
@click.option("--url", envvar="GRAFANA_URL", metavar="URL",
              help="Grafana's base URL, e.g. https://grafana.example.com  [env: GRAFANA_URL]")
@click.option("--token-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="File holding the service-account token (else the GRAFANA_TOKEN environment variable).")
@click.option("--ca-file", envvar="GRAFANA_CA_FILE", metavar="FILE",
              help="PEM file of the CA(s) that signed Grafana's certificate  [env: GRAFANA_CA_FILE]")
@click.option("--dry-run", is_flag=True,
              help="Compare with Grafana's copies and print new / changed / unchanged; write nothing.")
@request_options(timeout=30.0, retries=3)
def push_command(paths: tuple[str, ...], out_dir: str, url: str | None, token_file: str | None,
                 ca_file: str | None, dry_run: bool, requests: RequestPolicy) -> None:
    """Push the generated dashboards of the specs (default: slo/) to Grafana.

    Each service's dashboard goes to the folder its spec names (created when missing); the overview goes
    to the folder most services use. Every dashboard gets its own result line; one failure does not stop
    the others.
    """
    services = load_or_exit(paths, "push").services
    try:
        if not url:
            raise ConfigError("no Grafana URL: set GRAFANA_URL or pass --url")
        client = GrafanaClient(
            url,
            read_token(token_file),
            timeouts=requests.timeouts,
            retry=requests.retry,
            user_agent=f"slokit/{__version__}",
            ca_file=check_ca_file(ca_file, "Grafana CA file") if ca_file else None,
        )
    except FileProblem as err:
        click.echo(f"slokit push: {err}", err=True)
        sys.exit(ConfigError.exit_code)
    except ConfigError as err:
        click.echo(f"slokit push: {err}", err=True)
        sys.exit(err.exit_code)
    targets, problems = collect(Path(out_dir) / "dashboards", services)
    with client:
        report = push(client, targets, dry_run=dry_run)
    report = dataclasses.replace(report, outcomes=tuple(problems) + report.outcomes)
    _print(report, client.base_url, dry_run)
    sys.exit(report.exit_code if report.outcomes or report.error else INPUT_ERROR)


def _print(report: Report, base_url: str, dry_run: bool) -> None:
    for outcome in report.outcomes:
        click.echo(str(outcome), err=outcome.failed)
    if report.error is not None:
        click.echo(f"slokit push: {report.error}", err=True)
    counts = Counter(o.state for o in report.outcomes)
    summary = ", ".join(f"{n} {state}" for state, n in counts.items())
    verb = "compared with" if dry_run else "pushed to"
    server = f" (version {report.server_version})" if report.server_version else ""
    line = f"{len(report.outcomes)} dashboard file(s) {verb} {base_url}{server}: {summary or 'none'}"
    if dry_run:
        line += "; nothing written"
    click.echo(line, err=report.exit_code != 0)
