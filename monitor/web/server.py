"""Serving the web app with uvicorn on the caller's event loop: the daemon starts it
beside its scheduler (one loop, no thread), `monitor web` runs it alone.

uvicorn's own signal handling is switched off: the daemon's SIGTERM/SIGHUP handlers
stay in charge, and stopping the server is the caller's call (`WebServer.stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

import uvicorn
from starlette.types import ASGIApp

from monitor.config import Config
from monitor.host.manager import PluginHost
from monitor.models import Classification, Item
from monitor.service.health import parse_address
from monitor.store.base import Store
from monitor.web.app import Classifier, HealthFn, MetricsFn, build_app

log = logging.getLogger("monitor.web")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the owner of the loop handles signals


class WebServer:
    """One uvicorn server for `app` on `address` (port 0 picks a free one)."""

    def __init__(self, app: ASGIApp, address: tuple[str, int]) -> None:
        self.address = address
        config = uvicorn.Config(
            app,
            host=address[0],
            port=address[1],
            lifespan="off",
            access_log=False,
            log_level="warning",
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        self.server = _Server(config)
        self._task: asyncio.Task[None] | None = None
        self.bound: tuple[str, int] | None = None

    async def start(self) -> tuple[str, int]:
        """Listen; returns the bound (host, port). Raises OSError when it cannot bind."""
        self._task = asyncio.get_running_loop().create_task(self.server.serve(), name="web")
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise OSError(f"cannot listen on {self.address[0]}:{self.address[1]}")
            await asyncio.sleep(0.01)
        sock = self.server.servers[0].sockets[0].getsockname()
        self.bound = (str(sock[0]), int(sock[1]))
        # the same words as the endpoint it replaces: operators and tests look for them
        log.info("http endpoint listening on %s:%d", *self.bound)
        return self.bound

    async def serve_until(self, stop: asyncio.Event) -> None:
        await self.start()
        await stop.wait()
        await self.stop()

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


def daemon_server(
    address: str,
    store: Store,
    config: Callable[[], Config],
    health: HealthFn,
    metrics: MetricsFn,
    classifier: Classifier | None = None,
) -> WebServer | None:
    """What the daemon serves on `daemon.http`: /healthz, /metrics and (unless
    `[web] enabled = false`) the pages; None when `address` is "" (disabled)."""
    parsed = parse_address(address)
    if parsed is None:
        return None
    app = build_app(
        store, config, health=health, metrics=metrics, classifier=classifier,
        pages=config().web.enabled,
    )  # fmt: skip
    return WebServer(app, parsed)


def host_classifier(host: PluginHost) -> Classifier:
    """The item page's explanation from a plugin host (enrich, then classify)."""

    def classify(item: Item) -> Classification | None:
        return host.classify(host.enrich(item))

    return classify
