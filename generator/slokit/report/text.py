"""How the renderers print numbers: percentages, event counts, times, "no data"."""

from __future__ import annotations

from datetime import UTC, datetime

from slokit.report.model import AlertSummary, SLOReport

NO_DATA = "no data"


def pct(value: float | None, digits: int = 3) -> str:
    """``99.873%``; "no data" for None, so a period without traffic never reads as 100 %."""
    if value is None:
        return NO_DATA
    return f"{value * 100:.{digits}f}%"


def budget(value: float | None) -> str:
    """Share of the error budget, one decimal: ``72.5%``, ``-12.0%`` when overspent."""
    return pct(value, 1)


def events(value: float) -> str:
    return f"{round(value):,}"


def when(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def alert_count(slo: SLOReport) -> str:
    return str(sum(a.episodes for a in slo.alerts))


def alert_labels(a: AlertSummary) -> str:
    """The labels that tell alerts of one name apart (burn-rate windows, thresholds)."""
    shown = ("long_window", "short_window", "threshold", "rollback")
    return ", ".join(f"{k}={v}" for k, v in a.labels if k in shown)
