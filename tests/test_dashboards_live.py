"""Every dashboard query on a real Prometheus scraping the real middleware, with the generated rules.

The example service (``examples/onboarding``) runs with faults on (10 % server errors, 50 % conflicts on
step updates, 50 % cache misses) under steady traffic; Prometheus 2.42 scrapes it and evaluates the rules
``slokit generate`` wrote for the end-to-end spec (1d windows, 10s guardrail windows). Each query of the
service dashboard and of the overview, sent as Grafana would with variables on "All", must return data,
one series per SLO where it reads recorded series, with values in range; the error shares must show the
faults. This catches what synthetic series cannot: a label or metric name the middleware does not write.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from slokit import stack
from slokit.dashboards import OVERVIEW_FILE, file_name
from slokit.prometheus_client import Sample
from slokit.spec import load_or_raise
from slokit.stack import LocalStack, NotificationReceiver, StackError
from test_dashboards_structure import all_panels, substitute_variables

ROOT = Path(__file__).resolve().parent.parent
E2E_SPEC = ROOT / "tests" / "e2e" / "onboarding.yaml"
FAULTS = {"error_ratio": 0.10, "conflict_ratio": 0.50, "cache_miss_ratio": 0.50}
#: The error share each SLO's 5m/10s panels should show under FAULTS (cache panel: the hit share).
SHOWN = {"availability": 0.10, "conflicts": 0.50, "cache-hits": 0.50}
TOLERANCE = 0.06  # rate() extrapolation at the start of fresh series, and random faults over ~20 s
WAIT = 60.0


def _rules_emitter_registered() -> bool:
    from slokit import pipeline

    return any(e.__module__.startswith("slokit.rules") for e in pipeline.emitters())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, dict[str, dict[str, Any]]]]:
    if not _rules_emitter_registered():
        pytest.skip("no rules emitter registered in the pipeline yet")
    tmp = tmp_path_factory.mktemp("live")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    traffic = importlib.import_module("examples.onboarding.traffic")
    with ExitStack() as resources:
        try:
            stack.binaries()
            receiver = NotificationReceiver().start()
            resources.callback(receiver.stop)
            spec = stack.local_routing_spec(E2E_SPEC, tmp / "spec" / "onboarding.yaml", receiver, tmp / "secrets")
            out = tmp / "out"
            stack.generate([spec], out)
            port = stack.free_port()
            app = stack.start_process("onboarding app", [sys.executable, "-m", "examples.onboarding.app", "--port",
                                                         str(port), "--spec", str(spec)], tmp / "app.log", cwd=ROOT)
            resources.callback(app.stop)
            stack.wait_http_ok(app, f"http://127.0.0.1:{port}/health")
            running = LocalStack(tmp, rule_files=stack.rule_files(out), scrape={"onboarding": f"127.0.0.1:{port}"},
                                 alertmanager_config=out / "alerts" / "alertmanager.yml")
            resources.callback(running.close)
            running.start()
            stack.send_json(f"http://127.0.0.1:{port}/admin/faults", FAULTS)
            load = traffic.Traffic(f"http://127.0.0.1:{port}", rate=40.0, workers=4)
            resources.callback(load.stop)
            load.start()
        except StackError as exc:
            pytest.fail(f"the live stack could not start: {exc}", pytrace=False)
        boards = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (out / "dashboards").glob("*.json")}
        yield running, boards
        procs = [app, *running.processes]
    left = [f"{p.name} (pid {p.pid})" for p in procs if p.running()]
    assert not left, f"still running after the test: {left}"


def queries(board: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(panel["title"], target) for panel in all_panels(board) for target in panel.get("targets", [])]


def wait_all(running: LocalStack, items: list[tuple[str, dict[str, Any]]]) -> dict[str, Sequence[Sample]]:
    """Each query's samples once every query returns some (rules need a few evaluations first)."""
    deadline = time.monotonic() + WAIT
    results: dict[str, Sequence[Sample]] = {}
    while True:
        results = {t["expr"]: running.prometheus.query(substitute_variables(t["expr"])) for _, t in items}
        empty = [f"{title} {t['refId']}: {t['expr']}" for title, t in items if not results[t["expr"]]]
        if not empty:
            return results
        if time.monotonic() > deadline:
            pytest.fail("dashboard queries without data on the live stack:\n" + "\n".join(empty))
        time.sleep(1.0)


def test_service_dashboard_shows_the_faults(live) -> None:
    running, boards = live
    (service,) = load_or_raise([E2E_SPEC])
    board = boards[file_name(service)]
    items = queries(board)
    results = wait_all(running, items)
    time.sleep(10)  # let the 10s and 5m windows fill with fault traffic, then read again
    results = {t["expr"]: running.prometheus.query(substitute_variables(t["expr"])) for _, t in items}
    for title, target in items:
        samples = results[target["expr"]]
        assert samples, f"{title}: no data"
        if target["expr"].lstrip("1 -").startswith("slo:"):
            assert len(samples) == 1, f"{title}: one series per SLO, got {[s.labels for s in samples]}"
            assert samples[0].labels.get("service") == service.name
        for slo_name, share in SHOWN.items():
            if title.startswith(f"{slo_name}: "):
                value = samples[0].value
                hit = "hit rate" in title
                assert abs(value - (1 - share if hit else share)) <= TOLERANCE, (title, target["legendFormat"], value)
        if title.startswith(("SLI", "Error budget")) or "ratio" in title:
            assert all(s.value <= 1 for s in samples), (title, samples)


def test_overview_lists_every_slo(live) -> None:
    running, boards = live
    (service,) = load_or_raise([E2E_SPEC])
    (table,) = [p for p in boards[OVERVIEW_FILE]["panels"] if p["type"] == "table"]
    items = [(table["title"], t) for t in table["targets"]]
    results = wait_all(running, items)
    for _, target in items:
        rows = {(s.labels.get("service"), s.labels.get("slo")) for s in results[target["expr"]]}
        assert rows == {(service.name, slo.name) for slo in service.slos}, (target["refId"], rows)
