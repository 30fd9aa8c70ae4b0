"""The HTTP edge every slokit client shares: whole-request deadlines, bounded retries, TLS, bounded secret files.

Prometheus (:mod:`slokit.prometheus_client`), Grafana (:mod:`slokit.grafana_api`), a service's ``/metrics``
(:mod:`slokit.live_sources`) and the Slack webhook (:mod:`slokit.report.slack`) all talk through
:class:`Session` and :func:`with_retries`, so that each has the same guarantees:

- a request's timeout bounds the *whole* request: connecting, sending, the headers and every byte of the
  body. ``requests``' own read timeout only bounds the wait for each chunk, so a server trickling one byte
  a second would hold a command for hours; here a watchdog shuts the request's socket down at its deadline.
- retries are bounded in number and in time: connection errors, timeouts, 429 and 5xx are retried with an
  exponential backoff (a server's ``Retry-After`` is honoured up to the policy's cap) and no attempt starts
  or sleeps past the call's total deadline.
- exceptions from ``requests`` never leave this module's callers as a cause or context: they carry the
  prepared request, credentials included; only a short reason (:func:`connection_reason`) does.
- secret and CA files are read with a size limit, regular files only (:func:`read_small_file`): a path
  such as ``/dev/zero`` or a FIFO is refused instead of being read until memory runs out.
"""

from __future__ import annotations

import base64
import contextlib
import math
import os
import re
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, urlsplit
from weakref import WeakSet

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

#: Answers worth another attempt: rate limited, or the server (or a proxy in front of it) failing.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Secret files (tokens, passwords, webhook URLs, headers) are small; anything larger is a wrong path.
SECRET_FILE_LIMIT = 64 * 1024
#: A CA bundle holds a few certificates; the system bundle is about 200 KiB.
CA_FILE_LIMIT = 4 * 1024 * 1024

T = TypeVar("T")


# --- policies ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` requests at most; sleeps ``backoff * 2**n`` seconds (capped) between them."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0

    def delay(self, retry: int) -> float:
        return float(min(self.max_backoff, self.backoff * (2**retry)))


@dataclass(frozen=True)
class Timeouts:
    """``connect``: seconds to open the TCP connection; ``read``: seconds for the whole request, from the
    first byte sent to the last byte of the answer (connecting included)."""

    connect: float = 5.0
    read: float = 30.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.connect) and math.isfinite(self.read) and self.connect > 0 and self.read > 0):
            raise ValueError("timeouts must be positive, finite numbers of seconds")

    def total(self, policy: RetryPolicy) -> float:
        """The longest a call with ``policy``'s retries may take: every attempt and every pause between."""
        return policy.attempts * self.read + sum(policy.delay(i) for i in range(max(0, policy.attempts - 1)))


# --- a session whose requests are bounded as a whole -------------------------------------------------------


class _Tracked:
    """Mixin of the connection classes: remembers every socket a session opens, so that the watchdog of a
    request past its deadline can shut it down (which wakes a ``recv`` blocked in another thread)."""

    sockets: WeakSet[socket.socket]

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        self.sockets.add(sock)
        return sock


def _adapter(sockets: WeakSet[socket.socket]) -> HTTPAdapter:
    """An adapter whose pools open :class:`_Tracked` connections that report into ``sockets``."""

    class Conn(_Tracked, HTTPConnection):
        pass

    class TLSConn(_Tracked, HTTPSConnection):
        pass

    Conn.sockets = TLSConn.sockets = sockets

    class Pool(HTTPConnectionPool):
        ConnectionCls = Conn

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConn

    adapter = HTTPAdapter(max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}
    return adapter


class DeadlineExceeded(requests.Timeout):
    """The whole request did not finish within its limit (raised instead of whatever the cut socket gave)."""


#: The most of one answer that is read: a month of a grouped SLO's buckets is a few MB, while a server that
#: floods its answer fills memory faster than any deadline ends it (1.8 GB in 3 s over the loopback).
ANSWER_LIMIT = 256 << 20


class AnswerTooLarge(requests.RequestException):
    """The answer went past :data:`ANSWER_LIMIT`; the rest was not read."""


def _read_body(resp: requests.Response) -> None:
    """Read ``resp``'s body (``resp.content`` from then on), at most :data:`ANSWER_LIMIT` bytes of it."""
    body = bytearray()
    for chunk in resp.iter_content(1 << 16):
        body += chunk
        if len(body) > ANSWER_LIMIT:
            resp.close()
            raise AnswerTooLarge()
    resp._content = bytes(body)


class Session(requests.Session):
    """A ``requests`` session whose every request is bounded as a whole by ``limit`` seconds.

    Redirects are never followed (``allow_redirects=False`` by default): a redirect would carry the
    credentials to another address. Use one session per thread.
    """

    def __init__(self, *, user_agent: str = "slokit", verify: bool | str = True) -> None:
        super().__init__()
        self._sockets: WeakSet[socket.socket] = WeakSet()
        adapter = _adapter(self._sockets)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.headers["User-Agent"] = user_agent
        self.verify = verify

    def bounded(self, method: str, url: str, *, timeouts: Timeouts, limit: float | None = None,
                **kwargs: Any) -> requests.Response:
        """One request that ends within ``limit`` seconds (default ``timeouts.read``), body included."""
        limit = timeouts.read if limit is None else limit
        fired = threading.Event()

        def cut() -> None:
            fired.set()
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(limit, cut)
        watchdog.daemon = True
        watchdog.start()
        kwargs.setdefault("allow_redirects", False)
        # Per request: a session's own ``verify`` loses against REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.
        kwargs.setdefault("verify", self.verify)
        try:
            resp = self.request(method, url, timeout=(min(timeouts.connect, limit), limit), stream=True, **kwargs)
            _read_body(resp)
        except requests.RequestException:
            if fired.is_set():
                raise DeadlineExceeded(f"no complete answer within {limit:g}s") from None
            raise
        finally:
            watchdog.cancel()
        if fired.is_set():  # a close-delimited body cut short would otherwise look complete
            resp.close()
            raise DeadlineExceeded(f"no complete answer within {limit:g}s")
        return resp


class BearerAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer``; a set ``session.auth`` also keeps ``~/.netrc`` credentials from
    replacing it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


# --- retries -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """Why one attempt gave no usable answer, whether another attempt may help, and how long to wait first."""

    why: str
    retryable: bool
    wait: float = 0.0
    #: The server answered (with a retryable status), as opposed to no answer at all.
    answered: bool = False


def attempt_failure(exc: requests.RequestException, timeouts: Timeouts) -> Failure:
    """The :class:`Failure` of a request that raised: only the kind of problem, never the exception's text."""
    if isinstance(exc, AnswerTooLarge):
        return Failure(f"an answer larger than {ANSWER_LIMIT >> 20} MiB", False)
    if isinstance(exc, DeadlineExceeded):
        return Failure(f"no complete answer within {timeouts.read:g}s", True)
    if isinstance(exc, requests.ConnectTimeout):
        return Failure(f"no connection within {timeouts.connect:g}s", True)
    if isinstance(exc, requests.Timeout):
        return Failure(f"no answer within {timeouts.read:g}s", True)
    if isinstance(exc, requests.exceptions.SSLError):  # a certificate does not start to verify by itself
        return Failure(connection_reason(exc), False)
    if isinstance(exc, requests.ConnectionError):
        return Failure(connection_reason(exc), True)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return Failure("the answer was cut off or garbled", True)
    return Failure(f"the request failed ({type(exc).__name__})", False)


def status_failure(resp: requests.Response, detail: str = "") -> Failure:
    """A retryable status (429, 5xx) as a :class:`Failure`, with the server's ``Retry-After`` as the wait."""
    return Failure(f"HTTP {resp.status_code}{detail}", True, retry_after(resp), answered=True)


def with_retries(attempt: Callable[[float], T | Failure], policy: RetryPolicy, timeouts: Timeouts,
                 sleep: Callable[[float], None] = time.sleep) -> T | Failure:
    """Call ``attempt(limit)`` until it returns something other than a retryable :class:`Failure`, at most
    ``policy.attempts`` times and within the call's total deadline (:meth:`Timeouts.total`); ``limit`` is
    the seconds the attempt may take. Returns the result or the last failure."""
    deadline = time.monotonic() + timeouts.total(policy)
    result: T | Failure = Failure("no attempt made", False)
    for n in range(policy.attempts):
        if n:
            assert isinstance(result, Failure)
            pause = min(max(policy.delay(n - 1), result.wait), policy.max_backoff)
            if time.monotonic() + pause >= deadline:
                break
            sleep(pause)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        result = attempt(min(timeouts.read, left))
        if not isinstance(result, Failure) or not result.retryable:
            return result
    return result


def request_with_retries(session: Session, method: str, url: str, *, timeouts: Timeouts, retry: RetryPolicy,
                         sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> requests.Response | Failure:
    """A plain request (no API to interpret) retried per ``retry``: the 2xx answer, or the last Failure; a
    status that is neither 2xx nor worth a retry ends it at once."""

    def attempt(limit: float) -> requests.Response | Failure:
        try:
            resp = session.bounded(method, url, timeouts=timeouts, limit=limit, **kwargs)
        except requests.RequestException as exc:  # not chained: it holds the request
            return attempt_failure(exc, timeouts)
        if resp.status_code in RETRY_STATUSES:
            return status_failure(resp)
        if not 200 <= resp.status_code < 300:
            return Failure(f"HTTP {resp.status_code}", False)
        return resp

    return with_retries(attempt, retry, timeouts, sleep)


def retry_after(resp: requests.Response) -> float:
    """The server's ``Retry-After`` in seconds (429, 503); 0 when absent or an HTTP date."""
    try:
        value = float(resp.headers.get("Retry-After", "0"))
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def attempts_text(policy: RetryPolicy) -> str:
    return f"{policy.attempts} attempt{'s' if policy.attempts != 1 else ''}"


def connection_reason(exc: requests.ConnectionError) -> str:
    """A short cause (refused, DNS, TLS) without the exception's request object or its text verbatim."""
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.SSLError):
        if "certificate verify failed" in text:
            return "TLS certificate not trusted (pass the CA file that signed it)"
        return "TLS handshake failed"
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not found"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "connection closed by the server"
    return "connection failed"


# --- URLs and files -----------------------------------------------------------------------------------------


def safe_url(url: str) -> str:
    """``url`` with any user-info removed (for messages about URLs that were rejected)."""
    return re.sub(r"//[^/@]*@", "//<redacted>@", url)


def redirect_target(location: str) -> str:
    """Where a redirect points, for a message: scheme, host and path only (user-info, query and fragment can
    hold tokens, and a careless server puts ours there)."""
    parts = urlsplit(location.strip())
    if not parts.scheme or not parts.hostname:
        return parts.path[:200] or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"[:200]


class FileProblem(ValueError):
    """A secret or CA file that cannot be used; the message names the file, never its content."""


def read_small_file(path: str, what: str, limit: int = SECRET_FILE_LIMIT) -> str:
    """The text of ``path`` (UTF-8), refusing anything but a regular file of at most ``limit`` bytes.

    Opened without blocking (a FIFO would otherwise wait for a writer) and checked on the open file itself,
    so the file that is read is the file that was checked.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise FileProblem(f"cannot read the {what} {path}: {err.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem(f"the {what} {path} is not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileProblem(f"the {what} {path} is larger than {limit // 1024} KiB; is it the right file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileProblem(f"the {what} {path} is not UTF-8 text") from None


def check_ca_file(path: str, what: str) -> str:
    """``path`` when it is a readable regular file of PEM certificates (not their content: ``requests``
    reads it); FileProblem otherwise."""
    if "-----BEGIN CERTIFICATE-----" not in read_small_file(path, what, CA_FILE_LIMIT):
        raise FileProblem(f"the {what} {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return path


def _base64_forms(secret: bytes) -> set[str]:
    """The parts of a base64 text that encode ``secret`` wherever it sits in the encoded value (three
    alignments), e.g. a token inside ``user:token`` of a basic-auth header; both alphabets, no padding."""
    forms: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode()
        first = -(-offset // 3) * 4  # the first group holding only the secret's bytes
        last = (offset + len(secret)) // 3 * 4  # the end of the last complete group
        part = encoded[first:last]
        if len(part) >= 8:
            forms |= {part, part.replace("+", "-").replace("/", "_")}
    whole = base64.b64encode(secret).decode()
    forms |= {whole, whole.rstrip("=")}
    return forms


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced, in each form a server may echo it: as is, URL-encoded, hex (either
    case), base64 (also inside a longer encoded value such as a basic-auth header), and the user-info of URLs."""
    for secret in secrets:
        if not secret:
            continue
        forms = ({secret, quote(secret, safe=""), quote_plus(secret), secret.encode().hex()}
                 | _base64_forms(secret.encode()))
        for form in sorted(forms, key=len, reverse=True):
            if len(form) >= 4:
                text = re.sub(re.escape(form), "<redacted>", text, flags=re.IGNORECASE)
    return safe_url(text)
