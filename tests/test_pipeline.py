"""The pipeline in process: many feeds, conditional polling, hostile feeds among healthy ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.host.manager import PluginHost
from monitor.service.runtime import Runtime
from monitor.testing.feedserver import FeedServer, rss


def feed_items(n: int, prefix: str) -> list[dict[str, str]]:
    return [
        {
            "title": f"{prefix} story {i}",
            "link": f"https://news.example.org/{prefix}/{i}",
            "guid": f"{prefix}-{i}",
            "summary": f"Summary of {prefix} story {i}.",
            "published": "2025-11-10T08:00:00Z",
        }
        for i in range(n)
    ]


def runtime_for(tmp_path: Path, feeds: list[dict[str, object]]) -> Runtime:
    config = Config.model_validate(
        {
            "store": {"path": str(tmp_path / "monitor.db")},
            "fetch": {"per_host": 8, "concurrency": 32, "total_timeout": 3, "read_timeout": 2},
            "feeds": feeds,
        }
    )
    # no classifier, no notifier: this test is about polling and storing
    return Runtime(config, host=PluginHost(config), notifiers={})


def test_200_feeds_second_cycle_all_304_no_parse_no_items(
    tmp_path: Path, server: FeedServer
) -> None:
    feeds = []
    for i in range(200):
        server.route(f"/f{i}.xml", rss(feed_items(3, f"f{i}")), etag=True)
        feeds.append({"name": f"f{i}", "url": server.url(f"/f{i}.xml"), "fulltext": False})
    runtime = runtime_for(tmp_path, feeds)

    async def two_cycles() -> tuple[list[object], list[object], int, int]:
        async with runtime:
            first = await runtime.cycle()
            items_after_first = runtime.store.item_count()
            second = await runtime.cycle()
            return first.polls, second.polls, items_after_first, runtime.store.item_count()

    first, second, items1, items2 = asyncio.run(two_cycles())
    assert sum(p.parsed for p in first) == 200 and sum(p.new_items for p in first) == 600
    assert items1 == 600
    assert all(p.status == 304 for p in second)
    assert sum(p.parsed for p in second) == 0
    assert sum(p.new_items for p in second) == 0 and items2 == 600
    conditional = [
        h for path, h in server.requests[-200:] if "if-none-match" in {k.lower() for k in h}
    ]
    assert len(conditional) == 200


def test_hostile_feeds_do_not_stop_healthy_ones(tmp_path: Path, server: FeedServer) -> None:
    server.route("/ok1.xml", rss(feed_items(2, "ok1")))
    server.route("/ok2.xml", rss(feed_items(2, "ok2")))
    server.route(
        "/html.xml",
        "<!doctype html><html><body>Not a feed</body></html>",
        headers={"Content-Type": "text/html"},
    )
    server.route(
        "/garbage.xml", bytes(range(256)) * 40, headers={"Content-Type": "application/octet-stream"}
    )
    server.route("/error.xml", "boom", status=500)
    server.route("/gone.xml", "gone", status=410)
    server.route("/loop.xml", "", status=302, redirect_to="/loop.xml")
    names = ["ok1", "ok2", "html", "garbage", "error", "gone", "loop"]
    runtime = runtime_for(
        tmp_path, [{"name": n, "url": server.url(f"/{n}.xml"), "fulltext": False} for n in names]
    )

    async def cycle() -> dict[str, object]:
        async with runtime:
            report = await runtime.cycle()
            return {p.feed: p for p in report.polls}

    polls = asyncio.run(cycle())
    assert polls["ok1"].new_items == 2 and polls["ok2"].new_items == 2
    for bad in ["html", "garbage", "error", "gone", "loop"]:
        assert polls[bad].error, bad
    store = runtime_for(tmp_path, []).store
    gone = store.feed("gone")
    assert gone is not None and not gone.enabled and "410" in (gone.disabled_reason or "")
    error = store.feed("error")
    assert error is not None and error.consecutive_failures == 1 and error.next_poll_at is not None
    store.close()


def test_feeds_are_fetched_no_faster_than_they_are_parsed_and_stored(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backpressure: with parsing held up, no more feeds are fetched than
    `[fetch] concurrency` (before, every feed of a cycle was fetched while the first
    bodies waited for a parser, all of them in memory)."""
    import threading

    import monitor.service.pipeline

    feeds = []
    for i in range(30):
        server.route(f"/f{i}.xml", rss(feed_items(2, f"f{i}")))
        feeds.append({"name": f"f{i}", "url": server.url(f"/f{i}.xml"), "fulltext": False})
    config = Config.model_validate(
        {
            "store": {"path": str(tmp_path / "monitor.db")},
            "fetch": {"per_host": 4, "concurrency": 4, "total_timeout": 10},
            "feeds": feeds,
        }
    )
    release = threading.Event()
    real_parse = monitor.service.pipeline.parse_feed

    def held_parse(*args: object, **kwargs: object) -> object:
        release.wait(10)
        return real_parse(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(monitor.service.pipeline, "parse_feed", held_parse)

    async def cycle() -> tuple[int, int]:
        async with Runtime(config, host=PluginHost(config), notifiers={}) as runtime:
            polls = asyncio.gather(*(runtime.poll(f["name"]) for f in feeds))  # type: ignore[arg-type]
            await asyncio.sleep(1.0)  # time enough to fetch every feed, were it allowed
            fetched_while_held = len(server.requests)
            release.set()
            await polls
            return fetched_while_held, runtime.store.item_count()

    fetched_while_held, items = asyncio.run(cycle())
    assert fetched_while_held <= 4
    assert items == 60
