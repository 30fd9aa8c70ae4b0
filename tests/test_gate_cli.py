"""``slokit gate`` refuses bad input with exit 2 and one clear line (no traceback, no secret), and reads
the times a pipeline passes; the run detection that decides "held for its for" on exact inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate_helpers import EXAMPLE_SPEC, gate, with_stages
from slokit import stack
from slokit.gate import breaches, range_step
from slokit.gate_cli import parse_time
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
    (["--timeout", "0"], "--timeout must be positive"),
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
