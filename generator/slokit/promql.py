"""Safe pieces of PromQL: quoted label values, matcher lists, ``le`` matchers.

Every label value that comes from a spec goes into a query through ``quote``, so a quote, backslash or
newline in a value can neither break the query nor inject into it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def quote(value: str) -> str:
    """A PromQL string literal. PromQL double-quoted strings use Go escapes, which JSON's are a subset of."""
    return json.dumps(value, ensure_ascii=False)


def is_label_name(name: str) -> bool:
    return bool(_LABEL_NAME.match(name)) and not name.startswith("__")


def matcher(name: str, value: str, op: str = "=") -> str:
    if not _LABEL_NAME.match(name):
        raise ValueError(f"invalid label name {name!r}")
    if op not in ("=", "!=", "=~", "!~"):
        raise ValueError(f"invalid matcher operator {op!r}")
    return f"{name}{op}{quote(value)}"


def selector(equal: Mapping[str, str] = {}, extra: Iterable[str] = ()) -> str:
    """``{a="1", b=~"x"}``: equality matchers from ``equal`` (sorted, so output is stable) plus ready ones."""
    parts = [matcher(k, v) for k, v in sorted(equal.items())]
    parts.extend(extra)
    return "{" + ", ".join(parts) + "}"


def le_regex(bound: float) -> str:
    """A regex that matches ``bound`` however the ``le`` label spells it (``0.3``, ``0.30``, ``1``, ``1.0``).

    Prometheus 3 normalises ``le`` to its shortest float form while older clients and stored data may
    carry another spelling; matching all of them keeps a latency SLI working across the upgrade.
    """
    text = repr(float(bound))
    if "e" in text:
        text = f"{float(bound):.12f}".rstrip("0")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    if frac:
        return f"{re.escape(whole)}\\.{re.escape(frac)}0*"
    return f"{re.escape(whole)}(\\.0*)?"
