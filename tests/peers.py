"""The peers' published example files (Sloth v0.16 ``examples/``, OpenSLO's v1 ``examples/``), read in place.

They are not copied into this repository (their folder's README names sources and licences): the folder is
``$SLOKIT_PEERS_DIR``, else the first ``shared/peers`` beside the repository or one of its parents. Tests
that need the files skip, saying so, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _find() -> Path | None:
    if os.environ.get("SLOKIT_PEERS_DIR"):
        return Path(os.environ["SLOKIT_PEERS_DIR"])
    return next((p / "shared" / "peers" for p in ROOT.parents if (p / "shared" / "peers").is_dir()), None)


PEERS = _find()


SKIP = ("the peers' example files are not there: set SLOKIT_PEERS_DIR to the folder holding sloth/ and "
        "openslo/ (see its README)")


def peer_files(folder: str, pattern: str) -> list[Path | None]:
    """The example files, for parametrize; ``[None]`` when the folder is absent (``need`` then skips)."""
    if PEERS is None or not (PEERS / folder).is_dir():
        return [None]
    return sorted((PEERS / folder).glob(pattern))


def need(path: Path | None) -> Path:
    if path is None:
        pytest.skip(SKIP)
    return path
