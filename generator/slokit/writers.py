"""Put a generated tree on disk without ever leaving it half-written.

Everything is written into a temporary folder beside the target first; only when all files are there is
each managed folder swapped into place with renames, so a failure (disk full, a bug in an emitter) leaves
the previous output untouched, and files of services that no longer exist do not linger.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path


class WriteError(Exception):
    """The output folder could not be written (permissions, a full disk, a file in the way)."""


def write_tree(out_dir: Path, files: Mapping[str, str], managed: Iterable[str]) -> list[Path]:
    """Replace each ``managed`` folder under ``out_dir`` with exactly the given files; return their paths.

    Raises ``WriteError`` naming ``out_dir`` and the system's reason when the disk refuses; the previous
    output is then untouched.
    """
    try:
        return _write_tree(out_dir, files, list(managed))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise WriteError(f"cannot write under {out_dir}: {reason}; nothing written") from exc


def _write_tree(out_dir: Path, files: Mapping[str, str], managed: list[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".slokit-", dir=out_dir))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for name in managed:
            (staging / name).mkdir(exist_ok=True)
        for name in managed:
            final, old = out_dir / name, staging / f"{name}.old"
            if final.exists():
                os.replace(final, old)
            os.replace(staging / name, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(out_dir / rel for rel in files)


class TargetExists(Exception):
    """A file that would be written is already there and overwriting was not asked for."""


def write_files(out_dir: Path, files: Mapping[str, str], *, overwrite: bool = False) -> list[Path]:
    """Add the given files to ``out_dir`` (other files there stay); all are written before any is moved in.

    Unlike :func:`write_tree`, this owns no folder: it is for files added beside others (imported specs, reports), so an
    existing file is only replaced when ``overwrite`` is set, and ``TargetExists`` is raised before anything
    is written otherwise.
    """
    targets = {rel: out_dir / rel for rel in files}
    existing = sorted(str(t) for t in targets.values() if t.exists())
    if existing and not overwrite:
        raise TargetExists(", ".join(existing))
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".slokit-", dir=out_dir))
    try:
        for rel, text in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text, encoding="utf-8")
        for rel, target in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(targets.values())
