"""Fault knobs of the example service: what share of requests fail, slow down, conflict or miss the cache.

Each share is applied deterministically (an accumulator, not a random draw): with a 10 % error share
exactly one request in ten fails, so the SLIs Prometheus computes can be checked against the share set.
Knobs come from the environment at start-up (``ONBOARDING_ERROR_RATIO``, ...) and can be changed while
running through ``PUT /admin/faults`` (loopback clients only).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from fractions import Fraction

#: Knob name -> environment variable read at start-up.
ENV = {
    "error_ratio": "ONBOARDING_ERROR_RATIO",
    "slow_ratio": "ONBOARDING_SLOW_RATIO",
    "latency": "ONBOARDING_LATENCY",
    "conflict_ratio": "ONBOARDING_CONFLICT_RATIO",
    "cache_miss_ratio": "ONBOARDING_CACHE_MISS_RATIO",
}
MAX_LATENCY = 30.0


class Share:
    """Says yes to exactly ``share`` of the calls, spread evenly (``next()`` is thread-safe)."""

    def __init__(self, share: float = 0.0) -> None:
        self._lock = threading.Lock()
        self.set(share)

    def set(self, share: float) -> None:
        if not 0 <= share <= 1:
            raise ValueError(f"a share must be between 0 and 1, got {share}")
        with self._lock:
            self.value = float(share)
            self._step = Fraction(str(share)).limit_denominator(10_000)
            self._acc = Fraction(0)

    def next(self) -> bool:
        with self._lock:
            self._acc += self._step
            if self._acc >= 1:
                self._acc -= 1
                return True
            return False


class Faults:
    """The knobs: ``error_ratio`` (API requests answered 500), ``slow_ratio`` and ``latency`` (share of API
    requests delayed by that many seconds), ``conflict_ratio`` (step updates made stale by a simulated
    concurrent writer, answered 409), ``cache_miss_ratio`` (step-definition lookups that find the entry
    evicted)."""

    def __init__(self) -> None:
        self.errors = Share()
        self.slow = Share()
        self.latency = 0.0
        self.conflicts = Share()
        self.cache_misses = Share()

    def as_dict(self) -> dict[str, float]:
        return {
            "error_ratio": self.errors.value,
            "slow_ratio": self.slow.value,
            "latency": self.latency,
            "conflict_ratio": self.conflicts.value,
            "cache_miss_ratio": self.cache_misses.value,
        }

    def update(self, knobs: Mapping[str, object]) -> None:
        """Set the given knobs (all checked before any is applied); ValueError names the bad one."""
        unknown = sorted(set(knobs) - set(ENV))
        if unknown:
            raise ValueError(f"unknown knob(s) {', '.join(unknown)}; known: {', '.join(ENV)}")
        values: dict[str, float] = {}
        for name, raw in knobs.items():
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError(f"{name} must be a number")
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, got {raw!r}") from None
            limit = MAX_LATENCY if name == "latency" else 1.0
            if not 0 <= value <= limit:
                raise ValueError(f"{name} must be between 0 and {limit:g}, got {value:g}")
            values[name] = value
        shares = {"error_ratio": self.errors, "slow_ratio": self.slow, "conflict_ratio": self.conflicts,
                  "cache_miss_ratio": self.cache_misses}
        for name, value in values.items():
            if name == "latency":
                self.latency = value
            else:
                shares[name].set(value)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Faults:
        faults = cls()
        faults.update({name: environ[var] for name, var in ENV.items() if environ.get(var)})
        return faults
