"""What every importer shares: the spec being written, its comments, and the problems found on the way.

An importer reads another tool's documents (with positions, ``spec/yamlpos.py``) and returns drafts, one per
service, plus diagnostics in slokit's ``file:line:col: field.path: message`` form. Any error means nothing is
written: a partial import would look like a complete one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slokit import series
from slokit.promql import is_label_name
from slokit.spec.grammar import NAME_PATTERN
from slokit.spec.load import Diagnostic
from slokit.spec.model import WINDOW_PLACEHOLDER, Location
from slokit.spec.yamlpos import Pos, PosDict
from slokit.yamlout import Path, render

#: ``{{.window}}`` (Sloth, Go templates) or ``{{ window }}``: the range placeholder of a query.
WINDOW_TOKEN = re.compile(r"\{\{\s*\.?window\s*\}\}")


@dataclass
class Draft:
    """One service's spec as it is being written: data in the spec's key order, comments by data path."""

    service: str
    source: str
    data: dict[str, Any]
    comments: dict[Path, list[str]] = field(default_factory=dict)

    def note(self, path: Path, text: str) -> None:
        """A comment for the reader of the spec, above the key at ``path``."""
        self.comments.setdefault(path, []).append(text)

    def note_dropped(self, path: Path, dropped: Mapping[str, str]) -> None:
        """Say which labels were left out (see ``split_labels``), without quoting possible secrets."""
        if dropped:
            self.note(path, "Dropped labels slokit sets itself, Prometheus rejects or that may hold a secret: "
                            f"{shown(dropped)}.")

    def text(self, tool: str) -> str:
        header = [f"Imported from {self.source} ({tool}) by slokit import.",
                  "Comments mark what has no exact slokit equivalent; review them, then delete them."]
        return render(self.data, self.comments, header)


@dataclass
class ImportResult:
    drafts: list[Draft] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


class Problems:
    """Collects the diagnostics of one file; ``where`` turns a YAML position into a location."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Diagnostic] = []

    def where(self, pos: Pos) -> Location:
        return Location(self.file, pos[0], pos[1])

    def error(self, pos: Pos, path: str, message: str) -> None:
        self.items.append(Diagnostic(self.where(pos), path, message))


def key_pos(node: PosDict, key: str) -> Pos:
    """Where ``key`` is written in ``node`` (the mapping itself when it is missing)."""
    return node.key_pos.get(key, node.pos)


def value_pos(node: PosDict, key: str) -> Pos:
    return node.value_pos.get(key, node.pos)


def query_with_placeholder(query: str) -> str | None:
    """The query with its range placeholder in slokit's spelling, or None when it has none."""
    if not WINDOW_TOKEN.search(query):
        return None
    return WINDOW_TOKEN.sub(WINDOW_PLACEHOLDER, query).strip()


def valid_name(text: str) -> bool:
    return re.fullmatch(NAME_PATTERN, text) is not None


def name_from(text: str) -> str:
    """A slokit name (lower case, digits, '-' and '_') made from another tool's name."""
    out = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return out or "unnamed"


def split_labels(labels: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``(kept, dropped)``: labels slokit may carry, and those it sets itself, Prometheus rejects or that may
    hold a secret (spec labels are on every rule)."""
    kept: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for name, value in labels.items():
        if name in series.RESERVED_LABELS or not is_label_name(name) or may_be_secret(name, value):
            dropped[name] = value
        else:
            kept[name] = value
    return kept, dropped


_SECRET_NAME = re.compile(r"key|token|secret|password|passwd|webhook|credential", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"hooks\.slack\.com|events\.pagerduty\.com|^xox[abp]-", re.IGNORECASE)


def may_be_secret(name: str, value: str) -> bool:
    """A label or annotation that may hold a secret (a routing key, a webhook URL), judged by name or value."""
    return bool(_SECRET_NAME.search(name) or _SECRET_VALUE.search(value))


def shown(values: Mapping[str, str]) -> dict[str, str]:
    """Labels or annotations as a comment may quote them: values that may be secrets are replaced, since
    comments end up in files people commit."""
    return {k: "<not shown>" if may_be_secret(k, v) else v for k, v in values.items()}


def label_text(value: Any) -> str:
    """A label value as Prometheus (and Go's YAML decoding into strings) sees it: ``true``, ``0.2``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
