"""`check --prometheus`, `report` and `gate` against a real Prometheus behind authentication and TLS.

A real Prometheus holds four hours of backfilled traffic of the example service (healthy, then an error
burst, as in the gate's backfill tests) ending now. In front of it runs :class:`tls_helpers.AuthProxy`, a
small HTTPS reverse proxy with a private CA made by the test: it wants a bearer token or basic auth, and the
tenant header ``X-Scope-OrgID: team-a`` (as Mimir and Cortex do). Each command must work with each way of
authenticating, fail with exit 3 and a clear message without (or with wrong) credentials, never print a
secret, never a traceback; and a partial answer (``warnings``, as Thanos sends) must never let the gate
promote.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate_helpers import backfilled_prometheus, with_stages
from rollout_traffic import Mix
from slokit.cli import main
from slokit.prometheus_client import MAX_POINTS, Connection, PrometheusClient
from tls_helpers import PARTIAL_WARNING, AuthProxy, ProxyConfig, TLSFiles, make_tls

TOKEN = "tok-3f9a1c77e2b84d51a6c0-canary"
USER, PASSWORD = "slo-reader", "pw-91c2e7b4d0a8-canary"
TENANT = "team-a"
SECRETS = (TOKEN, PASSWORD, "tok-3f9a1c77", "pw-91c2e7")
TIMELINE = [(120, Mix()), (20, Mix(errors=0.2)), (40, Mix()), (30, Mix(errors=0.02)), (30, Mix())]
STAGES = """
{percent: 5, duration: 1h}
{percent: 25, duration: 1h}
{percent: 100}
"""


@dataclass
class Setup:
    proxy: AuthProxy
    tls: TLSFiles
    spec: Path
    start: float
    files: Path

    def secret_files(self) -> dict[str, Path]:
        token = self.files / "token"
        token.write_text(TOKEN + "\n")
        basic = self.files / "basic-auth"
        basic.write_text(f"{USER}:{PASSWORD}\n")
        wrong = self.files / "wrong-token"
        wrong.write_text("tok-wrong-5e8d2a-canary\n")
        return {"token": token, "basic": basic, "wrong": wrong}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("prometheus-auth")
    spec = with_stages(tmp / "onboarding.yaml", STAGES)
    start = (time.time() // 60) * 60 - 240 * 60  # the last sample is a minute ago: instant queries see it
    tls = make_tls(tmp / "tls")
    with backfilled_prometheus(tmp, spec, TIMELINE, start) as url, \
            AuthProxy(ProxyConfig(url, TOKEN, USER, PASSWORD, TENANT), tls) as proxy:
        yield Setup(proxy, tls, spec, start, tmp)


@pytest.fixture(autouse=True)
def _complete_answers(setup: Setup) -> Iterator[None]:
    setup.proxy.config.warn = False
    yield
    setup.proxy.config.warn = False


@dataclass(frozen=True)
class Run:
    code: int
    out: str

    def assert_clean(self) -> None:
        assert "Traceback" not in self.out
        for secret in SECRETS:
            assert secret not in self.out, f"a secret reached the output:\n{self.out}"


def slokit(setup: Setup, command: str, *args: str, env: dict[str, str] | None = None) -> Run:
    """One of the three commands against the proxy, the way a pipeline runs it."""
    at = f"{setup.start + 235 * 60:.0f}"
    per_command = {
        "check": ["check", str(setup.spec), "--prometheus", setup.proxy.url, "--retries", "0"],
        "report": ["report", str(setup.spec), "--prometheus", setup.proxy.url, "--period", "1d", "--at", at,
                   "--retries", "0", "--quiet"],
        # Stage 1 from minute 10 to 80: an hour and more of healthy traffic, so the gate promotes.
        "gate": ["gate", str(setup.spec), "--service", "onboarding", "--stage", "1", "--prometheus",
                 setup.proxy.url, "--since", f"{setup.start + 10 * 60:.0f}", "--at", f"{setup.start + 80 * 60:.0f}",
                 "--retries", "0"],
    }[command]
    result = CliRunner().invoke(main, [*per_command, *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    run = Run(result.exit_code, result.stdout + result.stderr)
    run.assert_clean()
    return run


def assert_worked(command: str, run: Run) -> None:
    """The command read Prometheus and came to its own result."""
    if command == "check":
        assert run.code == 0, run.out
        assert "ok   prometheus: onboarding/availability SLI now:" in run.out, run.out
    elif command == "report":
        assert run.code in (0, 1, 4), run.out
        assert "onboarding" in run.out and "availability" in run.out
    else:
        assert run.code == 0, run.out
        assert "verdict: promote (exit 0)" in run.out


COMMANDS = ["check", "report", "gate"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("auth", ["bearer", "basic"])
def test_each_command_works_with_each_auth_method(setup: Setup, command: str, auth: str) -> None:
    files = setup.secret_files()
    option = "--prometheus-bearer-token-file" if auth == "bearer" else "--prometheus-basic-auth-file"
    run = slokit(setup, command, option, str(files["token" if auth == "bearer" else "basic"]),
                 "--prometheus-header", f"X-Scope-OrgID: {TENANT}", "--prometheus-ca-file", str(setup.tls.ca))
    assert_worked(command, run)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_environment_variables_mirror_the_options(setup: Setup, command: str) -> None:
    files = setup.secret_files()
    env = {"SLOKIT_PROMETHEUS_BEARER_TOKEN_FILE": str(files["token"]),
           "SLOKIT_PROMETHEUS_HEADERS": f"X-Scope-OrgID: {TENANT}\nX-Request-Source: ci",
           "SLOKIT_PROMETHEUS_CA_FILE": str(setup.tls.ca)}
    assert_worked(command, slokit(setup, command, env=env))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("case", "expected"), [
    ("no credentials", "refused the credentials (HTTP 401"),
    ("wrong token", "refused the credentials (HTTP 401"),
    ("no tenant", "refused the credentials (HTTP 401 (no org id))"),
    ("untrusted certificate", "TLS certificate not trusted (pass the CA file that signed it)"),
])
def test_refused_or_untrusted_is_exit_3_with_a_clear_message(setup: Setup, command: str, case: str,
                                                              expected: str) -> None:
    files = setup.secret_files()
    args = {
        "no credentials": ["--prometheus-header", f"X-Scope-OrgID: {TENANT}",
                           "--prometheus-ca-file", str(setup.tls.ca)],
        "wrong token": ["--prometheus-bearer-token-file", str(files["wrong"]), "--prometheus-header",
                        f"X-Scope-OrgID: {TENANT}", "--prometheus-ca-file", str(setup.tls.ca)],
        "no tenant": ["--prometheus-bearer-token-file", str(files["token"]), "--prometheus-ca-file", str(setup.tls.ca)],
        "untrusted certificate": ["--prometheus-bearer-token-file", str(files["token"]), "--prometheus-header",
                                  f"X-Scope-OrgID: {TENANT}"],
    }[case]
    run = slokit(setup, command, *args)
    assert run.code == 3, run.out
    assert expected in run.out
    assert "tok-wrong-5e8d2a" not in run.out  # the proxy quoted it back: redacted
    if case == "wrong token":
        assert "<redacted>" in run.out


def test_insecure_skip_verify_is_an_explicit_choice(setup: Setup) -> None:
    files = setup.secret_files()
    run = slokit(setup, "gate", "--prometheus-bearer-token-file", str(files["token"]), "--prometheus-header",
                 f"X-Scope-OrgID: {TENANT}", "--prometheus-insecure-skip-verify")
    assert_worked("gate", run)


def test_credentials_in_the_url_are_refused_for_every_command(setup: Setup) -> None:
    url = setup.proxy.url.replace("https://", f"https://{USER}:{PASSWORD}@")
    for command in COMMANDS:
        result = CliRunner().invoke(main, [command, str(setup.spec), "--prometheus", url, "--service", "onboarding",
                                           "--stage", "1"] if command == "gate" else
                                    [command, str(setup.spec), "--prometheus", url])
        out = result.stdout + result.stderr
        assert result.exit_code == 2, out
        assert "must not contain credentials; pass them with --prometheus-bearer-token-file" in out
        assert PASSWORD not in out and USER not in out


def _authenticated(setup: Setup) -> list[str]:
    files = setup.secret_files()
    return ["--prometheus-bearer-token-file", str(files["token"]), "--prometheus-header", f"X-Scope-OrgID: {TENANT}",
            "--prometheus-ca-file", str(setup.tls.ca)]


def test_a_partial_answer_never_lets_the_gate_promote(setup: Setup) -> None:
    assert slokit(setup, "gate", *_authenticated(setup)).code == 0  # the same data, complete: promote
    setup.proxy.config.warn = True
    run = slokit(setup, "gate", *_authenticated(setup))
    assert run.code == 10, run.out
    assert f"HOLD     partial Prometheus answered with warnings, the data may be partial: {PARTIAL_WARNING}" in run.out


def test_a_partial_answer_is_no_data_in_the_report_never_met(setup: Setup) -> None:
    setup.proxy.config.warn = True
    run = slokit(setup, "report", *_authenticated(setup), "--format", "json")
    assert run.code in (1, 4), run.out
    assert "warning: Prometheus answered with a warning, the data may be partial" in run.out
    assert '"verdict": "met"' not in run.out and '"verdict": "at risk"' not in run.out
    assert "partial data: Prometheus answered with warnings" in run.out


def test_a_partial_answer_is_a_warning_of_the_live_check(setup: Setup) -> None:
    setup.proxy.config.warn = True
    run = slokit(setup, "check", *_authenticated(setup))
    assert "WARN prometheus: answers complete" in run.out
    assert PARTIAL_WARNING in run.out


def test_a_range_query_past_the_points_limit_is_split_and_merged(setup: Setup) -> None:
    """Prometheus refuses more than 11,000 points per series in one query; the client asks in chunks and
    merges them, every step once, each value the one an instant query gives."""
    connection = Connection(setup.proxy.url, bearer_token=TOKEN, headers=(("X-Scope-OrgID", TENANT),),
                            ca_file=str(setup.tls.ca))
    expr = 'sum(http_server_request_duration_seconds_count{job="onboarding"})'
    start, n = setup.start + 60, 14_000
    with PrometheusClient(connection) as client:
        (series,) = client.query_range(expr, start, start + n - 1, 1)
        points = dict(series.points)
        assert sorted(points) == [start + i for i in range(n)]
        for t in (start, start + MAX_POINTS - 1, start + MAX_POINTS, start + n - 1):
            assert client.value(expr, t) == points[t]
        assert not client.warnings
