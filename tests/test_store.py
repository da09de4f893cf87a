"""The SQL store on a temporary SQLite file: migrations, items once, outbox semantics."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.errors import SchemaTooNewError
from monitor.models import Classification, Evidence
from monitor.store import ItemChange, NewAlert, PollRecord, SqlStore
from monitor.store.base import EntryRecord
from monitor.store.migrations import SCHEMA_VERSION

NOW = datetime(2024, 6, 18, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """The same contract on both backends: SQLite in a file, a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'monitor.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    s = SqlStore(url)
    yield s
    s.close()


def entry(
    key: str = "guid-1", url: str | None = "https://example.org/a", content: str = "text"
) -> EntryRecord:
    return EntryRecord(
        key=key,
        canonical_url=url,
        url=url,
        title="Putin arrives in Pyongyang",
        summary=content,
        text=content,
        published=NOW,
        content_hash=f"h-{content}",
    )


def classification(types: dict[str, float] | None = None) -> Classification:
    return Classification(
        relevant=True,
        score=0.9,
        types=types or {"summit": 0.9},
        primary="summit",
        actors=("Vladimir Putin", "Kim Jong Un"),
        places=("Pyongyang",),
        event_date=date(2024, 6, 18),
        evidence=(Evidence("summit", "Putin met Kim", 0, 13),),
        plugin="test",
    )


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    """For what only SQLite has: its file, its journal mode."""
    s = SqlStore(f"sqlite:///{tmp_path / 'monitor.db'}")
    yield s
    s.close()


def test_wal_and_schema_version(tmp_path: Path, sqlite_store: SqlStore) -> None:
    db = sqlite3.connect(tmp_path / "monitor.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path, sqlite_store: SqlStore) -> None:
    sqlite_store.close()
    path = tmp_path / "monitor.db"
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNewError, match="schema version 999 is newer"):
        SqlStore(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_reopen_keeps_data(store: SqlStore) -> None:
    feeds = store.sync_feeds([("kcna", "https://example.org/feed")])
    store.upsert_entry(feeds["kcna"].id, entry(), NOW)
    store.close()
    again = SqlStore(store.where)
    assert again.item_count() == 1
    again.close()


def test_entry_stored_once_changed_when_content_changes(store: SqlStore) -> None:
    feeds = store.sync_feeds([("a", "https://a.example/feed"), ("b", "https://b.example/feed")])
    item_id, change = store.upsert_entry(feeds["a"].id, entry(), NOW)
    assert change is ItemChange.NEW
    assert store.upsert_entry(feeds["a"].id, entry(), NOW) == (item_id, ItemChange.SEEN)
    # the same article (canonical URL) through another feed is one item with two sources
    assert store.upsert_entry(feeds["b"].id, entry(key="other-guid"), NOW) == (
        item_id,
        ItemChange.SEEN,
    )
    assert sources(store, item_id) == ["a", "b"]
    assert store.upsert_entry(feeds["a"].id, entry(content="new text"), NOW) == (
        item_id,
        ItemChange.CHANGED,
    )
    assert [i for i, _ in store.pending_items()] == [item_id]


def test_poll_records_and_backoff_state(store: SqlStore) -> None:
    feed = store.sync_feeds([("a", "https://a.example/feed")])["a"]
    store.record_poll(
        feed.id, PollRecord(started_at=NOW, duration=0.1, status=500, error="HTTP 500")
    )
    store.record_poll(
        feed.id,
        PollRecord(
            started_at=NOW + timedelta(minutes=1), duration=0.1, status=500, error="HTTP 500"
        ),
    )
    row = store.feed("a")
    assert (
        row
        and row.consecutive_failures == 2
        and row.failing_since == NOW
        and row.last_error == "HTTP 500"
    )
    store.record_poll(
        feed.id,
        PollRecord(
            started_at=NOW,
            duration=0.1,
            status=200,
            etag='"v1"',
            moved_to="https://new.example/feed",
        ),
    )
    row = store.feed("a")
    assert (
        row
        and row.consecutive_failures == 0
        and row.etag == '"v1"'
        and row.url == "https://new.example/feed"
    )
    store.record_poll(
        feed.id,
        PollRecord(
            started_at=NOW, duration=0.1, status=410, error="gone", disable_reason="HTTP 410 Gone"
        ),
    )
    row = store.feed("a")
    assert row and not row.enabled and row.disabled_reason == "HTTP 410 Gone"
    assert len(store.recent_polls(feed.id)) == 4


def test_alerts_written_with_classification_and_deduplicated(store: SqlStore) -> None:
    feed = store.sync_feeds([("a", "https://a.example/feed")])["a"]
    item_id, _ = store.upsert_entry(feed.id, entry(), NOW)
    ((_, item),) = store.pending_items()
    alert = NewAlert(route="default", kind="new", notifiers=("console", "slack"), due_at=NOW)
    written = store.commit_classification(item_id, item, classification(), None, [alert], NOW)
    assert len(written) == 1
    assert store.pending_items() == []
    due = store.due_deliveries(NOW)
    assert sorted(d.notifier for d in due) == ["console", "slack"]
    assert due[0].alert.classification.actors == ("Vladimir Putin", "Kim Jong Un")
    story = store.story_candidates(None, NOW - timedelta(days=1), None)[0]
    # the same (story, route) never alerts twice
    assert store.commit_classification(item_id, item, classification(), story, [alert], NOW) == []


def test_delivery_lifecycle_threads_and_dead_letters(store: SqlStore) -> None:
    feed = store.sync_feeds([("a", "https://a.example/feed")])["a"]
    item_id, _ = store.upsert_entry(feed.id, entry(), NOW)
    ((_, item),) = store.pending_items()
    store.commit_classification(
        item_id,
        item,
        classification(),
        None,
        [NewAlert(route="r", kind="new", notifiers=("slack", "email"), due_at=NOW)],
        NOW,
    )
    slack, email = sorted(store.due_deliveries(NOW), key=lambda d: d.notifier, reverse=True)
    store.mark_sending([slack.id, email.id])
    assert store.delivery_counts()["sending"] == 2
    store.record_delivery([slack.id], ok=True, now=NOW, external_id="1700000000.000100")
    store.record_delivery([email.id], ok=False, now=NOW, detail="550 no such user", dead=True)
    counts = store.delivery_counts()
    assert counts == {"pending": 0, "sending": 0, "sent": 1, "dead": 1}
    assert store.dead_letters()[0]["last_error"] == "550 no such user"
    # a follow-up of the same story carries the thread reference of the first message
    item2_id, _ = store.upsert_entry(feed.id, entry(key="g2", url="https://example.org/b"), NOW)
    ((_, item2),) = store.pending_items()
    story = store.story_candidates(None, NOW - timedelta(days=1), None)[0]
    store.commit_classification(
        item2_id,
        item2,
        classification(),
        story,
        [NewAlert(route="r", kind="followup", notifiers=("slack",), due_at=NOW)],
        NOW,
    )
    (followup,) = store.due_deliveries(NOW)
    assert followup.alert.kind == "followup" and followup.alert.thread_ref == "1700000000.000100"


def test_inflight_deliveries_recovered_after_crash(store: SqlStore) -> None:
    feed = store.sync_feeds([("a", "https://a.example/feed")])["a"]
    item_id, _ = store.upsert_entry(feed.id, entry(), NOW)
    ((_, item),) = store.pending_items()
    store.commit_classification(
        item_id,
        item,
        classification(),
        None,
        [NewAlert(route="r", kind="new", notifiers=("console",), due_at=NOW)],
        NOW,
    )
    (d,) = store.due_deliveries(NOW)
    store.mark_sending([d.id])
    assert store.due_deliveries(NOW) == []
    assert store.recover_inflight() == 1
    assert [x.id for x in store.due_deliveries(NOW)] == [d.id]


def test_digests_wait_for_their_time_unless_flushed(store: SqlStore) -> None:
    feed = store.sync_feeds([("a", "https://a.example/feed")])["a"]
    item_id, _ = store.upsert_entry(feed.id, entry(), NOW)
    ((_, item),) = store.pending_items()
    later = NOW + timedelta(hours=5)
    store.commit_classification(
        item_id,
        item,
        classification(),
        None,
        [NewAlert(route="r", kind="new", notifiers=("email",), due_at=later, digest=True)],
        NOW,
    )
    assert store.due_deliveries(NOW) == []
    assert len(store.due_deliveries(NOW, flush_digests=True)) == 1
    assert len(store.due_deliveries(later)) == 1


def test_store_is_writable(store: SqlStore) -> None:
    assert store.is_writable()


def sources(store: SqlStore, item_id: int) -> list[str]:
    """Names of the feeds that carried an item, in the order they first did."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT f.name FROM item_sources s JOIN feeds f ON f.id = s.feed_id "
                "WHERE s.item_id = :id ORDER BY s.first_seen_at, f.name"
            ),
            {"id": item_id},
        )
        return [r[0] for r in rows]
