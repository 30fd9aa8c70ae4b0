"""Traffic for the onboarding API at a set rate for a set time, counting every answer it gets.

The mix repeats every 7 requests: 3 progress reads, 3 step updates, 1 snooze (7 is prime to the fault
knobs' usual periods, so an injected 10 % of errors spreads over every route). Each worker owns its own
keep-alive connection and its own steps (worker i updates the steps i, i+W, ...), so with at most as many
workers as steps the only 409s are those the conflict knob injects. The counts per (method, route,
status) are what the end-to-end test compares with Prometheus, so a request that got no answer is
counted apart (``failures``) rather than guessed.

Run: ``python -m examples.onboarding.traffic --url http://127.0.0.1:8000 --rate 20 --duration 60``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable

from examples.onboarding.app import STEP_DEFINITIONS

PROGRESS = ("GET", "/api/onboarding")
STEP = ("PATCH", "/api/onboarding/steps/{id}")
SNOOZE = ("POST", "/api/onboarding/snooze")
MIX: tuple[tuple[str, str], ...] = (PROGRESS, STEP, PROGRESS, SNOOZE, STEP, PROGRESS, STEP)

Key = tuple[str, str, int]  # method, route template, status


class Traffic:
    """Sends requests from ``workers`` threads, paced to ``rate`` per second overall, until stopped."""

    def __init__(self, base_url: str, *, rate: float = 20.0, workers: int = 4, timeout: float = 10.0) -> None:
        if rate <= 0 or workers <= 0:
            raise ValueError("rate and workers must be positive")
        url = urllib.parse.urlsplit(base_url)
        self._host, self._port = url.hostname or "127.0.0.1", url.port or 80
        self.rate, self.workers, self.timeout = rate, workers, timeout
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()
        self._failures: Counter[str] = Counter()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_at = 0.0
        self._sequence = 0

    # --- results ------------------------------------------------------------------------------------

    def counts(self) -> Counter[Key]:
        with self._lock:
            return Counter(self._counts)

    def by_status(self) -> Counter[int]:
        out: Counter[int] = Counter()
        for (_, _, status), n in self.counts().items():
            out[status] += n
        return out

    def failures(self) -> Counter[str]:
        with self._lock:
            return Counter(self._failures)

    def total(self) -> int:
        return sum(self.counts().values())

    # --- running ------------------------------------------------------------------------------------

    def start(self) -> Traffic:
        self._stop.clear()
        self._next_at = time.monotonic()
        self._threads = [threading.Thread(target=self._worker, args=(i,), name=f"traffic-{i}", daemon=True)
                         for i in range(self.workers)]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop and wait until every request in flight has its answer (or its failure) counted."""
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        self._threads = []

    def run(self, duration: float) -> None:
        self.start()
        try:
            self._stop.wait(duration)
        finally:
            self.stop()

    def _slot(self) -> int | None:
        """Wait for the next send time; the request's index in the mix, None once stopped."""
        with self._lock:
            at = self._next_at = max(self._next_at + 1 / self.rate, time.monotonic() - 1)
            index = self._sequence
            self._sequence += 1
        delay = at - time.monotonic()
        if delay > 0 and self._stop.wait(delay):
            return None
        return None if self._stop.is_set() else index

    def _worker(self, worker: int) -> None:
        owned = [s for s in STEP_DEFINITIONS if (s - 1) % self.workers == worker]
        steps = owned or [worker % len(STEP_DEFINITIONS) + 1]  # more workers than steps: shared, may conflict
        versions = {s: 1 for s in steps}  # the app starts every step at version 1; a 409 tells the current one
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        turn = 0
        try:
            while (index := self._slot()) is not None:
                method, route = MIX[index % len(MIX)]
                if (method, route) == STEP:
                    step = steps[turn % len(steps)]
                    turn += 1
                    body = json.dumps({"version": versions[step], "done": turn % 2 == 0})
                    path = route.replace("{id}", str(step))
                    status, answer = self._send(conn, method, path, body)
                    if status in (200, 409):
                        versions[step] = int(json.loads(answer).get("version", versions[step]))
                else:
                    status, _ = self._send(conn, method, route, "{}" if method == "POST" else None)
                if status:
                    with self._lock:
                        self._counts[(method, route, status)] += 1
        finally:
            conn.close()

    def _send(self, conn: http.client.HTTPConnection, method: str, path: str, body: str | None) -> tuple[int, bytes]:
        headers = {"content-type": "application/json"} if body is not None else {}
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # reconnects on the next request
            with self._lock:
                self._failures[f"{method} {path}: {type(exc).__name__}"] += 1
            return 0, b""


def main(argv: list[str] | None = None, echo: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser(description="Drive the onboarding API at a set rate for a set time.")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    traffic = Traffic(args.url, rate=args.rate, workers=args.workers)
    try:
        traffic.run(args.duration)
    except KeyboardInterrupt:
        traffic.stop()
    for (method, route, status), n in sorted(traffic.counts().items()):
        echo(f"{n:>7}  {status}  {method} {route}")
    for what, n in sorted(traffic.failures().items()):
        echo(f"{n:>7}  no answer  {what}")


if __name__ == "__main__":
    main()
