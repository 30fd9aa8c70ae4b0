"""A small client for the parts of Grafana's HTTP API that ``slokit push`` uses.

Only the documented, long-standing endpoints: ``/api/health``, ``/api/folders`` and
``/api/dashboards/db`` / ``/api/dashboards/uid/<uid>``. Requests go through :mod:`slokit.transport`: each is
bounded as a whole by the timeout; connection errors, timeouts, 429 and 5xx answers are retried a bounded
number of times with exponential backoff within a total deadline; every other failure becomes a typed
``GrafanaError`` whose ``exit_code`` the CLI returns. A private CA is given with ``ca_file``.

The service-account token must never reach a terminal or a log. It travels only in the
``Authorization`` header set by ``BearerAuth`` (which also stops ``requests`` from replacing it with
``~/.netrc`` or URL credentials), exceptions from ``requests`` are never chained (they carry the
prepared request, headers included), and every message taken from a server answer is redacted, in any
form the server may echo the token: as is, URL-encoded or base64.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

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
    safe_url,
    status_failure,
    with_retries,
)

# --- errors --------------------------------------------------------------------------------------------


class GrafanaError(Exception):
    """A push step failed; ``exit_code`` tells scripts which kind of failure it was."""

    exit_code = 1
    #: True when every later request would fail the same way (no point in trying other dashboards).
    fatal = False


class ConfigError(GrafanaError):
    """URL or token missing or unusable; nothing was sent."""

    exit_code = 2
    fatal = True


class Unreachable(GrafanaError):
    """No HTTP answer at all (refused, DNS, TLS, timeout), after the retries."""

    exit_code = 3
    fatal = True


class Unauthorized(GrafanaError):
    """401: the token is missing, wrong, expired or revoked."""

    exit_code = 4
    fatal = True


class Forbidden(GrafanaError):
    """403: the token is valid but may not do this (role, folder permissions, quota)."""

    exit_code = 5


class FolderMissing(GrafanaError):
    """404, or 400 naming the folder: the dashboard's folder does not exist (or is not visible)."""

    exit_code = 6


class DashboardConflict(GrafanaError):
    """412: Grafana refused to overwrite (``version-mismatch``, ``name-exists``, ``plugin-dashboard``)."""

    exit_code = 7

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class ServerError(GrafanaError):
    """5xx (or 429) still failing after the retries, or the server reports its database failing."""

    exit_code = 8


class Rejected(GrafanaError):
    """Another 4xx: Grafana refused the request itself (bad JSON, uid too long, provisioned dashboard)."""

    exit_code = 9


class FolderExists(GrafanaError):
    """409 on folder creation: a folder with that uid or title exists already (callers handle it)."""

    exit_code = 9


# --- client --------------------------------------------------------------------------------------------

_MAX_DETAIL = 300
_TIMEOUTS = Timeouts()
_RETRY = RetryPolicy()


def check_token(token: str) -> str:
    """The token as it will be sent, or ConfigError; token files usually end in a newline."""
    token = token.strip()
    if not token:
        raise ConfigError("the Grafana token is empty")
    if any(ch.isspace() or not ch.isprintable() or ord(ch) > 126 for ch in token):
        # requests would put the header value, token included, into its InvalidHeader message.
        raise ConfigError("the Grafana token contains whitespace or non-ASCII characters; check the file")
    return token


def check_url(url: str) -> str:
    """Grafana's base URL without a trailing slash, or ConfigError."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the Grafana URL must look like https://grafana.example.com, got {safe_url(url)!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("the Grafana URL must not contain credentials; pass the token via GRAFANA_TOKEN")
    if parts.query or parts.fragment:
        raise ConfigError("the Grafana URL must not contain a query string or fragment")
    return url


@dataclass(frozen=True)
class SaveResult:
    uid: str
    version: int
    url: str
    status: str


class GrafanaClient:
    """Grafana's HTTP API with a service-account token."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeouts: Timeouts = _TIMEOUTS,
        retry: RetryPolicy = _RETRY,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "slokit",
        ca_file: str | None = None,
    ) -> None:
        self.base_url = check_url(url)
        self._token = check_token(token)
        self._timeouts = timeouts
        self._retry = retry
        self._sleep = sleep
        self._session = Session(user_agent=user_agent, verify=ca_file or True)
        self._session.auth = BearerAuth(self._token)
        self._session.headers["Accept"] = "application/json"

    def __repr__(self) -> str:
        return f"GrafanaClient({self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GrafanaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints -------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /api/health``; raises ServerError unless the database is ``ok``."""
        try:
            body = self._json(self._request("GET", "/api/health", what="the health check"))
        except ServerError as err:
            raise ServerError(f"Grafana at {self.base_url} is not healthy: {err}") from None
        except FolderMissing:
            raise Rejected(
                f"no Grafana API at {self.base_url}/api/health (404): check the URL, including any sub-path"
            ) from None
        if not isinstance(body, dict) or body.get("database") != "ok":
            state = body.get("database") if isinstance(body, dict) else None
            raise ServerError(f"Grafana at {self.base_url} reports its database as "
                              f"{self._redact(str(state or 'unknown'))[:40]}")
        # The answer is shown (the version): a careless or hostile server may have put the token in it.
        return {k: self._redact(v)[:_MAX_DETAIL] if isinstance(v, str) else v for k, v in body.items()}

    def list_folders(self, page_size: int = 1000) -> list[dict[str, Any]]:
        """Every folder the token can see (``GET /api/folders``, paged)."""
        folders: list[dict[str, Any]] = []
        page = 1
        while True:
            resp = self._request(
                "GET", "/api/folders", params={"limit": page_size, "page": page}, what="listing folders"
            )
            batch = self._json(resp)
            if not isinstance(batch, list):
                raise ServerError("listing folders: the answer is not a JSON list")
            seen = {f.get("uid") for f in folders}
            fresh = [f for f in batch if isinstance(f, dict) and f.get("uid") not in seen]
            folders.extend(fresh)
            if len(batch) < page_size or not fresh:  # the last page, or a server that ignores paging
                return folders
            page += 1

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        """``GET /api/folders/<uid>``; None when it does not exist."""
        what = f"reading folder {uid}"
        resp = self._request("GET", f"/api/folders/{quote(uid, safe='')}", what=what, ok404=True)
        if resp.status_code == 404:
            return None
        return self._object(resp, what)

    def create_folder(self, uid: str, title: str) -> dict[str, Any]:
        """``POST /api/folders``; FolderExists on 409."""
        resp = self._request(
            "POST", "/api/folders", json_body={"uid": uid, "title": title}, what=f"creating folder {title!r}"
        )
        return self._object(resp, f"creating folder {title!r}")

    def get_dashboard(self, uid: str) -> dict[str, Any] | None:
        """``GET /api/dashboards/uid/<uid>`` (``{"dashboard", "meta"}``); None when it does not exist."""
        what = f"reading dashboard {uid}"
        resp = self._request("GET", f"/api/dashboards/uid/{quote(uid, safe='')}", what=what, ok404=True)
        if resp.status_code == 404:
            return None
        return self._object(resp, what)

    def save_dashboard(
        self, dashboard: Mapping[str, Any], folder_uid: str, message: str, *, overwrite: bool = True
    ) -> SaveResult:
        """``POST /api/dashboards/db``: create, or replace the dashboard with the same uid."""
        uid = str(dashboard.get("uid") or "")
        what = f"saving dashboard {uid}"
        body = {
            "dashboard": {**dashboard, "id": None},
            "folderUid": folder_uid,
            "overwrite": overwrite,
            "message": message,
        }
        answer = self._object(self._request("POST", "/api/dashboards/db", json_body=body, what=what), what)
        try:
            return SaveResult(
                uid=str(answer["uid"]),
                version=int(answer["version"]),
                url=str(answer.get("url", "")),
                status=str(answer.get("status", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise ServerError(f"{what}: the answer lacks uid or version") from None

    # --- plumbing ----------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        ok404: bool = False,
    ) -> requests.Response:
        """Send with retries; return a 2xx answer (or 404 when ``ok404``), raise a GrafanaError otherwise."""

        def attempt(limit: float) -> requests.Response | Failure:
            try:
                resp = self._session.bounded(method, self.base_url + path, timeouts=self._timeouts, limit=limit,
                                             params=params, json=json_body)
            except requests.RequestException as exc:  # only its kind leaves: it holds the token header
                return attempt_failure(exc, self._timeouts)
            if resp.status_code in RETRY_STATUSES:
                return status_failure(resp, self._detail(resp))
            if 200 <= resp.status_code < 300 or (ok404 and resp.status_code == 404):
                return resp
            raise self._error_for(resp, what)

        result = with_retries(attempt, self._retry, self._timeouts, self._sleep)
        if not isinstance(result, Failure):
            return result
        if not result.retryable:
            raise Unreachable(f"{what}: {result.why}")
        tries = attempts_text(self._retry)
        if result.answered:
            raise ServerError(f"{what}: Grafana answered {result.why} ({tries})")
        raise Unreachable(f"{what}: cannot reach Grafana at {self.base_url}: {result.why} ({tries})")

    def _error_for(self, resp: requests.Response, what: str) -> GrafanaError:
        status = resp.status_code
        detail = self._detail(resp)
        body = self._maybe_json(resp)
        if status == 401:
            return Unauthorized(
                f"{what}: Grafana answered 401 Unauthorized{detail}: the token is missing, wrong or expired"
            )
        if status == 403:
            return Forbidden(
                f"{what}: Grafana answered 403 Forbidden{detail}: the token's service account may not do this "
                "(it needs the Editor role, or edit permission on the folder)"
            )
        if status == 404 or (status == 400 and "folder" in detail.lower()):
            return FolderMissing(f"{what}: Grafana answered {status}{detail}: the folder does not exist")
        if status == 409:
            return FolderExists(f"{what}: Grafana answered 409 Conflict{detail}")
        if status == 412:
            kind = str(body.get("status", "")) if isinstance(body, dict) else ""
            label = kind or "Precondition Failed"
            return DashboardConflict(f"{what}: Grafana answered 412 {label}{detail}", kind)
        if 300 <= status < 400:
            where = self._redact(redirect_target(resp.headers.get("Location", "?")))
            return Rejected(f"{what}: Grafana redirected to {where}; pass that address as the Grafana URL")
        return Rejected(f"{what}: Grafana answered {status}{detail}")

    def _detail(self, resp: requests.Response) -> str:
        """`` (<message>)`` from the answer, redacted and shortened, or an empty string."""
        body = self._maybe_json(resp)
        text = str(body.get("message", "")) if isinstance(body, dict) else ""
        if not text and isinstance(body, dict) and "database" in body:
            text = f"database {body['database']}"
        if not text and not isinstance(body, dict | list) and not resp.text.lstrip().startswith("<"):
            text = resp.text.strip().splitlines()[0] if resp.text.strip() else ""  # not an HTML error page
        text = self._redact(text)[:_MAX_DETAIL]
        return f" ({text})" if text else ""

    def _redact(self, text: str) -> str:
        return redact(text, [self._token])

    @staticmethod
    def _maybe_json(resp: requests.Response) -> Any:
        try:
            return resp.json()
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            return None

    def _json(self, resp: requests.Response) -> Any:
        body = self._maybe_json(resp)
        if body is None:
            raise ServerError(f"{resp.request.method} {urlsplit(resp.url).path}: the answer is not JSON")
        return body

    def _object(self, resp: requests.Response, what: str) -> dict[str, Any]:
        body = self._json(resp)
        if not isinstance(body, dict):
            raise ServerError(f"{what}: the answer is not a JSON object")
        return body
