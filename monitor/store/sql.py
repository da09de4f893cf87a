"""The SQLAlchemy Core store: SQLite (WAL) by default, portable SQL throughout."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.config import StoreConfig
from monitor.errors import StoreError
from monitor.models import Alert, Classification, Evidence, Item
from monitor.store import schema as t
from monitor.store.base import (
    DeliveryRow,
    EntryRecord,
    FeedRow,
    ItemChange,
    NewAlert,
    PollRecord,
    StoryRow,
)
from monitor.store.migrations import migrate
from monitor.taxonomy import DEFAULT_TYPE_THRESHOLD


def open_store(config: StoreConfig) -> SqlStore:
    """Open (creating and migrating as needed) the configured store."""
    return SqlStore(config.sqlalchemy_url())


class SqlStore:
    """`monitor.store.base.Store` on SQLAlchemy Core."""

    def __init__(self, url: str) -> None:
        self.where = url
        self.engine = _engine(url)
        try:
            migrate(self.engine.connect, url)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"{url}: cannot open the store: {exc}") from exc
        except Exception:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    # --- feeds -------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[tuple[str, str]]) -> dict[str, FeedRow]:
        """Make sure each configured (name, url) has a row; a changed configured URL
        resets the stored (possibly redirected) URL and validators."""
        with self.engine.begin() as conn:
            for name, url in feeds:
                row = conn.execute(select(t.feeds).where(t.feeds.c.name == name)).first()
                if row is None:
                    conn.execute(
                        t.feeds.insert().values(
                            name=name,
                            configured_url=url,
                            url=url,
                            enabled=True,
                            consecutive_failures=0,
                            items_seen=0,
                        )
                    )
                elif row.configured_url != url:
                    conn.execute(
                        update(t.feeds)
                        .where(t.feeds.c.id == row.id)
                        .values(
                            configured_url=url,
                            url=url,
                            etag=None,
                            last_modified=None,
                            enabled=True,
                            disabled_reason=None,
                        )
                    )
            rows = conn.execute(select(t.feeds)).all()
        return {r.name: _feed(r) for r in rows}

    def feed(self, name: str) -> FeedRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.feeds).where(t.feeds.c.name == name)).first()
        return _feed(row) if row else None

    def feeds(self) -> list[FeedRow]:
        with self.engine.connect() as conn:
            return [_feed(r) for r in conn.execute(select(t.feeds).order_by(t.feeds.c.name))]

    def record_poll(self, feed_id: int, poll: PollRecord) -> None:
        """Write the poll record and the feed state it leaves, in one transaction."""
        ok = poll.error is None
        values: dict[str, Any] = {"next_poll_at": poll.next_poll_at}
        if ok:
            values.update(
                consecutive_failures=0, failing_since=None, last_success_at=poll.started_at
            )
            if poll.etag is not None or poll.last_modified is not None:
                values.update(etag=poll.etag, last_modified=poll.last_modified)
        else:
            values.update(
                consecutive_failures=t.feeds.c.consecutive_failures + 1,
                failing_since=func.coalesce(t.feeds.c.failing_since, poll.started_at),
                last_error=poll.error,
                last_error_at=poll.started_at,
            )
        if poll.moved_to:
            values.update(url=poll.moved_to)
        if poll.disable_reason:
            values.update(enabled=False, disabled_reason=poll.disable_reason)
        if poll.new_items:
            values.update(items_seen=t.feeds.c.items_seen + poll.new_items)
        with self.engine.begin() as conn:
            conn.execute(
                t.polls.insert().values(
                    feed_id=feed_id,
                    started_at=poll.started_at,
                    status=poll.status,
                    duration=poll.duration,
                    nbytes=poll.nbytes,
                    new_items=poll.new_items,
                    error=poll.error,
                )
            )
            conn.execute(update(t.feeds).where(t.feeds.c.id == feed_id).values(**values))

    def recent_polls(self, feed_id: int, limit: int = 10) -> list[dict[str, Any]]:
        query = (
            select(t.polls)
            .where(t.polls.c.feed_id == feed_id)
            .order_by(t.polls.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def prune_polls(self, before: datetime) -> int:
        """Forget poll records older than `before` (the feed state keeps the summary)."""
        with self.engine.begin() as conn:
            return conn.execute(t.polls.delete().where(t.polls.c.started_at < before)).rowcount

    # --- items -------------------------------------------------------------------

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
                item_id = conn.execute(
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
                        meta={"feed_language": entry.language_hint} if entry.language_hint else {},
                    )
                ).inserted_primary_key[0]
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

    def pending_items(self, limit: int = 100) -> list[tuple[int, Item]]:
        """Items stored but not yet classified (new, changed, or interrupted by a crash)."""
        query = (
            select(t.items, t.feeds.c.name.label("feed_name"))
            .select_from(t.items.outerjoin(t.feeds, t.items.c.feed_id == t.feeds.c.id))
            .where(t.items.c.state == "new")
            .order_by(t.items.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r.id, _item(r)) for r in conn.execute(query)]

    def item_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.items)).scalar_one())

    def item_feed_names(self, item_id: int) -> list[str]:
        query = (
            select(t.feeds.c.name)
            .select_from(t.item_sources.join(t.feeds, t.item_sources.c.feed_id == t.feeds.c.id))
            .where(t.item_sources.c.item_id == item_id)
            .order_by(t.item_sources.c.first_seen_at)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    # --- classification, stories, outbox -----------------------------------------

    def story_candidates(
        self, canonical_url: str | None, since: datetime, event_dates: tuple[date, date] | None
    ) -> list[StoryRow]:
        """Stories this item may belong to: same canonical URL, or recent stories whose
        event date falls in the window (the caller compares types and actors)."""
        conds = [t.stories.c.created_at >= since]
        if event_dates:
            lo, hi = event_dates
            conds.append(
                or_(t.stories.c.event_date.is_(None), t.stories.c.event_date.between(lo, hi))
            )
        recent = and_(*conds)
        where = or_(t.stories.c.canonical_url == canonical_url, recent) if canonical_url else recent
        # The newest 500, oldest first: a busy month must not crowd out recent stories.
        query = _stories_query().where(where).order_by(t.stories.c.id.desc()).limit(500)
        with self.engine.connect() as conn:
            return [_story(r) for r in conn.execute(query)][::-1]

    def story_item_ids(self, story_id: int) -> list[int]:
        query = select(t.story_items.c.item_id).where(t.story_items.c.story_id == story_id)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def item_story(self, item_id: int) -> StoryRow | None:
        """The story an item already belongs to: an item processed again (its text was
        edited) stays in its story instead of being matched, and maybe alerting, anew."""
        own = (
            select(t.story_items.c.story_id)
            .where(t.story_items.c.item_id == item_id)
            .order_by(t.story_items.c.story_id)
            .limit(1)
            .scalar_subquery()
        )
        query = _stories_query().where(t.stories.c.id == own)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _story(row) if row else None

    def alerted_routes(self, story_id: int) -> set[str]:
        """Routes that already hold a first ("new") alert for this story."""
        query = select(t.alerts.c.route).where(
            t.alerts.c.story_id == story_id, t.alerts.c.kind == "new"
        )
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def commit_classification(
        self,
        item_id: int,
        item: Item,
        classification: Classification | None,
        story: StoryRow | None,
        alerts: Sequence[NewAlert],
        now: datetime,
        *,
        type_threshold: float = DEFAULT_TYPE_THRESHOLD,
    ) -> list[int]:
        """In ONE transaction: the enriched item, its classification, its story and the
        alerts it owes (the outbox). Alerts whose dedupe key exists are skipped.
        Returns the ids of the alerts written."""
        written: list[int] = []
        with self.engine.begin() as conn:
            conn.execute(
                update(t.items)
                .where(t.items.c.id == item_id)
                .values(
                    text=item.text,
                    language=item.language,
                    state="done",
                    meta={k: v for k, v in item.meta.items() if _jsonable(v)},
                )
            )
            if classification is None:
                conn.execute(
                    t.classifications.delete().where(t.classifications.c.item_id == item_id)
                )
                return written
            story_id = None
            if classification.relevant:
                story_id = self._attach_story(
                    conn, item_id, item, classification, story, now, type_threshold
                )
            values = _classification_values(classification) | {
                "story_id": story_id,
                "classified_at": now,
            }
            if conn.execute(
                select(t.classifications.c.item_id).where(t.classifications.c.item_id == item_id)
            ).first():
                conn.execute(
                    update(t.classifications)
                    .where(t.classifications.c.item_id == item_id)
                    .values(**values)
                )
            else:
                conn.execute(t.classifications.insert().values(item_id=item_id, **values))
            if story_id is None:
                return written
            for alert in alerts:
                key = _dedupe_key(story_id, item_id, alert)
                if conn.execute(select(t.alerts.c.id).where(t.alerts.c.dedupe_key == key)).first():
                    continue
                alert_id = conn.execute(
                    t.alerts.insert().values(
                        story_id=story_id,
                        route=alert.route,
                        item_id=item_id,
                        kind=alert.kind,
                        dedupe_key=key,
                        created_at=now,
                        meta=alert.meta,
                    )
                ).inserted_primary_key[0]
                for notifier in alert.notifiers:
                    conn.execute(
                        t.deliveries.insert().values(
                            alert_id=alert_id,
                            notifier=notifier,
                            digest=alert.digest,
                            status="pending",
                            attempts=0,
                            next_attempt_at=alert.due_at,
                        )
                    )
                written.append(alert_id)
        return written

    @staticmethod
    def _attach_story(
        conn: Connection,
        item_id: int,
        item: Item,
        classification: Classification,
        story: StoryRow | None,
        now: datetime,
        type_threshold: float,
    ) -> int:
        types = sorted(classification.reported_types(type_threshold))
        if story is None:
            story_id = conn.execute(
                t.stories.insert().values(
                    first_item_id=item_id,
                    canonical_url=item.meta.get("canonical_url"),
                    primary_type=classification.primary,
                    types=types,
                    actors=list(classification.actors),
                    event_date=classification.event_date,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
        else:
            story_id = story.id
            conn.execute(
                update(t.stories)
                .where(t.stories.c.id == story_id)
                .values(
                    primary_type=story.primary_type or classification.primary,
                    types=sorted(set(story.types) | set(types)),
                    actors=sorted(set(story.actors) | set(classification.actors)),
                    event_date=story.event_date or classification.event_date,
                    updated_at=now,
                )
            )
        if not conn.execute(
            select(t.story_items.c.item_id).where(
                t.story_items.c.story_id == story_id, t.story_items.c.item_id == item_id
            )
        ).first():
            conn.execute(t.story_items.insert().values(story_id=story_id, item_id=item_id))
        return int(story_id)

    def due_deliveries(
        self,
        now: datetime,
        limit: int = 100,
        *,
        flush_digests: bool = False,
        exclude: Collection[int] = (),
    ) -> list[DeliveryRow]:
        """Pending deliveries due by `now`, oldest first; with `flush_digests`, every
        digest delivery not yet attempted too (a one-shot run sends its digest at the end).

        An immediate update or follow-up waits while the first ("new") message of its
        story on the same route and notifier is still pending or in flight: it must
        thread under that message, whose reference exists only once it is sent (or is
        dead-lettered, after which the follow-up goes out on its own).
        `exclude`: deliveries the caller already tried in this pass."""
        d, a = t.deliveries, t.alerts
        due = d.c.next_attempt_at <= now
        if flush_digests:
            due = or_(due, and_(d.c.digest.is_(True), d.c.attempts == 0))
        first_d, first_a = t.deliveries.alias("first_d"), t.alerts.alias("first_a")
        first_unsent = (
            select(first_d.c.id)
            .select_from(first_d.join(first_a, first_d.c.alert_id == first_a.c.id))
            .where(
                first_a.c.story_id == a.c.story_id,
                first_a.c.route == a.c.route,
                first_a.c.kind == "new",
                first_d.c.notifier == d.c.notifier,
                first_d.c.status.in_(["pending", "sending"]),
            )
            .exists()
        )
        waiting = and_(a.c.kind != "new", d.c.digest.is_(False), first_unsent)
        conds = [d.c.status == "pending", due, ~waiting]
        if exclude:
            conds.append(d.c.id.not_in(list(exclude)))
        query = (
            select(
                d.c.id.label("delivery_id"),
                d.c.notifier,
                d.c.digest,
                d.c.attempts,
                d.c.status,
                a.c.id.label("alert_id"),
                a.c.story_id,
                a.c.route,
                a.c.kind,
                a.c.created_at,
                a.c.item_id,
                a.c.meta.label("alert_meta"),
            )
            .select_from(d.join(a, d.c.alert_id == a.c.id))
            .where(*conds)
            .order_by(d.c.next_attempt_at, d.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            return [self._delivery(conn, r) for r in rows]

    def _delivery(self, conn: Connection, r: Any) -> DeliveryRow:
        item_row = conn.execute(
            select(t.items, t.feeds.c.name.label("feed_name"))
            .select_from(t.items.outerjoin(t.feeds, t.items.c.feed_id == t.feeds.c.id))
            .where(t.items.c.id == r.item_id)
        ).one()
        item = _item(item_row)
        meta = dict(item.meta)
        meta.update(r.alert_meta or {})
        item = dataclasses.replace(item, meta=meta)
        crow = conn.execute(
            select(t.classifications).where(t.classifications.c.item_id == r.item_id)
        ).first()
        classification = _classification(crow) if crow else Classification(relevant=True, score=0.0)
        thread = conn.execute(
            select(t.threads.c.external_id).where(
                t.threads.c.story_id == r.story_id,
                t.threads.c.route == r.route,
                t.threads.c.notifier == r.notifier,
            )
        ).scalar()
        sources = (
            conn.execute(
                select(t.feeds.c.name)
                .select_from(t.item_sources.join(t.feeds, t.item_sources.c.feed_id == t.feeds.c.id))
                .where(t.item_sources.c.item_id == r.item_id)
                .order_by(t.item_sources.c.first_seen_at)
            )
            .scalars()
            .all()
        )
        alert = Alert(
            id=r.alert_id,
            story_id=r.story_id,
            route=r.route,
            kind=r.kind,
            item=item,
            classification=classification,
            created=r.created_at,
            thread_ref=thread,
            sources=tuple(sources),
        )
        return DeliveryRow(
            id=r.delivery_id,
            notifier=r.notifier,
            digest=r.digest,
            attempts=r.attempts,
            status=r.status,
            alert=alert,
        )

    def mark_sending(self, delivery_ids: Sequence[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.deliveries)
                .where(t.deliveries.c.id.in_(delivery_ids))
                .values(status="sending", attempts=t.deliveries.c.attempts + 1)
            )

    def record_delivery(
        self,
        delivery_ids: Sequence[int],
        *,
        ok: bool,
        now: datetime,
        detail: str = "",
        external_id: str | None = None,
        next_attempt_at: datetime | None = None,
        dead: bool = False,
        duration: float = 0.0,
    ) -> None:
        """Record one attempt for these deliveries: sent, retried later, or dead-lettered.
        A first message's external id becomes its story's thread on that route."""
        d = t.deliveries
        with self.engine.begin() as conn:
            for delivery_id in delivery_ids:
                conn.execute(
                    t.attempts.insert().values(
                        delivery_id=delivery_id,
                        attempted_at=now,
                        ok=ok,
                        detail=detail[:2000],
                        duration=duration,
                    )
                )
            if ok:
                conn.execute(
                    update(d)
                    .where(d.c.id.in_(delivery_ids))
                    .values(status="sent", sent_at=now, external_id=external_id, last_error=None)
                )
                if external_id:
                    self._remember_threads(conn, delivery_ids, external_id)
            else:
                conn.execute(
                    update(d)
                    .where(d.c.id.in_(delivery_ids))
                    .values(
                        status="dead" if dead else "pending",
                        last_error=detail[:2000],
                        next_attempt_at=next_attempt_at or now,
                    )
                )

    @staticmethod
    def _remember_threads(conn: Connection, delivery_ids: Sequence[int], external_id: str) -> None:
        rows = conn.execute(
            select(t.alerts.c.story_id, t.alerts.c.route, t.deliveries.c.notifier)
            .select_from(t.deliveries.join(t.alerts, t.deliveries.c.alert_id == t.alerts.c.id))
            .where(t.deliveries.c.id.in_(delivery_ids), t.alerts.c.kind == "new")
        ).all()
        for story_id, route, notifier in rows:
            known = conn.execute(
                select(t.threads.c.external_id).where(
                    t.threads.c.story_id == story_id,
                    t.threads.c.route == route,
                    t.threads.c.notifier == notifier,
                )
            ).first()
            if not known:
                conn.execute(
                    t.threads.insert().values(
                        story_id=story_id, route=route, notifier=notifier, external_id=external_id
                    )
                )

    def recover_inflight(self) -> int:
        """After a crash: deliveries caught mid-send go back to pending (at-least-once)."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(t.deliveries)
                .where(t.deliveries.c.status == "sending")
                .values(status="pending")
            ).rowcount

    def delivery_counts(self) -> dict[str, int]:
        query = select(t.deliveries.c.status, func.count()).group_by(t.deliveries.c.status)
        with self.engine.connect() as conn:
            counts = {status: int(n) for status, n in conn.execute(query)}
        return {s: counts.get(s, 0) for s in ("pending", "sending", "sent", "dead")}

    def delivery_counts_by_notifier(self) -> dict[tuple[str, str], int]:
        """{(status, notifier): count}, for the metrics endpoint."""
        d = t.deliveries
        query = select(d.c.status, d.c.notifier, func.count()).group_by(d.c.status, d.c.notifier)
        with self.engine.connect() as conn:
            return {(status, notifier): int(n) for status, notifier, n in conn.execute(query)}

    def dead_letters(self, limit: int = 20) -> list[dict[str, Any]]:
        return self._deliveries_where(t.deliveries.c.status == "dead", limit)

    def retry_dead_letters(self, now: datetime, ids: Sequence[int] | None = None) -> int:
        """Give dead-lettered deliveries (all, or these ids) a fresh set of attempts,
        due now; returns how many were revived. Their history stays in `attempts`."""
        d = t.deliveries
        cond = d.c.status == "dead"
        if ids is not None:
            cond = and_(cond, d.c.id.in_(list(ids)))
        with self.engine.begin() as conn:
            return conn.execute(
                update(d).where(cond).values(status="pending", attempts=0, next_attempt_at=now)
            ).rowcount

    def recent_alerts(self, limit: int = 20) -> list[dict[str, Any]]:
        return self._deliveries_where(
            t.deliveries.c.status.in_(["sent", "pending", "sending"]), limit
        )

    def _deliveries_where(self, cond: Any, limit: int) -> list[dict[str, Any]]:
        d, a, i = t.deliveries, t.alerts, t.items
        query = (
            select(
                d.c.id,
                d.c.notifier,
                d.c.status,
                d.c.attempts,
                d.c.last_error,
                d.c.sent_at,
                d.c.next_attempt_at,
                a.c.route,
                a.c.kind,
                a.c.story_id,
                a.c.created_at,
                i.c.title,
                i.c.url,
            )
            .select_from(d.join(a, d.c.alert_id == a.c.id).join(i, a.c.item_id == i.c.id))
            .where(cond)
            .order_by(d.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def is_writable(self) -> bool:
        """A cheap write that proves the database accepts writes (for /healthz)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(t.meta.delete().where(t.meta.c.key == "healthcheck"))
                conn.execute(t.meta.insert().values(key="healthcheck", value="ok"))
            return True
        except SQLAlchemyError:
            return False


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{url}: cannot create directory {path.parent}: {exc}") from exc
    try:
        engine = create_engine(url, connect_args=_connect_args(url))
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"{url}: cannot open the store: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _connect_args(url: str) -> dict[str, Any]:
    return {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | dict | type(None))


def _dedupe_key(story_id: int, item_id: int, alert: NewAlert) -> str:
    """The idempotency key: one first alert per (story, route); one update per gained
    type set; one follow-up per item."""
    if alert.kind == "new":
        return f"{story_id}:{alert.route}:new"
    if alert.kind == "update":
        gained = "+".join(sorted(alert.meta.get("gained_types", [])))
        return f"{story_id}:{alert.route}:update:{gained}"
    return f"{story_id}:{alert.route}:{alert.kind}:{item_id}"


def _feed(r: Any) -> FeedRow:
    return FeedRow(**{f.name: getattr(r, f.name) for f in dataclasses.fields(FeedRow)})


def _stories_query() -> Any:
    """Stories with their first item's publication date."""
    return select(t.stories, t.items.c.published_at.label("first_published")).select_from(
        t.stories.outerjoin(t.items, t.stories.c.first_item_id == t.items.c.id)
    )


def _story(r: Any) -> StoryRow:
    return StoryRow(
        id=r.id,
        first_item_id=r.first_item_id,
        canonical_url=r.canonical_url,
        primary_type=r.primary_type,
        types=tuple(r.types or ()),
        actors=tuple(r.actors or ()),
        event_date=r.event_date,
        created_at=r.created_at,
        first_published=getattr(r, "first_published", None),
    )


def _item(r: Any) -> Item:
    meta = dict(r.meta or {})
    if r.canonical_url:
        meta.setdefault("canonical_url", r.canonical_url)
    return Item(
        id=r.key,
        title=r.title,
        text=r.text,
        summary=r.summary,
        url=r.url,
        language=r.language,
        published=r.published_at,
        fetched=r.fetched_at,
        feed=getattr(r, "feed_name", None),
        meta=meta,
    )


def _classification_values(c: Classification) -> dict[str, Any]:
    return {
        "relevant": c.relevant,
        "score": c.score,
        "primary_type": c.primary,
        "types": dict(c.types),
        "actors": list(c.actors),
        "organisations": list(c.organisations),
        "places": list(c.places),
        "event_date": c.event_date,
        "direction": c.direction,
        "status": c.status,
        "language": c.language,
        "evidence": [dataclasses.asdict(e) for e in c.evidence],
        "plugins": {"plugin": c.plugin, "version": c.plugin_version},
    }


def _classification(r: Any) -> Classification:
    plugins = r.plugins or {}
    return Classification(
        relevant=r.relevant,
        score=r.score,
        types=dict(r.types),
        primary=r.primary_type,
        actors=tuple(r.actors),
        organisations=tuple(r.organisations),
        places=tuple(r.places),
        event_date=r.event_date,
        direction=r.direction,
        status=r.status,
        language=r.language,
        evidence=tuple(Evidence(**e) for e in r.evidence),
        plugin=plugins.get("plugin", ""),
        plugin_version=plugins.get("version", ""),
    )
