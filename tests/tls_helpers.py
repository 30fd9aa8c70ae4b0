"""Test TLS material and an authenticating TLS reverse proxy in front of a real Prometheus.

:func:`make_tls` makes a private CA and a server certificate for 127.0.0.1 with the ``openssl`` command
line (the ``cryptography`` package is not among slokit's dependencies). :class:`AuthProxy` is what teams put
in front of Prometheus, Mimir or Thanos, kept small: HTTPS only, it checks a bearer token or basic auth and
the tenant header ``X-Scope-OrgID``, forwards the request to Prometheus and can add ``warnings`` to the
answers, the way a Thanos querier or Mimir reports a partial response. A refused request gets a 401 whose
message quotes the credentials it was sent, as careless servers do, so that the tests can prove slokit never
prints what a server echoes.
"""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
PARTIAL_WARNING = "partial response: store 10.0.0.7:10901 unavailable, results may be incomplete"


@dataclass(frozen=True)
class TLSFiles:
    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls(dest: Path) -> TLSFiles:
    """A CA (``ca.pem``) and a certificate it signed for IP 127.0.0.1 (``server.pem``, ``server.key``)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed to make the test certificates")
    dest.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        proc = subprocess.run([openssl, *args], cwd=dest, capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=slokit test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (dest / "server.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                                     "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n"
                                     "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return TLSFiles(dest / "ca.pem", dest / "server.pem", dest / "server.key")


class TLSServer(ThreadingHTTPServer):
    """A threaded HTTPS server on 127.0.0.1 (a free port), serving in a thread of the test process."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], tls: TLSFiles | None) -> None:
        super().__init__((HOST, 0), handler)
        if tls is not None:
            self.socket = tls.server_context().wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.server_address[1]}"

    def __enter__(self) -> TLSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that refuses the certificate, or hangs up: nothing to report


@dataclass
class ProxyConfig:
    upstream: str
    token: str
    user: str
    password: str
    tenant: str
    #: Add a partial-response warning to every successful answer.
    warn: bool = False


class _ProxyHandler(BaseHTTPRequestHandler):
    server: AuthProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def _forward(self, method: str) -> None:
        config = self.server.config
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
        given = self.headers.get("Authorization", "")
        basic = "Basic " + base64.b64encode(f"{config.user}:{config.password}".encode()).decode()
        if given not in (f"Bearer {config.token}", basic):
            # A careless server: the message quotes what it was sent.
            self._send(401, {"status": "error", "errorType": "unauthorized",
                             "error": f"authentication failed for {given!r}"})
            return
        if self.headers.get("X-Scope-OrgID") != config.tenant:
            self._send(401, {"status": "error", "errorType": "unauthorized", "error": "no org id"})
            return
        request = urllib.request.Request(config.upstream + self.path, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", self.headers.get("Content-Type", "application/x-www-form-urlencoded"))
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        answer = json.loads(raw)
        if config.warn and answer.get("status") == "success":
            answer["warnings"] = [PARTIAL_WARNING]
        self._send(status, answer)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class AuthProxy(TLSServer):
    """HTTPS in front of ``config.upstream``: bearer token or basic auth, and the tenant header, required."""

    def __init__(self, config: ProxyConfig, tls: TLSFiles) -> None:
        super().__init__(_ProxyHandler, tls)
        self.config = config
