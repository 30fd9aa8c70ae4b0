"""`slokit generate` never loses a file it did not write, and survives being killed at any step.

The output folders are kept in git beside hand-written files, so generate must tell its own files (listed
in .slokit-manifest.json) from everyone else's, and a SIGKILL between two renames must never leave a
folder missing: the next run finishes the interrupted one.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from slokit import pipeline
from slokit.cli import main
from slokit.spec import load_or_raise
from slokit.writers import JOURNAL, MANIFEST, write_tree

ROOT = Path(__file__).resolve().parent.parent

SPEC = """service: pay
owner: payments
routing:
  page: {{pagerduty: {{routing_key_file: /etc/am/pd}}}}
  ticket: {{slack: {{channel: "#pay", api_url_file: /etc/am/slack}}}}
slos:
  - name: avail
    objective: {objective}
    sli: {{http_errors: {{status: "5.."}}}}
{extra}"""
SECOND_SLO = """  - name: conflicts
    objective: 99
    sli: {http_errors: {status: "409"}}
"""


def spec(tmp_path: Path, objective: str = "99.9", extra: str = SECOND_SLO) -> Path:
    path = tmp_path / "specs" / "pay.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SPEC.format(objective=objective, extra=extra))
    return path


def generate(spec_path: Path, out: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["generate", str(spec_path), "--out", str(out)])
    return result.exit_code, result.stdout, result.stderr


def tree(root: Path) -> dict[str, str]:
    """Every file under root (relative path -> text), staging folders and the journal included."""
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_generate_keeps_files_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    foreign = {"alerts/team.rules.yml": "groups: []\n", "alerts/.gitkeep": "", "dashboards/hand.json": "{}\n",
               "runbooks/NOTES.md": "# notes\n", "rollouts/README": "ours\n"}
    for rel, text in foreign.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    code, stdout, err = generate(spec(tmp_path), out)
    assert code == 0, err
    assert "kept 5 file(s) slokit did not write" in stdout
    code, stdout, err = generate(spec(tmp_path, extra=""), out)  # a second run, with an SLO fewer
    assert code == 0, err
    after = tree(out)
    assert all(after[rel] == text for rel, text in foreign.items())
    assert "kept 5 file(s) slokit did not write" in stdout
    assert "runbooks/pay/conflicts.md" not in after  # slokit's own stale file is removed
    assert "removed" in stdout and "conflicts" in stdout
    manifest = json.loads(after[MANIFEST])["files"]
    assert set(manifest) == {rel for rel in after if not rel.startswith(".")} - set(foreign)


def test_generate_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = generate(spec(tmp_path, extra=""), out)
    assert code == 0, err
    theirs = out / "runbooks" / "pay" / "conflicts.md"  # hand-written where the new SLO's runbook goes
    theirs.write_text("# hand-written\n")
    before = tree(out)
    code, _, err = generate(spec(tmp_path), out)
    assert code == 73
    assert "refusing to overwrite 1 file(s) slokit did not write" in err
    assert str(theirs) in err and err.rstrip().endswith("nothing written")
    assert tree(out) == before


@pytest.mark.parametrize("take_over", [False, True])
def test_a_file_where_slokit_needs_a_folder_is_named_and_kept(tmp_path: Path, take_over: bool) -> None:
    """The file in the way is named (not the files slokit would write below it), and --take-over, which
    only adopts files at slokit's own paths, keeps it too."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "alerts").write_text("my notes\n")
    result = CliRunner().invoke(main, ["generate", str(spec(tmp_path)), "--out", str(out),
                                       *(["--take-over"] if take_over else [])])
    assert result.exit_code == 73, result.output
    assert f"refusing to overwrite 1 file(s) slokit did not write (not in {out / MANIFEST}): {out / 'alerts'};" \
        in result.stderr
    assert (out / "alerts").read_text() == "my notes\n" and sorted(p.name for p in out.iterdir()) == ["alerts"]


def test_identical_files_without_a_manifest_are_adopted(tmp_path: Path) -> None:
    """The committed example artifacts predate the manifest: equal content loses nothing."""
    out = tmp_path / "out"
    assert generate(spec(tmp_path), out)[0] == 0
    (out / MANIFEST).unlink()
    code, _, err = generate(spec(tmp_path), out)
    assert code == 0, err
    assert (out / MANIFEST).exists()


def test_a_stale_file_edited_by_hand_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert generate(spec(tmp_path), out)[0] == 0
    edited = out / "runbooks" / "pay" / "conflicts.md"
    edited.write_text("# our own notes now\n")
    code, stdout, _ = generate(spec(tmp_path, extra=""), out)
    assert code == 0
    assert edited.read_text() == "# our own notes now\n"
    assert "edited since" in stdout and str(edited) in stdout


def test_a_corrupt_manifest_stops_generate_with_the_fix(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert generate(spec(tmp_path), out)[0] == 0
    (out / MANIFEST).write_text("<<<<<<< HEAD\n")
    code, _, err = generate(spec(tmp_path), out)
    assert code == 73
    assert "not a slokit manifest" in err and "restore it from version control" in err
    assert "Traceback" not in err


def test_a_manifest_cannot_make_generate_delete_outside_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    out.mkdir()
    digest = "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"  # of "x"
    (out / MANIFEST).write_text(json.dumps({"files": {"../victim.txt": digest}}))
    code, _, err = generate(spec(tmp_path), out)
    assert code == 73 and "not a slokit manifest" in err
    assert victim.read_text() == "x"


def test_make_with_other_specs_needs_an_output_folder() -> None:
    """`make SPECS=../other/slo` must not replace the example's committed artifacts."""
    env = {**os.environ, "MAKEFLAGS": ""}
    refused = subprocess.run(["make", "-n", "generate", "SPECS=../other/slo"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "set OUT=DIR" in refused.stderr and "OUT=../other" in refused.stderr
    assert "slokit generate" not in refused.stdout
    chosen = subprocess.run(["make", "-n", "generate", "check", "SPECS=../other/slo", "OUT=../other"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert chosen.returncode == 0, chosen.stderr
    assert "slokit generate --out ../other ../other/slo" in chosen.stdout
    assert "slokit check --out ../other ../other/slo" in chosen.stdout
    pushed = subprocess.run(["make", "-n", "dashboards", "SPECS=../other/slo", "OUT=../other"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert "slokit push --out ../other ../other/slo" in pushed.stdout
    default = subprocess.run(["make", "-n", "generate"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60)
    assert "slokit generate --out . slo" in default.stdout


#: Runs `slokit generate` and SIGKILLs itself just before its k-th rename, unlink or rmdir.
_KILLER = textwrap.dedent("""
    import os, runpy, signal, sys
    steps = [0]
    limit = int(sys.argv.pop(1))
    def killing(real):
        def step(*args, **kwargs):
            steps[0] += 1
            if steps[0] == limit:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        return step
    os.replace, os.unlink, os.rmdir = killing(os.replace), killing(os.unlink), killing(os.rmdir)
    sys.argv[0] = "slokit"
    runpy.run_module("slokit", run_name="__main__")
""")


def test_generate_killed_at_any_step_leaves_a_complete_tree_and_the_next_run_finishes(tmp_path: Path) -> None:
    old_spec = spec(tmp_path / "a")  # two SLOs
    new_spec = spec(tmp_path / "b", objective="99.5", extra="")  # other content, one SLO fewer
    reference = tmp_path / "reference"
    for source, folder in ((old_spec, tmp_path / "old"), (new_spec, reference)):
        assert generate(source, folder)[0] == 0
    old, new = tree(tmp_path / "old"), tree(reference)
    assert old.keys() - new.keys() and any(old[k] != new[k] for k in old.keys() & new.keys())
    k = 0
    while True:
        k += 1
        out = tmp_path / f"run{k}"
        assert generate(old_spec, out)[0] == 0
        (out / "alerts" / "team.rules.yml").write_text("groups: []\n")  # someone else's file
        proc = subprocess.run([sys.executable, "-c", _KILLER, str(k), "generate", str(new_spec), "--out", str(out)],
                              capture_output=True, text=True, timeout=120)
        killed = proc.returncode == -signal.SIGKILL
        assert killed or proc.returncode == 0, proc.stderr
        interrupted = tree(out)
        for d in pipeline.MANAGED_DIRS:
            assert (out / d).is_dir(), f"step {k}: {d}/ missing"
        for rel in old.keys() & new.keys():  # every file that exists before and after: old or new, never gone
            assert interrupted.get(rel) in (old[rel], new[rel]), f"step {k}: {rel} missing or mixed"
        assert interrupted["alerts/team.rules.yml"] == "groups: []\n"
        code, _, err = generate(new_spec, out)  # the next run finishes and cleans up
        assert code == 0, f"step {k}: {err}"
        final = tree(out)
        assert final == new | {"alerts/team.rules.yml": "groups: []\n"}, f"step {k}"
        assert not [p for p in out.iterdir() if p.name.startswith(".slokit-") and p.name != MANIFEST]
        if not killed:
            break
    assert k > 10  # the writer did have that many steps to be killed at


def test_leftovers_of_an_earlier_slokit_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / ".slokit-abcd_123" / "alerts").mkdir(parents=True)  # the old writer's staging name
    (out / ".slokit-abcd_123" / "alerts" / "x.yml").write_text("x")
    assert generate(spec(tmp_path), out)[0] == 0
    assert not (out / ".slokit-abcd_123").exists()
    assert not (out / JOURNAL).exists()


def test_the_example_tree_is_written_exactly_with_its_manifest(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    write_tree(tmp_path, pipeline.generate(load_or_raise(["slo"])), pipeline.MANAGED_DIRS)
    assert (tmp_path / MANIFEST).read_text() == (ROOT / MANIFEST).read_text()


def test_take_over_overwrites_an_earlier_output_and_keeps_the_rest(tmp_path: Path) -> None:
    """Output written before manifests existed (here: the manifest deleted, the files from another spec)."""
    out = tmp_path / "out"
    assert generate(spec(tmp_path, objective="99.5"), out)[0] == 0
    (out / MANIFEST).unlink()
    (out / "alerts" / "team.rules.yml").write_text("groups: []\n")
    code, _, err = generate(spec(tmp_path), out)
    assert code == 73 and "--take-over" in err
    result = CliRunner().invoke(main, ["generate", str(spec(tmp_path)), "--out", str(out), "--take-over"])
    assert result.exit_code == 0, result.stderr
    reference = tmp_path / "reference"
    assert generate(spec(tmp_path), reference)[0] == 0
    assert tree(out) == tree(reference) | {"alerts/team.rules.yml": "groups: []\n"}


def test_a_run_waits_for_another_run_into_the_same_folder(tmp_path: Path) -> None:
    """Runs into one folder take turns: while one holds the folder, another writes nothing and cleans
    nothing up (it would otherwise delete the first one's staging folder)."""
    out = tmp_path / "out"
    out.mkdir()
    staging = out / ".slokit-staging-running"  # another run's, mid-write
    staging.mkdir()
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = subprocess.Popen([sys.executable, "-m", "slokit", "generate", str(spec(tmp_path)), "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=5)  # slokit starts in about a second; then it waits for the folder
        assert staging.is_dir() and not (out / MANIFEST).exists()
    finally:
        os.close(fd)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert not staging.exists() and (out / MANIFEST).exists()


def test_a_journal_cannot_make_generate_delete_outside_its_folder(tmp_path: Path) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("x")
    out.mkdir()
    (out / JOURNAL).write_text(json.dumps({"staging": "../victim", "move": [], "remove": {}}))
    code, _, err = generate(spec(tmp_path), out)
    assert code == 73 and "cannot finish the interrupted write" in err and "delete it" in err
    assert (victim / "keep.txt").read_text() == "x"
