"""``slokit import sloth|openslo FILE...`` and ``slokit export openslo [PATH...]``: moving SLOs between tools.

The edge of the importers and the exporter: files are read here, every imported spec is checked by slokit's
own loader before anything is written, and files are moved into place only when all of them are ready.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from slokit import promql_check
from slokit.cli.common import EXIT_USAGE, load_or_exit
from slokit.exporters.openslo import export
from slokit.importers import openslo, sloth
from slokit.importers.draft import ImportResult
from slokit.spec import load_services, with_diagnostics
from slokit.writers import TargetExists, write_files

EXIT_CONVERT = 1

EXIT_CODES = """\b
Exit codes:
  0  every file converted (and every spec written validates)
  1  something cannot be converted: file:line:col: field: why; nothing is written
  2  usage: a file is missing or unreadable, or a spec file to write already exists (see --force)"""


def _read(files: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for name in files:
        try:
            out.append((name, Path(name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
            click.echo(f"slokit import: {name}: cannot read: {reason}", err=True)
            sys.exit(EXIT_USAGE)
    return out


def _finish(result: ImportResult, tool: str, out_dir: str | None, force: bool) -> None:
    """Print the problems, or validate every draft with slokit's loader and write (or print) the specs."""
    for diag in result.diagnostics:
        click.echo(str(diag), err=True)
    if result.diagnostics:
        n = len(result.diagnostics)
        click.echo(f"{n} problem{'s' if n != 1 else ''}: cannot convert; nothing written", err=True)
        sys.exit(EXIT_CONVERT)
    files: dict[str, str] = {}
    for draft in result.drafts:
        name = f"{draft.service}.yaml"
        if name in files:
            click.echo(f"slokit import: service {draft.service!r} is defined twice ({draft.source}); "
                       "import the files separately", err=True)
            sys.exit(EXIT_CONVERT)
        files[name] = draft.text(tool)
    _validate(files, out_dir)
    _emit(files, out_dir, force, "import")


def _emit(files: dict[str, str], out_dir: str | None, force: bool, command: str) -> None:
    """Print the files as one YAML stream, or add them to ``out_dir`` all at once."""
    if out_dir is None:
        click.echo("---\n".join(files.values()), nl=False)
        return
    try:
        written = write_files(Path(out_dir), files, overwrite=force)
    except TargetExists as exc:
        click.echo(f"slokit {command}: already there: {exc} (use --force to replace)", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"wrote {len(written)} file(s): {', '.join(map(str, written))}", err=True)


def _validate(files: dict[str, str], out_dir: str | None) -> None:
    """Load the specs to be written as ``slokit validate`` would; an error here is a defect of the importer."""
    with tempfile.TemporaryDirectory(prefix="slokit-import-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        result = load_services([tmp])
        result = with_diagnostics(result, promql_check.check(result.queries) or [])  # as `slokit validate` does
        shown = str(Path(out_dir)) if out_dir else "<stdout>"
        for diag in result.errors:
            click.echo(str(diag).replace(tmp, shown), err=True)
    if result.warnings:
        click.echo(f"{len(result.warnings)} warning(s) from validation (routing, tiers that cannot fire): run "
                   "slokit validate on the written specs to see them", err=True)
    if not result.ok:
        click.echo("slokit import: the converted spec does not validate (a query Prometheus cannot parse, or a "
                   "defect of slokit import); nothing written", err=True)
        sys.exit(EXIT_CONVERT)


_files = click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
_out = click.option("--out", "out_dir", type=click.Path(file_okay=False),
                    help="Folder to write <service>.yaml into (default: print the specs).")
_force = click.option("--force", is_flag=True, help="Replace spec files that already exist in --out.")
_owner = click.option("--owner", help="Owning team when the file names none (else the service name, "
                                      "marked in a comment).")


@click.group(name="import", epilog=EXIT_CODES)
def import_command() -> None:
    """Convert other tools' SLO files into slokit specs (YAML, with comments where a construct has no exact
    slokit equivalent)."""


@import_command.command(name="sloth", epilog=EXIT_CODES)
@_files
@_out
@_force
@_owner
def import_sloth(files: tuple[str, ...], out_dir: str | None, force: bool, owner: str | None) -> None:
    """Sloth prometheus/v1 specs and PrometheusServiceLevel resources (several documents per file)."""
    texts = _read(files)
    result = ImportResult()
    for name, text in texts:
        one = sloth.convert(name, text, owner)
        result.drafts.extend(one.drafts)
        result.diagnostics.extend(one.diagnostics)
    _finish(result, "Sloth", out_dir, force)


@import_command.command(name="openslo", epilog=EXIT_CODES)
@_files
@_out
@_force
@_owner
def import_openslo(files: tuple[str, ...], out_dir: str | None, force: bool, owner: str | None) -> None:
    """OpenSLO v1 documents (Service, SLO, SLI, AlertPolicy, AlertCondition, DataSource), read together so that
    references between files resolve; Sloth's OpenSLO v1alpha SLOs too."""
    texts = _read(files)
    _finish(openslo.convert(texts, owner), "OpenSLO", out_dir, force)


@click.group(name="export")
def export_command() -> None:
    """Write slokit specs in other tools' formats."""


@export_command.command(name="openslo")
@click.argument("paths", nargs=-1, type=click.Path())
@_out
@_force
def export_openslo(paths: tuple[str, ...], out_dir: str | None, force: bool) -> None:
    """OpenSLO v1 documents of the specs (default: slo/): <service>.openslo.yaml in --out, or printed."""
    result = load_or_exit(paths, "export")
    _emit({f"{s.name}.openslo.yaml": export(s) for s in result.services}, out_dir, force, "export")

