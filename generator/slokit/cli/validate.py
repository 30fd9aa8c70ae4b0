"""``slokit validate``: check the specs and list every problem and warning."""

from __future__ import annotations

import click

from slokit.cli.common import load_or_exit


@click.command()
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
