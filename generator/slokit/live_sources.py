"""Where ``slokit check --metrics-url`` reads live data: a service's own ``/metrics`` page.

(``check --prometheus`` reads Prometheus through :mod:`slokit.prometheus_client`.) The request goes through
:mod:`slokit.transport`: bounded as a whole by the timeout, retried a bounded number of times on connection
errors, timeouts, 429 and 5xx; anything that still gives no usable answer raises ``Unreachable`` (the CLI's
exit 3). URLs are shown without their user-info, so a password in a URL never reaches the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from prometheus_client.parser import text_string_to_metric_families

from slokit.prometheus_client import Sample
from slokit.transport import Failure, RetryPolicy, Session, Timeouts, attempts_text, request_with_retries

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


def safe_url(url: str) -> str:
    """``url`` without user, password, query and fragment."""
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


def _get(url: str, timeouts: Timeouts, retry: RetryPolicy) -> str:
    with Session() as session:
        result = request_with_retries(session, "GET", url, timeouts=timeouts, retry=retry,
                                      headers={"Accept": TEXT_FORMAT})
    if isinstance(result, Failure):
        tries = f" (after {attempts_text(retry)})" if result.retryable else ""
        raise Unreachable(f"{safe_url(url)}: {result.why}{tries}")
    return result.text


def scrape(url: str, timeouts: Timeouts, retry: RetryPolicy) -> Exposition:
    """Read and parse a service's ``/metrics`` (Prometheus text format) with prometheus-client's parser."""
    text = _get(url, timeouts, retry)
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
