"""``slokit schema``: the JSON Schema of the spec, for editors."""

from __future__ import annotations

import json

import click

from slokit.spec.grammar import SERVICE


@click.command()
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
