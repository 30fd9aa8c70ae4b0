"""What every ``slokit`` command shares: the exit codes, loading the specs and writing a tree.

The command modules import this one; it imports none of them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NoReturn

import click

from slokit import promql_check
from slokit.spec import LoadResult, UsageError, load_services, with_diagnostics
from slokit.writers import WriteError, Written, write_tree

DEFAULT_SPEC_DIR = "slo"
EXIT_SPEC = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE
EXIT_CANT_WRITE = 73  # sysexits' EX_CANTCREAT


def fail_usage(message: str) -> NoReturn:
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


def write_or_exit(out_dir: Path, files: dict[str, str], managed: Sequence[str], *,
                  take_over: bool = False) -> Written:
    """Write the tree; exit 73 with the reason when the disk refuses or a file slokit did not write is in
    the way (the previous output then stays as it was)."""
    try:
        return write_tree(out_dir, files, managed, take_over=take_over)
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
        fail_usage(str(exc))
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
