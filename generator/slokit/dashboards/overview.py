"""``slo-overview.json``: every service and SLO in one table, with links to each service's dashboard.

The table is four instant queries over recorded series (objective, SLI over each SLO's own window,
budget remaining, firing slokit alerts), merged on ``service`` and ``slo``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from slokit import catalog, series
from slokit.dashboards import grafana, queries
from slokit.links import OVERVIEW_UID, dashboard_title, dashboard_url, runbook_url, slug
from slokit.spec.model import Service
from slokit.spec.units import format_percent

OVERVIEW_TITLE = "SLOs / overview"
SERVICE_VAR = "service"

_COLUMNS = {
    "A": "Objective",
    "B": "SLI (SLO window)",
    "C": "Error budget remaining",
    "D": "Firing alerts",
}


def overview_url(grafana_url: str | None) -> str:
    """Address of the overview; absolute when the spec names Grafana's URL, else server-relative."""
    return f"{(grafana_url or '').rstrip('/')}/d/{OVERVIEW_UID}/{slug(OVERVIEW_TITLE)}"


def overview_folder(services: Sequence[Service]) -> str:
    """The Grafana folder the overview goes to: the one most services use (ties: alphabetical first)."""
    counts = Counter(s.grafana_folder for s in services)
    return min(counts, key=lambda f: (-counts[f], f)) if counts else "SLOs"


def _override(name: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": k, "value": v} for k, v in props.items()]}


def _label_vars(services: Sequence[Service]) -> dict[str, str]:
    taken = {grafana.DATASOURCE_VAR, SERVICE_VAR}
    out: dict[str, str] = {}
    for label in queries.spec_labels(services):
        var = queries.variable_name(label, taken)
        taken.add(var)
        out[label] = var
    return out


def _index(services: Sequence[Service]) -> str:
    """Markdown list of the service dashboards and the SLOs' runbooks."""
    lines = []
    for s in sorted(services, key=lambda s: s.name):
        runbooks = ", ".join(f"[{slo.name}]({runbook_url(s, slo)})" for slo in s.slos)
        lines.append(f"- [{dashboard_title(s)}]({dashboard_url(s)}) (team {s.owner}): runbooks {runbooks}")
    return "\n".join(lines)


def build(services: Sequence[Service]) -> dict[str, Any]:
    label_vars = _label_vars(services)
    filters = queries.overview_filters(SERVICE_VAR, label_vars)
    alert_names = {a.name for s in services for slo in s.slos for a in catalog.alerts_for(s, slo)}
    exprs = {
        "A": queries.overview_objective(filters),
        "B": queries.overview_sli(services, filters),
        "C": queries.overview_budget_remaining(filters),
        "D": queries.overview_firing(alert_names or {catalog.BURN_ALERT}, filters),
    }
    layout = grafana.Layout()
    n_slos = sum(len(s.slos) for s in services)
    percent = {"unit": "percentunit"}
    table = grafana.table(
        "Service level objectives",
        [grafana.target(expr, ref, instant=True, table=True) for ref, expr in exprs.items()],
        layout.place(24, min(4 + n_slos, 30)),
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True},
                "indexByName": {"service": 0, "slo": 1, **{f"Value #{r}": i + 2 for i, r in enumerate(_COLUMNS)}},
                "renameByName": {"service": "Service", "slo": "SLO",
                                 **{f"Value #{r}": title for r, title in _COLUMNS.items()}},
            }},
        ],
        overrides=[
            _override(_COLUMNS["A"], {**percent, "decimals": 2}),
            _override(_COLUMNS["B"], {**percent, "decimals": 3}),
            _override(_COLUMNS["C"], {
                **percent, "decimals": 1, "custom.cellOptions": {"type": "color-background"},
                "thresholds": {"mode": "absolute", "steps": grafana.thresholds(
                    "red", [(0, "orange"), (0.25, "yellow"), (0.5, "green")])},
            }),
            _override(_COLUMNS["D"], {
                "decimals": 0, "custom.cellOptions": {"type": "color-background"},
                "thresholds": {"mode": "absolute", "steps": grafana.thresholds("green", [(1, "red")])},
            }),
        ],
        sort_by="Service",
        description="One row per SLO. SLI and error budget are over each SLO's own window; firing alerts "
                    f"count slokit's alerts ({', '.join(sorted(alert_names))}) now firing for the SLO.",
    )
    index = grafana.text("Service dashboards and runbooks", _index(services),
                         layout.place(24, min(3 + len(services), 20)))
    service_var = grafana.label_variable(
        SERVICE_VAR, "Service", f"label_values({series.OBJECTIVE}, {series.SERVICE_LABEL})")
    labels = [grafana.label_variable(var, label, f"label_values({series.OBJECTIVE}, {label})")
              for label, var in label_vars.items()]
    board = grafana.dashboard(
        uid=OVERVIEW_UID,
        title=OVERVIEW_TITLE,
        description=f"Every slokit SLO: objective, SLI, error budget remaining and firing alerts "
                    f"({len(services)} services, {n_slos} SLOs; budget colours: red spent, orange under "
                    f"{format_percent(0.25)}, yellow under {format_percent(0.5)}).",
        tags=["slokit", "slo", "overview"],
        panels=[table, index],
        variables=[grafana.datasource_variable(), service_var, *labels],
        links=[grafana.dashboard_list_link("SLO dashboards", ["slokit"])],
        time_from="now-1h",
    )
    return grafana.render(board)
