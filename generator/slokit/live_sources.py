"""Where ``slokit check --metrics-url/--prometheus`` reads live data: a service's ``/metrics`` or Prometheus.

The HTTP edge of the live check: every request has a timeout, connection errors, timeouts and 5xx answers
are retried a bounded number of times with a growing pause, and anything that still gives no usable answer
raises ``Unreachable`` (the CLI's exit 3). URLs are shown without their user-info, so a password in a URL
never reaches the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from prometheus_client.parser import text_string_to_metric_families

#: The text format prometheus-client's parser reads (OpenMetrics would need another parser).
TEXT_FORMAT = "text/plain;version=0.0.4"
#: Sample names a family of each type exposes, as suffixes of the family name.
_SUFFIXES: Mapping[str, tuple[str, ...]] = {
    "counter": ("_total", "_created", ""),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}


class Unreachable(Exception):
    """No usable answer from the URL after the retries (refused, timeout, HTTP error, not the expected format)."""


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class HTTP:
    """Timeout and retry policy of every request."""

    timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.5

    def get(self, url: str, params: Mapping[str, str] | None = None, accept: str | None = None) -> requests.Response:
        headers = {"Accept": accept} if accept else {}
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = requests.get(url, params=params, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g}s"
                continue
            except requests.ConnectionError:
                problem = "cannot connect (refused, unknown host or network down)"
                continue
            except requests.RequestException as exc:  # not chained: the exception carries the request
                problem = type(exc).__name__
                continue
            if resp.status_code >= 500:
                problem = f"HTTP {resp.status_code}"
                continue
            if resp.status_code != 200:
                raise Unreachable(f"{safe_url(url)}: HTTP {resp.status_code}")
            return resp
        raise Unreachable(f"{safe_url(url)}: {problem} (after {self.retries + 1} attempt(s))")


def safe_url(url: str) -> str:
    """``url`` without user and password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class Exposition:
    """One scrape of a ``/metrics`` page: samples by sample name, and every sample name a family declares."""

    url: str
    samples: Mapping[str, tuple[Sample, ...]]
    declared: frozenset[str]


def scrape(url: str, http: HTTP = HTTP()) -> Exposition:
    """Read and parse a service's ``/metrics`` (Prometheus text format) with prometheus-client's parser."""
    text = http.get(url, accept=TEXT_FORMAT).text
    samples: dict[str, list[Sample]] = {}
    declared: set[str] = set()
    try:
        for family in text_string_to_metric_families(text):
            declared |= {family.name + s for s in _SUFFIXES.get(family.type, ("",))}
            for s in family.samples:
                samples.setdefault(s.name, []).append(Sample(dict(s.labels), float(s.value)))
    except ValueError as exc:
        raise Unreachable(f"{safe_url(url)}: not the Prometheus text format ({exc})") from None
    return Exposition(safe_url(url), {k: tuple(v) for k, v in samples.items()}, frozenset(declared | set(samples)))


class Prometheus:
    """The read-only calls of Prometheus' HTTP API the live check makes."""

    def __init__(self, base_url: str, http: HTTP = HTTP()) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = safe_url(self.base_url)
        self.http = http

    def _data(self, path: str, params: Mapping[str, str]) -> Any:
        resp = self.http.get(f"{self.base_url}{path}", params)
        try:
            body = resp.json()
        except ValueError:
            raise Unreachable(f"{self.url}{path}: not a Prometheus API answer (no JSON)") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            raise Unreachable(f"{self.url}{path}: not a Prometheus API answer ({error or 'no status'})")
        return body.get("data")

    def query(self, expr: str) -> list[Sample]:
        data = self._data("/api/v1/query", {"query": expr})
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            raise Unreachable(f"{self.url}: {expr} did not return an instant vector")
        return [Sample(r["metric"], float(r["value"][1])) for r in data["result"]]

    def has_metadata(self, family: str) -> bool:
        """Whether any target's scrape declared the metric family (also before it has a sample)."""
        data = self._data("/api/v1/metadata", {"metric": family})
        return isinstance(data, dict) and family in data
