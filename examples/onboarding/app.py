"""The onboarding API, instrumented with ``slokit.middleware``: the service ``slo/onboarding.yaml`` describes.

Routes: ``GET /api/onboarding`` (progress), ``PATCH /api/onboarding/steps/{id}`` (mark a step done or not,
with optimistic locking: a stale ``version`` answers 409), ``POST /api/onboarding/snooze``, ``GET /health``,
``/metrics``, and ``GET|PUT /admin/faults`` (the fault knobs, loopback clients only, not measured).
Step definitions are read through a cache whose hits and misses feed the ``cache-hits`` SLO.

Run: ``python -m examples.onboarding.app --port 8000`` from the repository root (binds 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from examples.onboarding.faults import Faults
from slokit.middleware import DEFAULT_EXCLUDED_PATHS, SlokitMiddleware, metrics_app, record_cache

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = ROOT / "slo" / "onboarding.yaml"
CACHE = "step-definitions"
ADMIN_PATH = "/admin/faults"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

#: The step definitions "store": slow to read in a real service, hence the cache in front of it.
STEP_DEFINITIONS: dict[int, dict[str, str]] = {
    1: {"title": "Create your profile", "help": "Add a name and a picture."},
    2: {"title": "Connect your calendar", "help": "So that meetings show up in the app."},
    3: {"title": "Invite your team", "help": "Onboarding goes faster together."},
    4: {"title": "Create a first project", "help": "Start from a template or a blank page."},
}


class StepCache:
    """Step definitions in memory, warmed at start-up (warming is not a lookup); every lookup is counted."""

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._entries = {k: dict(v) for k, v in STEP_DEFINITIONS.items()}

    def get(self, step_id: int) -> dict[str, str]:
        if self._faults.cache_misses.next():
            self._entries.pop(step_id, None)  # evicted, as under memory pressure
        value = self._entries.get(step_id)
        record_cache(CACHE, value is not None)
        if value is None:
            value = self._entries[step_id] = dict(STEP_DEFINITIONS[step_id])
        return value


@dataclass
class Step:
    done: bool = False
    version: int = 1


class Onboarding:
    """One user's onboarding state (the example keeps a single user)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.cache = StepCache(faults)
        self.steps = {step_id: Step() for step_id in STEP_DEFINITIONS}
        self.snoozed_until = 0.0

    def step_json(self, step_id: int) -> dict[str, Any]:
        step = self.steps[step_id]
        return {"id": step_id, **self.cache.get(step_id), "done": step.done, "version": step.version}


async def injected(faults: Faults) -> Response | None:
    """Apply the latency and error knobs to one API request; a Response when it must fail."""
    if faults.slow.next() and faults.latency > 0:
        await asyncio.sleep(faults.latency)
    if faults.errors.next():
        return JSONResponse({"error": "injected fault"}, status_code=500)
    return None


def create_app(faults: Faults | None = None, spec: Path | None = DEFAULT_SPEC,
               registry: CollectorRegistry | None = None) -> Starlette:
    """The app; ``spec`` (an SLO file) gives the middleware its metric names and latency buckets.
    ``registry`` defaults to prometheus-client's global one."""
    faults = faults or Faults()
    state = Onboarding(faults)
    options: dict[str, Any] = {"exclude_paths": DEFAULT_EXCLUDED_PATHS | {ADMIN_PATH}, "registry": registry}
    if spec is not None:
        from slokit.spec import load_service

        options["service"] = load_service(spec)

    async def progress(request: Request) -> Response:
        if (failed := await injected(faults)) is not None:
            return failed
        steps = [state.step_json(step_id) for step_id in state.steps]
        return JSONResponse({
            "steps": steps,
            "done": sum(s["done"] for s in steps),
            "total": len(steps),
            "snoozed": state.snoozed_until > time.time(),
        })

    async def update_step(request: Request) -> Response:
        if (failed := await injected(faults)) is not None:
            return failed
        try:
            step_id = int(request.path_params["id"])
        except ValueError:
            return JSONResponse({"error": "step id must be a number"}, status_code=400)
        if step_id not in state.steps:
            return JSONResponse({"error": f"no step {step_id}"}, status_code=404)
        try:
            body = await request.json()
            version, done = body["version"], body["done"]
            if not isinstance(version, int) or not isinstance(done, bool):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'body must be {"version": <int>, "done": <bool>}'}, status_code=400)
        step = state.steps[step_id]
        if faults.conflicts.next():
            step.version += 1  # another client updated the step first
        if version != step.version:
            return JSONResponse({"error": "stale version", "version": step.version}, status_code=409)
        step.done = done
        step.version += 1
        return JSONResponse(state.step_json(step_id))

    async def snooze(request: Request) -> Response:
        if (failed := await injected(faults)) is not None:
            return failed
        state.snoozed_until = time.time() + 3600
        return JSONResponse({"snoozed_until": state.snoozed_until})

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def admin_faults(request: Request) -> Response:
        if request.client is None or request.client.host not in LOOPBACK:
            return JSONResponse({"error": "fault knobs answer loopback clients only"}, status_code=403)
        if request.method == "PUT":
            try:
                knobs = await request.json()
                if not isinstance(knobs, dict):
                    raise ValueError("body must be a JSON object of knobs")
                faults.update(knobs)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(faults.as_dict())

    return Starlette(
        routes=[
            Route("/api/onboarding", progress, methods=["GET"]),
            Route("/api/onboarding/steps/{id}", update_step, methods=["PATCH"]),
            Route("/api/onboarding/snooze", snooze, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics_app(registry)),
            Route(ADMIN_PATH, admin_faults, methods=["GET", "PUT"]),
        ],
        middleware=[Middleware(SlokitMiddleware, **options)],
    )


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="SLO file (default slo/onboarding.yaml)")
    args = parser.parse_args(argv)
    from slokit.spec import SpecError, UsageError

    try:
        app = create_app(Faults.from_env(), args.spec)
    except (ValueError, SpecError, UsageError) as exc:
        sys.exit(f"onboarding: {exc}")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
