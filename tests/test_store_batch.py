"""Storing a poll in one batch writes exactly the rows one `upsert_entry` per entry
writes: compared over random polls with repeated keys, shared URLs across feeds and
edited content."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.store.base import EntryRecord
from monitor.store.sql import SqlStore

START = datetime(2025, 11, 1, tzinfo=UTC)


def random_polls(rng: random.Random, n_polls: int) -> list[tuple[str, list[EntryRecord]]]:
    polls = []
    for _ in range(n_polls):
        feed = rng.choice(["a", "b", "c"])
        entries = []
        for _ in range(rng.randint(0, 12)):
            k = rng.randint(0, 15)
            url = rng.choice([f"https://news.example/{k}", f"https://news.example/{k % 5}", None])
            body = rng.choice(["one", "two", "three"])
            entries.append(
                EntryRecord(
                    key=rng.choice([f"{feed}-{k}", f"shared-{k}"]),
                    canonical_url=url,
                    url=url,
                    title=f"story {k} {body}",
                    summary=body,
                    text=body * 3,
                    published=START + timedelta(hours=k),
                    content_hash=f"{k}-{body}",
                    language_hint=rng.choice([None, "en", "ru"]),
                )
            )
        polls.append((feed, entries))
    return polls


def dump(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with sqlite3.connect(db) as conn:
        items = conn.execute(
            "SELECT id, key, canonical_url, url, title, summary, text, published_at, fetched_at,"
            " updated_at, content_hash, feed_id, state, meta, attempts FROM items ORDER BY id"
        ).fetchall()
        sources = conn.execute(
            "SELECT item_id, feed_id, first_seen_at FROM item_sources ORDER BY item_id, feed_id"
        ).fetchall()
    return items, sources


@pytest.mark.parametrize("seed", range(12))
def test_one_batch_per_poll_writes_the_rows_of_one_upsert_per_entry(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    polls = random_polls(rng, 25)
    one, batch = (
        SqlStore(f"sqlite:///{tmp_path / 'one.db'}"),
        SqlStore(f"sqlite:///{tmp_path / 'batch.db'}"),
    )
    feeds = [(name, f"https://{name}.example/feed") for name in "abc"]
    ids_one, ids_batch = one.sync_feeds(feeds), batch.sync_feeds(feeds)
    for n, (feed, entries) in enumerate(polls):
        when = START + timedelta(minutes=n)
        expected = [one.upsert_entry(ids_one[feed].id, e, when) for e in entries]
        got, capped = batch.store_entries(ids_batch[feed].id, entries, when)
        assert got == expected and not capped, (seed, n)
    one.close()
    batch.close()
    assert dump(tmp_path / "batch.db") == dump(tmp_path / "one.db")


def test_the_limit_counts_new_and_changed_entries_only(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    feed = store.sync_feeds([("a", "https://a.example/feed")])["a"]
    entries = [
        EntryRecord(key=f"k{i}", canonical_url=None, url=None, title=str(i), summary="",
                    text="x", published=START, content_hash=str(i))
        for i in range(7)
    ]  # fmt: skip
    first, capped = store.store_entries(feed.id, entries, START, limit=3)
    assert len(first) == 3 and capped
    second, capped = store.store_entries(feed.id, entries, START, limit=3)
    assert [c.value for _, c in second] == ["seen"] * 3 + ["new"] * 3 and capped
    third, capped = store.store_entries(feed.id, entries, START, limit=3)
    assert [c.value for _, c in third][-1] == "new" and not capped
    store.close()


@pytest.mark.parametrize("mode", ["mixed", "unchanged", "successful"])
def test_poll_records_written_together_leave_the_rows_written_one_by_one(
    tmp_path: Path, mode: str
) -> None:
    """Mode "successful": what the pipeline buffers (stored entries, new validators,
    kept ones); "mixed" adds failures and moves, written one record at a time."""
    from monitor.store.base import PollRecord

    rng = random.Random(7)
    one, batch = (
        SqlStore(f"sqlite:///{tmp_path / 'one.db'}"),
        SqlStore(f"sqlite:///{tmp_path / 'batch.db'}"),
    )
    feeds = [(f"f{i}", f"https://f{i}.example/feed") for i in range(6)]
    ids = {name: row.id for name, row in one.sync_feeds(feeds).items()}
    batch.sync_feeds(feeds)
    records = []
    varied = mode != "unchanged"
    for n in range(60):
        when = START + timedelta(minutes=n)
        failed = rng.random() < 0.2 and mode == "mixed"
        records.append(
            (ids[rng.choice(list(ids))], PollRecord(
                started_at=when, duration=0.01, status=500 if failed else rng.choice([200, 304]),
                nbytes=0, new_items=rng.choice([0, 0, 2]) if varied else 0,
                error="HTTP 500" if failed else None,
                last_modified=rng.choice([None, None, "Mon, 01 Dec 2025 10:00:00 GMT"])
                if varied else None,
                etag=rng.choice([None, None, '"v1"', f'"v{n}"']) if varied else None,
                moved_to=rng.choice([None] * 9 + ["https://m.example/"])
                if mode == "mixed" else None,
                disable_reason=None, next_poll_at=when + timedelta(minutes=15),
            ))
        )  # fmt: skip
    for feed_id, record in records:
        one.record_poll(feed_id, record)
    for start in range(0, len(records), 7):
        batch.record_polls(records[start : start + 7])
    one.close()
    batch.close()
    with sqlite3.connect(tmp_path / "one.db") as a, sqlite3.connect(tmp_path / "batch.db") as b:
        for query in ("SELECT * FROM feeds ORDER BY id", "SELECT * FROM polls ORDER BY id"):
            assert a.execute(query).fetchall() == b.execute(query).fetchall()
