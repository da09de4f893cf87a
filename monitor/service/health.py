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
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.textsafe import inert_line

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


# --- the pipeline tells the truth ----------------------------------------------------


@dataclass(frozen=True)
class HealthLimits:
    """When the pipeline counts as unhealthy (seconds, or items)."""

    #: An item stored but still unprocessed after this long is stuck.
    stuck_after: float = 1800.0
    #: More unprocessed items than this is a backlog that is not being worked off.
    max_backlog: int = 10_000


async def pipeline_checks(
    store: Any,
    deliverer: Any | None = None,
    *,
    limits: HealthLimits = HealthLimits(),
    now: datetime | None = None,
) -> dict[str, bool | str]:
    """The checks `/healthz` adds to "scheduler" and "store": items, backlog, deliveries.

    - items: no item has waited longer than `limits.stuck_after` to be processed;
    - backlog: at most `limits.max_backlog` items wait;
    - deliveries: none is "sending" without a send in flight in this process (a send
      that crashed without settling), and no send has outlived its time-out.

    Read in a worker thread within CHECK_TIMEOUT; a store that cannot answer fails the
    checks with the reason rather than answering 200.
    """
    moment = now or datetime.now(UTC)

    def read() -> tuple[tuple[int, list[dict[str, Any]]], tuple[int, datetime | None], Any]:
        stuck = store.stuck_items(moment - timedelta(seconds=limits.stuck_after))
        return stuck, store.item_backlog(), store.sending_deliveries()

    names = ("items", "backlog", "deliveries")
    try:
        stuck, backlog, sending = await asyncio.wait_for(
            asyncio.to_thread(read), timeout=CHECK_TIMEOUT
        )
    except TimeoutError:
        return dict.fromkeys(names, f"store did not answer within {CHECK_TIMEOUT:g} s")
    except Exception as exc:
        return dict.fromkeys(names, f"cannot read the store: {type(exc).__name__}: {exc}")
    checks: dict[str, bool | str] = {}
    count, oldest = stuck
    if count:
        first = oldest[0] if oldest else {}
        since = first.get("since")
        age = f"{(moment - since).total_seconds():.0f} s" if since else "?"
        checks["items"] = inert_line(
            f"{count} item(s) unprocessed for more than {limits.stuck_after:g} s; oldest: "
            f"item {first.get('id')} from feed {first.get('feed')!r}, waiting {age}"
        )
    else:
        checks["items"] = True
    waiting, _ = backlog
    checks["backlog"] = (
        True
        if waiting <= limits.max_backlog
        else f"{waiting} items wait to be processed (more than {limits.max_backlog})"
    )
    problems = []
    inflight = deliverer.accounted_for() if deliverer is not None else set()
    orphans = [(i, n) for i, n in sending if i not in inflight] if deliverer is not None else []
    if orphans:
        notifiers = sorted({n for _, n in orphans})
        problems.append(
            f"{len(orphans)} delivery(ies) marked sending with no send in flight "
            f"(notifier(s) {', '.join(notifiers)})"
        )
    overdue = deliverer.overdue() if deliverer is not None and hasattr(deliverer, "overdue") else []
    if overdue:
        longest = max(seconds for _, _, seconds in overdue)
        problems.append(
            f"{len(overdue)} send(s) past their time-out (longest running {longest:.0f} s, "
            f"notifier(s) {', '.join(sorted({n for _, n, _ in overdue}))})"
        )
    checks["deliveries"] = inert_line("; ".join(problems)) if problems else True
    return checks
