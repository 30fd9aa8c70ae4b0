"""The ``slokit`` command line: the edge where files are read, artifacts written and tools run.

Exit codes: 0 success, 1 the spec or a check failed, 2 usage error (bad option, missing path), 3 a live
check's URL (``check --metrics-url/--prometheus``) gave no usable answer, 73 the output folder could not be
written. No command prints a traceback for bad input: every problem a spec can have is a diagnostic (exit 1).
What is left, a bug in slokit itself, prints one line and exits 70 (set SLOKIT_DEBUG=1 to see the traceback);
the line names only the exception's type, since its text may quote anything.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NoReturn

import click

from slokit import __version__, pipeline, promql_check, toolchain
from slokit.checks import CheckResult, ToolMissing, run_checks
from slokit.gate_cli import gate_command
from slokit.live_sources import HTTP, Prometheus, Unreachable, scrape
from slokit.livecheck import MetricsData, PrometheusData, check_live
from slokit.migrate_cli import export_command, import_command
from slokit.push_cli import push_command
from slokit.report.command import report_command
from slokit.rules.render import DEFAULT_QUERY_OFFSET, TARGETS, TargetError
from slokit.runbooks.site import runbooks_command
from slokit.spec import LoadResult, UsageError, load_services, with_diagnostics
from slokit.spec.grammar import SERVICE
from slokit.spec.model import Service
from slokit.spec.units import Duration
from slokit.writers import WriteError, write_tree

DEFAULT_SPEC_DIR = "slo"
EXIT_SPEC = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE
EXIT_CANT_WRITE = 73  # sysexits' EX_CANTCREAT


def _fail_usage(message: str) -> NoReturn:
    click.echo(f"slokit: {message}", err=True)
    sys.exit(EXIT_USAGE)


#: What a command does not do when a spec has an error (``validate`` only reads).
Command = Literal["validate", "generate", "check", "push", "runbooks", "gate", "report", "export"]
_NOT_DONE: dict[Command, str] = {"validate": "", "generate": "; nothing written", "check": "; nothing checked",
                                 "push": "; nothing pushed", "runbooks": "; nothing written",
                                 "gate": "; nothing evaluated", "report": "; no report made",
                                 "export": "; nothing written"}

PROMQL_NOT_PARSED = ("warning: promtool is not installed, so the PromQL of ratio SLIs was not parsed "
                     "(`make tools` installs it; `slokit check` parses the generated rules)")


def write_or_exit(out_dir: Path, files: dict[str, str], managed: Sequence[str]) -> list[Path]:
    """Write the tree; exit 73 with the reason when the disk refuses (the previous output stays as it was)."""
    try:
        return write_tree(out_dir, files, managed)
    except WriteError as exc:
        click.echo(f"slokit: {exc}", err=True)
        sys.exit(EXIT_CANT_WRITE)


def load_or_exit(paths: Sequence[str], command: Command) -> LoadResult:
    """Load the specs and parse their PromQL; exit 1 on any error so that nothing is written.

    Errors are always printed. Warnings are listed by ``validate`` only; the other commands print how many
    there are, so ``make`` (validate, generate, check) shows each warning once.
    """
    try:
        result = load_services(paths or [DEFAULT_SPEC_DIR])
    except UsageError as exc:
        _fail_usage(str(exc))
    parse_errors = promql_check.check(result.queries)
    result = with_diagnostics(result, parse_errors or [])
    listing = command == "validate"
    for diag in result.diagnostics:
        if diag.level == "error" or listing:
            click.echo(str(diag), err=True)
    if parse_errors is None and listing:
        click.echo(f"slokit: {PROMQL_NOT_PARSED}", err=True)
    if not result.ok:
        n = len(result.errors)
        click.echo(f"{n} error{'s' if n != 1 else ''} in {len(result.files)} file(s){_NOT_DONE[command]}", err=True)
        sys.exit(EXIT_SPEC)
    if not listing and result.warnings:
        n = len(result.warnings)
        click.echo(f"{n} warning{'s' if n != 1 else ''} (`slokit validate` lists them)", err=True)
    return result


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slokit")
def main() -> None:
    """slokit: SLO-as-code. Turn SLO specs (slo/*.yaml) into Prometheus rules, Alertmanager routing,
    Grafana dashboards, runbooks and promtool tests."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check spec files (default: slo/) and print every problem as file:line:col: field: message."""
    result = load_or_exit(paths, "validate")
    slos = sum(len(s.slos) for s in result.services)
    warnings = len(result.warnings)
    click.echo(
        f"ok: {len(result.files)} file(s), {len(result.services)} service(s), {slos} SLO(s)"
        + (f", {warnings} warning(s)" if warnings else "")
    )


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec (for yaml-language-server and other editors)."""
    click.echo(json.dumps(spec_json_schema(), indent=2, sort_keys=True))


def spec_json_schema() -> dict[str, object]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://slokit.dev/schema/slokit.schema.json",
        "title": "slokit SLO spec",
        **SERVICE.schema(),
    }


_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.\-/]*[A-Za-z0-9])?$")


def _label_pair(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` of --rule-label, a Kubernetes label (the value may be empty)."""
    key, sep, value = text.partition("=")
    if not sep or not _LABEL_NAME.match(key) or len(value) > 63 or (value and not _LABEL_NAME.match(value)):
        raise click.BadParameter(f"{text!r} is not KEY=VALUE with a Kubernetes label name and value",
                                 param_hint="--rule-label")
    return key, value


def _offset(text: str) -> Duration:
    try:
        offset = Duration.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--query-offset") from None
    if offset.ms <= 0:
        raise click.BadParameter("must be more than 0 (without --remote-write there is no offset)",
                                 param_hint="--query-offset")
    return offset


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Root folder for alerts/, dashboards/ and runbooks/.")
@click.option("--target", "--format", "target", default="prometheus", show_default=True,
              type=click.Choice(list(TARGETS)),
              help="Which engine evaluates the rules: its rule file comes beside the plain rule and test files "
                   "(--format is the old name).")
@click.option("--remote-write", "remote_write", is_flag=True,
              help="Rules evaluated on remote-written data (agents, then a central Prometheus or vmalert): every "
                   "group evaluates --query-offset in the past (Prometheus 2.53+).")
@click.option("--query-offset", "query_offset", default=str(DEFAULT_QUERY_OFFSET), show_default=True,
              metavar="DURATION", help="How far back --remote-write evaluates.")
@click.option("--rule-label", "rule_labels", multiple=True, metavar="KEY=VALUE",
              help="A label of the PrometheusRule object, for the Operator's ruleSelector (repeatable).")
def generate(paths: tuple[str, ...], out_dir: str, target: str, remote_write: bool, query_offset: str,
             rule_labels: tuple[str, ...]) -> None:
    """Generate every artifact from the specs (default: slo/) into --out, replacing the old ones whole."""
    result = load_or_exit(paths, "generate")
    try:
        options = pipeline.Options(rules_format=target, rule_labels=tuple(_label_pair(x) for x in rule_labels),
                                   query_offset=_offset(query_offset) if remote_write else None)
        artifacts = pipeline.generate(result.services, options)
    except TargetError as exc:
        raise click.UsageError(str(exc)) from None
    write_or_exit(Path(out_dir), artifacts, pipeline.MANAGED_DIRS)
    click.echo(f"wrote {len(artifacts)} file(s) for {len(result.services)} service(s) under "
               f"{', '.join(str(Path(out_dir) / d) + '/' for d in pipeline.MANAGED_DIRS)}")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Root folder the artifacts were generated into.")
@click.option("--metrics-url", default=None, metavar="URL",
              help="Check the specs against a running service's /metrics instead of the generated files.")
@click.option("--prometheus", "prometheus_url", default=None, metavar="URL",
              help="Check the specs against a live Prometheus (its HTTP API) instead of the generated files.")
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds per HTTP request of --metrics-url/--prometheus.")
@click.option("--retries", default=2, show_default=True, type=click.IntRange(0, 10),
              help="Retries after a connection error, timeout or 5xx answer.")
def check(paths: tuple[str, ...], out_dir: str, metrics_url: str | None, prometheus_url: str | None,
          timeout: float, retries: int) -> None:
    """Run promtool and amtool over the generated artifacts and report per file; with --metrics-url or
    --prometheus, check instead that every SLO's series, routes, buckets and caches exist in live data.

    Exit codes: 0 passed, 1 a check failed, 2 usage error, 3 a --metrics-url/--prometheus URL gave no
    usable answer."""
    result = load_or_exit(paths, "check")
    if metrics_url or prometheus_url:
        _report(_live(result.services, metrics_url, prometheus_url, HTTP(timeout=timeout, retries=retries)))
        return
    try:
        results = run_checks(Path(out_dir), result.services)
    except ToolMissing as exc:
        click.echo(f"slokit check: {exc}", err=True)
        sys.exit(EXIT_SPEC)
    click.echo(f"using {toolchain.describe()}")
    _report(results)


def _live(services: Sequence[Service], metrics_url: str | None, prometheus_url: str | None,
          http: HTTP) -> list[CheckResult]:
    """The live checks of every source given; an unusable URL exits 3 with one line saying why."""
    for option, url in (("--metrics-url", metrics_url), ("--prometheus", prometheus_url)):
        if url is not None and not url.startswith(("http://", "https://")):
            _fail_usage(f"{option} must be an http:// or https:// URL")
    results: list[CheckResult] = []
    try:
        if metrics_url:
            results.extend(check_live(MetricsData(scrape(metrics_url, http)), services))
        if prometheus_url:
            results.extend(check_live(PrometheusData(Prometheus(prometheus_url, http)), services))
    except Unreachable as exc:
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


main.add_command(push_command)
main.add_command(gate_command)
main.add_command(import_command)
main.add_command(export_command)
main.add_command(runbooks_command)
main.add_command(report_command)


def run() -> None:
    """Console entry point: no traceback reaches the user unless SLOKIT_DEBUG is set."""
    try:
        main(standalone_mode=True)
    except Exception as exc:  # the last line of defence, not a handler for expected errors
        if os.environ.get("SLOKIT_DEBUG"):
            raise
        click.echo(f"slokit: internal error ({type(exc).__name__}): a bug in slokit, not in the spec; "
                   "set SLOKIT_DEBUG=1 for the traceback and report it", err=True)
        sys.exit(EXIT_INTERNAL)
