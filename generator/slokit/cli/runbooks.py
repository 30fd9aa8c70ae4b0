"""``slokit runbooks --html DIR``: the runbook pages as a static site (rendered by :mod:`slokit.runbooks.site`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from slokit.cli.common import EXIT_CANT_WRITE, EXIT_USAGE, load_or_exit
from slokit.runbooks.site import write_site
from slokit.writers import WriteError


@click.command("runbooks")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--html", "html_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the static site (created; an earlier site there is replaced).")
def runbooks_command(paths: tuple[str, ...], html_dir: str) -> None:
    """Render the runbooks of the specs (default: slo/) as a static HTML site."""
    result = load_or_exit(paths, "runbooks")
    try:
        written = write_site(Path(html_dir), result.services)
    except click.UsageError as exc:
        click.echo(f"slokit: {exc.message}", err=True)
        sys.exit(EXIT_USAGE)
    except WriteError as exc:
        click.echo(f"slokit: {exc}", err=True)
        sys.exit(EXIT_CANT_WRITE)
    pages = sum(1 for p in written if p.suffix == ".html")
    click.echo(f"wrote {pages} page(s) for {len(result.services)} service(s) under {html_dir}/ "
               f"(open {Path(html_dir) / 'index.html'})")
