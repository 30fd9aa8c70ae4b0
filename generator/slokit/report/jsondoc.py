"""The report as JSON for other tools; its shape is ``report.schema.json`` (shipped with the package).

``schema_version`` changes only when a field is removed or changes meaning; new fields may be added.
Times are ISO 8601 in UTC, shares are fractions (0.995, not 99.5), and a value that cannot be computed
(no traffic) is ``null``, never 1.

Version 2: a grouped SLO has one entry per group in its service's ``slos`` (the worst first, at most
``GROUPS_SHOWN``), each with its ``group`` labels (``{}`` for an ungrouped SLO), so (service, slo) is no
longer unique there; the groups beyond are counted in the service's ``hidden_groups``. ``counts`` and
``verdict`` cover every group, shown or not. Added within version 2 (optional in the schema): ``coverage``
(the share of rule steps recorded over the period and the SLO window, null for raw counters) and the error
budget in events (``error_budget.events``, ``events_left``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from slokit.report.model import Hidden, Point, Report, SLOReport, shown

SCHEMA_VERSION = 2


def schema() -> dict[str, Any]:
    """The JSON Schema of the report (draft 2020-12)."""
    loaded: dict[str, Any] = json.loads(resources.files("slokit.report").joinpath("report.schema.json").read_text())
    return loaded


def _t(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _points(points: tuple[Point, ...]) -> list[dict[str, Any]]:
    return [{"time": _t(p.time), "value": p.value} for p in points]


def _slo(s: SLOReport) -> dict[str, Any]:
    return {
        "service": s.service, "slo": s.slo, "group": dict(s.group), "description": s.description,
        "objective": s.objective,
        "window": s.window, "sli_kind": s.sli_kind, "source": s.source,
        "verdict": s.verdict, "reason": s.reason,
        "period": {"sli": s.period_sli, "events": s.period_events, "bad_events": s.period_bad_events,
                   "burn_rate": s.period_burn_rate},
        "window_to_end": {"sli": s.window_sli, "events": s.window_events, "bad_events": s.window_bad_events},
        "error_budget": {"ratio": s.error_budget, "remaining_start": s.budget_remaining_start,
                         "remaining_end": s.budget_remaining_end, "consumed": s.budget_consumed,
                         "events": s.budget_events, "events_left": s.budget_events_left},
        "coverage": {"period": s.coverage_period, "window": s.coverage_window},
        "burn_down": _points(s.burn_down),
        "sli_over_time": _points(s.sli_over_time),
        "worst_hours": [{"start": _t(h.start), "end": _t(h.end), "sli": h.sli, "events": h.events,
                         "bad_events": h.bad_events} for h in s.worst_hours],
        "alerts": [{"alertname": a.alertname, "severity": a.severity, "labels": dict(a.labels),
                    "first": _t(a.first), "last": _t(a.last), "episodes": a.episodes} for a in s.alerts],
    }


def _hidden(h: Hidden) -> dict[str, Any]:
    return {"slo": h.slo, "group_by": list(h.group_by), "groups": h.count, "counts": dict(h.verdicts)}


def _service(slos: tuple[SLOReport, ...]) -> dict[str, Any]:
    reports, hidden = shown(slos)
    return {"slos": [_slo(s) for s in reports], "hidden_groups": [_hidden(h) for h in hidden]}


def document(report: Report) -> dict[str, Any]:
    p = report.period
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _t(report.generated_at),
        "prometheus": report.prometheus,
        "period": {"kind": p.kind, "start": _t(p.start), "end": _t(p.end), "complete": p.complete, "title": p.title},
        "verdict": report.verdict,
        "counts": {v: report.count(v) for v in ("met", "at risk", "breached", "no data")},
        "services": [{"service": svc.service, "owner": svc.owner, **_service(svc.slos)} for svc in report.services],
    }


def render(report: Report) -> str:
    return json.dumps(document(report), indent=2, allow_nan=False) + "\n"
