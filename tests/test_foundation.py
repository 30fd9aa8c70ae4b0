"""Units, burn-rate arithmetic and PromQL quoting: the small pieces every emitter relies on."""

from __future__ import annotations

import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import slokit
from slokit import burnrate, promql, semconv
from slokit.spec.model import SLO, HttpErrors
from slokit.spec.units import Duration, UnitError, format_percent, parse_ratio


@pytest.mark.parametrize(
    ("text", "ms", "canonical"),
    [("5m", 300_000, "5m"), ("1h30m", 5_400_000, "1h30m"), ("90m", 5_400_000, "1h30m"), ("300ms", 300, "300ms"),
     ("4w", 28 * 86_400_000, "28d"), ("0s", 0, "0s"), ("1d2h", 93_600_000, "1d2h")],
)
def test_durations_parse_and_render_in_prometheus_form(text: str, ms: int, canonical: str) -> None:
    d = Duration.parse(text)
    assert d.ms == ms
    assert str(d) == canonical
    assert Duration.parse(str(d)) == d


@pytest.mark.parametrize("text", ["", "5", "5 m", "m5", "-5m", "1.5h", "5M", "1h1h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(UnitError):
        Duration.parse(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1%", Fraction(1, 100)), ("0.5 %", Fraction(1, 200)), (0.01, Fraction(1, 100)), ("0.2", Fraction(1, 5))],
)
def test_ratios(value: object, expected: Fraction) -> None:
    assert parse_ratio(value) == expected


@pytest.mark.parametrize("value", [True, "lots", 5, "%", None])
def test_bad_ratios_are_refused(value: object) -> None:
    with pytest.raises(UnitError):
        parse_ratio(value)


def test_percent_formatting() -> None:
    assert format_percent(Fraction(1, 200)) == "0.5%"
    assert format_percent(Fraction(999, 1000)) == "99.9%"


def _slo(objective: Fraction, window: str) -> SLO:
    return SLO("s", objective, Duration.parse(window), HttpErrors("5.."))


@pytest.mark.parametrize(
    ("window", "factors"),
    [("30d", [14.4, 6, 3, 1]), ("28d", [13.44, 5.6, 2.8, 28 / 30]), ("7d", [3.36, 1.4, 0.7, 7 / 30])],
)
def test_factors_follow_the_slo_window(window: str, factors: list[float]) -> None:
    active, dropped = burnrate.plan(_slo(Fraction(999, 1000), window))
    assert dropped == []
    assert [float(t.factor) for t in active] == pytest.approx(factors)


def test_tiers_that_cannot_fire_are_dropped_with_a_reason() -> None:
    active, dropped = burnrate.plan(_slo(Fraction(9, 10), "30d"))
    assert [(t.tier.long, t.tier.short) for t in dropped] == [(Duration.parse("1h"), Duration.parse("5m"))]
    assert "can never fire" in dropped[0].reason and "144%" in dropped[0].reason
    assert all(t.threshold < 1 for t in active)


def test_exhaustion_is_window_over_factor() -> None:
    active, _ = burnrate.plan(_slo(Fraction(995, 1000), "30d"))
    assert [str(t.exhaustion) for t in active] == ["2d2h", "5d", "10d", "30d"]


@pytest.mark.parametrize("value", ['a"b', "back\\slash", 'x"} or vector(1) # ', "new\nline", "ünï"])
def test_quote_cannot_be_escaped(value: str) -> None:
    quoted = promql.quote(value)
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    assert re.search(r'(?<!\\)(\\\\)*"', inner) is None  # every quote inside is escaped
    assert "\n" not in quoted


@pytest.mark.parametrize(
    ("bound", "spellings", "others"),
    [(0.3, ["0.3", "0.30", "0.300"], ["0.03", "3", "0.31", "10.3"]),
     (1.0, ["1", "1.0", "1.00"], ["10", "0.1", "1.5"]),
     (0.005, ["0.005", "0.0050"], ["0.05", "0.5"])],
)
def test_le_regex_matches_every_spelling_of_the_bound(bound: float, spellings: list[str], others: list[str]) -> None:
    pattern = re.compile(promql.le_regex(bound))
    assert all(pattern.fullmatch(s) for s in spellings)
    assert not any(pattern.fullmatch(s) for s in others)


def test_buckets_always_contain_the_thresholds() -> None:
    buckets = semconv.buckets_with([0.3, 1.0, 0.123])
    assert {0.3, 1.0, 0.123} <= set(buckets)
    assert set(semconv.DEFAULT_BUCKETS) <= set(buckets)
    assert list(buckets) == sorted(set(buckets))
    with pytest.raises(ValueError):
        semconv.buckets_with([0])


def _modules() -> list[str]:
    root = Path(slokit.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_on_its_own() -> None:
    """Each module is importable first, in a fresh interpreter: no import cycle hides behind import order."""
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    failed = []
    for module in _modules():
        proc = subprocess.run([sys.executable, "-c", script, module], capture_output=True, text=True)
        if proc.returncode:
            failed.append(f"{module}: {proc.stderr.strip().splitlines()[-1]}")
    assert not failed
