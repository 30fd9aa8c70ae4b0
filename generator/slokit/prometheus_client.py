"""The one client of Prometheus' HTTP API, for every command that reads Prometheus (check, report, gate, the stack).

It speaks to the Prometheus most teams actually query: behind a bearer token or basic auth, with a private
CA, a Mimir / Cortex tenant header (``X-Scope-OrgID``), or a Thanos querier. :class:`Connection` says how to
reach it (``slokit.cli.options`` builds one from the command line and the environment).

What a caller can rely on:

- instant queries (:meth:`PrometheusClient.query`), range queries split into several calls past
  Prometheus' points limit (:meth:`~PrometheusClient.query_range`), label values and metadata lookups;
- every answer is checked before it is used: an HTTP 200 whose ``data`` is null or of another shape, a
  value that is not a number, a result without ``metric`` is a :class:`PrometheusError`, never a crash;
- ``warnings`` (how Thanos and Mimir report a partial response) come back with each result
  (:attr:`Result.warnings`) and are collected on the client (:attr:`PrometheusClient.warnings`), so a
  decision taken on them can refuse to be favourable;
- each request is bounded as a whole by the timeout, and retried on connection errors, timeouts, 429 and
  5xx a bounded number of times within a total deadline (:mod:`slokit.transport`);
- one error type, :class:`PrometheusError` (exit 3 in every command); its messages show the URL without
  credentials and never a secret: a token, a password or a header value is redacted from anything the
  server sends back, and URLs with credentials in them are refused (:class:`ConfigProblem`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit

import requests
import urllib3

from slokit.transport import (
    RETRY_STATUSES,
    BearerAuth,
    Failure,
    RetryPolicy,
    Session,
    Timeouts,
    attempt_failure,
    attempts_text,
    redact,
    redirect_target,
    status_failure,
    with_retries,
)

#: Points per series of one range query; Prometheus refuses more than 11,000.
MAX_POINTS = 10_000
_MAX_DETAIL = 300
TIMEOUTS = Timeouts(connect=5.0, read=30.0)
RETRY = RetryPolicy(attempts=3)
_ITEM = TypeVar("_ITEM")


class PrometheusError(Exception):
    """Prometheus gave no usable answer: unreachable, timing out, failing after the retries, refusing the
    credentials, rejecting a query, or answering in a shape that is not Prometheus' API."""


class ConfigProblem(ValueError):
    """The connection settings cannot work (a URL with credentials, an unreadable secret file); nothing was
    sent. Commands answer with a usage error."""


CREDENTIALS_HINT = ("pass them with --prometheus-bearer-token-file or --prometheus-basic-auth-file "
                    "(or SLOKIT_PROMETHEUS_BEARER_TOKEN_FILE / SLOKIT_PROMETHEUS_BASIC_AUTH_FILE)")


def check_url(url: str) -> str:
    """Prometheus' base URL without a trailing slash; ConfigProblem for anything else, credentials included
    (they would end up in messages and process listings)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigProblem("the Prometheus URL must look like http://prometheus:9090 (http or https)")
    if parts.username is not None or parts.password is not None:
        raise ConfigProblem(f"the Prometheus URL must not contain credentials; {CREDENTIALS_HINT}")
    if parts.query or parts.fragment:
        raise ConfigProblem("the Prometheus URL must not contain a query string or fragment")
    return url


@dataclass(frozen=True)
class Connection:
    """Where Prometheus is and how to authenticate. Secrets are left out of ``repr``."""

    url: str
    bearer_token: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    #: Extra headers, e.g. ``("X-Scope-OrgID", "team-a")``; their values may be secrets too.
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    ca_file: str | None = None
    insecure_skip_verify: bool = False

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every value that must never be printed."""
        out = [self.bearer_token or ""]
        if self.basic_auth:
            out += [self.basic_auth[1], f"{self.basic_auth[0]}:{self.basic_auth[1]}"]
        out += [value for _, value in self.headers]
        return tuple(s for s in out if s)


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector (or a ``/metrics`` page): its labels and value."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and its (unix time, value) points."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


class Result(tuple[_ITEM, ...], Generic[_ITEM]):
    """A query's items, as a tuple, with the ``warnings`` Prometheus answered them with (partial data)."""

    warnings: tuple[str, ...]

    def __new__(cls, items: Iterable[_ITEM], warnings: Iterable[str] = ()) -> Result[_ITEM]:
        self = super().__new__(cls, items)
        self.warnings = tuple(warnings)
        return self


def _number(text: Any) -> float:
    """A sample value as Prometheus encodes it (a string: ``"0.5"``, ``"NaN"``, ``"+Inf"``)."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(text)
    return float(text)


def _labels(item: Any) -> dict[str, str]:
    metric = item.get("metric") if isinstance(item, dict) else None
    if not isinstance(metric, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metric.items()):
        raise ValueError("metric")
    return dict(metric)


class PrometheusClient:
    """Prometheus' read API (``/api/v1``) behind one :class:`Connection`; use as a context manager."""

    def __init__(self, connection: Connection | str, *, timeouts: Timeouts = TIMEOUTS,
                 retry: RetryPolicy = RETRY, sleep: Callable[[float], None] = time.sleep,
                 user_agent: str = "slokit") -> None:
        conn = Connection(connection) if isinstance(connection, str) else connection
        self.base_url = check_url(conn.url)
        #: The URL as shown in messages and reports (check_url keeps credentials out of it).
        self.url = self.base_url
        self._secrets = conn.secrets
        self._timeouts, self._retry, self._sleep = timeouts, retry, sleep
        verify: bool | str = False if conn.insecure_skip_verify else (conn.ca_file or True)
        if conn.insecure_skip_verify:  # asked for by name: no warning on every request
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._session = Session(user_agent=user_agent, verify=verify)
        self._session.headers["Accept"] = "application/json"
        self._session.headers.update(dict(conn.headers))
        if conn.bearer_token:
            self._session.auth = BearerAuth(conn.bearer_token)
        elif conn.basic_auth:
            self._session.auth = requests.auth.HTTPBasicAuth(*conn.basic_auth)
        #: Queries are POSTed (no URL length limit for long PromQL) unless the server refuses POST.
        self._post = True
        #: Every warning answered so far, in order, repeats included (so that a caller can tell which of its
        #: reads had one by the list's length before and after): a partial response somewhere.
        self.warnings: list[str] = []

    def __repr__(self) -> str:
        return f"PrometheusClient({self.url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints ---------------------------------------------------------------------------------------

    def ready(self) -> None:
        """Fail early with a clear error when nothing answers as Prometheus at the URL (or it refuses us)."""
        self.query("vector(1)")

    def query(self, expr: str, at: float | None = None) -> Result[Sample]:
        """The instant vector of ``expr`` at ``at`` (unix seconds; default now). A scalar is one sample
        without labels. Values are as Prometheus sent them: NaN and ±Inf included."""
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        data, warnings = self._call("POST", "/api/v1/query", params, expr)
        try:
            kind, result = data["resultType"], data["result"]
            if kind == "scalar":
                samples = [Sample({}, _number(result[1]))]
            elif kind == "vector" and isinstance(result, list):
                samples = [Sample(_labels(r), _number(r["value"][1])) for r in result]
            else:
                raise PrometheusError(f"Prometheus at {self.url} answered {expr!r} with a {kind!r}, not an "
                                      "instant vector")
        except (KeyError, IndexError, TypeError, ValueError):
            raise PrometheusError(f"Prometheus at {self.url} answered {expr!r} in a shape that is not Prometheus' API "
                         "(a result without metric, or a value that is not a number)") from None
        return Result(samples, warnings)

    def value(self, expr: str, at: float | None = None) -> float | None:
        """The single sample's value of ``expr``; None when it has none; PrometheusError when several."""
        samples = self.query(expr, at)
        if len(samples) > 1:
            raise PrometheusError(f"{expr} returned {len(samples)} samples, expected at most one")
        return samples[0].value if samples else None

    def query_range(self, expr: str, start: float, end: float, step: float) -> Result[Series]:
        """``expr`` every ``step`` seconds from ``start`` to ``end``, in as many calls as the points limit
        needs; series are merged by their labels."""
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"step must be a positive number of seconds, got {step}")
        merged: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        warnings: list[str] = []
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + step * (MAX_POINTS - 1))
            data, found = self._call("POST", "/api/v1/query_range", {
                "query": expr, "start": f"{chunk_start:.3f}", "end": f"{chunk_end:.3f}", "step": f"{step:g}",
            }, expr)
            warnings += found
            try:
                if data["resultType"] != "matrix" or not isinstance(data["result"], list):
                    raise ValueError("resultType")
                for r in data["result"]:
                    points = merged.setdefault(tuple(sorted(_labels(r).items())), [])
                    points.extend((_number(t), _number(v)) for t, v in r["values"])
            except (KeyError, IndexError, TypeError, ValueError):
                raise PrometheusError(f"Prometheus at {self.url} answered the range query {expr!r} in a shape "
                                      "that is not Prometheus' API (no matrix, a result without metric, or a "
                                      "value that is not a number)") from None
            chunk_start = chunk_end + step
        return Result((Series(dict(k), tuple(v)) for k, v in merged.items()), warnings)

    def label_values(self, label: str, match: str | None = None) -> Result[str]:
        """The values ``label`` takes (in the series ``match`` selects, when given)."""
        params = {"match[]": match} if match else {}
        data, warnings = self._call("GET", f"/api/v1/label/{quote(label, safe='')}/values", params, label, list)
        if not all(isinstance(v, str) for v in data):
            raise PrometheusError(f"Prometheus at {self.url} answered the values of {label!r} with something "
                                  "other than strings")
        return Result(data, warnings)

    def has_metadata(self, family: str) -> bool:
        """Whether any target's scrape declared the metric family (also before it has a sample)."""
        data, _ = self._call("GET", "/api/v1/metadata", {"metric": family}, family)
        return family in data

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts: ``labels``, ``annotations``, ``state``, ``value``."""
        data, _ = self._call("GET", "/api/v1/alerts", {}, "alerts")
        alerts = data.get("alerts")
        if not isinstance(alerts, list):
            raise PrometheusError(f"Prometheus at {self.url} answered /api/v1/alerts without a list of alerts")
        return alerts

    # --- plumbing ----------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, params: Mapping[str, str], what: str,
              shape: type[dict[str, Any]] | type[list[Any]] = dict) -> tuple[Any, list[str]]:
        """``data`` of a successful answer (of ``shape``) and its warnings; PrometheusError otherwise."""
        result = with_retries(lambda limit: self._attempt(method, path, params, what, shape, limit),
                              self._retry, self._timeouts, self._sleep)
        if isinstance(result, Failure):
            if result.retryable:
                raise PrometheusError(f"cannot get an answer from Prometheus at {self.url}: {result.why} "
                                      f"({attempts_text(self._retry)})")
            raise PrometheusError(result.why)
        data, warnings = result
        self.warnings.extend(warnings)
        return data, warnings

    def _attempt(self, method: str, path: str, params: Mapping[str, str], what: str,
                 shape: type[dict[str, Any]] | type[list[Any]], limit: float) -> tuple[Any, list[str]] | Failure:
        where = f"Prometheus at {self.url}"
        started = time.monotonic()
        try:
            post = method == "POST" and self._post
            resp = self._session.bounded("POST" if post else "GET", self.base_url + path, timeouts=self._timeouts,
                                         limit=limit, **({"data": params} if post else {"params": params}))
            if post and resp.status_code in (405, 501):  # a read-only proxy in front: ask again with GET
                self._post = False
                resp = self._session.bounded("GET", self.base_url + path, timeouts=self._timeouts,
                                             limit=max(0.1, limit - (time.monotonic() - started)), params=params)
        except requests.RequestException as exc:  # not chained: it carries the request and its headers
            failure = attempt_failure(exc, self._timeouts)
            return failure if failure.retryable else Failure(f"cannot reach {where}: {failure.why}", False)
        body = self._json(resp)
        detail = self._detail(body, resp)
        status = resp.status_code
        if status in RETRY_STATUSES:
            return status_failure(resp, detail)
        if status in (401, 403):
            return Failure(f"{where} refused the credentials (HTTP {status}{detail}); check "
                           "--prometheus-bearer-token-file, --prometheus-basic-auth-file and --prometheus-header",
                           False)
        if 300 <= status < 400:
            target = self._redact(redirect_target(resp.headers.get("Location", "?")))
            return Failure(f"{where} redirected to {target}; pass the address it redirects to as --prometheus "
                           "(redirects are not followed: they would carry the credentials elsewhere)", False)
        if status == 404:
            return Failure(f"no Prometheus API at {self.url}{path} (HTTP 404): check the URL, including any "
                           "sub-path", False)
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            return Failure(f"{where} answered HTTP {status} without a Prometheus API answer (is this "
                           "Prometheus?)", False)
        if body["status"] == "error" or status != 200:
            kind = self._redact(str(body.get("errorType", "error")))[:40]
            return Failure(f"{where} rejected {what!r}: {kind}{detail}", False)
        data = body.get("data")
        if not isinstance(data, shape):
            return Failure(f"{where} answered {what!r} with data that is not a JSON "
                           f"{'object' if shape is dict else 'list'} (got {type(data).__name__})", False)
        raw = body.get("warnings") or []
        warnings = [self._redact(str(w))[:_MAX_DETAIL] for w in (raw if isinstance(raw, list) else [raw])]
        return data, warnings

    @staticmethod
    def _json(resp: requests.Response) -> Any:
        try:
            return resp.json()
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            return None

    def _detail(self, body: Any, resp: requests.Response) -> str:
        """`` (<error>)`` from the answer, redacted and shortened, or an empty string."""
        text = str(body.get("error", "")) if isinstance(body, dict) else ""
        if not text and body is None and resp.text.strip() and not resp.text.lstrip().startswith("<"):
            text = resp.text.strip().splitlines()[0]
        text = self._redact(text)[:_MAX_DETAIL]
        return f" ({text})" if text else ""

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)
