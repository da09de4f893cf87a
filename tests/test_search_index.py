"""The full-text index holds processed items only, each with its final text.

Polling stores entries without tokenizing them; processing indexes an item once, with
the text it ends with (the article's, when one was fetched). A change to a processed
item takes its old text out of the index until it is processed again.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from monitor.store.base import EntryRecord
from monitor.store.sql import SqlStore
from monitor.store.web import create_fts

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _entry(key: str, title: str, text: str, content_hash: str = "h1") -> EntryRecord:
    return EntryRecord(key, None, f"https://wire.example/{key}", title, "", text, NOW,
                       content_hash)  # fmt: skip


def _found(store: SqlStore, word: str) -> list[str]:
    return sorted(r.item.title for r in store.search_items(word))


def _process_all(store: SqlStore, article: dict[str, str] | None = None) -> None:
    """What processing writes for each pending item (no classification needed)."""
    for item_id, item in store.pending_items(100, NOW):
        text = (article or {}).get(item.title, item.text)
        store.commit_classification(item_id, dataclasses.replace(item, text=text), None, None,
                                    [], NOW)  # fmt: skip


def _open(tmp_path: Path) -> tuple[SqlStore, int]:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    return store, store.sync_feeds([("wire", "https://wire.example/rss")])["wire"].id


def test_a_polled_item_is_searchable_once_processed_with_its_final_text(
    tmp_path: Path,
) -> None:
    store, feed = _open(tmp_path)
    try:
        store.store_entries(feed, [_entry("k1", "Lavrov in Wonsan", "A short summary.")], NOW)
        assert _found(store, "wonsan") == []  # stored, pending: not indexed yet
        _process_all(store, {"Lavrov in Wonsan": "The full article names Kalma beach."})
        assert _found(store, "wonsan") == ["Lavrov in Wonsan"]
        assert _found(store, "kalma") == ["Lavrov in Wonsan"]
        assert _found(store, "summary") == []  # the feed's text was replaced
    finally:
        store.close()


def test_a_changed_item_leaves_the_index_until_it_is_processed_again(tmp_path: Path) -> None:
    store, feed = _open(tmp_path)
    try:
        store.store_entries(feed, [_entry("k1", "Talks in Moscow", "First version: ferry.")], NOW)
        _process_all(store)
        assert _found(store, "ferry") == ["Talks in Moscow"]
        store.store_entries(
            feed, [_entry("k1", "Talks in Moscow", "Second version: railway.", "h2")], NOW
        )
        assert _found(store, "ferry") == [] and _found(store, "railway") == []
        _process_all(store)
        assert _found(store, "railway") == ["Talks in Moscow"]
        assert _found(store, "ferry") == []
    finally:
        store.close()


def test_an_item_set_aside_as_failed_is_searchable(tmp_path: Path) -> None:
    store, feed = _open(tmp_path)
    try:
        store.store_entries(feed, [_entry("k1", "Shoigu in Pyongyang", "Security talks.")], NOW)
        ((item_id, _),) = store.pending_items(10, NOW)
        store.record_item_failure(item_id, "RuntimeError: boom", NOW, retry_at=None)
        assert _found(store, "shoigu") == ["Shoigu in Pyongyang"]
        assert store.retry_failed_items() == 1  # queued again: pending, out of the index
        assert _found(store, "shoigu") == []
    finally:
        store.close()


def test_schema_6_takes_pending_items_out_of_the_index(tmp_path: Path) -> None:
    """A schema-5 database indexed every item when it was stored: after the migration
    the index holds the processed ones, and a pending one joins when processed."""
    store, feed = _open(tmp_path)
    store.store_entries(feed, [_entry("k1", "Done in Wonsan", "Processed before.")], NOW)
    _process_all(store)
    store.store_entries(feed, [_entry("k2", "Pending in Wonsan", "Not yet processed.")], NOW)
    with store.engine.begin() as conn:  # as schema 5 left it: every item indexed
        for name in ("items_fts_ai", "items_fts_ad", "items_fts_au"):
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        create_fts(conn)  # schema 3's triggers, and a rebuild from every item
        conn.exec_driver_sql("UPDATE meta SET value='5' WHERE key='schema_version'")
    store.close()
    db = sqlite3.connect(tmp_path / "m.db")
    indexed = db.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH 'wonsan'").fetchall()
    db.close()
    assert len(indexed) == 2
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        assert _found(store, "wonsan") == ["Done in Wonsan"]
        _process_all(store)
        assert _found(store, "wonsan") == ["Done in Wonsan", "Pending in Wonsan"]
        assert _found(store, "processed") == ["Done in Wonsan", "Pending in Wonsan"]
    finally:
        store.close()
