"""The only module that touches grafanalib: its objects in, the dashboard JSON Grafana reads out.

grafanalib 0.7.1 (its latest release) still writes parts of the pre-React model, and Grafana silently
drops or misreads those. Every fix lives here, applied once to the finished dashboard in ``render``:

- ``schemaVersion`` defaults to 12, which makes Grafana run every migration since 2016 over our JSON;
  we write ``SCHEMA_VERSION`` (see below).
- ``Target`` and panels carry ``datasource: null`` unless set, which means "the default data source"
  and breaks on instances whose default is not Prometheus; every query panel and target gets the
  ``${datasource}`` variable here.
- ``Threshold`` writes the base step value as the string ``"null"``; steps are plain dicts with ``None``
  and any ``"null"`` left over is turned into a real null.
- ``GaugePanel`` puts its reducer and marker options in legacy places (``fieldConfig.defaults.calcs``,
  ``fieldConfig.showThresholdMarkers``); they are moved to ``options``.
- ``TimeSeries`` accepts only ints for min and max; floats go through ``extraJson``.
- ``Stat`` writes ``color: null`` and reduces with ``mean``; it gets threshold colouring and the last
  value.
- Panels and targets carry legacy keys (``span``, ``height``, ``step``, ``intervalFactor``, ...);
  only the keys of the current model are kept, and ``None`` values are dropped, so the output is
  small, stable and free of nulls that Grafana would read as "unset" anyway.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grafanalib.core as G
from grafanalib._gen import DashboardEncoder

#: Dashboard JSON schema version written. 39 is what Grafana 10.3 to 11.0 write themselves; every
#: migration up to it concerns shapes this module already emits in their final form (datasource
#: references as objects, field-config thresholds, timeseries/stat/gauge/table panels), so Grafana
#: 10.3 and later load the JSON unchanged, and newer releases apply only their small forward
#: migrations. A lower number would make Grafana rewrite the dashboard on every load, which shows
#: up as spurious "changes" when people save it.
SCHEMA_VERSION = 39

DATASOURCE_VAR = "datasource"
DATASOURCE: Mapping[str, str] = {"type": "prometheus", "uid": f"${{{DATASOURCE_VAR}}}"}

#: Panel types this generator may emit; Angular ``graph``/``singlestat``/``table-old`` are gone in
#: Grafana 11 (disabled) and 12 (removed).
MODERN_PANEL_TYPES = frozenset({"timeseries", "stat", "gauge", "bargauge", "table", "text", "row"})

_PANEL_KEYS = frozenset(
    {"id", "type", "title", "description", "gridPos", "datasource", "targets", "fieldConfig", "options",
     "links", "transformations", "collapsed", "panels"}
)
_TARGET_KEYS = frozenset({"datasource", "expr", "refId", "legendFormat", "instant", "format"})
_DASHBOARD_DROP = frozenset({"__inputs", "rows", "hideControls", "sharedCrosshair", "style", "gnetId", "id",
                             "version"})
_VARIABLE_DROP = frozenset({"useTags", "tagsQuery", "tagValuesQuery", "auto", "auto_min", "auto_count"})

WIDTH = 24

Step = tuple[float | None, str]


# --- building blocks ------------------------------------------------------------------------------


def thresholds(base: str, steps: Iterable[tuple[float, str]] = ()) -> list[dict[str, Any]]:
    """Threshold steps: ``base`` colour below the first value, then each colour from its value up.

    Equal values keep the later colour (callers list the more severe one last), so every step value is
    strictly increasing, which is what Grafana expects.
    """
    by_value: dict[float, str] = {}
    for value, colour in steps:
        by_value[float(value)] = colour
    out: list[dict[str, Any]] = [{"color": base, "value": None}]
    out.extend({"color": c, "value": v} for v, c in sorted(by_value.items()))
    return out


def link(title: str, url: str) -> dict[str, Any]:
    return {"title": title, "url": url, "targetBlank": True}


@dataclass
class Layout:
    """Places panels on Grafana's 24-column grid left to right, wrapping to a new line when full."""

    x: int = 0
    y: int = 0
    line_height: int = 0

    def place(self, w: int, h: int) -> G.GridPos:
        if not 0 < w <= WIDTH:
            raise ValueError(f"panel width {w} outside 1..{WIDTH}")
        if self.x + w > WIDTH:
            self.newline()
        pos = G.GridPos(h=h, w=w, x=self.x, y=self.y)
        self.x += w
        self.line_height = max(self.line_height, h)
        return pos

    def newline(self) -> None:
        self.y += self.line_height
        self.x = 0
        self.line_height = 0

    def row(self) -> G.GridPos:
        if self.x:
            self.newline()
        pos = self.place(WIDTH, 1)
        self.newline()
        return pos


def target(expr: str, ref_id: str, legend: str = "", *, instant: bool = False, table: bool = False) -> G.Target:
    return G.Target(
        expr=expr,
        refId=ref_id,
        legendFormat=legend,
        instant=instant,
        format="table" if table else "time_series",
        datasource=dict(DATASOURCE),
    )


def row(title: str, grid: G.GridPos) -> G.RowPanel:
    return G.RowPanel(title=title, gridPos=grid)


def timeseries(
    title: str,
    targets: Sequence[G.Target],
    grid: G.GridPos,
    *,
    unit: str,
    steps: list[dict[str, Any]],
    description: str = "",
    links: Sequence[Mapping[str, Any]] = (),
    decimals: int | None = None,
    soft_min: float | None = None,
    soft_max: float | None = None,
) -> G.TimeSeries:
    """A time series with the thresholds drawn as dashed lines (the targets and alert levels)."""
    custom: dict[str, Any] = {}
    if soft_min is not None:
        custom["axisSoftMin"] = soft_min
    if soft_max is not None:
        custom["axisSoftMax"] = soft_max
    return G.TimeSeries(
        title=title,
        description=description,
        dataSource=dict(DATASOURCE),
        targets=list(targets),
        gridPos=grid,
        unit=unit,
        valueDecimals=decimals,
        thresholds=steps,
        thresholdsStyleMode="dashed",
        legendDisplayMode="list",
        legendCalcs=["lastNotNull"],
        tooltipMode="multi",
        links=list(links),
        # grafanalib validates these as ints only; floats (0.95) go in raw.
        extraJson={"fieldConfig": {"defaults": {"custom": custom}}} if custom else None,
    )


def stat(
    title: str,
    targets: Sequence[G.Target],
    grid: G.GridPos,
    *,
    unit: str,
    steps: list[dict[str, Any]],
    description: str = "",
    links: Sequence[Mapping[str, Any]] = (),
    decimals: int | None = None,
    graph: bool = True,
) -> G.Stat:
    return G.Stat(
        title=title,
        description=description,
        dataSource=dict(DATASOURCE),
        targets=list(targets),
        gridPos=grid,
        format=unit,
        decimals=decimals,
        thresholds=steps,
        colorMode="background",
        graphMode="area" if graph else "none",
        reduceCalc="lastNotNull",
        noValue="no data",
        links=list(links),
    )


def gauge(
    title: str,
    targets: Sequence[G.Target],
    grid: G.GridPos,
    *,
    unit: str,
    steps: list[dict[str, Any]],
    min_: float,
    max_: float,
    description: str = "",
    links: Sequence[Mapping[str, Any]] = (),
    decimals: int | None = None,
) -> G.GaugePanel:
    return G.GaugePanel(
        title=title,
        description=description,
        dataSource=dict(DATASOURCE),
        targets=list(targets),
        gridPos=grid,
        format=unit,
        decimals=decimals,
        min=min_,
        max=max_,
        thresholds=steps,
        calc="lastNotNull",
        thresholdMarkers=True,
        links=list(links),
    )


def table(
    title: str,
    targets: Sequence[G.Target],
    grid: G.GridPos,
    *,
    transformations: Sequence[Mapping[str, Any]],
    overrides: Sequence[Mapping[str, Any]],
    sort_by: str,
    description: str = "",
) -> G.Table:
    return G.Table(
        title=title,
        description=description,
        dataSource=dict(DATASOURCE),
        targets=list(targets),
        gridPos=grid,
        transformations=list(transformations),
        overrides=list(overrides),
        filterable=True,
        sortBy=[G.TableSortByField(displayName=sort_by)],
    )


def text(title: str, markdown: str, grid: G.GridPos) -> G.Text:
    return G.Text(title=title, content=markdown, gridPos=grid)


def datasource_variable() -> G.Template:
    return G.Template(name=DATASOURCE_VAR, label="Data source", query="prometheus", type="datasource",
                      refresh=G.REFRESH_ON_DASHBOARD_LOAD)


def label_variable(name: str, label: str, query: str) -> G.Template:
    """A multi-value query variable over a label; "All" matches any value, including an absent label."""
    return G.Template(
        name=name,
        label=label,
        query=query,
        dataSource=dict(DATASOURCE),
        includeAll=True,
        multi=True,
        allValue=".*",
        default="$__all",
        refresh=G.REFRESH_ON_TIME_RANGE_CHANGE,
        regex="",
    )


def dashboard_link_to(title: str, url: str) -> G.DashboardLink:
    return G.DashboardLink(type="link", title=title, uri=url, icon="dashboard", keepTime=True, includeVars=False)


def dashboard_list_link(title: str, tags: list[str]) -> G.DashboardLink:
    return G.DashboardLink(type="dashboards", title=title, tags=tags, asDropdown=True, keepTime=True)


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    tags: list[str],
    panels: list[G.Panel],
    variables: list[G.Template],
    links: list[G.DashboardLink],
    time_from: str,
) -> G.Dashboard:
    return G.Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=tags,
        panels=panels,
        templating=G.Templating(list=variables),
        links=links,
        refresh="1m",
        schemaVersion=SCHEMA_VERSION,
        time=G.Time(time_from, "now"),
        timezone="browser",
        graphTooltip=G.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        editable=True,
    ).auto_panel_ids()


# --- rendering and the quirk fixes ----------------------------------------------------------------


def render(board: G.Dashboard) -> dict[str, Any]:
    """The dashboard model as Grafana's file provisioning and ``/api/dashboards/db`` read it."""
    data: dict[str, Any] = json.loads(json.dumps(board.to_json_data(), cls=DashboardEncoder))
    for key in _DASHBOARD_DROP:
        data.pop(key, None)
    data["schemaVersion"] = SCHEMA_VERSION
    data["panels"] = [_fix_panel(p) for p in data["panels"]]
    data["templating"]["list"] = [_fix_variable(v) for v in data["templating"]["list"]]
    data["links"] = [_drop_none(lk) for lk in data["links"]]
    fixed: dict[str, Any] = _drop_none(data)
    return fixed


def to_text(model: Mapping[str, Any]) -> str:
    """Deterministic text: sorted keys, fixed indentation, trailing newline, no timestamps anywhere."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _fix_panel(panel: dict[str, Any]) -> dict[str, Any]:
    kind = panel["type"]
    if kind not in MODERN_PANEL_TYPES:
        raise ValueError(f"panel type {kind!r} is not a modern Grafana panel")
    out = {k: v for k, v in panel.items() if k in _PANEL_KEYS}
    if kind == "row":
        out["panels"] = [_fix_panel(p) for p in panel.get("panels", [])]
        out.pop("datasource", None)
        out.pop("fieldConfig", None)
        out.pop("targets", None)
        out.pop("transformations", None)
        out.pop("links", None)
        return out
    if kind == "text":
        for key in ("datasource", "targets", "fieldConfig", "transformations"):
            out.pop(key, None)
        return out
    out["datasource"] = dict(DATASOURCE)
    out["targets"] = [_fix_target(t) for t in panel.get("targets", [])]
    field_config = out.setdefault("fieldConfig", {"defaults": {}, "overrides": []})
    defaults = field_config.setdefault("defaults", {})
    steps = defaults.get("thresholds", {}).get("steps") or thresholds("green")
    for step in steps:
        if step.get("value") == "null":
            step["value"] = None
    defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": s["color"], "value": s["value"]}
                                                            for s in steps]}
    if kind == "gauge":
        _fix_gauge(out)
    if kind in ("stat", "gauge"):
        defaults["color"] = {"mode": "thresholds"}
        defaults.pop("custom", None)
    if kind == "timeseries":
        defaults["custom"]["stacking"] = {"mode": "none", "group": "A"}
    if kind == "table":
        _fix_table(out)
    if not out.get("transformations"):
        out.pop("transformations", None)
    return out


def _fix_gauge(out: dict[str, Any]) -> None:
    field_config = out["fieldConfig"]
    defaults = field_config["defaults"]
    calcs = defaults.pop("calcs", ["lastNotNull"])
    for key in ("title", "limit", "override", "values"):
        defaults.pop(key, None)
    if not defaults.get("links"):
        defaults.pop("links", None)
    out["options"] = {
        "orientation": "auto",
        "reduceOptions": {"calcs": calcs, "fields": "", "values": False},
        "showThresholdLabels": field_config.pop("showThresholdLabels", False),
        "showThresholdMarkers": field_config.pop("showThresholdMarkers", True),
    }
    field_config.setdefault("overrides", [])


def _fix_table(out: dict[str, Any]) -> None:
    defaults = out["fieldConfig"]["defaults"]
    custom = defaults.setdefault("custom", {})
    custom.pop("displayMode", None)
    custom["cellOptions"] = {"type": "auto"}
    if not defaults.get("unit"):
        defaults.pop("unit", None)
    out["options"] = {
        "cellHeight": "sm",
        "footer": {"show": False, "reducer": ["sum"], "fields": "", "countRows": False},
        "showHeader": out.get("options", {}).get("showHeader", True),
        "sortBy": out.get("options", {}).get("sortBy", []),
    }


def _fix_target(t: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in t.items() if k in _TARGET_KEYS}
    out["datasource"] = dict(DATASOURCE)
    out["range"] = not out.get("instant", False)
    if not out.get("legendFormat"):
        out.pop("legendFormat", None)
    return out


def _fix_variable(v: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: val for k, val in v.items() if k not in _VARIABLE_DROP}
    if out["type"] == "datasource":
        out.pop("datasource", None)
        out["current"] = {}
    else:
        out["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
        out["definition"] = out["query"]  # what the variable editor shows
    return out


def _drop_none(value: Any) -> Any:
    """Drop keys whose value is None, except a threshold step's ``value`` (null means "base")."""
    if isinstance(value, dict):
        in_step = set(value) == {"color", "value"}
        return {k: _drop_none(v) for k, v in value.items() if v is not None or (in_step and k == "value")}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
