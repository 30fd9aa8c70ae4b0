"""Command-line options shared by the commands that talk HTTP: how to reach Prometheus, and timeouts.

``@request_options(timeout, retries)`` gives ``--timeout`` (seconds for each request as a whole, a finite
number: ``nan`` and ``inf`` are usage errors), ``--retries`` and ``--backoff`` to check, report, gate and push.

``@prometheus_connection_options`` gives every command that reads Prometheus (``check --prometheus``,
``report``, ``gate``) the same options, mirrored by environment variables for CI:

=====================================  ======================================  =============================
option                                 environment variable                    holds
=====================================  ======================================  =============================
--prometheus-bearer-token-file FILE    SLOKIT_PROMETHEUS_BEARER_TOKEN_FILE     a token (sent as Bearer)
--prometheus-basic-auth-file FILE      SLOKIT_PROMETHEUS_BASIC_AUTH_FILE       ``user:password``
--prometheus-header 'Name: value'      SLOKIT_PROMETHEUS_HEADERS (one a line)  e.g. ``X-Scope-OrgID: team-a``
--prometheus-ca-file FILE              SLOKIT_PROMETHEUS_CA_FILE               PEM CA certificates
--prometheus-insecure-skip-verify      SLOKIT_PROMETHEUS_INSECURE_SKIP_VERIFY  (off by default)
=====================================  ======================================  =============================

Secrets come only from files or the environment and are never echoed: not the token, not the password,
not a header's value (a tenant header can be a credential too).
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from slokit.prometheus_client import ConfigProblem, Connection, check_url
from slokit.transport import FileProblem, RetryPolicy, Timeouts, check_ca_file, read_small_file

ENV_BEARER_TOKEN_FILE = "SLOKIT_PROMETHEUS_BEARER_TOKEN_FILE"
ENV_BASIC_AUTH_FILE = "SLOKIT_PROMETHEUS_BASIC_AUTH_FILE"
ENV_HEADERS = "SLOKIT_PROMETHEUS_HEADERS"
ENV_CA_FILE = "SLOKIT_PROMETHEUS_CA_FILE"
ENV_INSECURE = "SLOKIT_PROMETHEUS_INSECURE_SKIP_VERIFY"

#: Seconds beyond which a timeout is certainly a typo (a day).
MAX_SECONDS = 86_400.0


class Seconds(click.ParamType[float, Any]):
    """A positive, finite number of seconds (``nan`` and ``inf`` are usage errors, not "wait forever")."""

    name = "seconds"

    def __init__(self, minimum: float = 0.1) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or not self.minimum <= seconds <= MAX_SECONDS:
            self.fail(f"{value!r} must be a finite number of seconds from {self.minimum:g} to {MAX_SECONDS:g}",
                      param, ctx)
        return seconds


@dataclass(frozen=True)
class ConnectionOptions:
    """The connection options as given (file names, not yet their contents)."""

    bearer_token_file: str | None
    basic_auth_file: str | None
    headers: tuple[str, ...] = field(repr=False)  # header values can be credentials
    ca_file: str | None
    insecure_skip_verify: bool

    def connection(self, url: str) -> Connection:
        """The :class:`Connection` to ``url``, files read; ConfigProblem (a usage error) naming what is wrong,
        never a secret."""
        url = check_url(url)
        if self.bearer_token_file and self.basic_auth_file:
            raise ConfigProblem("give either --prometheus-bearer-token-file or --prometheus-basic-auth-file, not both")
        if self.ca_file and self.insecure_skip_verify:
            raise ConfigProblem("--prometheus-ca-file and --prometheus-insecure-skip-verify exclude each other")
        try:
            token = _token(self.bearer_token_file) if self.bearer_token_file else None
            basic = _basic(self.basic_auth_file) if self.basic_auth_file else None
            ca_file = check_ca_file(self.ca_file, "Prometheus CA file") if self.ca_file else None
        except FileProblem as err:
            raise ConfigProblem(str(err)) from None
        return Connection(url, bearer_token=token, basic_auth=basic, headers=tuple(map(_header, self.headers)),
                          ca_file=ca_file, insecure_skip_verify=self.insecure_skip_verify)


def _printable(value: str) -> bool:
    # requests would put a header value with a newline or non-ASCII character, secret included, into its error.
    return all(ch.isprintable() and ord(ch) < 127 for ch in value)


def _token(path: str) -> str:
    token = read_small_file(path, "Prometheus bearer token file").strip()
    if not token:
        raise ConfigProblem(f"the Prometheus bearer token file {path} is empty")
    if any(ch.isspace() for ch in token) or not _printable(token):
        raise ConfigProblem(f"the Prometheus bearer token file {path} holds whitespace or non-ASCII characters")
    return token


def _basic(path: str) -> tuple[str, str]:
    text = read_small_file(path, "Prometheus basic auth file").strip("\r\n")
    user, colon, password = text.partition(":")
    if not colon or not user or not password or "\n" in text or not _printable(text):
        raise ConfigProblem(f"the Prometheus basic auth file {path} must hold one line user:password")
    return user, password


#: An HTTP header name (RFC 9110's token).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not name or not value or not _printable(text) or any(ch.isspace() for ch in name):
        # Nothing of it is shown but a well-formed name: a tenant header can be a credential, and text
        # without its colon (``Authorization Bearer <token>``, or the token alone) is all value.
        shown = f"the header named {name[:40]!r}" if colon and _HEADER_NAME.fullmatch(name) else "the text given"
        raise ConfigProblem(f"--prometheus-header must look like 'X-Scope-OrgID: team-a' ({shown} is not of that "
                            "form; its value is not shown)")
    if name.lower() in ("authorization", "host", "content-length"):
        raise ConfigProblem(f"--prometheus-header cannot set {name}; use --prometheus-bearer-token-file or "
                            "--prometheus-basic-auth-file for credentials")
    return name, value


def _env_headers(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """The repeated option, or else SLOKIT_PROMETHEUS_HEADERS (one header a line)."""
    if value:
        return value
    return tuple(line for line in os.environ.get(ENV_HEADERS, "").splitlines() if line.strip())


_OPTIONS = (
    click.option("--prometheus-bearer-token-file", "bearer_token_file", envvar=ENV_BEARER_TOKEN_FILE,
                 metavar="FILE", help=f"File holding a bearer token for Prometheus  [env: {ENV_BEARER_TOKEN_FILE}]"),
    click.option("--prometheus-basic-auth-file", "basic_auth_file", envvar=ENV_BASIC_AUTH_FILE, metavar="FILE",
                 help=f"File holding user:password for Prometheus' basic auth  [env: {ENV_BASIC_AUTH_FILE}]"),
    click.option("--prometheus-header", "headers", multiple=True, metavar="'NAME: VALUE'", callback=_env_headers,
                 help="Header sent to Prometheus, e.g. 'X-Scope-OrgID: team-a' (repeatable; the value is never "
                      f"printed)  [env: {ENV_HEADERS}, one a line]"),
    click.option("--prometheus-ca-file", "ca_file", envvar=ENV_CA_FILE, metavar="FILE",
                 help=f"PEM file of the CA(s) that signed Prometheus' certificate  [env: {ENV_CA_FILE}]"),
    click.option("--prometheus-insecure-skip-verify", "insecure_skip_verify", is_flag=True, envvar=ENV_INSECURE,
                 help=f"Do not verify Prometheus' TLS certificate (tests only)  [env: {ENV_INSECURE}]"),
)
_NAMES = ("bearer_token_file", "basic_auth_file", "headers", "ca_file", "insecure_skip_verify")


def prometheus_connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the connection options to a click command, which receives them as ``prometheus_options``
    (a :class:`ConnectionOptions`)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in _NAMES}
        return command(*args, prometheus_options=ConnectionOptions(**given), **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


@dataclass(frozen=True)
class RequestPolicy:
    """``--timeout``, ``--retries`` and ``--backoff`` as the transport's policies."""

    timeout: float
    retries: int
    backoff: float

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(connect=min(5.0, self.timeout), read=self.timeout)

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retries + 1, backoff=self.backoff)


def request_options(timeout: float, retries: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Adds ``--timeout``, ``--retries`` and ``--backoff`` (with these defaults) to a click command, which
    receives them as ``requests`` (a :class:`RequestPolicy`)."""
    options = (
        click.option("--timeout", default=timeout, show_default=True, type=Seconds(),
                     help="Seconds for each request as a whole, answer included (connecting: at most 5)."),
        click.option("--retries", default=retries, show_default=True, type=click.IntRange(0, 10),
                     help="Retries after a connection error, timeout, 429 or 5xx answer."),
        click.option("--backoff", default=0.5, show_default=True, type=Seconds(minimum=0),
                     help="Seconds before the first retry; doubled for each further one (at most 8)."),
    )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            policy = RequestPolicy(kwargs.pop("timeout"), kwargs.pop("retries"), kwargs.pop("backoff"))
            return command(*args, requests=policy, **kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate
