"""Overhead of request-metrics middleware, slokit's and its peers', measured side by side in one run.

Each ASGI app is called in-process (no server, no network) with a Starlette router whose target route is
registered last, so middleware that re-matches routes pays for every route in front of it. Batches of
requests run in interleaved rounds; the figure per variant is the median over rounds of the time per
request, and "added" is that minus the bare app's. Run it with the ``bench`` extra installed:

    pip install -e '.[generator,dev,bench]'
    python benchmarks/middleware_bench.py            # about a minute on 2 cores

Not a test: timings on shared machines are noisy, so nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
TARGET = "/target/42"
#: CPU time of this process, not wall time: on a shared 2-core machine other processes preempt us, and
#: wall time would charge their slices to whichever variant happened to run.
_clock = time.process_time


def starlette_app(n_routes: int, middleware: list[Any] | None = None) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    routes = [Route(f"/filler{i}/{{item_id}}/detail", endpoint) for i in range(n_routes - 1)]
    routes.append(Route("/target/{item_id}", endpoint))
    return Starlette(routes=routes, middleware=[Middleware(cls, **kw) for cls, kw in (middleware or [])])


def scope_for(path: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict[str, Any]) -> None:
    return None


async def asgi_batch(app: ASGIApp, n: int) -> float:
    template = scope_for(TARGET)
    start = _clock()
    for _ in range(n):
        await app(dict(template), _receive, _send)
    return (_clock() - start) / n * 1e6


def wsgi_batch(app: Callable[..., Iterable[bytes]], n: int) -> float:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": TARGET, "SERVER_PROTOCOL": "HTTP/1.1"}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return None

    start = _clock()
    for _ in range(n):
        body = app(dict(environ), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (_clock() - start) / n * 1e6


class Timings:
    """Per-round microseconds per request of each variant."""

    def __init__(self, samples: dict[str, list[float]]) -> None:
        self.samples = samples

    def __getitem__(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def added(self, name: str, base: str) -> float:
        """Median over rounds of (variant - base) in the same round: slow drifts of the machine cancel."""
        return statistics.median(v - b for v, b in zip(self.samples[name], self.samples[base], strict=True))


def measure(variants: dict[str, Callable[[int], float]], rounds: int, batch: int) -> Timings:
    """Rounds of one batch per variant, interleaved so that load on the machine hits all alike."""
    for run in variants.values():  # warm up: first-request allocations, label children, route caches
        run(200)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            gc.collect()
            samples[name].append(run(batch))
    return Timings(samples)


def asgi_runner(app: ASGIApp, loop: asyncio.AbstractEventLoop) -> Callable[[int], float]:
    return lambda n: loop.run_until_complete(asgi_batch(app, n))


def slokit_middleware(registry: Any) -> tuple[Any, dict[str, Any]]:
    from slokit.middleware import SlokitMiddleware

    return SlokitMiddleware, {"registry": registry, "latency_thresholds": [0.3, 0.5, 1.0]}


class MinimalMiddleware:
    """A hand-written floor: one counter, one histogram, route read from the scope after the call."""

    def __init__(self, app: ASGIApp, registry: Any) -> None:
        from prometheus_client import Counter, Histogram

        self.app = app
        self.requests = Counter("minimal_requests", "", ["method", "route", "status"], registry=registry)
        self.duration = Histogram("minimal_duration_seconds", "", ["method", "route", "status"], registry=registry)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            route = scope.get("route")
            labels = (scope["method"], route.path if route is not None else "", str(status[0]))
            self.requests.labels(*labels).inc()
            self.duration.labels(*labels).observe(time.perf_counter() - start)


def floor(n: int) -> tuple[float, float]:
    """prometheus_client alone: labelled inc() + observe(), via labels() and on cached children."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    counter = Counter("floor_requests", "", ["method", "route", "status"], registry=registry)
    histogram = Histogram("floor_duration_seconds", "", ["method", "route", "status"], registry=registry)
    labels = ("GET", "/target/{item_id}", "200")

    def labelled() -> float:
        start = _clock()
        for _ in range(n):
            counter.labels(*labels).inc()
            histogram.labels(*labels).observe(0.0123)
        return (_clock() - start) / n * 1e6

    inc, observe = counter.labels(*labels).inc, histogram.labels(*labels).observe

    def cached() -> float:
        start = _clock()
        for _ in range(n):
            inc()
            observe(0.0123)
        return (_clock() - start) / n * 1e6

    return statistics.median(labelled() for _ in range(9)), statistics.median(cached() for _ in range(9))


def asgi_variants(rounds: int, batch: int) -> Timings:
    from prometheus_client import CollectorRegistry
    from prometheus_fastapi_instrumentator import Instrumentator
    from starlette_exporter import PrometheusMiddleware

    loop = asyncio.new_event_loop()
    apps: dict[str, Any] = {}
    for n in (1, 20, 100):
        apps[f"bare@{n}"] = starlette_app(n)
        apps[f"slokit@{n}"] = starlette_app(n, [slokit_middleware(CollectorRegistry())])
        instrumented = starlette_app(n)
        Instrumentator(registry=CollectorRegistry()).instrument(instrumented)
        apps[f"instrumentator@{n}"] = instrumented
        apps[f"starlette_exporter@{n}"] = starlette_app(n, [(PrometheusMiddleware, {"prefix": f"exporter{n}"})])
    apps["minimal@20"] = starlette_app(20, [(MinimalMiddleware, {"registry": CollectorRegistry()})])
    return measure({name: asgi_runner(app, loop) for name, app in apps.items()}, rounds, batch)


def wsgi_variants(rounds: int, batch: int) -> Timings:
    from prometheus_client import CollectorRegistry

    from slokit.middleware import ROUTE_ENVIRON_KEY, SlokitWSGIMiddleware

    def plain(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ[ROUTE_ENVIRON_KEY] = "/target/{item_id}"  # what a framework integration does
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    wrapped = SlokitWSGIMiddleware(plain, registry=CollectorRegistry(), latency_thresholds=[0.3, 0.5, 1.0])
    return measure(
        {"wsgi bare": lambda n: wsgi_batch(plain, n), "wsgi slokit": lambda n: wsgi_batch(wrapped, n)},
        rounds,
        batch,
    )


def multiprocess_child(rounds: int, batch: int) -> None:
    """Runs with PROMETHEUS_MULTIPROC_DIR set: slokit in multiprocess mode beside single-process slokit.

    prometheus-client picks the value class (mmap files or a plain float) when a labelled child is
    created, so the single-process variant creates its children while the plain class is in place.
    """
    from prometheus_client import CollectorRegistry, values

    from slokit.middleware import SlokitMiddleware

    loop = asyncio.new_event_loop()
    thresholds = {"latency_thresholds": [0.3, 0.5, 1.0]}
    mmap_class = values.ValueClass
    values.ValueClass = values.MutexValue
    try:
        single = starlette_app(
            20, [(SlokitMiddleware, {"registry": CollectorRegistry(), "multiprocess": False, **thresholds})]
        )
        asgi_runner(single, loop)(50)
    finally:
        values.ValueClass = mmap_class
    apps = {
        "bare": starlette_app(20),
        "slokit": starlette_app(
            20, [(SlokitMiddleware, {"registry": CollectorRegistry(), "multiprocess": True, **thresholds})]
        ),
        "slokit single-process": single,
    }
    from prometheus_client import Histogram

    def observe_loop(observe: Callable[[float], None]) -> Callable[[int], float]:
        def run(n: int) -> float:
            start = _clock()
            for _ in range(n):
                observe(0.0123)
            return (_clock() - start) / n * 1e6

        return run

    histogram = Histogram("floor_seconds", "", ["route"], registry=None)
    mmap_observe = histogram.labels("mmap").observe
    values.ValueClass = values.MutexValue
    try:
        plain_observe = histogram.labels("plain").observe
    finally:
        values.ValueClass = mmap_class
    variants = {name: asgi_runner(app, loop) for name, app in apps.items()}
    variants["observe() multiprocess"] = observe_loop(mmap_observe)
    variants["observe() single-process"] = observe_loop(plain_observe)
    print(json.dumps(measure(variants, rounds, batch).samples))


def multiprocess_variants(rounds: int, batch: int) -> Timings:
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
        out = subprocess.run(
            [sys.executable, __file__, "--multiprocess-child", f"--rounds={2 * rounds}", f"--batch={batch}"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return Timings(json.loads(out))


def versions() -> str:
    from importlib.metadata import version

    names = ("starlette", "prometheus-client", "prometheus-fastapi-instrumentator", "starlette-exporter")
    return ", ".join(f"{name} {version(name)}" for name in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--batch", type=int, default=400)
    parser.add_argument("--multiprocess-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.multiprocess_child:
        multiprocess_child(args.rounds, args.batch)
        return

    asgi = asgi_variants(args.rounds, args.batch)
    wsgi = wsgi_variants(args.rounds, args.batch * 5)
    mp = multiprocess_variants(args.rounds, args.batch)
    labelled, cached = floor(args.batch * 20)

    def added(name: str) -> float:
        return asgi.added(name, "bare@" + name.split("@")[1])

    rows: list[tuple[str, str, str]] = []
    for n in (20, 1, 100):
        rows.append((f"bare Starlette app, {n} route(s)", f"{asgi[f'bare@{n}']:.1f}", "-"))
        for name in ("slokit", "instrumentator", "starlette_exporter"):
            key = f"{name}@{n}"
            label = {"instrumentator": "prometheus-fastapi-instrumentator"}.get(name, name)
            rows.append((f"{label}, {n} route(s)", f"{asgi[key]:.1f}", f"+{added(key):.1f}"))
        if n == 20:
            rows.append(
                (
                    "hand-minimal counter+histogram, 20 routes",
                    f"{asgi['minimal@20']:.1f}",
                    f"+{added('minimal@20'):.1f}",
                )
            )
    mp_added = mp.added("slokit", "bare")
    mp_extra = mp.added("slokit", "slokit single-process")
    wsgi_added = wsgi.added("wsgi slokit", "wsgi bare")
    rows.append(("slokit multiprocess mode, 20 routes", f"{mp['slokit']:.1f}", f"+{mp_added:.1f}"))
    rows.append(
        (
            "(same run) slokit single-process, 20 routes",
            f"{mp['slokit single-process']:.1f}",
            f"+{mp.added('slokit single-process', 'bare'):.1f}",
        )
    )
    rows.append(
        (
            "(same run) histogram child observe(): multiprocess vs single-process",
            f"{mp['observe() multiprocess']:.1f}",
            f"+{mp.added('observe() multiprocess', 'observe() single-process'):.1f}",
        )
    )
    rows.append(("bare WSGI app", f"{wsgi['wsgi bare']:.1f}", "-"))
    rows.append(("slokit WSGI middleware", f"{wsgi['wsgi slokit']:.1f}", f"+{wsgi_added:.1f}"))
    rows.append(("floor: labels().inc() + labels().observe()", f"{labelled:.1f}", "-"))
    rows.append(("floor: cached children inc() + observe()", f"{cached:.1f}", "-"))

    print(
        f"Middleware overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}"
    )
    print(
        f"{versions()}; median of {args.rounds} interleaved rounds x {args.batch} requests "
        "(process CPU time; added = median of per-round differences), target route last\n"
    )
    print("| variant | us/request | added us |")
    print("|---|---:|---:|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    print(
        f"\nMultiprocess rows: a child process with PROMETHEUS_MULTIPROC_DIR set, {2 * args.rounds} rounds; "
        "its '(same run)' rows are paired with them."
    )
    s1, s20, s100 = added("slokit@1"), added("slokit@20"), added("slokit@100")
    print(
        "\nGoals (slokit): "
        f"<= 10 us at 20 routes: {s20:.1f} {'ok' if s20 <= 10 else 'MISSED'}; "
        f"100 vs 1 route <= 2 us: {s100 - s1:+.1f} {'ok' if s100 - s1 <= 2 else 'MISSED'}; "
        f"multiprocess <= 3 us more: {mp_extra:+.1f} {'ok' if mp_extra <= 3 else 'MISSED'}; "
        f"WSGI <= 6 us: {wsgi_added:.1f} {'ok' if wsgi_added <= 6 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
