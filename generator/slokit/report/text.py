"""How the renderers print numbers: percentages, event counts, times, "no data"."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from slokit.report.model import AlertSummary, Hidden, SLOReport
from slokit.series import group_text

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


def coverage(s: SLOReport) -> str:
    """How much of the period and the SLO window the recording rules counted (recorded source only)."""
    if s.coverage_period is None and s.coverage_window is None:
        if s.verdict == "no data" or s.source == "missing":
            return NO_DATA
        return "not applicable (raw counters)" if s.source == "raw" else "not measured (no step counts: 5m rates)"
    return (f"{pct(s.coverage_period, 1)} of the period's rule steps recorded, {pct(s.coverage_window, 1)} of "
            "the SLO window's")


def event_budget(s: SLOReport) -> str:
    """The error budget over the SLO window in events and what is left, saying when it holds for the
    counted steps only."""
    if s.budget_events is None or s.budget_events_left is None:
        return NO_DATA
    out = f"{events(s.budget_events)} bad events allowed, {events(s.budget_events_left)} left"
    if s.coverage_window is not None and s.coverage_window < 1:
        out += f" (of the {pct(s.coverage_window, 1)} of the SLO window the recording rules counted)"
    return out


def when(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def alert_count(slo: SLOReport) -> str:
    return str(sum(a.episodes for a in slo.alerts))


def alert_labels(a: AlertSummary, group_by: tuple[str, ...] = ()) -> str:
    """The labels that tell alerts of one name apart (burn-rate windows, thresholds, a grouped SLO's group)."""
    shown = ("long_window", "short_window", "threshold", "rollback", *group_by)
    return ", ".join(f"{k}={v}" for k, v in a.labels if k in shown)


def slo_name(s: SLOReport) -> str:
    """``availability``, or ``availability (market=fr)`` for a group of a grouped SLO."""
    return f"{s.slo} ({group_text(s.group)})" if s.group_by else s.slo


def hidden(h: Hidden) -> str:
    """``availability: 4 more groups by market not shown (3 met, 1 no data)``."""
    counts = ", ".join(f"{n} {v}" for v, n in h.verdicts)
    return f"{h.service} / {h.slo}: {h.count} more groups by {', '.join(h.group_by)} not shown ({counts})"


#: Line breaks of every kind (a newline in a table cell or a paragraph starts a new block in Markdown).
_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
#: What Markdown (CommonMark and GitHub's) reads as markup, links or raw HTML inside a line; the text never
#: starts a line, so ``#``, ``-`` and ``1.`` cannot start a block.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&])")


def md(value: object) -> str:
    """Text from a spec or a server as literal Markdown: one line, every markup character escaped, so a
    description cannot add a heading, open an HTML comment, or inject a tag."""
    return _MARKUP.sub(r"\\\1", _BREAKS.sub(" ", str(value)))
