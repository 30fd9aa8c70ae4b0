"""Golden files of the dashboards generated from the example spec (``slo/onboarding.yaml``).

A change to the dashboards shows up here as a reviewable diff. After an intended change, regenerate
the golden files with::

    SLOKIT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_dashboards_golden.py

and review ``git diff tests/golden/dashboards``.
"""

from __future__ import annotations

import os
from pathlib import Path

from slokit.artifacts import Options
from slokit.dashboards import emit
from slokit.spec.model import Service

GOLDEN = Path(__file__).resolve().parent / "golden" / "dashboards"
UPDATE = os.environ.get("SLOKIT_UPDATE_GOLDEN") == "1"


def test_example_dashboards_match_golden_files(onboarding: Service) -> None:
    files = {path.removeprefix("dashboards/"): text for path, text in emit([onboarding], Options()).items()}
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for stale in GOLDEN.iterdir():
            if stale.name not in files:
                stale.unlink()
        for name, text in files.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(files), "golden file set differs"
    for name, text in files.items():
        expected = (GOLDEN / name).read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from tests/golden/dashboards/{name} (see module docstring)"
