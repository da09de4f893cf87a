"""Polls that start together read their feeds' rows in one store call, not one job
each on the store thread (every feed due at a cycle's start held one while it waited)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.config import Config, StoreConfig
from monitor.errors import StoreError
from monitor.host.manager import PluginHost
from monitor.service.runtime import Runtime
from monitor.store import open_store
from monitor.testing.feedserver import FeedServer, rss


def runtime_for(tmp_path: Path, server: FeedServer, n: int) -> Runtime:
    feeds = []
    for i in range(n):
        item = {"title": f"story {i}", "link": f"https://news.example.org/{i}", "guid": f"g{i}"}
        server.route(f"/f{i}.xml", rss([item]), etag=True)
        feeds.append({"name": f"f{i}", "url": server.url(f"/f{i}.xml"), "fulltext": False})
    config = Config.model_validate(
        {
            "store": {"path": str(tmp_path / "monitor.db")},
            "fetch": {"per_host": 8, "concurrency": 8},
            "feeds": feeds,
        }
    )
    return Runtime(config, host=PluginHost(config), notifiers={})


def counted(calls: list[str], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return fn(*args, **kwargs)

    return call


def test_a_cycle_reads_its_feed_rows_in_one_store_call(tmp_path: Path, server: FeedServer) -> None:
    runtime = runtime_for(tmp_path, server, 300)
    reads: list[str] = []

    async def cycle() -> list[Any]:
        async with runtime:
            for name in ("feed", "feeds_named"):
                if hasattr(runtime.store, name):
                    setattr(runtime.store, name, counted(reads, name, getattr(runtime.store, name)))
            return (await runtime.cycle()).polls

    polls = asyncio.run(cycle())
    assert len(polls) == 300 and all(p.error is None and p.new_items == 1 for p in polls)
    assert reads == ["feeds_named"]


def test_a_failed_read_fails_each_waiting_poll_and_the_next_cycle_reads_again(
    tmp_path: Path, server: FeedServer
) -> None:
    runtime = runtime_for(tmp_path, server, 20)

    async def two_cycles() -> tuple[list[Any], list[Any]]:
        async with runtime:
            real = runtime.store.feeds_named

            def broken(names: object) -> object:
                raise StoreError("the store is down")

            runtime.store.feeds_named = broken  # type: ignore[method-assign]
            first = (await runtime.cycle()).polls
            runtime.store.feeds_named = real  # type: ignore[method-assign]
            return first, (await runtime.cycle()).polls

    first, second = asyncio.run(two_cycles())
    assert len(first) == 20 and all("the store is down" in (p.error or "") for p in first)
    assert all(p.error is None and p.new_items == 1 for p in second)


def test_feeds_named_reads_many_names_and_leaves_out_unknown_ones(tmp_path: Path) -> None:
    store = open_store(StoreConfig(path=str(tmp_path / "monitor.db")))
    try:
        synced = store.sync_feeds([(f"f{i}", f"https://example.com/{i}") for i in range(1200)])
        rows = store.feeds_named([f"f{i}" for i in range(0, 1200, 2)] + ["nope", "f0"])
        assert sorted(rows) == sorted(f"f{i}" for i in range(0, 1200, 2))
        assert all(rows[name] == synced[name] == store.feed(name) for name in rows)
    finally:
        store.close()
