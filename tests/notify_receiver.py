"""A real HTTP receiver for the notify tests: ``http.server`` in a thread on 127.0.0.1, an ephemeral port.

It records every request (method, path, headers, JSON body) and answers as Slack, a generic webhook and the
GitHub issues API would; ``fail_with`` makes it answer every request with that status instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    url: str
    requests: list[Request] = field(default_factory=list)
    fail_with: int | None = None
    issues: list[dict[str, Any]] = field(default_factory=list)  # what GET /repos/o/r/issues lists

    def bodies(self, path_start: str = "/", method: str = "POST") -> list[Any]:
        return [r.body for r in self.requests if r.path.startswith(path_start) and r.method == method]

    def clear(self) -> None:
        self.requests.clear()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass  # quiet: the test reads ``receiver.requests``

        def _record(self) -> Request:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            receiver.requests.append(request)
            return request

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode() if body is not None else b"ok"
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if body is not None else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _respond(self) -> None:
            request = self._record()
            if receiver.fail_with is not None:
                self._answer(receiver.fail_with, {"message": "receiver is down"})
                return
            if "/repos/" in request.path:
                if request.method == "GET":
                    self._answer(200, receiver.issues)
                elif request.path.endswith("/issues") and request.method == "POST":
                    number = 100 + len(receiver.issues)
                    receiver.issues.append({"number": number, "title": request.body["title"], "state": "open"})
                    self._answer(201, {"number": number})
                else:
                    self._answer(201 if request.method == "POST" else 200, {"id": 1})
                return
            self._answer(200, None)

        do_GET = do_POST = do_PATCH = _respond  # noqa: N815 - http.server's names

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
