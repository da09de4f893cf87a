"""PostgreSQL as the shared store: what several processes on one database rely on."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from monitor.alerts.decide import decide
from monitor.config import Config
from monitor.models import Classification, Item
from monitor.store.base import EntryRecord, NewAlert, StoryContext, StoryRow
from monitor.store.sql import SqlStore
from monitor.testing.postgres import PostgresServer

NOW = datetime(2025, 11, 10, 9, 0, tzinfo=UTC)
CONFIG = Config.model_validate({"routes": [{"name": "desk", "notifiers": ["console"]}]})
SUMMIT = Classification(
    relevant=True,
    score=0.9,
    primary="summit",
    types={"summit": 0.9},
    actors=("Vladimir Putin", "Kim Jong Un"),
    event_date=date(2025, 11, 9),
)


def entry(n: int) -> EntryRecord:
    url = f"https://outlet{n}.example/putin-kim"
    return EntryRecord(
        key=f"k{n}", canonical_url=url, url=url, title="Putin and Kim meet",
        summary="", text="Putin met Kim.", published=NOW, content_hash=f"h{n}",
    )  # fmt: skip


def test_two_processes_deciding_at_once_open_one_story_and_alert_once(
    postgres: PostgresServer,
) -> None:
    url = postgres.new_database()
    a, b = SqlStore(url), SqlStore(url)  # two engines: two processes' worth of connections
    feed = a.sync_feeds([("wire", "https://wire.example/feed")])["wire"]
    ids = [a.upsert_entry(feed.id, entry(n), NOW)[0] for n in (1, 2)]
    results: dict[int, list[int]] = {}

    def process(store: SqlStore, item_id: int) -> None:
        item = Item(id=str(item_id), title="Putin and Kim meet", text="...", published=NOW)

        def slow_decide(context: StoryContext) -> tuple[StoryRow | None, Sequence[NewAlert]]:
            time.sleep(0.3)  # both read before either writes, unless serialised
            d = decide(item_id, item, SUMMIT, context, CONFIG, NOW)
            return d.story, d.alerts

        results[item_id] = store.decide_and_commit(
            item_id, item, SUMMIT, NOW, since=NOW - timedelta(days=30),
            event_dates=(date(2025, 11, 6), date(2025, 11, 12)), decide=slow_decide,
        )  # fmt: skip

    threads = [
        threading.Thread(target=process, args=(s, i)) for s, i in zip((a, b), ids, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with a.engine.connect() as conn:
        stories = conn.exec_driver_sql("SELECT count(*) FROM stories").scalar_one()
        kinds = sorted(r[0] for r in conn.exec_driver_sql("SELECT kind FROM alerts"))
    a.close()
    b.close()
    assert stories == 1
    assert kinds == ["followup", "new"]


def test_timestamps_are_aware_and_json_is_jsonb(postgres: PostgresServer) -> None:
    store = SqlStore(postgres.new_database())
    feed = store.sync_feeds([("wire", "https://wire.example/feed")])["wire"]
    store.upsert_entry(feed.id, entry(1), NOW)
    with store.engine.connect() as conn:
        kinds = dict(
            conn.exec_driver_sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'items' AND column_name IN ('fetched_at', 'meta')"
            ).all()
        )
    assert kinds == {"fetched_at": "timestamp with time zone", "meta": "jsonb"}
    [(_, item)] = store.pending_items(10, NOW)
    assert item.published == NOW and item.published.tzinfo is not None
    store.close()


def test_nodes_starting_together_migrate_once(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    errors: list[BaseException] = []
    opened: list[SqlStore] = []

    def start() -> None:
        try:
            opened.append(SqlStore(url))
        except BaseException as exc:  # reported below with the others
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and len(opened) == 4
    with opened[0].engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT value FROM meta").scalars().all()
    for store in opened:
        store.close()
    from monitor.store.migrations import SCHEMA_VERSION

    assert versions == [str(SCHEMA_VERSION)]


def test_one_single_node_daemon_per_postgresql_database(postgres: PostgresServer) -> None:
    import pytest

    from monitor.config import Config
    from monitor.errors import AlreadyRunningError
    from monitor.service.lock import ServerLock, database_lock

    url = postgres.new_database()
    config = Config.model_validate({"store": {"url": url}})
    first, second = database_lock(config), database_lock(config)
    assert isinstance(first, ServerLock) and isinstance(second, ServerLock)
    with first, pytest.raises(AlreadyRunningError, match="advisory lock"):
        second.acquire()
    with second:  # released by the first: free again
        pass


def test_nodes_syncing_feeds_together_insert_each_once(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    stores = [SqlStore(url) for _ in range(4)]
    feeds = [(f"f{i}", f"https://f{i}.example/feed") for i in range(50)]
    errors: list[BaseException] = []

    def sync(store: SqlStore) -> None:
        try:
            store.sync_feeds(feeds)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sync, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(stores[0].feeds()) == 50
    for store in stores:
        store.close()


def test_batched_entries_and_poll_records_write_the_rows_of_one_at_a_time(
    postgres: PostgresServer,
) -> None:
    """The batched paths (store_entries, the poll buffer) on PostgreSQL: the same rows
    as one upsert per entry and one record per poll."""
    import random

    from sqlalchemy import select

    from monitor.store import schema as t
    from monitor.store.base import PollRecord

    rng = random.Random(3)
    one, batch = SqlStore(postgres.new_database()), SqlStore(postgres.new_database())
    feeds = [(name, f"https://{name}.example/feed") for name in "abc"]
    ids = {name: row.id for name, row in one.sync_feeds(feeds).items()}
    assert {n: r.id for n, r in batch.sync_feeds(feeds).items()} == ids
    polls = []
    for n in range(30):
        when = NOW + timedelta(minutes=n)
        feed = rng.choice("abc")
        entries = [entry(rng.randint(0, 12)) for _ in range(rng.randint(0, 6))]
        expected = [one.upsert_entry(ids[feed], e, when) for e in entries]
        assert batch.store_entries(ids[feed], entries, when)[0] == expected
        polls.append((ids[feed], PollRecord(
            started_at=when, duration=0.01, status=200, nbytes=10, new_items=len(entries),
            etag=rng.choice([None, f'"v{n}"']), next_poll_at=when + timedelta(minutes=15),
        )))  # fmt: skip
    for feed_id, record in polls:
        one.record_poll(feed_id, record)
    batch.record_polls(polls)

    def rows(store: SqlStore) -> list[list[tuple[object, ...]]]:
        with store.engine.connect() as conn:
            return [
                [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key))]
                for table in (t.feeds, t.items, t.item_sources, t.polls)
            ]

    try:
        assert rows(batch) == rows(one)
    finally:
        one.close()
        batch.close()
