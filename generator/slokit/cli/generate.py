"""``slokit generate``: every artifact of the specs, written into place without touching others' files."""

from __future__ import annotations

from collections.abc import Sequence
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
@click.option("--take-over", is_flag=True,
              help="Overwrite files at the paths slokit writes even when its manifest does not list them (once, "
                   "for output written before slokit kept a manifest); other files are still kept.")
def generate(paths: tuple[str, ...], out_dir: str, rules_format: str, take_over: bool) -> None:
    """Generate every artifact from the specs (default: slo/) into --out. Only files slokit wrote there
    before (listed in .slokit-manifest.json) are replaced or removed; other files are kept, and one in the
    way stops the run (exit 73) before anything is written."""
    result = load_or_exit(paths, "generate")
    artifacts = pipeline.generate(result.services, Options(rules_format=rules_format))
    out = Path(out_dir)
    written = write_or_exit(out, artifacts, pipeline.MANAGED_DIRS, take_over=take_over)
    click.echo(f"wrote {len(artifacts)} file(s) for {len(result.services)} service(s) under "
               f"{', '.join(str(out / d) + '/' for d in pipeline.MANAGED_DIRS)}")
    if written.removed:
        click.echo(f"removed {len(written.removed)} file(s) slokit wrote before and no longer generates: "
                   f"{_listing(out, written.removed)}")
    if written.kept:
        click.echo(f"kept {len(written.kept)} file(s) slokit did not write: {_listing(out, written.kept)}")
    if written.edited:
        click.echo(f"kept {len(written.edited)} file(s) slokit no longer generates because they were edited "
                   f"since it wrote them (delete them if unused): {_listing(out, written.edited)}")


def _listing(out_dir: Path, rels: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(str(out_dir / r) for r in rels[:limit])
    return shown + (f" and {len(rels) - limit} more" if len(rels) > limit else "")
