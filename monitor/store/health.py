"""Read-only queries for health and metrics: stuck items, the backlog and its age,
deliveries in flight, and each notifier's queue.

Nothing here writes. `/healthz`, `/metrics` and the delivery worker (which uses the
per-notifier ids to give every notifier its own queue) read these.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select

from monitor.store import schema as t


class HealthStore:
    engine: Engine

    def item_states(self) -> dict[str, int]:
        """{state: count} of every item ("new", "classified", "failed", ...)."""
        query = select(t.items.c.state, func.count()).group_by(t.items.c.state)
        with self.engine.connect() as conn:
            return {str(state): int(n) for state, n in conn.execute(query)}

    def item_backlog(self) -> tuple[int, datetime | None]:
        """How many items wait to be processed (state "new") and since when the oldest
        has waited (its last store: first seen, or last changed)."""
        i = t.items
        query = select(func.count(), func.min(i.c.updated_at)).where(i.c.state == "new")
        with self.engine.connect() as conn:
            count, oldest = conn.execute(query).one()
        return int(count or 0), _aware(oldest)

    def stuck_items(self, before: datetime, limit: int = 5) -> tuple[int, list[dict[str, Any]]]:
        """Items still waiting ("new") that were stored before `before`: how many, and
        the oldest few (id, feed, title, since)."""
        i, f = t.items, t.feeds
        cond = and_(i.c.state == "new", i.c.updated_at < before)
        rows_query = (
            select(i.c.id, i.c.title, i.c.updated_at, f.c.name.label("feed"))
            .select_from(i.outerjoin(f, i.c.feed_id == f.c.id))
            .where(cond)
            .order_by(i.c.updated_at, i.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            count = int(conn.execute(select(func.count()).select_from(i).where(cond)).scalar_one())
            rows = [
                {"id": r.id, "feed": r.feed, "title": r.title, "since": _aware(r.updated_at)}
                for r in conn.execute(rows_query)
            ]
        return count, rows

    def sending_deliveries(self) -> list[tuple[int, str]]:
        """(delivery id, notifier) of every delivery marked "sending"."""
        d = t.deliveries
        query = select(d.c.id, d.c.notifier).where(d.c.status == "sending").order_by(d.c.id)
        with self.engine.connect() as conn:
            return [(int(r.id), str(r.notifier)) for r in conn.execute(query)]

    def due_ids_by_notifier(
        self, now: datetime, *, flush_digests: bool = False
    ) -> dict[str, list[int]]:
        """{notifier: ids of its pending deliveries due by `now`}, oldest first (with
        `flush_digests`, digest deliveries never attempted count as due too)."""
        d = t.deliveries
        due = d.c.next_attempt_at <= now
        if flush_digests:
            due = or_(due, and_(d.c.digest.is_(True), d.c.attempts == 0))
        query = (
            select(d.c.id, d.c.notifier)
            .where(d.c.status == "pending", due)
            .order_by(d.c.next_attempt_at, d.c.id)
        )
        found: dict[str, list[int]] = defaultdict(list)
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                found[str(r.notifier)].append(int(r.id))
        return dict(found)

    def notifier_queues(self, now: datetime) -> dict[str, dict[str, Any]]:
        """Per notifier: pending deliveries, how many are due now, and since when the
        oldest due one has been due."""
        d = t.deliveries
        query = (
            select(
                d.c.notifier,
                func.count(),
                func.sum(case((d.c.next_attempt_at <= now, 1), else_=0)),
                func.min(d.c.next_attempt_at),
            )
            .where(d.c.status == "pending")
            .group_by(d.c.notifier)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        queues: dict[str, dict[str, Any]] = {}
        for notifier, pending, due, oldest in rows:
            oldest = _aware(oldest)
            queues[str(notifier)] = {
                "pending": int(pending or 0),
                "due": int(due or 0),
                "oldest_due": oldest if oldest is not None and oldest <= now else None,
            }
        return queues


def _aware(value: Any) -> datetime | None:
    """A datetime from an aggregate (SQLite's MIN returns the stored text, not the
    column's type): UTC-aware, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None
