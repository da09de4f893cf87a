"""Plain successful polls (304s, and polls that stored entries) are recorded together.

A poll that stored entries used to write its record in a transaction of its own; it
now joins the buffer of unchanged polls, and the pipeline's cached row carries the
validators it got until the buffer is written. A crash before that write loses only
the records: the next poll sends the validators the store has, gets the whole feed,
and finds every entry stored.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from monitor.config import Config
from monitor.host.manager import PluginHost
from monitor.service.runtime import Runtime
from monitor.testing.feedserver import FeedServer, rss


def config_for(tmp_path: Path, server: FeedServer, n: int) -> dict[str, Any]:
    feeds = []
    for i in range(n):
        items = [
            {"title": f"story {i}.{k}", "link": f"https://news.example.org/{i}/{k}",
             "guid": f"g{i}.{k}"}
            for k in range(3)
        ]  # fmt: skip
        server.route(f"/f{i}.xml", rss(items), etag=True)
        feeds.append({"name": f"f{i}", "url": server.url(f"/f{i}.xml"), "fulltext": False})
    return {"store": {"path": str(tmp_path / "monitor.db")}, "feeds": feeds}


def runtime_of(settings: dict[str, Any]) -> Runtime:
    config = Config.model_validate(settings)
    return Runtime(config, host=PluginHost(config), notifiers={})


def test_polls_that_store_entries_are_recorded_in_one_transaction(
    tmp_path: Path, server: FeedServer
) -> None:
    runtime = runtime_of(config_for(tmp_path, server, 30))
    writes: list[str] = []

    async def cycle() -> list[Any]:
        async with runtime:
            for name in ("record_poll", "record_polls"):
                real = getattr(runtime.store, name)

                def call(*args: Any, _real: Any = real, _name: str = name) -> Any:
                    writes.append(_name)
                    return _real(*args)

                setattr(runtime.store, name, call)
            polls = (await runtime.cycle()).polls
            rows = runtime.store.feeds()
            return [polls, rows, [runtime.store.recent_polls(r.id) for r in rows]]

    polls, rows, records = asyncio.run(cycle())
    assert all(p.error is None and p.new_items == 3 for p in polls) and len(polls) == 30
    assert writes == ["record_polls"]
    assert all(r.etag and r.items_seen == 3 and r.last_success_at for r in rows)
    assert all(len(r) == 1 and r[0]["new_items"] == 3 for r in records)


def test_the_next_poll_sends_the_validators_still_buffered(
    tmp_path: Path, server: FeedServer
) -> None:
    runtime = runtime_of(config_for(tmp_path, server, 1))

    async def twice() -> list[Any]:
        async with runtime:
            return [await runtime.poll("f0"), await runtime.poll("f0")]

    first, second = asyncio.run(twice())
    assert first is not None and first.status == 200 and first.new_items == 3
    assert second is not None and second.status == 304
    assert "if-none-match" in server.requests[-1][1]


CRASH = """
import asyncio, json, os, sys
from monitor.config import Config
from monitor.host.manager import PluginHost
from monitor.service.runtime import Runtime

config = Config.model_validate(json.loads(sys.argv[1]))

async def main():
    runtime = Runtime(config, host=PluginHost(config), notifiers={})
    await runtime.__aenter__()
    for feed in config.feeds:
        outcome = await runtime.poll(feed.name)
        assert outcome is not None and outcome.new_items == 3, outcome
    os._exit(0)  # a crash: the buffered poll records are never written

asyncio.run(main())
"""


def test_a_crash_before_the_buffer_is_written_loses_no_entry(
    tmp_path: Path, server: FeedServer
) -> None:
    settings = config_for(tmp_path, server, 4)
    done = subprocess.run(
        [sys.executable, "-c", CRASH, json.dumps(settings)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    runtime = runtime_of(settings)

    async def after() -> list[Any]:
        async with runtime:
            stored = runtime.store.item_count()
            before = [r.etag for r in runtime.store.feeds()]
            polls = (await runtime.cycle()).polls
            return [stored, before, polls, runtime.store.item_count(), runtime.store.feeds()]

    stored, before, polls, items, rows = asyncio.run(after())
    assert stored == 12 and before == [None] * 4  # entries kept, records lost
    assert all(p.status == 200 and p.new_items == 0 and p.error is None for p in polls)
    assert items == 12 and all(r.etag for r in rows)
