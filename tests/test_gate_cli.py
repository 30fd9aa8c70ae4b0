"""``slokit gate`` refuses bad input with exit 2 and one clear line (no traceback, no secret), and reads
the times a pipeline passes; the run detection that decides "held for its for" on exact inputs."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gate_helpers import EXAMPLE_SPEC, gate, with_stages
from slokit import stack
from slokit.cli.gate import parse_time
from slokit.gate import breaches, range_step
from slokit.spec import load_or_raise

URL = "http://127.0.0.1:9"  # never asked: every case fails before the first request


@pytest.mark.parametrize(("args", "message"), [
    (["--service", "nope"], "no service 'nope' in the specs (found: onboarding)"),
    (["--stage", "0"], "--stage must be between 1 and 5 (the stages of onboarding), got 0"),
    (["--stage", "6"], "--stage must be between 1 and 5 (the stages of onboarding), got 6"),
    (["--since", "yesterday"], "--since: 'yesterday' is not a time"),
    (["--since", "2026-12-01T10:00:00"], "has no time zone"),
    (["--since", "1h", "--at", "2h"], "is not before"),
    (["--prometheus", "ftp://prometheus"], "--prometheus: the Prometheus URL must look like http://prometheus:9090"),
    (["--prometheus", "http://admin:s3cret-pw@prometheus:9090"], "must not contain credentials"),
    (["--timeout", "0"], "'0' must be a finite number of seconds"),
    (["--timeout", "nan"], "'nan' must be a finite number of seconds"),
    (["--timeout", "inf"], "'inf' must be a finite number of seconds"),
    (["--since", "99999999999999"], "--since: '99999999999999' is not a time between 1970 and the year 9999"),
    (["--at", "99999999999999"], "--at: '99999999999999' is not a time between 1970 and the year 9999"),
    (["--at", "2099-01-01T00:00:00Z", "--since", "2098-12-01T00:00:00Z"],
     "--at 2099-01-01T00:00:00Z is in the future"),  # the time check would pass on data not yet there
    (["--since", "999999999999999d"], "--since: '999999999999999d' is not a time between 1970 and the year 9999"),
    (["--prometheus-bearer-token-file", "/dev/zero"], "bearer token file /dev/zero is not a regular file"),
    (["--prometheus-header", "X-Scope-OrgID team-a"], "--prometheus-header must look like 'X-Scope-OrgID: team-a'"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    base = {"--service": "onboarding", "--stage": "2", "--prometheus": URL}
    argv = ["gate", str(EXAMPLE_SPEC)]
    given = dict(zip(args[::2], args[1::2], strict=True))
    for key, value in {**base, **given}.items():
        argv += [key, value]
    from click.testing import CliRunner

    from slokit.cli import main

    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output and "s3cret-pw" not in result.output


def test_a_spec_without_rollout_is_a_usage_error(tmp_path: Path) -> None:
    spec = tmp_path / "onboarding.yaml"
    spec.write_text(EXAMPLE_SPEC.read_text().split("\nrollout:")[0] + "\n")
    run = gate(spec, URL, 1)
    assert run.code == 2 and "has no rollout: section" in run.err


def test_a_bad_spec_exits_1_with_its_position(tmp_path: Path) -> None:
    spec = with_stages(tmp_path / "onboarding.yaml", "{percent: 50, duration: 1h}\n{percent: 20}")
    run = gate(spec, URL, 1)
    assert run.code == 1
    assert "rollout.stages[1].percent: 20 is not above the previous stage's 50" in run.err


def test_times_in_every_form() -> None:
    now = 1_800_000_000.0
    assert parse_time("1700000000", now, "--since") == 1_700_000_000
    assert parse_time("36h", now, "--since") == now - 36 * 3600
    assert parse_time("now", now, "--at") == now
    assert parse_time("2026-12-01T10:00:00Z", now, "--since") == 1_796_119_200
    assert parse_time("2026-12-01T11:00:00+01:00", now, "--since") == 1_796_119_200


def test_breach_runs() -> None:
    points = [(t, 1.0) for t in (0, 60, 120, 300, 360, 420, 480, 540)]
    assert breaches(points, 60) == [(0, 120), (300, 540)]
    assert breaches([], 60) == []
    assert breaches([(5, 1.0)], 60) == [(5, 5)]


def test_long_stages_stay_under_the_range_query_limit() -> None:
    (service,) = load_or_raise([EXAMPLE_SPEC])
    assert range_step(service, 0, 7 * 86400) == 60  # a week of 1m steps is 10,081 points
    step = range_step(service, 0, 30 * 86400)
    assert 30 * 86400 / step < 11_000 and step > 60


def test_unreachable_uses_the_retries(tmp_path: Path) -> None:
    spec = with_stages(tmp_path / "o.yaml", "{percent: 5, duration: 1h}\n{percent: 100}")
    run = gate(spec, f"http://{stack.HOST}:{stack.free_port()}", 1, "--since", "2h")
    assert run.code == 3
    assert "(2 attempts)" in run.err


class _Failing(BaseHTTPRequestHandler):
    """A stand-in, not Prometheus: answers every request with 503 (a Prometheus still starting) or, for
    ``/garbled``, 200 with a body of the wrong shape; counts the requests it got."""

    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        garbled = self.path.startswith("/garbled")
        body = b'{"status": "success", "data": {"resultType": "vector", "result": [{"x": 1}]}}' if garbled else (
            b'{"status": "error", "error": "starting up"}')
        self.send_response(200 if garbled else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(("path", "message", "hits"), [
    ("", "HTTP 503 (starting up) (2 attempts)", 2),
    ("/garbled", "in a shape that is not Prometheus' API", 1),
])
def test_failing_answers_are_exit_3_after_the_retries(tmp_path: Path, path: str, message: str, hits: int) -> None:
    server = ThreadingHTTPServer((stack.HOST, 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Failing.hits = 0
    try:
        spec = with_stages(tmp_path / "o.yaml", "{percent: 5, duration: 1h}\n{percent: 100}")
        run = gate(spec, f"http://{stack.HOST}:{server.server_address[1]}{path}", 1, "--since", "2h")
    finally:
        server.shutdown()
        server.server_close()
    assert run.code == 3, run.out + run.err
    assert message in run.err and run.out == ""
    assert _Failing.hits == hits


@pytest.mark.parametrize("header", ["Authorization Bearer glsa_HeaderCanary7f3e1",
                                    "Authorization=Bearer glsa_HeaderCanary7f3e1", "glsa_HeaderCanary7f3e1"])
def test_a_header_without_its_colon_is_refused_without_repeating_it(header: str) -> None:
    """The usual slip is the credential itself, or ``Name Value`` without the colon: neither is shown."""
    from click.testing import CliRunner

    from slokit.cli import main

    result = CliRunner().invoke(main, ["gate", str(EXAMPLE_SPEC), "--service", "onboarding", "--stage", "2",
                                       "--prometheus", URL, "--prometheus-header", header])
    assert result.exit_code == 2, result.output
    assert "--prometheus-header must look like 'X-Scope-OrgID: team-a'" in result.stderr
    assert "HeaderCanary" not in result.output
