"""A real HTTP endpoint on 127.0.0.1 that records what notifiers POST to it.

For notifier authors (Teams, Matrix, a ticket system, any webhook): point the notifier
at `receiver.url()`, send, then look at `receiver.requests`. Queue answers with
`respond()` to test retries and permanent failures.

    with WebhookReceiver() as receiver:
        receiver.respond(429, headers={"Retry-After": "30"})  # the first POST fails
        ...notifier.send([alert])...                           # raises DeliveryError
        ...notifier.send([alert])...                           # 200
        assert receiver.requests[-1].json()["title"] == "..."
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class WebhookReceiver:
    """ThreadingHTTPServer on a free port of 127.0.0.1; a context manager."""

    def __init__(self) -> None:
        self._requests: list[Received] = []
        self._answers: list[tuple[int, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received(self.command, self.path, dict(self.headers), body)
                status, headers, answer = receiver._record(request)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_POST = do_PUT = do_PATCH = do_GET = _handle

            def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, path: str = "/hook") -> str:
        """The absolute URL of `path` on this server."""
        assert self._httpd is not None, "start the receiver first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def respond(
        self,
        status: int,
        body: bytes | str = b"",
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests so (afterwards: 200 again)."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._answers.extend([(status, dict(headers or {}), data)] * times)

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def _record(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self._requests.append(request)
            if self._answers:
                return self._answers.pop(0)
        return 200, {"Content-Type": "text/plain"}, b"1"
