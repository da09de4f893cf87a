"""The pytest fixtures of the testing kit; `monitor.testing` exposes them to pytest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from monitor.host.manager import PluginHost
    from monitor.testing.feedserver import FeedServer
    from monitor.testing.kit import NotifierCapture, SeedReport
    from monitor.testing.receiver import WebhookReceiver

__all__ = [
    "feed_server",
    "make_item",
    "notifier_capture",
    "register_plugin",
    "run_seeds",
    "webhook_receiver",
]


@pytest.fixture
def make_item() -> Callable[..., Any]:
    """`make_item(text="", *, title="", id=None, **fields) -> Item`."""
    from monitor.testing.kit import make_item as factory

    return factory


@pytest.fixture
def register_plugin() -> Iterator[Callable[..., PluginHost]]:
    """`register_plugin(plugin, name=None, *, options=None, config=None,
    builtins=False, startup=True) -> PluginHost`: a fresh host holding only `plugin`
    (registered under `name`, with `options` as its `[plugins.options.NAME]`),
    `monitor_startup` already called; shut down after the test. Each call builds a
    new host, so call it once with several plugins via `also=[...]`."""
    from monitor.testing.kit import host_with

    hosts: list[PluginHost] = []

    def register(
        plugin: object,
        name: str | None = None,
        *,
        options: dict[str, Any] | None = None,
        config: Any = None,
        also: tuple[object, ...] | list[object] = (),
        builtins: bool = False,
        startup: bool = True,
    ) -> PluginHost:
        host = host_with(
            plugin,
            *also,
            name=name,
            options=options,
            config=config,
            builtins=builtins,
            startup=startup,
        )
        hosts.append(host)
        return host

    yield register
    for host in hosts:
        host.shutdown()


@pytest.fixture
def run_seeds() -> Callable[..., SeedReport]:
    """`run_seeds(classify, seeds=None) -> SeedReport`; skips the test when no seed
    directory is found (set MONITOR_SEEDS to one)."""
    from monitor.testing import kit

    def run(classify: Callable[..., Any], seeds: Any = None) -> SeedReport:
        if seeds is None and kit.find_seeds() is None:
            pytest.skip(f"no seed directory found; set {kit.SEEDS_ENV}")
        return kit.run_seeds(classify, seeds)

    return run


@pytest.fixture
def notifier_capture() -> NotifierCapture:
    """A NotifierCapture: register it on a host as the "capture" notifier kind, or
    build a notifier with `.notifier(name)`; read `.alerts` and `.sent`."""
    from monitor.testing.kit import NotifierCapture

    return NotifierCapture()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer: `feed_server.route("/feed.xml", rss([...]))`,
    `feed_server.url("/feed.xml")`."""
    from monitor.testing.feedserver import FeedServer

    with FeedServer() as server:
        yield server


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A started WebhookReceiver: POST to `webhook_receiver.url()`, then read
    `webhook_receiver.requests`; `respond(status, ...)` queues answers."""
    from monitor.testing.receiver import WebhookReceiver

    with WebhookReceiver() as receiver:
        yield receiver
