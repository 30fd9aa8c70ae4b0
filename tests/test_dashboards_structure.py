"""Structural checks of the generated dashboards on several specs, not only the example.

Each property here is something Grafana or a reader relies on: queries only read series that exist
(recorded by the rules or written by the middleware) and parse in real PromQL; thresholds are valid
steps; no null data source; panel ids unique; panels inside the 24-column grid without overlapping;
no Angular panels; stable uids within Grafana's 40 characters; provisioning that covers every file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_helpers import run_promtool
from slokit import burnrate, series
from slokit.artifacts import Options
from slokit.dashboards import OVERVIEW_FILE, PROVISIONING_FILE, emit, file_name, grafana, overview
from slokit.links import OVERVIEW_UID, dashboard_uid, runbook_url
from slokit.pipeline import generate
from slokit.spec import load_or_raise
from slokit.spec.model import CacheMisses, RatioQueries, Service

# Label values with a quote, a backslash and a newline escape must survive into PromQL intact.
PAYMENTS = r"""
service: payments
owner: billing
description: Card payments
labels: {region: 'eu"west\1', tier: "0"}
selector: {job: 'pay"ments', namespace: 'prod\ns'}
grafana: {folder: Payments, url: "https://grafana.example.com/"}
metrics_preset: classic
slos:
  - name: charge-success
    objective: 99.9
    window: 7d
    sli:
      ratio:
        good: sum(rate(payment_charges_total{outcome="ok"}[{{window}}]))
        total: sum(rate(payment_charges_total[{{window}}]))
    alerts:
      - {good_ratio_below: 99%, for: 5m, severity: page}
  - name: refunds
    objective: 99
    window: 28d
    burn_rate: false
    sli:
      ratio:
        bad: sum(rate(payment_refund_failures_total[{{window}}]))
        total: sum(rate(payment_refunds_total[{{window}}]))
    alerts:
      - {error_ratio_above: 5%, for: 10m, severity: ticket}
"""

# A name long enough that the uid is hashed; route and method on the SLIs; no guardrails on one SLO.
SEARCH = r"""
service: search-frontend-query-autocomplete-api
owner: discovery
grafana: {folder: 'Search: "prod"'}
selector: {job: 'se"arch', env: 'prod\ns'}
buckets: [50ms, 100ms, 250ms, 500ms, 1s, 2s, 3s, 5s]
slos:
  - name: errors
    objective: 99.95
    sli:
      http_errors: {status: "5..|429", route: "/v1/suggest/{prefix}"}
    alerts:
      - {p99_above: 2s, for: 5m, severity: ticket}
      - {p99_above: 3s, window: 10m, for: 5m, severity: page}
      - {error_ratio_above: 2%, window: 15m, for: 5m, severity: page}
  - name: fast-suggest
    objective: 99
    window: 28d
    sli:
      http_latency: {threshold: 250ms, route: "/v1/suggest/{prefix}", method: GET}
    alerts:
      - {p99_above: 1s, for: 5m, severity: page, rollback: true}
      - {error_ratio_above: 5%, window: 10m, for: 10m, severity: ticket}
"""

EXAMPLE = Path(__file__).resolve().parent.parent / "slo" / "onboarding.yaml"


def load(tmp: Path, name: str, text: str) -> Service:
    path = tmp / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    (service,) = load_or_raise([path])
    return service


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> tuple[Service, ...]:
    tmp = tmp_path_factory.mktemp("specs")
    (example,) = load_or_raise([EXAMPLE])
    return (example, load(tmp, "payments", PAYMENTS), load(tmp, "search", SEARCH))


@pytest.fixture(scope="module")
def files(services: tuple[Service, ...]) -> dict[str, str]:
    return emit(services, Options())


def models(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {path: json.loads(text) for path, text in files.items() if path.endswith(".json")}


def all_panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model["panels"]:
        yield panel
        yield from panel.get("panels", [])


def exprs(model: dict[str, Any]) -> Iterator[str]:
    for panel in all_panels(model):
        for target in panel.get("targets", []):
            yield target["expr"]


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_METRIC = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")


def metric_names(expr: str) -> set[str]:
    return set(_METRIC.findall(_STRING.sub('""', expr)))


def allowed_series(services: tuple[Service, ...]) -> tuple[set[str], set[str]]:
    """(names the rules record, names the middleware or Prometheus write)."""
    windows = set(burnrate.ALERT_WINDOWS) | {slo.window for s in services for slo in s.slos}
    recorded = {series.error_ratio(w) for w in windows} | {
        series.OBJECTIVE, series.ERROR_BUDGET, series.BUDGET_REMAINING, series.BURN_RATE,
        series.PERIOD_BURN_RATE, series.WINDOW_DAYS, series.INFO,
    }
    raw = {"ALERTS"}
    for s in services:
        m = s.metrics
        raw |= {m.duration_bucket, m.duration_count, m.cache_lookups_total}
        for slo in s.slos:  # a ratio SLI's own queries, for guardrail windows the rules do not record
            if isinstance(slo.sli, RatioQueries):
                for query in (slo.sli.bad, slo.sli.good, slo.sli.total):
                    raw |= {n for n in metric_names(query or "")}
    return recorded, raw


def substitute_variables(expr: str) -> str:
    """What Grafana sends with every variable on "All" (``.*``)."""
    return re.sub(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?", ".*", expr)


# --- queries ------------------------------------------------------------------------------------------


def test_every_query_reads_only_recorded_or_middleware_series(services, files) -> None:
    recorded, raw = allowed_series(services)
    seen: set[str] = set()
    for path, model in models(files).items():
        for expr in exprs(model):
            names = metric_names(expr)
            assert names, f"{path}: query without a selector: {expr}"
            assert names <= recorded | raw, f"{path}: unknown series {names - recorded - raw} in {expr}"
            seen |= names
        for var in model["templating"]["list"]:
            if var["type"] == "query":
                assert metric_names(var["query"]) <= recorded, var["query"]
    # The SLO panels really do read the recorded series, not raw counters over 30 days.
    assert {series.BUDGET_REMAINING, series.BURN_RATE, series.error_ratio(burnrate.ALERT_WINDOWS[0])} <= seen


def test_queries_match_the_rules_that_are_actually_generated(services) -> None:
    """Cross-check against the rules emitter's own record names, once it is part of the pipeline."""
    out = generate(services)
    rule_files = [text for path, text in out.items() if path.endswith(".rules.yml")]
    if not rule_files:
        pytest.skip("no rules emitter registered in the pipeline yet")
    records: set[str] = set()
    for text in rule_files:
        doc = yaml.safe_load(text)
        for group in doc["groups"]:
            records |= {r["record"] for r in group["rules"] if "record" in r}
    recorded, _ = allowed_series(services)
    for path, model in models(out).items():
        for expr in exprs(model):
            used = metric_names(expr) & recorded
            assert used <= records, f"{path}: {used - records} not recorded by the rules ({expr})"


def test_every_query_parses_in_promql(files, tmp_path: Path) -> None:
    rules = []
    for model in models(files).values():
        for expr in exprs(model):
            rules.append({"record": f"dashboard:query{len(rules)}", "expr": substitute_variables(expr)})
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8")
    proc = run_promtool("check", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_label_values_with_quotes_are_escaped_not_broken(services, files) -> None:
    search = services[2]
    board = models(files)[f"dashboards/{file_name(search)}"]
    text = "\n".join(exprs(board))
    # The selector value se"arch appears only as an escaped PromQL string (the parse test runs it).
    assert 'job="se\\"arch"' in text
    assert 'env="prod\\\\ns"' in text
    assert 'se"arch' not in _STRING.sub("", text)


def test_every_variable_used_is_defined(files) -> None:
    for path, model in models(files).items():
        names = {v["name"] for v in model["templating"]["list"]}
        for expr in exprs(model):
            used = set(re.findall(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)", expr))
            assert used <= names, f"{path}: undefined variables {used - names}"


# --- model shape --------------------------------------------------------------------------------------


def test_thresholds_are_valid_steps(files) -> None:
    for path, model in models(files).items():
        for panel in all_panels(model):
            configs = [panel.get("fieldConfig", {}).get("defaults", {})]
            for override in panel.get("fieldConfig", {}).get("overrides", []):
                configs += [p["value"] for p in override["properties"] if p["id"] == "thresholds"]
            for cfg in configs:
                th = cfg.get("thresholds")
                if th is None:
                    continue
                steps = th["steps"]
                assert th["mode"] == "absolute" and steps, (path, panel["title"])
                assert steps[0]["value"] is None, (path, panel["title"], steps)
                values = [s["value"] for s in steps[1:]]
                assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values), values
                assert values == sorted(set(values)), (path, panel["title"], values)
                assert all(isinstance(s["color"], str) and s["color"] for s in steps)


def test_no_null_datasource_anywhere(files) -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "datasource":
                    assert value == dict(grafana.DATASOURCE), f"{where}: datasource {value!r}"
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path, model in models(files).items():
        walk(model, path)
        for panel in all_panels(model):
            if panel.get("targets"):
                assert panel["datasource"] == dict(grafana.DATASOURCE)
                assert all(t["datasource"] == dict(grafana.DATASOURCE) for t in panel["targets"])
        assert any(v["type"] == "datasource" and v["name"] == grafana.DATASOURCE_VAR
                   for v in model["templating"]["list"])


def test_panel_ids_unique_and_grid_without_overlap(files) -> None:
    for path, model in models(files).items():
        ids = [p["id"] for p in all_panels(model)]
        assert len(ids) == len(set(ids)), path
        cells: dict[tuple[int, int], str] = {}
        for panel in all_panels(model):
            g = panel["gridPos"]
            assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["y"] >= 0, (path, panel["title"])
            assert g["x"] + g["w"] <= 24, (path, panel["title"], g)
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{path}: {panel['title']} overlaps {cells[(x, y)]}"
                    cells[(x, y)] = panel["title"]


def test_only_modern_panels_and_dashboard_settings(services, files) -> None:
    boards = models(files)
    for path, model in boards.items():
        types = {p["type"] for p in all_panels(model)}
        assert types <= {"timeseries", "stat", "gauge", "table", "row", "text"}, (path, types)
        assert model["refresh"] == "1m"
        assert model["schemaVersion"] == grafana.SCHEMA_VERSION
        assert "slokit" in model["tags"]
        assert len(model["uid"]) <= 40
        assert "id" not in model, "file provisioning and the API need no numeric id"
    for s in services:
        assert boards[f"dashboards/{file_name(s)}"]["uid"] == dashboard_uid(s)
    assert boards[f"dashboards/{OVERVIEW_FILE}"]["uid"] == OVERVIEW_UID
    assert dashboard_uid(services[2]) != f"slokit-{services[2].name}"  # the long name was hashed


def test_output_is_deterministic(services, files) -> None:
    assert emit(services, Options()) == files
    assert emit(tuple(reversed(services)), Options()) == files
    for text in models(files):
        raw = files[text]
        assert raw == json.dumps(json.loads(raw), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- content derived from the spec --------------------------------------------------------------------


def titles(model: dict[str, Any]) -> list[str]:
    return [p["title"] for p in all_panels(model)]


def test_panels_follow_the_spec_not_the_example(services, files) -> None:
    boards = models(files)
    _, payments, search = services
    for s in services:
        board = boards[f"dashboards/{file_name(s)}"]
        has_cache = any(isinstance(slo.sli, CacheMisses) for slo in s.slos)
        assert any("cache hit rate" in t for t in titles(board)) == has_cache, s.name
        rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
        assert len(rows) == len(s.slos) + 1
        for slo in s.slos:
            assert any(r.startswith(f"{slo.name}: ") and str(slo.window) in r for r in rows)
    pay = boards[f"dashboards/{file_name(payments)}"]
    # Ratio SLIs get their SLI panel; a good-query SLI is shown as a good share with the objective line.
    charge = next(p for p in all_panels(pay) if p["title"] == "charge-success: good ratio")
    steps = charge["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[0]["color"] == "red" and [s["value"] for s in steps[1:]] == [0.99, 0.999]
    assert "Request rate" not in titles(pay)  # no HTTP SLI: no request panel
    srch = boards[f"dashboards/{file_name(search)}"]
    # A quantile guardrail on an error SLO gets a latency panel over the same route, with its line.
    errors_latency = next(p for p in all_panels(srch) if p["title"] == "errors: p99 latency (/v1/suggest/{prefix})")
    assert [s["value"] for s in errors_latency["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]] == [2.0, 3.0]
    # One line per window a latency guardrail computes over, as the alert does.
    assert [t["legendFormat"] for t in errors_latency["targets"]] == ["p99 (5m)", "p99 (10m)"]
    assert "[10m]" in errors_latency["targets"][1]["expr"]
    # A guardrail window the rules do not record (15m) is computed from the SLI's raw queries.
    errors_ratio = next(p for p in all_panels(srch) if p["title"].startswith("errors: 5..|429 ratio"))
    assert [t["legendFormat"] for t in errors_ratio["targets"]] == ["5m", "15m"]
    assert errors_ratio["targets"][0]["expr"].startswith(series.error_ratio(burnrate.ALERT_WINDOWS[0]))
    assert "_count{" in errors_ratio["targets"][1]["expr"] and "[15m]" in errors_ratio["targets"][1]["expr"]
    assert "errors: 5..|429 ratio (/v1/suggest/{prefix})" in titles(srch)
    assert "fast-suggest: p99 latency (GET /v1/suggest/{prefix})" in titles(srch)
    lat = next(p for p in all_panels(srch) if p["title"].startswith("fast-suggest: p99"))
    assert 'http_route="/v1/suggest/{prefix}"' in lat["targets"][0]["expr"]
    assert 'http_request_method="GET"' in lat["targets"][0]["expr"]


def test_burn_rate_panel_uses_the_planned_factors(services, files) -> None:
    boards = models(files)
    for s in services:
        board = boards[f"dashboards/{file_name(s)}"]
        burn = [p for p in all_panels(board) if p["title"].startswith("Burn rate")]
        assert len(burn) == len(s.slos)
        for slo, panel in zip(s.slos, burn, strict=True):
            active, _ = burnrate.plan(slo)
            values = [st["value"] for st in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
            if active:
                assert values == sorted({float(t.factor) for t in active})
                if any(t.tier.severity == "page" for t in active):
                    assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["color"] == "red"
            else:
                assert values == [1.0] and "off" in panel["description"]


def test_seven_day_window_gets_its_own_factors(services, files) -> None:
    payments = services[1]
    board = models(files)[f"dashboards/{file_name(payments)}"]
    burn = next(p for p in all_panels(board) if p["title"].startswith("Burn rate"))
    values = [st["value"] for st in burn["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
    # 2 % of a 7d budget in 1h: 3.36x, not the 30d 14.4x.
    assert 3.36 in values and 14.4 not in values


def test_links_to_runbooks_and_overview(services, files) -> None:
    boards = models(files)
    for s in services:
        board = boards[f"dashboards/{file_name(s)}"]
        urls = {lk["url"] for lk in board["links"]}
        assert overview.overview_url(s.grafana_url) in urls
        runbooks = {runbook_url(s, slo) for slo in s.slos}
        for panel in all_panels(board):
            if panel["type"] != "row":
                assert {lk["url"] for lk in panel["links"]} & runbooks, (s.name, panel["title"])
    assert overview.overview_url("https://grafana.example.com/").startswith("https://grafana.example.com/d/")


def test_label_variables_for_spec_labels(services, files) -> None:
    boards = models(files)
    payments = services[1]
    pay = boards[f"dashboards/{file_name(payments)}"]
    variables = {v["name"]: v for v in pay["templating"]["list"]}
    assert set(variables) == {"datasource", "region", "tier"}
    assert variables["region"]["includeAll"] and variables["region"]["allValue"] == ".*"
    slo_queries = [e for e in exprs(pay) if "slo:" in e]
    assert slo_queries and all('region=~"$region"' in e and 'tier=~"$tier"' in e for e in slo_queries)
    ov = boards[f"dashboards/{OVERVIEW_FILE}"]
    assert {v["name"] for v in ov["templating"]["list"]} == {"datasource", "service", "region", "tier"}


def test_overview_has_every_slo_window_and_alert(services, files) -> None:
    ov = models(files)[f"dashboards/{OVERVIEW_FILE}"]
    (table,) = [p for p in ov["panels"] if p["type"] == "table"]
    by_ref = {t["refId"]: t["expr"] for t in table["targets"]}
    assert all(t["instant"] and t["format"] == "table" for t in table["targets"])
    for s in services:
        for slo in s.slos:
            assert series.error_ratio(slo.window) in by_ref["B"]
    assert "SLOErrorBudgetBurn" in by_ref["D"] and 'alertstate="firing"' in by_ref["D"]
    index = next(p for p in ov["panels"] if p["type"] == "text")
    for s in services:
        assert dashboard_uid(s) in index["options"]["content"]


# --- provisioning -------------------------------------------------------------------------------------


def test_provisioning_has_one_provider_per_folder(services, files) -> None:
    doc = yaml.safe_load(files[f"dashboards/{PROVISIONING_FILE}"])
    assert doc["apiVersion"] == 1
    providers = doc["providers"]
    folders = {s.grafana_folder for s in services}
    assert {p["folder"] for p in providers} == folders == {"SLOs", "Payments", 'Search: "prod"'}
    assert all(p["type"] == "file" for p in providers)
    paths = [p["options"]["path"] for p in providers]
    names = [p["name"] for p in providers]
    assert len(set(paths)) == len(paths) and len(set(names)) == len(names)
    text = files[f"dashboards/{PROVISIONING_FILE}"]
    for s in services:
        provider = next(p for p in providers if p["folder"] == s.grafana_folder)
        assert re.search(rf"#\s+{re.escape(provider['options']['path'])}/: .*{re.escape(file_name(s))}", text)
    assert OVERVIEW_FILE in text


def test_no_services_no_files() -> None:
    assert emit((), Options()) == {}
