"""The grafanalib 0.7.1 wrapper: each known quirk of the library comes out fixed in the rendered JSON.

These feed grafanalib's own objects (with their defaults) through ``render``, so an upgrade of the
library that changes a default, or a fix that gets lost, shows up here rather than in Grafana.
"""

from __future__ import annotations

import grafanalib.core as G

from slokit.dashboards import grafana


def render_one(panel: G.Panel) -> dict:
    board = G.Dashboard(title="t", uid="u", panels=[panel]).auto_panel_ids()
    return grafana.render(board)


def test_threshold_base_step_string_null_becomes_a_real_null() -> None:
    raw = G.Threshold("green", 0, 0.0).to_json_data()
    assert raw["value"] == "null"  # the quirk, as grafanalib writes it
    panel = G.Stat(title="s", targets=[G.Target(expr="up", refId="A")], gridPos=G.GridPos(h=4, w=4, x=0, y=0),
                   thresholds=[G.Threshold("green", 0, 0.0), G.Threshold("red", 1, 80.0)])
    out = render_one(panel)["panels"][0]
    steps = out["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "green", "value": None}, {"color": "red", "value": 80.0}]


def test_null_datasource_of_targets_and_panels_becomes_the_variable() -> None:
    target = G.Target(expr="up", refId="A")
    assert target.to_json_data()["datasource"] is None  # the quirk
    panel = G.TimeSeries(title="t", targets=[target], gridPos=G.GridPos(h=4, w=4, x=0, y=0))
    out = render_one(panel)["panels"][0]
    assert out["datasource"] == grafana.DATASOURCE
    assert out["targets"][0]["datasource"] == grafana.DATASOURCE
    assert "intervalFactor" not in out["targets"][0] and "step" not in out["targets"][0]


def test_gauge_options_move_from_legacy_places() -> None:
    panel = G.GaugePanel(title="g", targets=[G.Target(expr="up", refId="A")], gridPos=G.GridPos(h=4, w=4, x=0, y=0),
                         calc="lastNotNull", thresholdLabels=True)
    legacy = panel.to_json_data()
    assert "calcs" in legacy["fieldConfig"]["defaults"] and "showThresholdLabels" in legacy["fieldConfig"]
    out = render_one(panel)["panels"][0]
    assert out["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]
    assert out["options"]["showThresholdLabels"] is True and out["options"]["showThresholdMarkers"] is True
    assert "calcs" not in out["fieldConfig"]["defaults"]
    assert "showThresholdLabels" not in out["fieldConfig"]
    assert out["fieldConfig"]["defaults"]["color"] == {"mode": "thresholds"}


def test_float_axis_bounds_pass_through_the_wrapper() -> None:
    panel = grafana.timeseries("t", [grafana.target("up", "A")], G.GridPos(h=4, w=4, x=0, y=0), unit="s",
                               steps=grafana.thresholds("green", [(0.3, "red")]), soft_min=0, soft_max=0.95)
    custom = render_one(panel)["panels"][0]["fieldConfig"]["defaults"]["custom"]
    assert custom["axisSoftMin"] == 0 and custom["axisSoftMax"] == 0.95


def test_dashboard_settings_and_legacy_keys() -> None:
    out = render_one(G.Text(title="x", content="y", gridPos=G.GridPos(h=2, w=24, x=0, y=0)))
    assert out["schemaVersion"] == grafana.SCHEMA_VERSION != G.SCHEMA_VERSION
    for key in ("rows", "id", "version", "style", "hideControls", "sharedCrosshair", "__inputs"):
        assert key not in out
    text = out["panels"][0]
    assert "datasource" not in text and "span" not in text and "targets" not in text


def test_angular_panels_are_refused() -> None:
    panel = G.Graph(title="old", targets=[G.Target(expr="up", refId="A")], gridPos=G.GridPos(h=4, w=4, x=0, y=0))
    try:
        render_one(panel)
    except ValueError as exc:
        assert "graph" in str(exc)
    else:
        raise AssertionError("an Angular graph panel was rendered")


def test_thresholds_keep_values_increasing_and_the_later_colour_on_ties() -> None:
    steps = grafana.thresholds("green", [(0.5, "orange"), (0.1, "yellow"), (0.5, "red")])
    assert steps == [{"color": "green", "value": None}, {"color": "yellow", "value": 0.1},
                     {"color": "red", "value": 0.5}]


def test_layout_wraps_rows_and_never_exceeds_the_grid() -> None:
    layout = grafana.Layout()
    a, b, c = layout.place(16, 4), layout.place(16, 6), layout.row()
    assert (a.x, a.y, b.x, b.y) == (0, 0, 0, 4)
    assert (c.x, c.y, c.w) == (0, 10, 24)
    assert layout.place(8, 2).y == 11
