"""Durations and ratios as the spec writes them, parsed once into exact values.

Durations follow Prometheus' syntax (``5m``, ``1h30m``, ``300ms``) and are kept in whole milliseconds so
that arithmetic on windows (factor = budget x window / long window) is exact and renders back the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_UNITS_MS: dict[str, int] = {
    "y": 365 * 24 * 3600 * 1000,
    "w": 7 * 24 * 3600 * 1000,
    "d": 24 * 3600 * 1000,
    "h": 3600 * 1000,
    "m": 60 * 1000,
    "s": 1000,
    "ms": 1,
}
_ORDER = ("y", "w", "d", "h", "m", "s", "ms")
_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


class UnitError(ValueError):
    """A value that does not parse; the message is shown to the user as is."""


@dataclass(frozen=True, order=True)
class Duration:
    """A non-negative duration in milliseconds, rendered in canonical Prometheus form."""

    ms: int

    @classmethod
    def parse(cls, text: str) -> Duration:
        m = _DURATION_RE.match(text)
        if not text or m is None or not any(m.groups()):
            raise UnitError(f"not a duration: {text!r} (write it like 30s, 5m, 1h, 28d or 1h30m)")
        return cls(sum(int(g) * _UNITS_MS[u] for g, u in zip(m.groups(), _ORDER, strict=True) if g))

    @classmethod
    def of_seconds(cls, seconds: float) -> Duration:
        return cls(round(seconds * 1000))

    @property
    def seconds(self) -> float:
        return self.ms / 1000

    def __str__(self) -> str:
        if self.ms == 0:
            return "0s"
        rest, parts = self.ms, []
        for unit in _ORDER:
            # Prometheus prints weeks and years only when they divide evenly; days read better for SLOs.
            if unit in ("y", "w"):
                continue
            n, rest = divmod(rest, _UNITS_MS[unit])
            if n:
                parts.append(f"{n}{unit}")
        return "".join(parts)

    @property
    def human(self) -> str:
        """The form people read: ``2.5s`` where Prometheus writes ``2s500ms``; otherwise as ``str()``.

        Generated PromQL and ``for:`` keep ``str()``, which every Prometheus parses.
        """
        whole, ms = divmod(self.ms, 1000)
        if not whole or not ms:
            return str(self)
        prefix = str(Duration(whole // 60 * 60 * 1000)) if whole >= 60 else ""
        seconds = f"{whole % 60}.{ms:03d}".rstrip("0")
        return f"{prefix}{seconds}s"


def parse_ratio(value: object, *, what: str = "ratio") -> Fraction:
    """A ratio written ``1%``, ``0.5 %`` or as a fraction below 1 (``0.01``); returned as an exact Fraction."""
    if isinstance(value, bool):
        raise UnitError(f"{what} must be a percentage like '1%' or a fraction like 0.01, got {value!r}")
    if isinstance(value, int | float):
        if not 0 <= value <= 1:
            raise UnitError(
                f"{what} given as a number must be a fraction between 0 and 1, got {value!r} "
                f"(write percentages as strings, e.g. '{value}%')"
            )
        return Fraction(str(value))
    if isinstance(value, str):
        text = value.strip()
        m = re.fullmatch(r"(\d+(?:\.\d+)?|\.\d+)\s*%", text)
        if m:
            return Fraction(m.group(1)) / 100
        try:
            return parse_ratio(float(text), what=what)
        except ValueError:
            pass
    raise UnitError(f"{what} must be a percentage like '1%' or a fraction like 0.01, got {value!r}")


def format_percent(ratio: Fraction | float, digits: int = 3) -> str:
    """``Fraction(1, 200)`` -> ``'0.5%'``: shortest form, for messages, annotations and runbooks."""
    text = f"{float(ratio) * 100:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def format_factor(value: Fraction | float) -> str:
    """A burn-rate factor as people compare them: ``14.4``, ``13.44``, ``0.93`` (two decimals at most).

    Every text a person reads uses this; PromQL keeps the exact factor (:func:`format_number`).
    """
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def format_number(value: Fraction | float) -> str:
    """A float for PromQL without binary noise: ``0.005``, ``14.4``, ``0.9333333333``."""
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    return text or "0"


def go_duration(d: Duration) -> str:
    """``d`` as Go's ``time.ParseDuration`` reads it (hours at most: ``168h``, ``1h30m``), for controllers."""
    if d.ms == 0:
        return "0s"
    rest, parts = d.ms, []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        n, rest = divmod(rest, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


def single_unit(d: Duration) -> str:
    """``d`` in one unit, minutes when whole, else seconds (``60m``, ``90s``): Flagger's ``^[0-9]+(m|s)`` form."""
    if d.ms % 60_000 == 0:
        return f"{d.ms // 60_000}m"
    return f"{max(1, round(d.ms / 1000))}s"
