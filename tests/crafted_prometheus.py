"""A local server that answers Prometheus' query API with whatever JSON a test crafts (NaN, infinities,
negative counts): what a real Prometheus gives only through a broken query or a faulty proxy in between."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: The ``data`` of a successful answer to (path, the query's parameters).
Answer = Callable[[str, dict[str, str]], dict[str, Any]]


@contextmanager
def crafted(answer: Answer, warnings: Callable[[], list[str]] = list) -> Iterator[str]:
    """The base URL of a server on 127.0.0.1 answering GET and POST queries with ``answer``'s data, and the
    ``warnings`` of a partial answer (as Thanos and Mimir send when a store is missing) when there are any."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(parse_qs(urlsplit(self.path).query))

        def do_POST(self) -> None:
            self._reply(parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()))

        def _reply(self, form: dict[str, list[str]]) -> None:
            data = answer(urlsplit(self.path).path, {k: v[0] for k, v in form.items()})
            reply: dict[str, Any] = {"status": "success", "data": data}
            if partial := warnings():
                reply["warnings"] = partial
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
