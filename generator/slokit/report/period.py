"""Which stretch of time a report covers: the last 1d, 7d or 30d before ``--at``, or a calendar month (UTC).

A calendar month is the one containing ``--at``; without ``--at`` it is the last complete month, which is
what a monthly review reads. A period that reaches past "now" ends now and is marked incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIXED_PERIODS: dict[str, timedelta] = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
CALENDAR_MONTH = "calendar-month"
PERIOD_CHOICES: tuple[str, ...] = (*FIXED_PERIODS, CALENDAR_MONTH)


class PeriodError(ValueError):
    """A ``--period`` or ``--at`` that cannot be used; the message is shown as is."""


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime
    end: datetime
    #: False when the period was cut at "now" (a month still in progress).
    complete: bool = True

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def title(self) -> str:
        """``2026-01`` for a calendar month, ``1d to 2026-02-01 00:00 UTC`` otherwise."""
        if self.kind == CALENDAR_MONTH:
            return self.start.strftime("%Y-%m") + ("" if self.complete else " (to date)")
        return f"{self.kind} to {format_time(self.end)}"


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def parse_at(text: str, now: datetime | None = None) -> datetime:
    """``--at``: ``now``, ISO 8601 (``2026-02-01``, ``2026-02-01T12:00:00Z``; no zone means UTC) or Unix seconds.

    ``now`` is the report's time (the current time when not given): a period up to the last minute, which
    fresh data (right after onboarding, or beside the demo) needs.
    """
    if text.strip().lower() == "now":
        return (now or datetime.now(UTC)).astimezone(UTC)
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError):
        pass
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"--at {text!r} is not a time: write now, 2026-02-01, 2026-02-01T12:00:00Z or Unix "
                          "seconds") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _month_start(t: datetime) -> datetime:
    return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def resolve(kind: str, at: datetime | None, now: datetime) -> Period:
    """The period of ``kind`` for ``--at`` (None: not given), with ``now`` as the latest possible end.

    Without ``--at`` a fixed period ends at the start of the current hour, so that its hours are clock hours.
    """
    now = now.astimezone(UTC)
    if at is not None and at > now:
        raise PeriodError(f"--at {at.isoformat()} is in the future")
    if kind in FIXED_PERIODS:
        end = at if at is not None else now.replace(minute=0, second=0, microsecond=0)
        return Period(kind, end - FIXED_PERIODS[kind], end)
    if kind != CALENDAR_MONTH:
        raise PeriodError(f"unknown period {kind!r}: one of {', '.join(PERIOD_CHOICES)}")
    # Without --at: the day before this month's first day lies in the last complete month.
    start = _month_start(at if at is not None else _month_start(now) - timedelta(days=1))
    end = _next_month(start)
    if end > now:
        return Period(kind, start, now.replace(second=0, microsecond=0), complete=False)
    return Period(kind, start, end)
