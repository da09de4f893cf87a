"""Items in the store: one row per article, with the feeds that carried it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from monitor.models import Item
from monitor.store import schema as t
from monitor.store.base import (
    EntryRecord,
    ItemChange,
)
from monitor.store.bulk import chunks, insert_many
from monitor.store.rows import item_row, new_id


class ItemsStore:
    engine: Engine

    def store_entries(
        self,
        feed_id: int,
        entries: Sequence[EntryRecord],
        fetched_at: datetime,
        limit: int | None = None,
    ) -> tuple[list[tuple[int, ItemChange]], bool]:
        """Store one poll's entries in one transaction, with the rows `upsert_entry`
        would write one entry at a time: one lookup of the known keys and URLs, then
        batched inserts and updates. At most `limit` entries that are new or changed
        are stored; True as the second value when some were left for a later poll.
        Two processes storing the same article at once: the loser retries."""
        try:
            return self._store_entries(feed_id, entries, fetched_at, limit)
        except IntegrityError:
            return self._store_entries(feed_id, entries, fetched_at, limit)

    def _store_entries(
        self,
        feed_id: int,
        entries: Sequence[EntryRecord],
        fetched_at: datetime,
        limit: int | None,
    ) -> tuple[list[tuple[int, ItemChange]], bool]:
        with self.engine.begin() as conn:
            plan = _Plan(feed_id, fetched_at, *_known(conn, feed_id, entries))
            capped = plan.add_all(entries, limit)
            if plan.inserts:
                # One executemany, then the new ids by key (keys are unique): cheaper than
                # RETURNING, which SQLite can only give back one row per statement.
                insert_many(conn, t.items, plan.inserts)
                keys = [row["key"] for row in plan.inserts]
                ids: dict[str, int] = {}
                for chunk in chunks(keys):
                    found = conn.execute(_BY_KEY, {"values": chunk})
                    ids.update((key, item_id) for item_id, key, _hash in found)
                for placeholder, key in zip(plan.new_refs, keys, strict=True):
                    placeholder.id = ids[key]
            if plan.updates:
                conn.execute(
                    update(t.items).where(t.items.c.id == bindparam("item_id")),
                    [{**u, "item_id": ref.id} for ref, u in plan.updates],
                )
            if plan.sources:
                insert_many(
                    conn,
                    t.item_sources,
                    [{"item_id": ref.id, "feed_id": feed_id, "first_seen_at": fetched_at}
                     for ref in plan.sources],
                )  # fmt: skip
            return [(ref.id, change) for ref, change in plan.outcomes], capped

    def upsert_entry(
        self, feed_id: int, entry: EntryRecord, fetched_at: datetime
    ) -> tuple[int, ItemChange]:
        """Store an entry once per article: by key, else by canonical URL (the same
        article through another feed becomes another source of the same item).
        Two feeds inserting the same article at once: the loser retries and finds it."""
        try:
            return self._upsert_entry(feed_id, entry, fetched_at)
        except IntegrityError:
            return self._upsert_entry(feed_id, entry, fetched_at)

    def _upsert_entry(
        self, feed_id: int, entry: EntryRecord, fetched_at: datetime
    ) -> tuple[int, ItemChange]:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(t.items.c.id, t.items.c.content_hash).where(t.items.c.key == entry.key)
            ).first()
            if row is None and entry.canonical_url:
                row = conn.execute(
                    select(t.items.c.id, t.items.c.content_hash)
                    .where(t.items.c.canonical_url == entry.canonical_url)
                    .limit(1)
                ).first()
            if row is None:
                item_id = new_id(
                    conn.execute(
                        t.items.insert().values(
                            key=entry.key,
                            canonical_url=entry.canonical_url,
                            url=entry.url,
                            title=entry.title,
                            summary=entry.summary,
                            text=entry.text,
                            published_at=entry.published,
                            fetched_at=fetched_at,
                            updated_at=fetched_at,
                            content_hash=entry.content_hash,
                            feed_id=feed_id,
                            state="new",
                            meta={"feed_language": entry.language_hint}
                            if entry.language_hint
                            else {},
                        )
                    )
                )
                self._add_source(conn, item_id, feed_id, fetched_at)
                return item_id, ItemChange.NEW
            item_id = row.id
            added = self._add_source(conn, item_id, feed_id, fetched_at)
            if row.content_hash == entry.content_hash or added:
                return item_id, ItemChange.SEEN
            conn.execute(
                update(t.items)
                .where(t.items.c.id == item_id)
                .values(
                    title=entry.title,
                    summary=entry.summary,
                    text=entry.text,
                    content_hash=entry.content_hash,
                    updated_at=fetched_at,
                    state="new",
                    attempts=0,
                    next_attempt_at=None,
                    last_error=None,
                )
            )
            return item_id, ItemChange.CHANGED

    @staticmethod
    def _add_source(conn: Connection, item_id: int, feed_id: int, when: datetime) -> bool:
        exists = conn.execute(
            select(t.item_sources.c.item_id).where(
                t.item_sources.c.item_id == item_id, t.item_sources.c.feed_id == feed_id
            )
        ).first()
        if exists:
            return False
        conn.execute(
            t.item_sources.insert().values(item_id=item_id, feed_id=feed_id, first_seen_at=when)
        )
        return True

    def pending_items(
        self, limit: int = 100, now: datetime | None = None
    ) -> list[tuple[int, Item]]:
        """Items stored but not yet classified (new, changed, or interrupted by a crash),
        taking turns between feeds and newest poll first: every feed's first item of its
        latest poll, the most recently stored first, then every feed's next one, and so
        on (within one poll, in the feed's order). One feed with
        thousands of new entries cannot hold back another's news, and when the daemon
        is behind (a cold start, more feeds than it keeps up with) fresh news is alerted
        first while the backlog waits (its age is on /metrics and /healthz). Items
        waiting for a retry (`next_attempt_at` after `now`) are left out."""
        turn = (
            func.row_number()
            .over(
                partition_by=t.items.c.feed_id,
                order_by=(t.items.c.updated_at.desc(), t.items.c.id),
            )
            .label("turn")
        )
        waiting = t.items.c.state == "new"
        if now is not None:
            waiting &= or_(t.items.c.next_attempt_at.is_(None), t.items.c.next_attempt_at <= now)
        ranked = select(t.items.c.id, turn).where(waiting).subquery()
        query = (
            select(t.items, t.feeds.c.name.label("feed_name"))
            .select_from(
                t.items.join(ranked, ranked.c.id == t.items.c.id).outerjoin(
                    t.feeds, t.items.c.feed_id == t.feeds.c.id
                )
            )
            .order_by(ranked.c.turn, t.items.c.updated_at.desc(), t.items.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r.id, item_row(r)) for r in conn.execute(query)]

    def record_item_failure(
        self, item_id: int, error: str, now: datetime, *, retry_at: datetime | None
    ) -> int:
        """Count one failed processing attempt: retry at `retry_at`, or (None) set the
        item aside as `failed` with its error. Returns the attempts made so far."""
        with self.engine.begin() as conn:
            attempts = (
                int(
                    conn.execute(
                        select(t.items.c.attempts).where(t.items.c.id == item_id)
                    ).scalar_one()
                )
                + 1
            )
            conn.execute(
                update(t.items)
                .where(t.items.c.id == item_id)
                .values(
                    attempts=attempts,
                    last_error=error[:2000],
                    next_attempt_at=retry_at,
                    state="new" if retry_at is not None else "failed",
                    updated_at=now,
                )
            )
        return attempts

    def item_attempts(self, item_id: int) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(select(t.items.c.attempts).where(t.items.c.id == item_id))
            return int(found.scalar_one_or_none() or 0)

    def failed_items(self, limit: int = 20) -> list[dict[str, Any]]:
        """Items set aside after repeated failures, newest first, with their error."""
        query = (
            select(t.items.c.id, t.items.c.title, t.items.c.url, t.items.c.attempts,
                   t.items.c.last_error, t.items.c.updated_at)
            .where(t.items.c.state == "failed")
            .order_by(t.items.c.updated_at.desc())
            .limit(limit)
        )  # fmt: skip
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def retry_failed_items(self, ids: Sequence[int] | None = None) -> int:
        """Queue failed items (all, or these) for processing again from scratch."""
        cond = t.items.c.state == "failed"
        if ids:
            cond &= t.items.c.id.in_(list(ids))
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t.items)
                .where(cond)
                .values(state="new", attempts=0, next_attempt_at=None, last_error=None)
            )
            return int(done.rowcount)

    def next_item_retry(self) -> datetime | None:
        """When the earliest item waiting for a retry is due (None: none waits)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.min(t.items.c.next_attempt_at)).where(t.items.c.state == "new")
            ).scalar_one_or_none()
            return cast("datetime | None", found)

    def item_state_counts(self) -> dict[str, int]:
        """Items by state: new (pending), done, failed."""
        query = select(t.items.c.state, func.count()).group_by(t.items.c.state)
        with self.engine.connect() as conn:
            counts = {"new": 0, "done": 0, "failed": 0}
            counts.update({state: int(n) for state, n in conn.execute(query)})
            return counts

    def item_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.items)).scalar_one())


class _Ref:
    """A stored item as the plan sees it: its id (filled in once its INSERT has run)
    and its content hash as of the entries planned so far."""

    __slots__ = ("hash", "id")

    def __init__(self, item_id: int, content_hash: str) -> None:
        self.id = item_id
        self.hash = content_hash


#: The lookups of `store_entries`, built once: building `column.in_(values)` anew for
#: every poll cost more than running the query.
_BY_KEY = select(t.items.c.id, t.items.c.key, t.items.c.content_hash).where(
    t.items.c.key.in_(bindparam("values", expanding=True))
)
_BY_URL = (
    select(t.items.c.id, t.items.c.canonical_url, t.items.c.content_hash)
    .where(t.items.c.canonical_url.in_(bindparam("values", expanding=True)))
    .order_by(t.items.c.id)
)
_SOURCED = select(t.item_sources.c.item_id).where(
    t.item_sources.c.feed_id == bindparam("feed_id"),
    t.item_sources.c.item_id.in_(bindparam("values", expanding=True)),
)


def _known(
    conn: Connection, feed_id: int, entries: Sequence[EntryRecord]
) -> tuple[dict[str, _Ref], dict[str, _Ref], set[int]]:
    """The stored items these entries may be (by key, by canonical URL) and which of
    them already list this feed as a source: three queries for the whole poll."""
    keys = list({e.key for e in entries})
    urls = list({e.canonical_url for e in entries if e.canonical_url})
    by_key: dict[str, _Ref] = {}
    by_url: dict[str, _Ref] = {}
    refs: dict[int, _Ref] = {}

    def ref(item_id: int, content_hash: str) -> _Ref:
        return refs.setdefault(item_id, _Ref(item_id, content_hash))

    for chunk in chunks(keys):
        for item_id, key, content_hash in conn.execute(_BY_KEY, {"values": chunk}):
            by_key[key] = ref(item_id, content_hash)
    for chunk in chunks(urls):
        for item_id, url, content_hash in conn.execute(_BY_URL, {"values": chunk}):
            by_url.setdefault(url, ref(item_id, content_hash))
    sourced: set[int] = set()
    for chunk in chunks(list(refs)):
        sourced.update(conn.execute(_SOURCED, {"feed_id": feed_id, "values": chunk}).scalars())
    return by_key, by_url, sourced


class _Plan:
    """What storing a poll's entries writes, worked out entry by entry in feed order
    exactly as one `upsert_entry` per entry would (a later entry sees an earlier one)."""

    def __init__(
        self,
        feed_id: int,
        fetched_at: datetime,
        by_key: dict[str, _Ref],
        by_url: dict[str, _Ref],
        sourced: set[int],
    ) -> None:
        self.feed_id, self.fetched_at = feed_id, fetched_at
        self.by_key, self.by_url = by_key, by_url
        self.sourced_ids = sourced
        self.sourced_refs: set[int] = set()  # id() of refs given a source in this plan
        self.inserts: list[dict[str, Any]] = []
        self.new_refs: list[_Ref] = []
        self.pending: dict[int, dict[str, Any]] = {}  # id(ref) -> its INSERT values
        self.updates: list[tuple[_Ref, dict[str, Any]]] = []
        self.sources: list[_Ref] = []
        self.outcomes: list[tuple[_Ref, ItemChange]] = []

    def add_all(self, entries: Sequence[EntryRecord], limit: int | None) -> bool:
        stored = 0
        for entry in entries:
            if limit is not None and stored >= limit:
                return True
            change = self.add(entry)
            stored += change is not ItemChange.SEEN
        return False

    def add(self, entry: EntryRecord) -> ItemChange:
        ref = self.by_key.get(entry.key)
        if ref is None and entry.canonical_url:
            ref = self.by_url.get(entry.canonical_url)
        if ref is None:
            return self._insert(entry)
        added = self._source(ref)
        if ref.hash == entry.content_hash or added:
            self.outcomes.append((ref, ItemChange.SEEN))
            return ItemChange.SEEN
        values = {
            "title": entry.title, "summary": entry.summary, "text": entry.text,
            "content_hash": entry.content_hash, "updated_at": self.fetched_at, "state": "new",
            "attempts": 0, "next_attempt_at": None, "last_error": None,
        }  # fmt: skip
        pending = self.pending.get(id(ref))
        if pending is not None:  # inserted earlier in this poll: insert the final values
            pending.update({k: v for k, v in values.items() if k in pending})
        else:
            self.updates.append((ref, values))
        ref.hash = entry.content_hash
        self.outcomes.append((ref, ItemChange.CHANGED))
        return ItemChange.CHANGED

    def _insert(self, entry: EntryRecord) -> ItemChange:
        ref = _Ref(0, entry.content_hash)
        values = {
            "key": entry.key, "canonical_url": entry.canonical_url, "url": entry.url,
            "title": entry.title, "summary": entry.summary, "text": entry.text,
            "published_at": entry.published, "fetched_at": self.fetched_at,
            "updated_at": self.fetched_at, "content_hash": entry.content_hash,
            "feed_id": self.feed_id, "state": "new", "attempts": 0,
            "meta": {"feed_language": entry.language_hint} if entry.language_hint else {},
        }  # fmt: skip
        self.inserts.append(values)
        self.pending[id(ref)] = values
        self.new_refs.append(ref)
        self._source(ref)
        self.by_key[entry.key] = ref
        if entry.canonical_url:
            self.by_url.setdefault(entry.canonical_url, ref)
        self.outcomes.append((ref, ItemChange.NEW))
        return ItemChange.NEW

    def _source(self, ref: _Ref) -> bool:
        """Give the item this feed as a source unless it has it; True when added."""
        if (ref.id and ref.id in self.sourced_ids) or id(ref) in self.sourced_refs:
            return False
        self.sourced_refs.add(id(ref))
        self.sources.append(ref)
        return True
