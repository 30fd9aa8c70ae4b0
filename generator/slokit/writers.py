"""Put a generated tree on disk without losing a file slokit did not write, and without a half-written tree.

What slokit wrote is recorded in a manifest (``.slokit-manifest.json`` in the output root: each file with
its SHA-256). A run overwrites only files listed there (or identical ones), removes only listed files it no
longer generates whose content is still what it wrote, and keeps everything else: a hand-written rules
file, notes or a ``.gitkeep`` in ``alerts/`` stay. A file slokit would overwrite but did not write stops the
run before anything is written, naming the file.

Writing is a roll-forward transaction. Every file is first written into a staging folder beside the
target; then a journal (``.slokit-journal.json``) naming the moves and removals is put in place with one
rename: that is the commit point. The moves follow, one ``os.replace`` per file, so an existing file is
always there, old or new, never missing. A run interrupted after the commit point (even by SIGKILL) is
finished by the next run before it does anything else; a staging folder without a journal is deleted.
Runs into one folder take turns (a lock on the folder), so one never cleans up after another still running.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: Lists every file slokit wrote under the output root, with its SHA-256.
MANIFEST = ".slokit-manifest.json"
#: Present only while a write is being applied; the next run finishes what it names.
JOURNAL = ".slokit-journal.json"
_STAGING_PREFIX = ".slokit-staging-"
#: Staging folders of this and of earlier slokit versions (``tempfile.mkdtemp(prefix=".slokit-")``).
_LEFTOVER = re.compile(r"\.slokit-(?:staging-.+|[a-z0-9_]{8})")
_MANIFEST_NOTE = "Files slokit wrote here, with their SHA-256; slokit overwrites or removes only these."


class WriteError(Exception):
    """The output folder could not be written (permissions, a full disk, a file in the way)."""


class ForeignFiles(WriteError):
    """Files slokit did not write are where it would write; nothing was written."""

    def __init__(self, out_dir: Path, paths: list[str]) -> None:
        shown = ", ".join(str(out_dir / p) for p in paths[:10])
        more = f" and {len(paths) - 10} more" if len(paths) > 10 else ""
        super().__init__(
            f"refusing to overwrite {len(paths)} file(s) slokit did not write (not in {out_dir / MANIFEST}): "
            f"{shown}{more}; move or delete them, generate into another --out folder, or, when they are an earlier "
            f"slokit's output, run generate once with --take-over; nothing written")
        self.paths = paths


@dataclass(frozen=True)
class Written:
    """What a write did: the files written, the stale ones removed, and the ones left alone."""

    paths: list[Path]
    #: Files slokit wrote before and no longer generates, now removed (relative to the output root).
    removed: list[str]
    #: Files in the managed folders slokit did not write, left as they were.
    kept: list[str]
    #: Files slokit wrote before and no longer generates, kept because they were edited since.
    edited: list[str]


def write_tree(out_dir: Path, files: Mapping[str, str], managed: Iterable[str], *,
               owned_whole: bool = False, take_over: bool = False) -> Written:
    """Write ``files`` (relative paths) under ``out_dir``, create each ``managed`` folder, drop stale files.

    ``managed`` folders are where stale and foreign files are looked for (all of ``out_dir`` when empty).
    With ``owned_whole``, every file already there counts as slokit's (a folder given to slokit alone, such
    as a runbooks site; the caller checks it is one). With ``take_over``, a file already at a path slokit
    writes is overwritten even when the manifest does not list it (moving an output folder from before
    manifests, or from a lost manifest, to slokit's care); files at other paths are still kept.

    Raises ``ForeignFiles`` before writing anything when a file slokit did not write is in the way, and
    ``WriteError`` naming ``out_dir`` and the system's reason when the disk refuses.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with _locked(out_dir):
            return _write_locked(out_dir, files, list(managed), owned_whole, take_over)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise WriteError(f"cannot write under {out_dir}: {reason}; nothing written") from exc


@contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir`` itself: two runs into one folder take turns, so that one's
    clean-up never removes the other's staging folder."""
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_locked(out_dir: Path, files: Mapping[str, str], folders: list[str], owned_whole: bool,
                  take_over: bool) -> Written:
    committed = False
    try:
        recover(out_dir)
        plan = _plan(out_dir, files, folders, owned_whole, take_over)
        staging = _stage(out_dir, files, plan.manifest)
        _commit(out_dir, staging, sorted(files), plan.removable)
        committed = True
        _apply(out_dir)
        for name in folders:
            (out_dir / name).mkdir(exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        outcome = ("interrupted; the next slokit generate finishes it" if committed else "nothing written")
        raise WriteError(f"cannot write under {out_dir}: {reason}; {outcome}") from exc
    return Written(sorted(out_dir / rel for rel in files), sorted(plan.removable), plan.kept, plan.edited)


def recover(out_dir: Path) -> None:
    """Finish a write that was interrupted after its commit point; delete staging folders left behind."""
    if (out_dir / JOURNAL).exists():
        try:
            _apply(out_dir)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WriteError(f"cannot finish the interrupted write recorded in {out_dir / JOURNAL} ({exc}); "
                             f"delete it and generate again; nothing written") from exc
    for entry in out_dir.iterdir():
        if _LEFTOVER.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


@dataclass(frozen=True)
class _Plan:
    manifest: dict[str, str]
    removable: dict[str, str]
    kept: list[str]
    edited: list[str]


def _plan(out_dir: Path, files: Mapping[str, str], managed: list[str], owned_whole: bool,
          take_over: bool) -> _Plan:
    """Decide, before anything is written, what is overwritten, removed and kept; refuse foreign files."""
    roots = [out_dir / m for m in managed] if managed else [out_dir]
    on_disk = {p.relative_to(out_dir).as_posix() for root in roots if root.is_dir()
               for p in root.rglob("*") if not p.is_dir() and not _internal(p.relative_to(out_dir))}
    previous = read_manifest(out_dir)
    if owned_whole:
        previous |= {rel: _file_digest(out_dir / rel) for rel in on_disk if not (out_dir / rel).is_symlink()}
    new = {rel: _digest(text.encode("utf-8")) for rel, text in files.items()}
    blocked = sorted({b for rel in files
                      if (b := _in_the_way(out_dir, rel, new[rel], owned=take_over or rel in previous)) is not None})
    if blocked:
        raise ForeignFiles(out_dir, blocked)
    removable: dict[str, str] = {}
    edited: list[str] = []
    for rel, digest in sorted(previous.items()):
        path = out_dir / rel
        if rel in files or not path.is_file() or path.is_symlink():
            continue
        if _file_digest(path) == digest:
            removable[rel] = digest
        else:
            edited.append(rel)
    kept = sorted(on_disk - files.keys() - removable.keys() - set(edited))
    return _Plan(new, removable, kept, edited)


def _in_the_way(out_dir: Path, rel: str, digest: str, *, owned: bool) -> str | None:
    """What writing ``rel`` would lose (``rel`` itself, or a file where slokit needs a folder), as a path
    relative to ``out_dir``; None when the path is free, slokit's own file, or already identical."""
    parts = PurePosixPath(rel).parts
    for depth in range(1, len(parts)):
        ancestor = out_dir.joinpath(*parts[:depth])
        if ancestor.exists() and not ancestor.is_dir():
            return PurePosixPath(*parts[:depth]).as_posix()
    path = out_dir / rel
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_dir() or path.is_symlink():
        return rel
    return None if owned or _file_digest(path) == digest else rel


def _internal(rel: Path) -> bool:
    return rel.parts[0] in (MANIFEST, JOURNAL) or bool(_LEFTOVER.fullmatch(rel.parts[0]))


def read_manifest(out_dir: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file slokit wrote under ``out_dir`` (empty when there is none)."""
    path = out_dir / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["files"]
        if not isinstance(entries, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and _safe_relative(k) for k, v in entries.items()):
            raise ValueError("files must map relative paths to hashes")
    except (ValueError, KeyError, TypeError) as exc:
        raise WriteError(
            f"cannot read {path}: not a slokit manifest ({exc}); restore it from version control, or delete it "
            f"(slokit then refuses to overwrite any file that differs from what it would write); "
            f"nothing written") from exc
    return dict(entries)


def _safe_relative(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def _stage(out_dir: Path, files: Mapping[str, str], manifest: dict[str, str]) -> Path:
    """Every file and the new manifest, written into a fresh staging folder; removed again on failure."""
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=out_dir))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        body = {"about": _MANIFEST_NOTE, "files": dict(sorted(manifest.items()))}
        (staging / MANIFEST).write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _commit(out_dir: Path, staging: Path, moves: list[str], removable: Mapping[str, str]) -> None:
    """Put the journal in place with one rename: from here on the write is finished, now or by the next run."""
    journal = {"staging": staging.name, "move": moves, "remove": dict(removable)}
    pending = staging / JOURNAL
    with open(pending, "w", encoding="utf-8") as fh:
        json.dump(journal, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pending, out_dir / JOURNAL)


def _apply(out_dir: Path) -> None:
    """Carry out the journal; every step can be repeated, so an interrupted apply is simply run again."""
    journal = json.loads((out_dir / JOURNAL).read_text(encoding="utf-8"))
    name = str(journal["staging"])
    if not name.startswith(_STAGING_PREFIX) or "/" in name or "\\" in name or ".." in name:
        raise ValueError(f"staging folder {name!r} is not one slokit makes")
    staging = out_dir / name
    for rel in journal["move"]:
        if not _safe_relative(rel):
            continue
        source = staging / rel
        if source.exists():  # not moved yet
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, out_dir / rel)
    for rel, digest in journal["remove"].items():
        path = out_dir / rel
        if _safe_relative(rel) and path.is_file() and not path.is_symlink() and _file_digest(path) == digest:
            path.unlink()
            _prune_empty(out_dir, path.parent)
    if (staging / MANIFEST).exists():
        os.replace(staging / MANIFEST, out_dir / MANIFEST)
    os.unlink(out_dir / JOURNAL)
    shutil.rmtree(staging, ignore_errors=True)


def _prune_empty(out_dir: Path, folder: Path) -> None:
    """Remove folders emptied by removing stale files (a deleted service's runbooks/<service>/), not the
    managed folders themselves."""
    while folder.parent != out_dir and folder != out_dir and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str:
    return _digest(path.read_bytes())


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
