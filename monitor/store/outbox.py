"""The outbox in the store: deliveries due, in flight, sent and dead-lettered."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    func,
    or_,
    select,
    update,
)

from monitor.models import Alert, Classification
from monitor.notify.feedhealth import as_alert
from monitor.store import schema as t
from monitor.store.base import (
    DeliveryRow,
)
from monitor.store.rows import classification_row, item_row


class OutboxStore:
    engine: Engine

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
                a.c.feed_id,
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
        if r.item_id is None:
            return self._feed_delivery(conn, r)
        found = conn.execute(
            select(
                t.items,
                t.feeds.c.name.label("feed_name"),
                t.feeds.c.title.label("feed_title"),
            )
            .select_from(t.items.outerjoin(t.feeds, t.items.c.feed_id == t.feeds.c.id))
            .where(t.items.c.id == r.item_id)
        ).one()
        item = item_row(found)
        meta = dict(item.meta)
        meta.update(r.alert_meta or {})
        crow = conn.execute(
            select(t.classifications).where(t.classifications.c.item_id == r.item_id)
        ).first()
        classification = (
            classification_row(crow) if crow else Classification(relevant=True, score=0.0)
        )
        thread = conn.execute(
            select(t.threads.c.external_id).where(
                t.threads.c.story_id == r.story_id,
                t.threads.c.route == r.route,
                t.threads.c.notifier == r.notifier,
            )
        ).scalar()
        sources = conn.execute(
            select(t.feeds.c.name, t.feeds.c.title)
            .select_from(t.item_sources.join(t.feeds, t.item_sources.c.feed_id == t.feeds.c.id))
            .where(t.item_sources.c.item_id == r.item_id)
            .order_by(t.item_sources.c.first_seen_at)
        ).all()
        # what notifiers name the feeds by (`monitor.notify.render.feed_titles`)
        titles = {name: title for name, title in sources if title}
        if found.feed_name and found.feed_title:
            titles[found.feed_name] = found.feed_title
        meta["feed_titles"] = titles
        item = dataclasses.replace(item, meta=meta)
        alert = Alert(
            id=r.alert_id,
            story_id=r.story_id,
            route=r.route,
            kind=r.kind,
            item=item,
            classification=classification,
            created=r.created_at,
            thread_ref=thread,
            sources=tuple(name for name, _ in sources),
        )
        return _row(r, alert)

    @staticmethod
    def _feed_delivery(conn: Connection, r: Any) -> DeliveryRow:
        """A feed-health alert: the feed's current title, the rest as it was stored."""
        title = conn.execute(select(t.feeds.c.title).where(t.feeds.c.id == r.feed_id)).scalar()
        alert = as_alert(r.alert_id, r.kind, r.route, r.created_at, r.alert_meta or {}, title)
        return _row(r, alert)

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
        return deliveries_where(self.engine, cond, limit)


def deliveries_where(engine: Engine, cond: Any, limit: int, *extra: Any) -> list[dict[str, Any]]:
    """Deliveries matching `cond`, newest first, with their alert and what it is about:
    its item's title and URL, or for a feed-health alert its summary and the feed's URL."""
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
            *extra,
            a.c.meta.label("alert_meta"),
        )
        .select_from(d.join(a, d.c.alert_id == a.c.id).outerjoin(i, a.c.item_id == i.c.id))
        .where(cond)
        .order_by(d.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_listed(dict(r._mapping)) for r in conn.execute(query)]


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    """A listed delivery: a feed-health alert shows its summary where items show titles."""
    meta = row.pop("alert_meta", None) or {}
    if row["title"] is None and meta.get("summary"):
        row["title"] = meta["summary"]
        row["url"] = meta.get("url")
    return row


def _row(r: Any, alert: Alert) -> DeliveryRow:
    return DeliveryRow(
        id=r.delivery_id,
        notifier=r.notifier,
        digest=r.digest,
        attempts=r.attempts,
        status=r.status,
        alert=alert,
    )
