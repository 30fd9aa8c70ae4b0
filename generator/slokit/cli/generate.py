"""``slokit generate``: every artifact of the specs, written into place without touching others' files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import click

from slokit import pipeline
from slokit.artifacts import Options
from slokit.cli.common import load_or_exit, write_or_exit
from slokit.rules.render import DEFAULT_QUERY_OFFSET, TARGETS, TargetError
from slokit.spec.units import Duration

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


@click.command()
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
@click.option("--take-over", is_flag=True,
              help="Overwrite files at the paths slokit writes even when its manifest does not list them (once, "
                   "for output written before slokit kept a manifest); other files are still kept.")
def generate(paths: tuple[str, ...], out_dir: str, target: str, remote_write: bool, query_offset: str,
             rule_labels: tuple[str, ...], take_over: bool) -> None:
    """Generate every artifact from the specs (default: slo/) into --out. Only files slokit wrote there
    before (listed in .slokit-manifest.json) are replaced or removed; other files are kept, and one in the
    way stops the run (exit 73) before anything is written."""
    result = load_or_exit(paths, "generate")
    try:
        options = Options(rules_format=target, rule_labels=tuple(_label_pair(x) for x in rule_labels),
                          query_offset=_offset(query_offset) if remote_write else None)
        artifacts = pipeline.generate(result.services, options)
    except TargetError as exc:
        raise click.UsageError(str(exc)) from None
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
