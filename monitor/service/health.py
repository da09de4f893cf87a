"""The daemon's HTTP endpoint: `/healthz` and `/metrics`, served on the daemon's loop.

A deliberately tiny HTTP/1.1 server (GET and HEAD, one request per connection) on
asyncio.start_server: no extra thread, no framework, nothing to configure but the
address. Blocking checks (a store write, a metrics scrape that reads the outbox) run
in a worker thread so a slow disk never stalls polling.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("monitor.service.health")

CHECK_TIMEOUT = 5.0
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}  # fmt: skip


@dataclass
class Health:
    """The result of the health checks: `ok` and, per check, True or why it failed."""

    checks: dict[str, bool | str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(v is True for v in self.checks.values())

    def body(self) -> bytes:
        failed = {k: v for k, v in self.checks.items() if v is not True}
        doc: dict[str, object] = {
            "status": "ok" if self.ok else "unhealthy",
            "checks": {k: "ok" if v is True else v for k, v in self.checks.items()},
        }
        if failed:
            doc["failed"] = sorted(failed)
        return json.dumps(doc).encode() + b"\n"


def parse_address(value: str) -> tuple[str, int] | None:
    """`"127.0.0.1:9464"` -> ("127.0.0.1", 9464); `":9464"` binds 127.0.0.1; "" -> None."""
    value = value.strip()
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f'daemon.http: expected "HOST:PORT" like "127.0.0.1:9464", got {value!r}')
    return (host.strip("[]") or "127.0.0.1"), int(port)


class HttpEndpoint:
    """Serves `/healthz` (200 or 503 with a JSON body) and `/metrics` (Prometheus text)."""

    def __init__(
        self,
        address: tuple[str, int],
        health: Callable[[], Awaitable[Health]],
        metrics: Callable[[], tuple[bytes, str]],
    ) -> None:
        self.address = address
        self.health = health
        self.metrics = metrics
        self._server: asyncio.Server | None = None
        self.bound: tuple[str, int] | None = None

    async def start(self) -> tuple[str, int]:
        host, port = self.address
        self._server = await asyncio.start_server(self._handle, host, port, reuse_address=True)
        sock = self._server.sockets[0].getsockname()
        self.bound = (str(sock[0]), int(sock[1]))
        log.info("http endpoint listening on %s:%d", *self.bound)
        return self.bound

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            status, ctype, body = await self._route(method, path)
            writer.write(
                f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode("latin-1")
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError, UnicodeDecodeError):  # fmt: skip
            pass
        except Exception:
            log.exception("http endpoint: request failed")
        finally:
            writer.close()

    async def _route(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        if path == "/healthz":
            health = await self.health()
            return (200 if health.ok else 503), "application/json", health.body()
        if path == "/metrics":
            body, ctype = await asyncio.to_thread(self.metrics)
            return 200, ctype, body
        return 404, "text/plain", b"not found: try /healthz or /metrics\n"


async def store_check(is_writable: Callable[[], bool]) -> bool | str:
    """True when a write succeeds within CHECK_TIMEOUT; otherwise why not."""
    try:
        ok = await asyncio.wait_for(asyncio.to_thread(is_writable), timeout=CHECK_TIMEOUT)
    except TimeoutError:
        return f"store write took longer than {CHECK_TIMEOUT:g} s"
    except Exception as exc:
        return f"store check raised {type(exc).__name__}: {exc}"
    return True if ok else "store is not writable"
