"""Processing that one bad item cannot stop: failures stay with their item (retried with
backoff, then set aside), feeds take turns, and a huge feed is stored in parts."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config import Config
from monitor.host.manager import PluginHost
from monitor.models import Classification, Item
from monitor.service.runtime import Runtime
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer, rss
from tests.test_pipeline import feed_items

ROOT = Path(__file__).resolve().parent.parent


class PoisonedStore(SqlStore):
    """A real store that cannot commit items whose title says "poison" (the way a
    value the database cannot take would fail)."""

    def commit_classification(self, item_id: int, item: Item, *args: Any, **kw: Any) -> list[int]:
        if "poison" in item.title:
            raise ValueError("cannot store this item")
        return super().commit_classification(item_id, item, *args, **kw)


class Relevant:
    """A classifier that finds every item relevant."""

    @staticmethod
    def monitor_classify(item: Item) -> Classification:
        return Classification(relevant=True, score=0.9, types={"summit": 0.9})


def runtime(tmp_path: Path, feeds: list[dict[str, object]], **extra: Any) -> Runtime:
    config = Config.model_validate(
        {
            "store": {"path": str(tmp_path / "monitor.db")},
            "processing": {"max_attempts": 2, "backoff_base": "1s", "backoff_cap": "1s"},
            "feeds": feeds,
            **extra,
        }
    )
    host = PluginHost(config)
    from monitor.hookspecs import hookimpl

    plugin = type("RelevantPlugin", (), {"monitor_classify": hookimpl(Relevant.monitor_classify)})
    host.register(plugin, "relevant", "test")
    store = PoisonedStore(config.store.sqlalchemy_url())
    return Runtime(config, host=host, store=store, notifiers={})


def states(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT title, state FROM items"))


def test_a_failing_item_is_retried_then_set_aside_and_never_blocks_the_rest(
    tmp_path: Path, server: FeedServer
) -> None:
    items = feed_items(3, "good")
    items.insert(1, {**feed_items(1, "bad")[0], "title": "poison pill"})
    server.route("/a.xml", rss(items))
    rt = runtime(tmp_path, [{"name": "a", "url": server.url("/a.xml"), "fulltext": False}])

    async def run() -> tuple[int, int]:
        async with rt:
            first = await rt.cycle()
            assert rt.store.next_item_retry() is not None  # the pill waits for its retry
            await asyncio.sleep(1.1)
            second = await rt.cycle()
        return len(first.processed), len(second.processed)

    done_first, done_second = asyncio.run(run())
    assert (done_first, done_second) == (3, 0)
    found = states(tmp_path / "monitor.db")
    assert found.pop("poison pill") == "failed"
    assert set(found.values()) == {"done"}
    failed = rt.store.failed_items()
    assert failed[0]["attempts"] == 2 and "cannot store this item" in failed[0]["last_error"]
    assert rt.store.retry_failed_items() == 1
    assert states(tmp_path / "monitor.db")["poison pill"] == "new"


def test_status_shows_failed_items_and_queues_them_again(
    tmp_path: Path, server: FeedServer
) -> None:
    server.route("/a.xml", rss([{**feed_items(1, "bad")[0], "title": "poison pill"}]))
    rt = runtime(
        tmp_path,
        [{"name": "a", "url": server.url("/a.xml"), "fulltext": False}],
        processing={"max_attempts": 1},
    )

    async def run() -> None:
        async with rt:
            await rt.cycle()

    asyncio.run(run())
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "monitor.db"}"\n'
        f'[[feeds]]\nname = "a"\nurl = "{server.url("/a.xml")}"\n',
        encoding="utf-8",
    )

    def monitor(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "status", "-c", str(config), *args],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    shown = monitor()
    assert "Items: 0 pending, 0 processed, 1 failed" in shown
    assert "ValueError: cannot store this item" in shown and "poison pill" in shown
    assert "1 failed item(s) queued for processing again" in monitor("--retry-failed")
    assert "Items: 1 pending" in monitor()


def test_feeds_take_turns_so_a_flood_does_not_hold_back_another_feed(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    rows = store.sync_feeds([("flood", "https://a.example/f"), ("quiet", "https://b.example/f")])
    from monitor.store.base import EntryRecord

    now = datetime.now(UTC)
    for name, n in (("flood", 500), ("quiet", 1)):
        for i in range(n):
            entry = EntryRecord(
                key=f"{name}-{i}", canonical_url=f"https://{name}.example/{i}",
                url=f"https://{name}.example/{i}", title=f"{name} {i}", summary="", text="x",
                published=None, content_hash=f"{name}{i}", language_hint=None,
            )  # fmt: skip
            store.upsert_entry(rows[name].id, entry, now)
    first_batch = [item.title for _, item in store.pending_items(50, now)]
    assert "quiet 0" in first_batch[:2]
    # an item waiting for a retry is left out until its time
    quiet_id = next(i for i, item in store.pending_items(600, now) if item.title == "quiet 0")
    store.record_item_failure(quiet_id, "boom", now, retry_at=now + timedelta(minutes=5))
    assert "quiet 0" not in [item.title for _, item in store.pending_items(600, now)]
    later = now + timedelta(minutes=6)
    assert "quiet 0" in [item.title for _, item in store.pending_items(600, later)]
    store.close()


def test_a_huge_feed_is_stored_in_parts_over_several_polls(
    tmp_path: Path, server: FeedServer
) -> None:
    server.route("/big.xml", rss(feed_items(25, "big")), etag=True)
    rt = runtime(
        tmp_path,
        [{"name": "big", "url": server.url("/big.xml"), "fulltext": False}],
        fetch={"max_entries_per_poll": 10},
    )

    async def polls() -> list[int]:
        async with rt:
            outcomes = [await rt.poll("big") for _ in range(4)]
            return [o.new_items for o in outcomes if o is not None]

    assert asyncio.run(polls()) == [10, 10, 5, 0]


def test_when_behind_the_newest_poll_goes_first(tmp_path: Path) -> None:
    """A cold start (or more feeds than the daemon keeps up with) leaves a backlog:
    what a later poll brings is processed before it, so fresh news still alerts."""
    from monitor.store.base import EntryRecord

    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    rows = store.sync_feeds([(f"f{i}", f"https://f{i}.example/feed") for i in range(3)])
    start = datetime.now(UTC)

    def entry(name: str, n: int) -> EntryRecord:
        url = f"https://{name}.example/{n}"
        return EntryRecord(
            key=f"{name}-{n}", canonical_url=url, url=url, title=f"{name} {n}", summary="",
            text="x", published=None, content_hash=f"{name}{n}",
        )  # fmt: skip

    for name, row in rows.items():
        store.store_entries(row.id, [entry(name, n) for n in range(5)], start)
    store.store_entries(rows["f1"].id, [entry("f1", 99)], start + timedelta(minutes=1))
    first = [item.title for _, item in store.pending_items(3, start + timedelta(minutes=2))]
    assert first[0] == "f1 99"
    # the backlog itself still takes turns between feeds, in each feed's order
    assert first[1:] == ["f0 0", "f2 0"]
    store.close()
