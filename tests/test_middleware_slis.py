"""The middleware's series answer the generator's built-in SLI queries, evaluated by the real promtool.

A Starlette app configured from the example SLO file serves requests; its exposition becomes promtool
input series (with the ``job`` label a scrape would add), and each SLO's bad/total PromQL must give the
ratio the requests produced.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rules_helpers import run_promtool
from slokit.middleware import SlokitMiddleware, record_cache
from slokit.rules.sli import sli_queries
from slokit.spec.model import Service
from slokit.spec.units import Duration


async def step(request: Request) -> Response:
    if request.method == "PATCH" and int(request.path_params["id"]) % 2:
        return PlainTextResponse("already done", status_code=409)
    return PlainTextResponse("ok")


async def unavailable(request: Request) -> Response:
    return PlainTextResponse("down", status_code=503)


async def slow(request: Request) -> Response:
    await asyncio.sleep(0.32)
    return PlainTextResponse("finally")


async def serve(app: Any, method: str, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)


def input_series(exposition: str, selector: dict[str, str]) -> list[dict[str, str]]:
    """Each sample as a counter that was 0 for 5 minutes and then holds its value."""
    series = []
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels = {**sample.labels, **selector}
            body = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
            series.append({"series": f"{sample.name}{{{body}}}", "values": f"0x5 {sample.value:g}x10"})
    return series


def test_builtin_slis_read_the_middleware_series(onboarding: Service, tmp_path: Path) -> None:
    registry = CollectorRegistry()
    app = Starlette(
        routes=[
            Route("/api/onboarding/steps/{id:int}", step, methods=["GET", "PATCH"]),
            Route("/api/onboarding/unavailable", unavailable),
            Route("/api/onboarding/slow", slow),
        ],
        middleware=[Middleware(SlokitMiddleware, registry=registry, service=onboarding)],
    )

    async def traffic() -> None:
        for n in range(10):
            await serve(app, "PATCH", f"/api/onboarding/steps/{n}")  # odd ids: 409
        for n in range(6):
            await serve(app, "GET", f"/api/onboarding/steps/{n}")
        for _ in range(3):
            await serve(app, "GET", "/api/onboarding/unavailable")
        await asyncio.gather(*(serve(app, "GET", "/api/onboarding/slow") for _ in range(2)))

    asyncio.run(traffic())
    for hit in [True] * 7 + [False] * 3:
        record_cache("step-definitions", hit, registry=registry)

    exposition = generate_latest(registry).decode()
    counts = {
        (s.name, s.labels.get("le")): s.value
        for f in text_string_to_metric_families(exposition)
        for s in f.samples
        if s.labels.get("http_route") == "/api/onboarding/slow"
    }
    assert counts[("http_server_request_duration_seconds_count", None)] == 2
    assert counts[("http_server_request_duration_seconds_bucket", "0.3")] == 0
    good_latency = sum(
        s.value
        for f in text_string_to_metric_families(exposition)
        for s in f.samples
        if s.name == "http_server_request_duration_seconds_bucket" and s.labels["le"] == "0.3"
    )
    expected = {
        "availability": 3 / 21,
        "latency": (21 - good_latency) / 21,
        "conflicts": 5 / 10,
        "cache-hits": 3 / 10,
    }
    assert good_latency <= 19  # the two slow requests are above the 300ms threshold, whatever the machine

    tests = []
    window = Duration.parse("5m")
    for slo in onboarding.slos:
        bad, total = sli_queries(onboarding, slo, window)
        tests.append(
            {
                # rounded to 1e-9: promtool compares floats exactly, rate() leaves the last bits noisy
                "expr": f"round(1e9 * ({bad}) / ({total}))",
                "eval_time": "8m",
                "exp_samples": [{"labels": "{}", "value": round(1e9 * expected[slo.name])}],
            }
        )
    assert {slo.name for slo in onboarding.slos} == set(expected)
    spec = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": input_series(exposition, dict(onboarding.selector)),
                "promql_expr_test": tests,
            }
        ],
    }
    path = tmp_path / "middleware_slis_test.yaml"
    path.write_text(json.dumps(spec, indent=1))
    result = run_promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
