"""Hostile spec files fail fast, small and clearly: exit 1 with file:line:col, never an internal error.

Specs reach ``slokit validate`` from many teams through CI, so a file written to hurt (an alias bomb, text
no file can hold) must be refused at its position in well under a second and in little memory. The time
and memory bounds below are generous (the real figures are a few milliseconds and a few hundred KiB); they
fail when the loader expands aliases or builds what it refuses.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from slokit.cli import app, main
from slokit.cli.common import EXIT_INTERNAL
from slokit.spec import load_services
from test_cli import GOOD

SLI_LINE = '    sli: {http_errors: {status: "5.."}}\n'
SPEC = GOOD.replace(SLI_LINE, SLI_LINE + "    alerts:\n      - {error_ratio_above: 1%, for: 5m, severity: ticket}\n")


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic bomb: ``levels`` anchors, each a list of ``width`` aliases of the one before (about 1 KB).

    Expanded it holds ``width ** levels`` strings (387 million for 9 x 9); it is defined in the spec's own
    ``labels`` so that its last anchor, ``lol8``, can be used anywhere after it.
    """
    lines = ["labels:", "  lol0: &lol0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"  lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def bomb_in(field: str) -> str:
    """SPEC with the bomb's expansion landing in ``field``."""
    text = SPEC.replace("routing:\n", billion_laughs() + "routing:\n")
    if field == "metrics_preset":
        return text + "metrics_preset: *lol8\n"
    if field == "description":
        return text.replace("    objective:", "    description: *lol8\n    objective:")
    if field == "window":
        return text.replace("    objective:", "    window: *lol8\n    objective:")
    assert field == "severity"
    return text.replace("severity: ticket", "severity: *lol8")


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.mark.parametrize("command", ["validate", "generate"])
@pytest.mark.parametrize("field", ["window", "severity", "metrics_preset", "description"])
def test_alias_bomb_is_refused_at_the_alias_within_a_second(tmp_path: Path, field: str, command: str) -> None:
    spec = tmp_path / "pay.yaml"
    spec.write_text(bomb_in(field))
    assert spec.stat().st_size < 1500
    out = tmp_path / "out"
    args = [command, str(spec)] + (["--out", str(out)] if command == "generate" else [])
    started = time.perf_counter()
    code, err = invoke(*args)
    elapsed = time.perf_counter() - started
    assert code == 1
    assert err.splitlines()[0] == (f"{spec}:9:16: alias *lol4 expands the document to more than 100000 nodes "
                                   "(aliases are bounded so that a small file cannot expand into a huge one)")
    assert elapsed < 2, f"{command} took {elapsed:.1f}s"
    assert not out.exists()


def test_alias_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    spec = tmp_path / "pay.yaml"
    spec.write_text(bomb_in("window"))
    tracemalloc.start()
    try:
        result = load_services([spec])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.ok
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_aliases_within_the_bounds_still_work(tmp_path: Path) -> None:
    """Sharing one alert list between SLOs is what anchors are for; the bounds leave room for it."""
    slos = "".join(f"  - name: s{i}\n    objective: 99.9\n    sli: {{http_errors: {{status: \"5..\"}}}}\n"
                   f"    alerts: {'&alerts ' if i == 0 else '*alerts'}"
                   f"{'[{error_ratio_above: 1%, for: 5m, severity: ticket}]' if i == 0 else ''}\n"
                   for i in range(200))
    spec = tmp_path / "pay.yaml"
    spec.write_text(SPEC.split("slos:\n")[0] + "slos:\n" + slos)
    result = load_services([spec])
    assert result.ok, result.errors
    assert [len(s.alerts) for s in result.services[0].slos] == [1] * 200


def test_lone_surrogate_is_refused_by_validate_and_nothing_is_written(tmp_path: Path) -> None:
    spec = tmp_path / "pay.yaml"
    spec.write_text(SPEC.replace("owner: payments\n", 'owner: payments\ndescription: "Pay \\ud800 API"\n'))
    message = (f"{spec}:3:14: description: U+D800 at character 5 of this text is a lone surrogate, which cannot be "
               "written as UTF-8; write the character itself")
    started = time.perf_counter()
    code, err = invoke("validate", str(spec))
    assert time.perf_counter() - started < 2
    assert (code, err.splitlines()[0]) == (1, message)
    out = tmp_path / "out"
    code, err = invoke("generate", str(spec), "--out", str(out))
    assert (code, err.splitlines()[0]) == (1, message)
    assert not out.exists()
    code, err = invoke("runbooks", str(spec), "--html", str(tmp_path / "site"))
    assert (code, err.splitlines()[0]) == (1, message)


def test_every_user_reachable_failure_has_a_position(tmp_path: Path) -> None:
    """What the issue found, and what the fuzz tests found next to it: each is a diagnostic line, exit 1."""
    hostile = {
        "surrogate-key.yaml": SPEC.replace("owner: payments\n", 'owner: payments\nlabels: {"\\udfff": x}\n'),
        "nul.yaml": SPEC.replace("owner: payments\n", 'owner: payments\ndescription: "\\0"\n'),
        "long-number.yaml": SPEC.replace("99.9", "9" * 100_000),
        "month-13.yaml": SPEC.replace("owner: payments\n", "owner: payments\ndescription: 2026-13-01\n"),
        "deep.yaml": SPEC.replace("owner: payments\n", "owner: payments\ndescription: " + "[" * 50_000 + "\n"),
        "recursive.yaml": SPEC.replace("owner: payments\n", "owner: payments\nlabels: &a {a: *a}\n"),
    }
    for name, text in hostile.items():
        (tmp_path / name).write_text(text)
        started = time.perf_counter()
        code, err = invoke("validate", str(tmp_path / name))
        assert time.perf_counter() - started < 2, name
        assert code == 1, name
        assert re.match(rf"{re.escape(str(tmp_path / name))}:\d+:\d+: ", err), err


def test_the_last_resort_handler_prints_a_documented_line_without_the_error_text(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A bug in slokit exits 70 with one line; the exception's text (which may quote a secret) stays out."""
    def broken(**_: object) -> None:
        raise RuntimeError("token=s3cr3t")

    monkeypatch.setattr(app, "main", broken)
    monkeypatch.delenv("SLOKIT_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        app.run()
    assert exit_info.value.code == EXIT_INTERNAL == 70
    err = capsys.readouterr().err
    assert err == ("slokit: internal error (RuntimeError): a bug in slokit, not in the spec; set SLOKIT_DEBUG=1 "
                   "for the traceback and report it\n")
