"""A client for the two read endpoints of Prometheus' HTTP API that ``slokit gate`` uses.

``/api/v1/query`` and ``/api/v1/query_range``, with a timeout on every request and a bounded number of
retries (exponential backoff) on connection errors, timeouts, 429 and 5xx, the same policy as the Grafana
client. Every failure becomes ``PrometheusError``: the gate then answers "Prometheus unreachable", never a
verdict taken on missing data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from slokit.grafana_api import RetryPolicy, Timeouts, connection_reason

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_DETAIL = 300


class PrometheusError(Exception):
    """No usable answer from Prometheus (unreachable, timing out, failing, or refusing a query)."""


def check_url(url: str) -> str:
    """Prometheus' base URL without a trailing slash; ValueError for anything else, credentials included
    (they would end up in messages: put Prometheus behind a proxy that authenticates instead)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the Prometheus URL must look like http://prometheus:9090")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the Prometheus URL must not contain credentials")
    if parts.query or parts.fragment:
        raise ValueError("the Prometheus URL must not contain a query string or fragment")
    return url


@dataclass(frozen=True)
class Series:
    """One series of a query answer: its labels and its (unix time, value) points."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]


_TIMEOUTS = Timeouts()
_RETRY = RetryPolicy()


class PrometheusClient:
    def __init__(self, url: str, *, timeouts: Timeouts = _TIMEOUTS, retry: RetryPolicy = _RETRY,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = check_url(url)
        self._timeouts, self._retry, self._sleep = timeouts, retry, sleep
        self._session = requests.Session()
        self._session.headers.update({"Accept": "application/json", "User-Agent": "slokit"})

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def instant(self, expr: str, at: float) -> list[float]:
        """Values of ``expr`` at ``at`` (unix seconds), one per series; NaN values are left out."""
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        try:
            if data.get("resultType") == "scalar":
                values = [float(data["result"][1])]
            else:
                values = [float(r["value"][1]) for r in data["result"]]
        except (KeyError, IndexError, TypeError, ValueError):
            raise PrometheusError(f"Prometheus at {self.base_url} answered a query in an unknown shape") from None
        return [v for v in values if not math.isnan(v)]

    def range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """``expr`` evaluated every ``step`` seconds from ``start`` to ``end`` (a matrix)."""
        data = self._get("/api/v1/query_range",
                         {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"})
        try:
            return [Series(dict(r["metric"]), tuple((float(t), float(v)) for t, v in r["values"]))
                    for r in data["result"]]
        except (KeyError, IndexError, TypeError, ValueError):
            raise PrometheusError(f"Prometheus at {self.base_url} answered a range query in an unknown shape") from None

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        last = ""
        for attempt in range(self._retry.attempts):
            if attempt:
                self._sleep(self._retry.delay(attempt - 1))
            try:
                resp = self._session.get(self.base_url + path, params=params, allow_redirects=False,
                                         timeout=(self._timeouts.connect, self._timeouts.read))
            except requests.ConnectTimeout:
                last = f"no connection within {self._timeouts.connect:g}s"
                continue
            except requests.Timeout:
                last = f"no answer within {self._timeouts.read:g}s"
                continue
            except requests.ConnectionError as exc:
                last = connection_reason(exc)
                continue
            except requests.RequestException as exc:
                raise PrometheusError(f"the request to {self.base_url} failed ({type(exc).__name__})") from None
            if resp.status_code in _RETRY_STATUSES:
                last = f"HTTP {resp.status_code}{_detail(resp)}"
                continue
            if resp.status_code != 200:
                raise PrometheusError(f"Prometheus at {self.base_url} answered HTTP {resp.status_code}"
                                      f"{_detail(resp)}")
            body = _json(resp)
            if not isinstance(body, dict) or body.get("status") != "success" or not isinstance(body.get("data"), dict):
                raise PrometheusError(f"Prometheus at {self.base_url} gave no usable answer{_detail(resp)}")
            data: dict[str, Any] = body["data"]
            return data
        tries = f"{self._retry.attempts} attempt{'s' if self._retry.attempts != 1 else ''}"
        raise PrometheusError(f"cannot reach Prometheus at {self.base_url}: {last} ({tries})")


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _detail(resp: requests.Response) -> str:
    body = _json(resp)
    text = str(body.get("error", "")) if isinstance(body, dict) else ""
    return f" ({text[:_MAX_DETAIL]})" if text else ""
