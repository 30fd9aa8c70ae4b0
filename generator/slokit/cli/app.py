"""The ``slokit`` command line: the edge where files are read, artifacts written and tools run.

Exit codes: 0 success, 1 the spec or a check failed, 2 usage error (bad option, missing path, unusable
connection option), 3 a live check's URL (``check --metrics-url/--prometheus``) gave no usable answer
(unreachable, credentials refused, malformed answers), 73 the output folder could not be written. No
command prints a traceback for bad input: every problem a spec can have is a diagnostic (exit 1).
What is left, a bug in slokit itself, prints one line and exits 70 (set SLOKIT_DEBUG=1 to see the traceback);
the line names only the exception's type, since its text may quote anything.
"""

from __future__ import annotations

import os
import sys

import click

from slokit import __version__
from slokit.cli.check import check
from slokit.cli.common import EXIT_INTERNAL
from slokit.cli.gate import gate_command
from slokit.cli.generate import generate
from slokit.cli.migrate import export_command, import_command
from slokit.cli.push import push_command
from slokit.cli.report import report_command
from slokit.cli.runbooks import runbooks_command
from slokit.cli.schema import schema
from slokit.cli.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slokit")
def main() -> None:
    """slokit: SLO-as-code. Turn SLO specs (slo/*.yaml) into Prometheus rules, Alertmanager routing,
    Grafana dashboards, runbooks and promtool tests."""


main.add_command(validate)
main.add_command(schema)
main.add_command(generate)
main.add_command(check)
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
