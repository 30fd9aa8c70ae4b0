"""The command line's contract: output format, exit codes, and never a half-written output tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from slokit import writers
from slokit.cli import main

EXAMPLE_SPEC = Path(__file__).resolve().parent.parent / "slo" / "onboarding.yaml"

GOOD = """service: pay
owner: payments
routing:
  page: {pagerduty: {routing_key_file: /etc/am/pd}}
  ticket: {slack: {channel: "#pay", api_url_file: /etc/am/slack}}
slos:
  - name: avail
    objective: 99.9
    sli: {http_errors: {status: "5.."}}
grafana: {url: "https://grafana.example.com"}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_commands() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for command in ("validate", "generate", "check", "schema"):
        assert command in out


def test_validate_ok_prints_summary(tmp_path: Path) -> None:
    (tmp_path / "pay.yaml").write_text(GOOD)
    code, out, err = run("validate", str(tmp_path))
    assert code == 0
    assert out.strip() == "ok: 1 file(s), 1 service(s), 1 SLO(s)"
    assert err == ""


def test_validate_reports_every_problem_with_position(tmp_path: Path) -> None:
    bad = tmp_path / "pay.yaml"
    bad.write_text(GOOD.replace("99.9", "120").replace("owner:", "ownr:"))
    code, out, err = run("validate", str(bad))
    assert code == 1
    assert f"{bad}:1:1: owner: is required" in err
    assert f"{bad}:2:1: ownr: unknown key 'ownr'; did you mean 'owner'?" in err
    assert f"{bad}:8:16: slos[0].objective: must be between 0 and 100 (exclusive of 0), got 120" in err
    assert "Traceback" not in out + err


def test_duplicate_service_across_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    code, _, err = run("validate", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'b.yaml'}:1:10: service: service 'pay' is already defined in {tmp_path / 'a.yaml'}" in err


@pytest.mark.parametrize(
    "args",
    [["validate", "/nonexistent/slo"], ["validate", "--bogus"], ["generate", "--format", "nope", "slo"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    code, _, _ = run(*args)
    assert code == 2


def test_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("validate", str(tmp_path))
    assert code == 2
    assert "no SLO spec files" in err


def test_generate_writes_nothing_when_the_spec_is_bad(tmp_path: Path) -> None:
    spec = tmp_path / "pay.yaml"
    spec.write_text(GOOD.replace("99.9", "120"))
    out = tmp_path / "out"
    code, _, err = run("generate", str(spec), "--out", str(out))
    assert code == 1
    assert "nothing written" in err
    assert not out.exists()


def test_write_tree_keeps_old_output_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "old.yml").write_text("previous")
    real_write = Path.write_text
    calls = []

    def failing_write(self: Path, data: str, *args: object, **kwargs: object) -> int:
        calls.append(self)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(self, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(writers.WriteError, match=r"No space left on device; nothing written$"):
        writers.write_tree(tmp_path, {"alerts/a.yml": "a", "alerts/b.yml": "b"}, ["alerts"])
    assert (tmp_path / "alerts" / "old.yml").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts"]  # no staging folder left behind


@pytest.mark.parametrize("command", ["generate", "runbooks"])
def test_an_output_folder_that_cannot_be_written_exits_73(tmp_path: Path, command: str) -> None:
    spec = tmp_path / "pay.yaml"
    spec.write_text(GOOD)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "out"
    option = "--out" if command == "generate" else "--html"
    code, _, err = run(command, str(spec), option, str(out))
    assert code == 73, err
    assert f"slokit: cannot write under {blocker}" in err  # the folder, then the system's reason
    assert err.rstrip().endswith("; nothing written")
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "pay.yaml"]


def test_write_tree_removes_the_files_it_wrote_and_no_longer_writes(tmp_path: Path) -> None:
    writers.write_tree(tmp_path, {"alerts/gone.yml": "x", "runbooks/a.md": "a"}, ["alerts", "runbooks"])
    writers.write_tree(tmp_path, {"alerts/new.yml": "y"}, ["alerts", "runbooks"])
    assert sorted(p.name for p in (tmp_path / "alerts").iterdir()) == ["new.yml"]
    assert list((tmp_path / "runbooks").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [writers.MANIFEST, "alerts", "runbooks"]


def test_schema_accepts_the_example_and_rejects_what_validate_rejects() -> None:
    code, out, _ = run("schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    example = yaml.safe_load(EXAMPLE_SPEC.read_text())
    assert list(validator.iter_errors(example)) == []
    for mutate in (
        lambda s: s.update(ownr="x"),
        lambda s: s["slos"][0].update(objective=120),
        lambda s: s["slos"][0].update(objective=0.999),
        lambda s: s["slos"][0]["alerts"][0].update(severity="critical"),
        lambda s: s["slos"][0]["sli"].update(cache_misses={"cache": "c"}),
        lambda s: s["slos"][0]["alerts"][0].pop("error_ratio_above"),
        lambda s: s["labels"].update(severity="x"),
        lambda s: s["routing"]["page"]["pagerduty"].update(routing_key="secret"),
    ):
        spec = yaml.safe_load(EXAMPLE_SPEC.read_text())
        mutate(spec)
        assert list(validator.iter_errors(spec)), mutate


def test_committed_schema_is_current() -> None:
    _, out, _ = run("schema")
    committed = EXAMPLE_SPEC.parent.parent / "schema" / "slokit.schema.json"
    assert committed.read_text() == out, "run `make generate` and commit schema/slokit.schema.json"


def test_module_entry_point_runs_without_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "pay.yaml"
    spec.write_text("service: [")
    proc = subprocess.run([sys.executable, "-m", "slokit", "validate", str(spec)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"{spec}:1:11: invalid YAML" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_warnings_are_listed_by_validate_and_counted_by_the_other_commands(tmp_path: Path) -> None:
    """`make` runs validate, generate and check: each warning must appear once, not once per command."""
    spec = tmp_path / "pay.yaml"
    spec.write_text(GOOD.replace('  ticket: {slack: {channel: "#pay", api_url_file: /etc/am/slack}}\n', ""))
    code, _, err = run("validate", str(spec))
    assert code == 0
    assert err.splitlines() == [f"{spec}:3:1: routing.ticket: warning: no receiver for ticket alerts: they go to "
                                "the team's placeholder receiver, which notifies nobody"]
    code, _, err = run("generate", str(spec), "--out", str(tmp_path / "out"))
    assert code == 0
    assert err.splitlines() == ["1 warning (`slokit validate` lists them)"]


def test_validate_does_not_say_nothing_written(tmp_path: Path) -> None:
    spec = tmp_path / "pay.yaml"
    spec.write_text(GOOD.replace("99.9", "120"))
    code, _, err = run("validate", str(spec))
    assert code == 1
    assert err.splitlines()[-1] == "1 error in 1 file(s)"
