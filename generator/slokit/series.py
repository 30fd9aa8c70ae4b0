"""Names of the series the recording rules write, read by alerts, dashboards, runbooks and tests.

Every recorded series carries the labels ``service`` and ``slo`` (plus the spec's labels), so a query for
one SLO is ``name{service="...", slo="..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for annotations: importing slokit.spec from here would be circular
    from slokit.spec.units import Duration

#: Labels that identify an SLO on every recorded series and alert.
SERVICE_LABEL = "service"
SLO_LABEL = "slo"
#: Labels slokit sets on alerts; the spec's own labels may not use these names.
SEVERITY_LABEL = "severity"
TEAM_LABEL = "team"
ROLLBACK_LABEL = "rollback"
#: Labels that tell alerts of one SLO apart when they share the alert name and severity: the burn-rate
#: tiers' windows, and the level of guardrails that share name, severity and rollback flag.
LONG_WINDOW_LABEL = "long_window"
SHORT_WINDOW_LABEL = "short_window"
THRESHOLD_LABEL = "threshold"
RESERVED_LABELS: frozenset[str] = frozenset(
    {SERVICE_LABEL, SLO_LABEL, SEVERITY_LABEL, TEAM_LABEL, ROLLBACK_LABEL, LONG_WINDOW_LABEL, SHORT_WINDOW_LABEL,
     THRESHOLD_LABEL, "alertname", "le", "quantile"}
)


#: Every window's bad-event ratio is this name plus the window.
ERROR_RATIO_PREFIX = "slo:sli_error:ratio_rate"


def error_ratio(window: Duration) -> str:
    """Share of bad events over ``window``: ``slo:sli_error:ratio_rate5m``."""
    return f"{ERROR_RATIO_PREFIX}{window}"


def bad_rate(window: Duration) -> str:
    """Per-second rate of bad events over ``window``."""
    return f"slo:sli_bad:rate{window}"


def total_rate(window: Duration) -> str:
    """Per-second rate of all events over ``window``."""
    return f"slo:sli_total:rate{window}"


#: Metadata series, one sample per SLO.
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
#: Share of the SLO window's error budget still unspent (1 = untouched, 0 = spent, below 0 = overspent).
BUDGET_REMAINING = "slo:error_budget_remaining:ratio"
#: Burn rate now: the 1h error ratio divided by the error budget.
BURN_RATE = "slo:burn_rate:ratio"
#: Burn rate over the whole SLO window (1 = spending exactly the budget).
PERIOD_BURN_RATE = "slo:period_burn_rate:ratio"
WINDOW_DAYS = "slo:time_period:days"
#: Constant 1 with volatile metadata (description, objective text, owner) as labels.
INFO = "slokit_slo_info"


#: One group of a grouped SLO (``group_by``): its grouping labels and their values, in ``group_by`` order;
#: () for an ungrouped SLO.
Group = tuple[tuple[str, str], ...]


def group_of(group_by: tuple[str, ...], labels: Mapping[str, str]) -> Group:
    """The group a series of a grouped SLO belongs to (a missing label is the empty value, as in PromQL)."""
    return tuple((g, labels.get(g, "")) for g in group_by)


def group_text(group: Group) -> str:
    """``market=fr``: how commands, reports and alerts name one group."""
    return ", ".join(f"{k}={v}" for k, v in group)
