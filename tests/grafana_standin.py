"""A stand-in for Grafana's HTTP API, for testing ``slokit push``. It is NOT Grafana.

Grafana cannot be installed on the test machines, so this small server implements the endpoints
``slokit push`` uses, with the request and answer shapes and status codes of Grafana's documented HTTP
API: ``GET /api/health`` (no auth; 503 with ``"database": "failing"``), ``GET/POST /api/folders``,
``GET /api/folders/<uid>``, ``POST /api/dashboards/db`` and ``GET /api/dashboards/uid/<uid>``, with
Bearer-token auth (401), a read-only token (403 on writes), version handling and the 412 statuses
``version-mismatch``, ``name-exists`` and ``plugin-dashboard``. Its health answer says ``stand-in``
in ``version`` and ``commit`` so nobody mistakes it for a real server.

Where Grafana's behaviour differs between versions the stand-in picks one and says so:
``missing_folder_status`` (400 in older Grafana, 404 in newer) decides how a save into a missing folder
fails. Failures that a real server produces only under load or misconfiguration (5xx, dropped
connections, slow answers, arbitrary statuses) are injected with ``fail_next`` / ``drop_next`` /
``delay``. It binds 127.0.0.1 on an ephemeral port and runs in a thread of the test process, over HTTPS when
given a server TLS context.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

STANDIN_VERSION = "0.0.0-slokit-test-stand-in"


@dataclass
class Injected:
    """An answer (or a dropped connection) to give instead of the real one, ``times`` times."""

    method: str
    path: str
    status: int
    body: Any
    times: int
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class State:
    token: str
    readonly_token: str | None = None
    database: str = "ok"
    missing_folder_status: int = 404
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: uid -> {"dashboard": model, "folderUid", "version", "id", "pluginId": str | None, "provisioned": bool}
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    injected: list[Injected] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    delay: float = 0.0
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = ValueError
        with state.lock:
            state.requests.append(Recorded(method, path, self.headers.get("Authorization"), body))
            injected = self._take_injected(method, path)
        if state.delay:
            threading.Event().wait(state.delay)
        if injected is not None:
            if injected.drop:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._send(injected.status, injected.body, injected.headers)
            return
        if body is ValueError:
            self._send(400, {"message": "bad request data"})
            return
        with state.lock:
            status, answer = self._route(method, path, parse_qs(parts.query), body)
        self._send(status, answer)

    def _take_injected(self, method: str, path: str) -> Injected | None:
        for item in self.server.state.injected:
            if item.method == method and path.startswith(item.path) and item.times > 0:
                item.times -= 1
                return item
        return None

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # --- API ---------------------------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        state = self.server.state
        if method == "GET" and path == "/api/health":
            answer = {"commit": "stand-in", "database": state.database, "version": STANDIN_VERSION}
            return (200 if state.database == "ok" else 503), answer
        auth = self.headers.get("Authorization", "")
        if auth not in (f"Bearer {state.token}", f"Bearer {state.readonly_token}"):
            return 401, {"message": "Unauthorized"}
        readonly = state.readonly_token is not None and auth == f"Bearer {state.readonly_token}"
        if method == "POST" and readonly:
            return 403, {"message": "Access denied"}
        if method == "GET" and path == "/api/folders":
            limit = int(query.get("limit", ["1000"])[0])
            page = int(query.get("page", ["1"])[0])
            listing = [{"id": f["id"], "uid": f["uid"], "title": f["title"]} for f in state.folders.values()]
            return 200, listing[(page - 1) * limit : page * limit]
        if method == "GET" and path.startswith("/api/folders/"):
            folder = state.folders.get(path.removeprefix("/api/folders/"))
            return (200, folder) if folder else (404, {"message": "folder not found", "status": "not-found"})
        if method == "POST" and path == "/api/folders":
            return self._create_folder(body)
        if method == "GET" and path.startswith("/api/dashboards/uid/"):
            return self._get_dashboard(path.removeprefix("/api/dashboards/uid/"))
        if method == "POST" and path == "/api/dashboards/db":
            return self._save_dashboard(body)
        return 404, {"message": "Not found"}

    def _create_folder(self, body: Any) -> tuple[int, Any]:
        state = self.server.state
        if not isinstance(body, dict) or not str(body.get("title") or "").strip():
            return 400, {"message": "folder title cannot be empty"}
        uid, title = str(body.get("uid") or f"gen{state.next_id}"), str(body["title"])
        if len(uid) > 40:
            return 400, {"message": "uid too long, max 40 characters"}
        if uid in state.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        if any(f["title"] == title for f in state.folders.values()):
            return 409, {"message": "a folder or dashboard in the general folder with the same name already exists"}
        folder = {
            "id": state.next_id,
            "uid": uid,
            "title": title,
            "url": f"/dashboards/f/{uid}/{_slug(title)}",
            "version": 1,
        }
        state.next_id += 1
        state.folders[uid] = folder
        return 200, folder

    def _get_dashboard(self, uid: str) -> tuple[int, Any]:
        stored = self.server.state.dashboards.get(uid)
        if stored is None:
            return 404, {"message": "Dashboard not found"}
        folder = self.server.state.folders.get(stored["folderUid"], {})
        slug = _slug(str(stored["dashboard"].get("title", "")))
        meta = {
            "type": "db",
            "canSave": True,
            "slug": slug,
            "url": f"/d/{uid}/{slug}",
            "version": stored["version"],
            "folderUid": stored["folderUid"],
            "folderTitle": folder.get("title", "General"),
            "provisioned": stored.get("provisioned", False),
        }
        return 200, {"dashboard": stored["dashboard"], "meta": meta}

    def _save_dashboard(self, body: Any) -> tuple[int, Any]:
        state = self.server.state
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            return 400, {"message": "bad request data"}
        model = dict(body["dashboard"])
        title = str(model.get("title") or "").strip()
        if not title:
            return 400, {"message": "Dashboard title cannot be empty", "status": "empty-name"}
        uid = str(model.get("uid") or f"gen{state.next_id}")
        if len(uid) > 40:
            return 400, {"message": "uid too long, max 40 characters", "status": "uid-too-long"}
        folder_uid = str(body.get("folderUid") or "")
        if folder_uid and folder_uid not in state.folders:
            return state.missing_folder_status, {"message": "folder not found", "status": "not-found"}
        overwrite = bool(body.get("overwrite"))
        existing = state.dashboards.get(uid)
        same_name = [
            u
            for u, d in state.dashboards.items()
            if u != uid and d["folderUid"] == folder_uid and d["dashboard"].get("title") == title
        ]
        if same_name and not overwrite:
            return 412, {
                "message": "A dashboard with the same name in the folder already exists",
                "status": "name-exists",
            }
        if same_name and existing is None:
            # Modelled on Grafana's SQL store: with overwrite, a new uid takes over the dashboard that has
            # the same title in the folder, which keeps its own uid.
            uid = same_name[0]
            existing = state.dashboards[uid]
        if existing is not None and existing.get("provisioned"):
            return 400, {"message": "Cannot save provisioned dashboard"}
        if existing is not None and existing.get("pluginId"):
            return 412, {
                "message": f"The dashboard belongs to plugin {existing['pluginId']}.",
                "status": "plugin-dashboard",
            }
        if existing is not None and not overwrite and model.get("version") != existing["version"]:
            return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
        version = existing["version"] + 1 if existing else 1
        dash_id = existing["id"] if existing else state.next_id
        if existing is None:
            state.next_id += 1
        model.update({"id": dash_id, "uid": uid, "version": version})
        state.dashboards[uid] = {
            "dashboard": model,
            "folderUid": folder_uid,
            "version": version,
            "id": dash_id,
            "pluginId": None,
            "message": body.get("message"),
        }
        slug = _slug(title)
        return 200, {
            "id": dash_id,
            "uid": uid,
            "url": f"/d/{uid}/{slug}",
            "status": "success",
            "version": version,
            "slug": slug,
            "folderUid": folder_uid,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class GrafanaStandIn:
    """Start with ``with GrafanaStandIn(token) as g:``; ``g.url`` is its base URL."""

    def __init__(self, token: str, readonly_token: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.state = State(token=token, readonly_token=readonly_token)
        self._server = _Server(self.state)
        self._scheme = "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
            self._scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="grafana-standin", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    def __enter__(self) -> GrafanaStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- test controls ---------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        body: Any = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` (a prefix) with ``status``, ``body`` and ``headers``."""
        with self.state.lock:
            answer = {"message": "injected"} if body is None else body
            self.state.injected.append(Injected(method, path, status, answer, times, headers=dict(headers or {})))

    def drop_next(self, method: str, path: str, times: int = 1) -> None:
        """Close the connection without answering the next ``times`` requests to ``path``."""
        with self.state.lock:
            self.state.injected.append(Injected(method, path, 0, None, times, drop=True))

    def add_folder(self, uid: str, title: str) -> None:
        with self.state.lock:
            self.state.folders[uid] = {"id": self.state.next_id, "uid": uid, "title": title, "version": 1}
            self.state.next_id += 1

    def add_dashboard(
        self, uid: str, title: str, folder_uid: str = "", plugin_id: str | None = None, provisioned: bool = False
    ) -> None:
        """A dashboard made outside the API under test: by hand, by an app plugin, or provisioned from files."""
        with self.state.lock:
            self.state.dashboards[uid] = {
                "dashboard": {"uid": uid, "title": title, "id": self.state.next_id, "version": 1},
                "folderUid": folder_uid,
                "version": 1,
                "id": self.state.next_id,
                "pluginId": plugin_id,
                "provisioned": provisioned,
            }
            self.state.next_id += 1

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self.state.lock:
            return [
                r
                for r in self.state.requests
                if (method is None or r.method == method) and (path is None or r.path.startswith(path))
            ]
