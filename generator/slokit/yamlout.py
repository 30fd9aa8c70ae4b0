"""YAML text for people to review: block style, keys in the given order, and comments where they matter.

PyYAML cannot write comments, and files that slokit writes for a person to adopt (imported specs, exported
OpenSLO documents) must say, right next to a value, where it is not an exact translation. So this renders
plain data (mappings, lists, scalars) itself and leaves only the quoting of scalars to PyYAML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import yaml

#: A place in the data: mapping keys and list indexes from the root.
Path = tuple[str | int, ...]


def scalar(value: Any) -> str:
    """One scalar as YAML writes it inline (quoted when a plain form would read back as something else)."""
    if isinstance(value, Fraction):
        return decimal(value)
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def decimal(value: Fraction) -> str:
    """An exact decimal when there is one (99.95), else the float (a third: 0.3333333333333333)."""
    if value.denominator == 1:
        return str(value.numerator)
    for digits in range(1, 16):
        scaled = value * 10**digits
        if scaled.denominator == 1:
            return f"{float(value):.{digits}f}"
    return repr(float(value))


def render(data: Mapping[str, Any], comments: Mapping[Path, Sequence[str]] | None = None,
           header: Sequence[str] = ()) -> str:
    """``data`` as a YAML document; ``comments[path]`` lines go right above the key or item at ``path``."""
    notes = comments or {}
    lines = [f"# {line}".rstrip() for text in header for line in text.splitlines()]
    _mapping(data, (), 0, notes, lines)
    return "\n".join(lines) + "\n"


def _comment(notes: Mapping[Path, Sequence[str]], path: Path, pad: str, lines: list[str]) -> None:
    for text in notes.get(path, ()):
        lines.extend(f"{pad}# {line}".rstrip() for line in text.splitlines())


def _mapping(data: Mapping[str, Any], path: Path, indent: int, notes: Mapping[Path, Sequence[str]],
             lines: list[str]) -> None:
    pad = " " * indent
    for key, value in data.items():
        here = (*path, key)
        _comment(notes, here, pad, lines)
        head = f"{pad}{scalar(key)}:"
        _value(value, head, here, indent, notes, lines)


def _value(value: Any, head: str, path: Path, indent: int, notes: Mapping[Path, Sequence[str]],
           lines: list[str]) -> None:
    if isinstance(value, Mapping) and value:
        lines.append(head)
        _mapping(value, path, indent + 2, notes, lines)
    elif isinstance(value, list | tuple) and value:
        lines.append(head)
        _sequence(value, path, indent + 2, notes, lines)
    elif isinstance(value, str) and "\n" in value.strip():
        lines.append(f"{head} |-")
        lines.extend(f"{' ' * (indent + 2)}{line}".rstrip() for line in value.strip("\n").splitlines())
    else:
        empty = "{}" if isinstance(value, Mapping) else "[]" if isinstance(value, list | tuple) else None
        lines.append(f"{head} {empty or scalar(value)}")


def _sequence(items: Sequence[Any], path: Path, indent: int, notes: Mapping[Path, Sequence[str]],
              lines: list[str]) -> None:
    pad = " " * indent
    for i, item in enumerate(items):
        here = (*path, i)
        _comment(notes, here, pad, lines)
        if isinstance(item, Mapping) and item:
            body: list[str] = []
            _mapping(item, here, indent + 2, notes, body)
            first = next(n for n, line in enumerate(body) if not line.lstrip().startswith("#"))
            body[:first] = [f"{pad}{line.lstrip()}" for line in body[:first]]  # the item's notes sit above "- "
            body[first] = f"{pad}- {body[first][indent + 2:]}"
            lines.extend(body)
        else:
            _value(item, f"{pad}-", here, indent, notes, lines)
