"""The Prometheus HTTP API client of ``slokit report``: instant and range queries, with timeouts and retries.

Connection errors, timeouts, 429 and 5xx are retried (``RetryPolicy``); anything else Prometheus rejects
(a 400/422 with its ``error``) fails at once. Every failure becomes a :class:`PrometheusError` whose message
names the URL without credentials and never carries a ``requests`` exception text. Range queries longer
than Prometheus' 11,000-points limit are split into several calls and merged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from slokit.grafana_api import RetryPolicy, Timeouts, safe_url

#: Points per series of one range query; Prometheus refuses more than 11,000.
MAX_POINTS = 10_000


class PrometheusError(RuntimeError):
    """Prometheus could not be read: unreachable, timing out, failing (5xx) after the retries, or it
    rejected a query."""


def check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrometheusError(f"the Prometheus URL must look like http://127.0.0.1:9090, got {safe_url(url)!r}")
    return url


@dataclass(frozen=True)
class Series:
    labels: Mapping[str, str]
    points: tuple[tuple[datetime, float], ...]


def _ts(t: datetime) -> str:
    return f"{t.timestamp():.3f}"


class PrometheusClient:
    def __init__(self, base_url: str, *, timeouts: Timeouts | None = None, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, user_agent: str = "slokit") -> None:
        self.base_url = check_url(base_url)
        self.display_url = safe_url(self.base_url)
        self._timeouts = timeouts or Timeouts()
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _attempt(self, path: str, params: Mapping[str, str]) -> tuple[Any, str, bool]:
        """(data, "", _) or (None, why it failed, whether a retry may help)."""
        try:
            resp = self._session.post(self.base_url + path, data=params,
                                      timeout=(self._timeouts.connect, self._timeouts.read))
        except requests.Timeout:
            return None, f"no answer within {self._timeouts.read:g}s", True
        except requests.ConnectionError:
            return None, "connection failed (refused, DNS or TLS)", True
        except requests.RequestException as exc:
            return None, f"request failed ({type(exc).__name__})", False
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code == 429 or resp.status_code >= 500:
            detail = body.get("error") if isinstance(body, dict) else None
            return None, f"HTTP {resp.status_code}" + (f": {detail}" if detail else ""), True
        if not isinstance(body, dict) or "status" not in body:
            return None, f"HTTP {resp.status_code} without a Prometheus API answer (is this Prometheus?)", False
        if body["status"] != "success":
            return None, f"{body.get('errorType', 'error')}: {body.get('error', '')}", False
        return body.get("data"), "", False

    def _call(self, path: str, params: Mapping[str, str]) -> Any:
        why = ""
        for attempt in range(self._retry.attempts):
            if attempt:
                self._sleep(self._retry.delay(attempt - 1))
            data, why, retry = self._attempt(path, params)
            if not why:
                return data
            if not retry:
                raise PrometheusError(f"Prometheus at {self.display_url} rejected {params.get('query', path)!r}: {why}")
        raise PrometheusError(f"Prometheus at {self.display_url} unreachable: {why} "
                              f"(after {self._retry.attempts} attempt(s))")

    def ready(self) -> None:
        """Fail early with a clear error when nothing answers as Prometheus at the URL."""
        self._call("/api/v1/query", {"query": "vector(1)"})

    def query(self, expr: str, at: datetime) -> list[Series]:
        data = self._call("/api/v1/query", {"query": expr, "time": _ts(at)})
        return [Series(r["metric"], ((at, float(r["value"][1])),)) for r in data.get("result", ())]

    def query_range(self, expr: str, start: datetime, end: datetime, step: timedelta) -> list[Series]:
        """Points at start, start + step, ... up to end, in as many calls as the points limit needs."""
        merged: dict[tuple[tuple[str, str], ...], list[tuple[datetime, float]]] = {}
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + step * (MAX_POINTS - 1))
            data = self._call("/api/v1/query_range", {
                "query": expr, "start": _ts(chunk_start), "end": _ts(chunk_end), "step": f"{step.total_seconds():g}",
            })
            for r in data.get("result", ()):
                key = tuple(sorted(r["metric"].items()))
                merged.setdefault(key, []).extend(
                    (datetime.fromtimestamp(float(t), UTC), float(v)) for t, v in r["values"])
            chunk_start = chunk_end + step
        return [Series(dict(k), tuple(v)) for k, v in merged.items()]
