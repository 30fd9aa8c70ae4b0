"""``slokit push``: put the generated dashboards into Grafana, or show what a push would change.

Input is what ``slokit generate`` wrote: ``dashboards/<service>.json`` for every loaded service and
``dashboards/slo-overview.json``, bare dashboard models with stable uids. Each service's dashboard goes
to the folder its spec names (``grafana.folder``); the overview goes to the folder most of the services
use (``slokit.dashboards.overview_folder``, the same rule as ``provisioning.yaml``), so a repository whose
teams share one folder gets everything there.
Folders are found by title and created when missing, with a uid derived from the title.

A push never stops at the first failed dashboard: each one gets its own outcome. Only failures that
would repeat for every later request (Grafana unreachable, token refused) end the run early; the
remaining dashboards are then reported as skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from slokit import __version__
from slokit.check_common import RUN_GENERATE
from slokit.dashboards import OVERVIEW_FILE, file_name, overview_folder
from slokit.grafana_api import FolderExists, GrafanaClient, GrafanaError, Rejected
from slokit.links import slug
from slokit.spec.model import Service

MESSAGE_MAX = 500  # Grafana's limit on a version message
UID_MAX = 40  # Grafana's limit on dashboard and folder uids
#: Exit code for problems with the local dashboard files (missing, not JSON, no uid).
INPUT_ERROR = 2
#: Grafana's built-in root folder.
GENERAL = "General"
#: Keys Grafana sets itself on every save; a diff ignores them.
SERVER_FIELDS = frozenset({"id", "version", "iteration"})

State = Literal["created", "updated", "new", "changed", "unchanged", "failed", "skipped"]


@dataclass(frozen=True)
class Target:
    """One dashboard to push: where it came from and where it goes."""

    file: str  # as shown to the user: dashboards/onboarding.json
    model: dict[str, Any]
    folder: str  # folder title
    sources: tuple[str, ...]  # spec files it was generated from

    @property
    def uid(self) -> str:
        return str(self.model["uid"])

    @property
    def message(self) -> str:
        """The version note Grafana keeps with each save (at most 500 characters)."""
        text = f"slokit {__version__} from {', '.join(self.sources)}"
        return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 3] + "..."


@dataclass(frozen=True)
class Outcome:
    file: str
    state: State
    detail: str = ""
    exit_code: int = 0

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    def __str__(self) -> str:
        return f"{self.state:<9} {self.file}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Report:
    outcomes: tuple[Outcome, ...]
    #: A failure before any dashboard was tried (the health check: unreachable, unhealthy).
    error: GrafanaError | None = None
    #: What the server's health check called its version.
    server_version: str = ""

    @property
    def exit_code(self) -> int:
        """0 when everything worked; else the code of the first failure (see ``slokit push --help``)."""
        if self.error is not None:
            return self.error.exit_code
        return next((o.exit_code for o in self.outcomes if o.failed), 0)


# --- what to push ----------------------------------------------------------------------------------------


def folder_uid(title: str) -> str:
    """A stable uid for a folder slokit creates, readable when the title allows it."""
    base = slug(title)
    uid = f"slokit-{base}"
    if base and len(uid) <= UID_MAX:
        return uid
    digest = hashlib.sha256(title.encode()).hexdigest()[:8]
    return f"{uid[: UID_MAX - 9].rstrip('-')}-{digest}"


def collect(dashboards_dir: Path, services: Sequence[Service]) -> tuple[list[Target], list[Outcome]]:
    """The dashboards of ``services`` plus the overview; unreadable files become failed outcomes."""
    wanted: list[tuple[Path, str, tuple[str, ...]]] = [
        (dashboards_dir / file_name(s), s.grafana_folder, (s.source,)) for s in services
    ]
    if services:
        sources = tuple(dict.fromkeys(s.source for s in services))
        wanted.append((dashboards_dir / OVERVIEW_FILE, overview_folder(services), sources))
    targets: list[Target] = []
    problems: list[Outcome] = []
    for path, folder, sources in wanted:
        shown = f"{dashboards_dir.name}/{path.name}"
        try:
            targets.append(Target(shown, _read_model(path), folder, sources))
        except ValueError as err:
            problems.append(Outcome(shown, "failed", str(err), INPUT_ERROR))
    known = {p.name for p, _, _ in wanted}
    for extra in sorted(dashboards_dir.glob("*.json")):
        if extra.name not in known:
            problems.append(
                Outcome(f"{dashboards_dir.name}/{extra.name}", "skipped", "no loaded service has this name")
            )
    return targets, problems


def _read_model(path: Path) -> dict[str, Any]:
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"not found: {RUN_GENERATE}") from None
    except OSError as err:
        raise ValueError(f"cannot read it: {err.strerror}") from None
    except ValueError as err:
        raise ValueError(f"not valid JSON: {err}") from None
    if not isinstance(model, dict) or "dashboard" in model:
        raise ValueError("expected a bare dashboard model (a JSON object with title and uid)")
    uid, title = model.get("uid"), model.get("title")
    if not isinstance(uid, str) or not uid or len(uid) > UID_MAX:
        raise ValueError(f"the dashboard needs a uid of 1 to {UID_MAX} characters")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("the dashboard needs a title")
    return model


# --- the push ---------------------------------------------------------------------------------------------


class Folders:
    """Folder uids by title, looked up once and created on demand."""

    def __init__(self, client: GrafanaClient) -> None:
        self._client = client
        self._by_title: dict[str, str] | None = None

    def find(self, title: str) -> str | None:
        if self._by_title is None:
            self._by_title = {str(f.get("title")): str(f.get("uid")) for f in self._client.list_folders()}
        if title in self._by_title:
            return self._by_title[title]
        folded = [uid for t, uid in self._by_title.items() if t.casefold() == title.casefold()]
        return folded[0] if len(folded) == 1 else None

    def ensure(self, title: str) -> str:
        if title.casefold() == GENERAL.casefold():
            return ""  # Grafana's root folder: not part of the folder API, saved with an empty folderUid
        uid = self.find(title)
        if uid is not None:
            return uid
        uid = folder_uid(title)
        try:
            uid = str(self._client.create_folder(uid, title).get("uid") or uid)
        except FolderExists:
            # Created meanwhile (by a parallel push) or a title clash Grafana resolves case-insensitively.
            if self._client.get_folder(uid) is None:
                self._by_title = None
                found = self.find(title)
                if found is None:
                    raise Rejected(
                        f"cannot create folder {title!r}: Grafana says it exists, but it is not visible to "
                        "this token (or a dashboard in the General folder has that name)"
                    ) from None
                uid = found
        assert self._by_title is not None
        self._by_title[title] = uid
        return uid


def push(client: GrafanaClient, targets: Sequence[Target], *, dry_run: bool = False) -> Report:
    """Save every target (or, with ``dry_run``, compare it with Grafana's copy) and report each one."""
    try:
        version = str(client.health().get("version", ""))
    except GrafanaError as err:
        return Report(tuple(Outcome(t.file, "skipped", "not attempted") for t in targets), err)
    folders = Folders(client)
    outcomes: list[Outcome] = []
    fatal = False
    for target in targets:
        if fatal:
            outcomes.append(Outcome(target.file, "skipped", "not attempted after the failure above"))
            continue
        try:
            outcomes.append(_diff(client, target) if dry_run else _save(client, folders, target))
        except GrafanaError as err:
            outcomes.append(Outcome(target.file, "failed", str(err), err.exit_code))
            fatal = err.fatal
    return Report(tuple(outcomes), server_version=version)


def _save(client: GrafanaClient, folders: Folders, target: Target) -> Outcome:
    folder_uid = folders.ensure(target.folder)
    saved = client.save_dashboard(target.model, folder_uid, target.message)
    where = f"uid {saved.uid}, version {saved.version}, folder {target.folder!r}"
    if saved.url:
        where += f", {client.base_url}{saved.url}"
    if saved.uid != target.uid:
        return Outcome(
            target.file,
            "failed",
            f"Grafana saved it over another dashboard with the same title ({where}) instead of under uid "
            f"{target.uid}; rename or delete that dashboard and push again",
            7,
        )
    return Outcome(target.file, "created" if saved.version == 1 else "updated", where)


def _diff(client: GrafanaClient, target: Target) -> Outcome:
    current = client.get_dashboard(target.uid)
    if current is None:
        return Outcome(target.file, "new", f"uid {target.uid}, folder {target.folder!r}")
    remote = current.get("dashboard")
    meta: dict[str, Any] = current.get("meta") or {}
    keys = changed_keys(target.model, remote if isinstance(remote, dict) else {})
    notes = [f"{', '.join(keys)} differ"] if keys else []
    remote_folder = str(meta.get("folderTitle") or GENERAL)
    if remote_folder != target.folder:
        notes.append(f"moves from folder {remote_folder!r} to {target.folder!r}")
    where = f"uid {target.uid}, Grafana's version {meta.get('version', '?')}"
    if meta.get("provisioned"):
        notes.append("provisioned from files on the Grafana host, so Grafana will refuse a push")
    if notes:
        return Outcome(target.file, "changed", f"{where}: {'; '.join(notes)}")
    return Outcome(target.file, "unchanged", where)


def changed_keys(local: dict[str, Any], remote: dict[str, Any]) -> list[str]:
    """Top-level keys whose values differ, ignoring what Grafana sets itself on save."""
    missing = object()
    keys = (set(local) | set(remote)) - SERVER_FIELDS
    return sorted(k for k in keys if local.get(k, missing) != remote.get(k, missing))
