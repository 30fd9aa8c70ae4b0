"""``slokit generate``: every artifact of the specs, written into place in one move."""

from __future__ import annotations

from pathlib import Path

import click

from slokit import pipeline
from slokit.artifacts import Options
from slokit.cli.common import load_or_exit, write_or_exit


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Root folder for alerts/, dashboards/ and runbooks/.")
@click.option("--format", "rules_format", default="prometheus", show_default=True,
              type=click.Choice(["prometheus", "prometheus-operator", "mimir"]),
              help="Rule file flavour (the plain rule and test files are always written).")
def generate(paths: tuple[str, ...], out_dir: str, rules_format: str) -> None:
    """Generate every artifact from the specs (default: slo/) into --out, replacing the old ones whole."""
    result = load_or_exit(paths, "generate")
    artifacts = pipeline.generate(result.services, Options(rules_format=rules_format))
    write_or_exit(Path(out_dir), artifacts, pipeline.MANAGED_DIRS)
    click.echo(f"wrote {len(artifacts)} file(s) for {len(result.services)} service(s) under "
               f"{', '.join(str(Path(out_dir) / d) + '/' for d in pipeline.MANAGED_DIRS)}")
