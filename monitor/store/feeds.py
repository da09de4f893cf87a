"""Feeds in the store: configured feeds, their fetch state, the record of every poll."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    bindparam,
    case,
    func,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.notify.feedhealth import FEED_DOWN
from monitor.store import schema as t
from monitor.store.base import (
    FeedAlert,
    FeedRow,
    PollRecord,
)
from monitor.store.bulk import chunks, insert_many
from monitor.store.rows import feed_row, new_id


class FeedsStore:
    engine: Engine

    def sync_feeds(
        self,
        feeds: Iterable[tuple[str, str]],
        titles: Mapping[str, str | None] | None = None,
    ) -> dict[str, FeedRow]:
        """Make sure each configured (name, url) has a row; a changed configured URL
        resets the stored (possibly redirected) URL and validators. `titles` (name ->
        the configured title, None for none) are stored for the feeds they name; a feed
        they do not name keeps its title. Processes syncing at once (nodes starting
        together) insert each row once: INSERT ... ON CONFLICT DO NOTHING, then compare."""
        titles = titles or {}
        with self.engine.begin() as conn:
            for name, url in feeds:
                values = {"name": name, "configured_url": url, "url": url, "enabled": True,
                          "consecutive_failures": 0, "items_seen": 0}  # fmt: skip
                conn.execute(_insert_new(conn).values(**values).on_conflict_do_nothing(
                    index_elements=["name"]))  # fmt: skip
                row = conn.execute(select(t.feeds).where(t.feeds.c.name == name)).one()
                if name in titles and row.title != titles[name]:
                    conn.execute(
                        update(t.feeds).where(t.feeds.c.id == row.id).values(title=titles[name])
                    )
                if row.configured_url != url:
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
        return {r.name: feed_row(r) for r in rows}

    def feed(self, name: str) -> FeedRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.feeds).where(t.feeds.c.name == name)).first()
        return feed_row(row) if row else None

    def feeds_named(self, names: Collection[str]) -> dict[str, FeedRow]:
        """The rows of these feeds by name (a name with no row is left out), read in
        a few statements: the polls of a cycle ask for thousands at once."""
        rows: dict[str, FeedRow] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(names))):
                for r in conn.execute(select(t.feeds).where(t.feeds.c.name.in_(chunk))):
                    rows[r.name] = feed_row(r)
        return rows

    def feeds(self) -> list[FeedRow]:
        with self.engine.connect() as conn:
            return [feed_row(r) for r in conn.execute(select(t.feeds).order_by(t.feeds.c.name))]

    def record_poll(self, feed_id: int, poll: PollRecord) -> None:
        """Write the poll record and the feed state it leaves, in one transaction."""
        self.record_polls([(feed_id, poll)])

    def record_polls(self, polls: Sequence[tuple[int, PollRecord]]) -> None:
        """Write several polls' records and the feed states they leave, in one
        transaction (the records of plain successful polls, buffered by the pipeline)."""
        with self.engine.begin() as conn:
            plain = list(polls)
            if plain and all(p.plain_success for _, p in plain):
                # the pipeline's buffer: two statements for all, in order (a later
                # poll of the same feed wins)
                insert_many(conn, t.polls, [_poll_row(f, p) for f, p in plain])
                conn.execute(_SUCCESS, [_success_params(f, p) for f, p in plain])
                return
            for feed_id, poll in polls:  # in order: a later poll's state wins
                self._record_poll(conn, feed_id, poll)

    @staticmethod
    def _record_poll(conn: Connection, feed_id: int, poll: PollRecord) -> None:
        ok = poll.error is None
        values: dict[str, Any] = {"next_poll_at": poll.next_poll_at}
        if ok:
            values.update(
                consecutive_failures=0,
                failing_since=None,
                down_since=None,
                last_success_at=poll.started_at,
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
        if poll.feed_alert is not None:
            write_feed_alert(conn, feed_id, poll.feed_alert, poll.started_at)
            if poll.feed_alert.kind == FEED_DOWN:
                values.update(down_since=poll.feed_alert.since)
        conn.execute(t.polls.insert().values(**_poll_row(feed_id, poll)))
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


def write_feed_alert(conn: Connection, feed_id: int, alert: FeedAlert, now: datetime) -> None:
    """The alert and one delivery per notifier: the outbox, in the poll's transaction.
    Its key holds the feed, the kind and the streak, so a poll recorded twice (a
    crash, a retry) writes it once."""
    key = f"feed:{feed_id}:{alert.kind}:{alert.since.astimezone(UTC).isoformat()}"
    if conn.execute(select(t.alerts.c.id).where(t.alerts.c.dedupe_key == key)).first():
        return
    alert_id = new_id(
        conn.execute(
            t.alerts.insert().values(
                feed_id=feed_id,
                route=alert.route,
                kind=alert.kind,
                dedupe_key=key,
                created_at=now,
                meta=alert.meta,
            )
        )
    )
    for notifier in alert.notifiers:
        conn.execute(
            t.deliveries.insert().values(
                alert_id=alert_id,
                notifier=notifier,
                digest=False,
                status="pending",
                attempts=0,
                next_attempt_at=alert.due_at,
            )
        )


#: The feed state a plain successful poll leaves (`_record_poll`'s success branch):
#: validators replaced when the poll has some, kept otherwise.
_KEEP = bindparam("keep_validators", type_=Boolean)
_SUCCESS = (
    update(t.feeds)
    .where(t.feeds.c.id == bindparam("feed_id"))
    .values(
        next_poll_at=bindparam("next_poll_at"),
        last_success_at=bindparam("last_success_at"),
        consecutive_failures=0,
        failing_since=None,
        down_since=None,
        etag=case((_KEEP, t.feeds.c.etag), else_=bindparam("etag")),
        last_modified=case((_KEEP, t.feeds.c.last_modified), else_=bindparam("last_modified")),
        items_seen=t.feeds.c.items_seen + bindparam("new_items"),
    )
)


def _success_params(feed_id: int, poll: PollRecord) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "next_poll_at": poll.next_poll_at,
        "last_success_at": poll.started_at,
        "keep_validators": poll.keeps_validators,
        "etag": poll.etag,
        "last_modified": poll.last_modified,
        "new_items": poll.new_items,
    }


def _poll_row(feed_id: int, poll: PollRecord) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "started_at": poll.started_at,
        "status": poll.status,
        "duration": poll.duration,
        "nbytes": poll.nbytes,
        "new_items": poll.new_items,
        "error": poll.error,
    }


def _insert_new(conn: Connection) -> Any:
    """The dialect's INSERT that can skip rows whose key exists (both SQLite and
    PostgreSQL speak ON CONFLICT DO NOTHING)."""
    if conn.dialect.name == "postgresql":
        # imported here: a SQLite store never needs the PostgreSQL dialect
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(t.feeds)
    return sqlite_insert(t.feeds)
