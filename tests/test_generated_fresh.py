"""The committed alerts/, dashboards/ and runbooks/ are exactly what the generator makes from slo/.

Reviewers read the generated files in diffs, so a change to the generator or to a spec that is not
followed by `make generate` (and a commit) fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slokit import pipeline
from slokit.spec import load_or_raise
from slokit.writers import write_tree

ROOT = Path(__file__).resolve().parent.parent


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for d in pipeline.MANAGED_DIRS
        for p in sorted((root / d).rglob("*"))
        if p.is_file()
    }


def test_committed_artifacts_match_the_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # spec paths as `make generate` names them
    services = load_or_raise(["slo"])
    write_tree(tmp_path, pipeline.generate(services), pipeline.MANAGED_DIRS)
    fresh, committed = _tree(tmp_path), _tree(ROOT)
    stale = sorted(p for p in fresh.keys() | committed.keys() if fresh.get(p) != committed.get(p))
    assert not stale, f"stale generated files (run `make generate` and commit): {stale}"
