"""The ``slokit report`` command: reads Prometheus, writes the report, posts to Slack, exits for CI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from slokit import __version__
from slokit.cli.common import load_or_exit
from slokit.cli.options import ConnectionOptions, RequestPolicy, prometheus_connection_options, request_options
from slokit.prometheus_client import ConfigProblem, PrometheusClient, PrometheusError
from slokit.report import html, jsondoc, markdown, slack
from slokit.report.collect import collect
from slokit.report.model import Report
from slokit.report.period import PERIOD_CHOICES, PeriodError, parse_at, resolve
from slokit.transport import FileProblem, check_ca_file
from slokit.writers import write_files

EXIT_MET, EXIT_FAILED, EXIT_USAGE, EXIT_PROMETHEUS, EXIT_NO_DATA, EXIT_SLACK = 0, 1, 2, 3, 4, 5

EXIT_CODES = """\b
Exit codes:
  0  every SLO met its objective
  1  an SLO breached (with --fail-on at-risk: or is at risk), or a spec file is invalid
  2  usage: bad option, --at, --out, webhook file or Prometheus connection option
  3  Prometheus unusable: unreachable, timing out, refusing the credentials, failing, rejecting a query
     or answering in a shape that is not its API (after the retries); nothing written
  4  no SLO failed, but at least one had no data (no series, no traffic in the period, or only a
     partial answer: Prometheus answered with warnings)
  5  the report was written but posting to Slack failed
With several, the first of 1, 5, 4 applies."""

RENDERERS: dict[str, Callable[[Report], str]] = {"md": markdown.render, "html": html.render, "json": jsondoc.render}


def exit_code(report: Report, fail_on: str) -> int:
    failing = {"breached"} | ({"at risk"} if fail_on == "at-risk" else set())
    if any(s.verdict in failing for s in report.slos):
        return EXIT_FAILED
    if any(s.verdict == "no data" for s in report.slos):
        return EXIT_NO_DATA
    return EXIT_MET


def _fail(code: int, message: str) -> None:
    click.echo(f"slokit report: {message}", err=True)
    sys.exit(code)


@click.command("report", epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--prometheus", "prometheus_url", envvar="PROMETHEUS_URL", metavar="URL",
              help="Prometheus' base URL, e.g. http://127.0.0.1:9090  [env: PROMETHEUS_URL]")
@click.option("--period", default="1d", show_default=True, type=click.Choice(PERIOD_CHOICES),
              help="The last 1d, 7d or 30d before --at, or a calendar month (UTC).")
@click.option("--at", "at_text", metavar="TIME",
              help="End of the period: now, ISO 8601 or Unix seconds (default: the start of this hour; data "
                   "younger than that needs --at now). With calendar-month: a time in the month to report "
                   "(default: the last complete month).")
@click.option("--format", "formats", multiple=True, type=click.Choice(list(RENDERERS)),
              help="md (default), html or json; repeat for several (needs --out).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for report.md / report.html / report.json (else the one format goes to stdout).")
@click.option("--fail-on", default="breached", show_default=True, type=click.Choice(["breached", "at-risk"]),
              help="Which verdict makes the exit code 1.")
@click.option("--post-slack", is_flag=True, help="Also post a compact summary to the Slack webhook.")
@click.option("--slack-webhook-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="File holding the Slack incoming-webhook URL (needed by --post-slack).")
@click.option("--slack-ca-file", metavar="FILE",
              help="PEM file of the CA(s) that signed the webhook server's certificate (a Slack-compatible "
                   "chat server behind a private CA).")
@request_options(timeout=60.0, retries=3)
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
@prometheus_connection_options
def report_command(paths: tuple[str, ...], prometheus_url: str | None, period: str, at_text: str | None,
                   formats: tuple[str, ...], out_dir: str | None, fail_on: str, post_slack: bool,
                   slack_webhook_file: str | None, slack_ca_file: str | None, requests: RequestPolicy, quiet: bool,
                   prometheus_options: ConnectionOptions) -> None:
    """Report SLO compliance of the specs (default: slo/) over a period, read from Prometheus.

    Per service and SLO: SLI over the period and the SLO window, error budget at the start and end and
    consumed, burn-down, alerts that fired, worst hours and a verdict (met, at risk, breached, no data).
    """
    services = load_or_exit(paths, "report").services
    formats = formats or ("md",)
    if len(formats) > 1 and not out_dir:
        _fail(EXIT_USAGE, "several --format values need --out DIR")
    if post_slack and not slack_webhook_file:
        _fail(EXIT_USAGE, "--post-slack needs --slack-webhook-file FILE")
    if post_slack and slack_webhook_file:
        try:
            slack.read_webhook(slack_webhook_file)
            if slack_ca_file:
                check_ca_file(slack_ca_file, "Slack CA file")
        except (slack.SlackError, FileProblem) as err:
            _fail(EXIT_USAGE, str(err))
    if not prometheus_url:
        _fail(EXIT_USAGE, "no Prometheus URL: pass --prometheus URL or set PROMETHEUS_URL")
    assert prometheus_url is not None
    try:
        connection = prometheus_options.connection(prometheus_url)
    except ConfigProblem as err:
        _fail(EXIT_USAGE, f"--prometheus: {err}")
    now = datetime.now(UTC)
    try:
        the_period = resolve(period, parse_at(at_text, now) if at_text else None, now)
    except PeriodError as err:
        _fail(EXIT_USAGE, str(err))

    def progress(line: str) -> None:
        if not quiet:
            click.echo(f"slokit report: {line}", err=True)

    try:
        with PrometheusClient(connection, timeouts=requests.timeouts, retry=requests.retry,
                              user_agent=f"slokit/{__version__}") as client:
            client.ready()
            result = collect(client, services, the_period, now, progress)
    except PrometheusError as err:
        _fail(EXIT_PROMETHEUS, str(err))
    for warning in dict.fromkeys(client.warnings):
        click.echo(f"slokit report: warning: Prometheus answered with a warning, the data may be partial: {warning}",
                   err=True)
    rendered = {f"report.{fmt}": RENDERERS[fmt](result) for fmt in formats}
    if out_dir:
        for path in write_files(Path(out_dir), rendered, overwrite=True):
            progress(f"wrote {path}")
    else:
        click.echo(next(iter(rendered.values())), nl=False)
    code = exit_code(result, fail_on)
    if post_slack and slack_webhook_file:
        try:
            slack.post(slack_webhook_file, slack.summary(result), timeouts=requests.timeouts, retry=requests.retry,
                       ca_file=slack_ca_file)
            progress("posted the summary to Slack")
        except slack.SlackError as err:
            click.echo(f"slokit report: {err}", err=True)
            code = code if code == EXIT_FAILED else EXIT_SLACK
    progress(f"{result.verdict}: {result.count('met')} met, {result.count('at risk')} at risk, "
             f"{result.count('breached')} breached, {result.count('no data')} no data")
    sys.exit(code)
