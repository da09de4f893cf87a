"""What a cluster of nodes needs from the store (monitor.cluster): the feeds' schedule
synced from the config, the feeds due now, a poll record that applies only for the due
time it was dispatched for, delivery recovery per notifier, and the nodes.

Portable SQL except where it reads procrastinate's own tables (`procrastinate_jobs`,
`procrastinate_workers`), which exist on PostgreSQL only: those queries are used by the
cluster and by `monitor status` when the store is PostgreSQL.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, select, text, update

from monitor.store import schema as t
from monitor.store.base import PollRecord
from monitor.store.feeds import FeedsStore
from monitor.store.rows import new_id

#: The lock (and queueing lock) of the procrastinate job that polls a feed.
POLL_LOCK = "poll:"


class ClusterStore:
    engine: Engine

    # --- the schedule ------------------------------------------------------------------

    def sync_schedule(
        self, feeds: Iterable[tuple[str, float, float]], now: datetime
    ) -> dict[str, int]:
        """Store each configured, enabled feed's (name, interval, jitter); every other
        feed is unscheduled (interval NULL: no node dispatches it). A feed never polled
        gets its first poll spread over its jitter. Rows must exist (`sync_feeds`).
        Returns {"scheduled": n, "unscheduled": m}."""
        wanted = {name: (interval, jitter) for name, interval, jitter in feeds}
        f = t.feeds
        scheduled = unscheduled = 0
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(f.c.id, f.c.name, f.c.next_poll_at, f.c.poll_interval, f.c.poll_jitter)
            ).all()
            for row in rows:
                plan = wanted.get(row.name)
                if plan is None:
                    if row.poll_interval is not None:
                        conn.execute(
                            update(f)
                            .where(f.c.id == row.id)
                            .values(poll_interval=None, poll_jitter=None)
                        )
                        unscheduled += 1
                    continue
                interval, jitter = plan
                values: dict[str, Any] = {}
                if (row.poll_interval, row.poll_jitter) != (interval, jitter):
                    values.update(poll_interval=interval, poll_jitter=jitter)
                if row.next_poll_at is None:
                    spread = random.uniform(0, min(jitter, interval))
                    values.update(next_poll_at=now + timedelta(seconds=spread))
                if values:
                    conn.execute(update(f).where(f.c.id == row.id).values(**values))
                scheduled += 1
        return {"scheduled": scheduled, "unscheduled": unscheduled}

    def due_feeds(
        self, now: datetime, limit: int = 10_000, *, skip_queued: bool = True
    ) -> list[tuple[str, datetime | None]]:
        """(name, due time) of scheduled, enabled feeds due by `now`, most overdue first.
        `skip_queued` (PostgreSQL) leaves out feeds with a poll job waiting or running."""
        f = t.feeds
        conds: list[Any] = [
            f.c.poll_interval.is_not(None),
            f.c.enabled.is_(True),
            or_(f.c.next_poll_at.is_(None), f.c.next_poll_at <= now),
        ]
        if skip_queued:
            conds.append(
                text(
                    "NOT EXISTS (SELECT 1 FROM procrastinate_jobs j "
                    f"WHERE j.lock = '{POLL_LOCK}' || feeds.name "
                    "AND j.status IN ('todo', 'doing'))"
                )
            )
        query = (
            select(f.c.name, f.c.next_poll_at)
            .where(*conds)
            .order_by(f.c.next_poll_at.asc().nulls_first(), f.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r.name, r.next_poll_at) for r in conn.execute(query)]

    def feed_due_at(self, name: str) -> tuple[bool, datetime | None]:
        """(scheduled and enabled, next_poll_at) of one feed; (False, None) if unknown."""
        f = t.feeds
        with self.engine.connect() as conn:
            row = conn.execute(
                select(f.c.enabled, f.c.poll_interval, f.c.next_poll_at).where(f.c.name == name)
            ).first()
        if row is None:
            return False, None
        return bool(row.enabled and row.poll_interval is not None), row.next_poll_at

    def record_poll_if_due(self, feed_id: int, poll: PollRecord, due: datetime | None) -> bool:
        """Record a poll dispatched for the due time `due`: its record always, the feed
        state it leaves (next poll, validators, failures) only if the feed is still due
        at `due`, so a late duplicate poll does not move the schedule twice. The next
        poll gets the feed's stored jitter. True when the state was applied."""
        f = t.feeds
        with self.engine.begin() as conn:
            row = conn.execute(
                select(f.c.next_poll_at, f.c.poll_jitter).where(f.c.id == feed_id).with_for_update()
            ).first()
            if row is None:
                return False
            if row.next_poll_at != due:
                conn.execute(
                    t.polls.insert().values(
                        feed_id=feed_id,
                        started_at=poll.started_at,
                        status=poll.status,
                        duration=poll.duration,
                        nbytes=poll.nbytes,
                        new_items=poll.new_items,
                        error=(poll.error or "") + " [duplicate poll: schedule not moved]",
                    )
                )
                return False
            jitter = row.poll_jitter or 0.0
            if poll.next_poll_at is not None and jitter > 0:
                spread = timedelta(seconds=random.uniform(0, jitter))
                poll = replace(poll, next_poll_at=poll.next_poll_at + spread)
            FeedsStore._record_poll(conn, feed_id, poll)
        return True

    def processable(self, now: datetime) -> bool:
        """Whether some stored item waits to be processed now (not for a retry later)."""
        i = t.items
        cond = and_(
            i.c.state == "new", or_(i.c.next_attempt_at.is_(None), i.c.next_attempt_at <= now)
        )
        with self.engine.connect() as conn:
            return bool(conn.execute(select(exists().where(cond))).scalar())

    def due_notifiers(self, now: datetime) -> list[str]:
        """Notifiers with a pending delivery due by `now` (digests once their time came)
        or one "sending" (in flight, or left so by a delivery job that died: the next
        job of that notifier puts it back)."""
        d = t.deliveries
        query = (
            select(d.c.notifier)
            .where(
                or_(
                    and_(d.c.status == "pending", d.c.next_attempt_at <= now),
                    d.c.status == "sending",
                )
            )
            .distinct()
        )
        with self.engine.connect() as conn:
            return sorted(str(n) for n in conn.execute(query).scalars())

    def recover_inflight_for(self, notifier: str) -> int:
        """Deliveries of `notifier` left "sending" by a delivery job that died (its node
        was killed, or its send abandoned at a drain): pending again (at-least-once).
        Only the one delivery job of that notifier may call this, holding its lock."""
        d = t.deliveries
        with self.engine.begin() as conn:
            return conn.execute(
                update(d)
                .where(d.c.status == "sending", d.c.notifier == notifier)
                .values(status="pending")
            ).rowcount

    # --- nodes -------------------------------------------------------------------------

    def register_node(
        self, *, name: str, host: str, pid: int, version: str, worker_id: int | None,
        now: datetime,
    ) -> int:  # fmt: skip
        with self.engine.begin() as conn:
            values = {
                "name": name, "host": host, "pid": pid, "version": version,
                "worker_id": worker_id, "state": "running", "started_at": now, "seen_at": now,
            }  # fmt: skip
            return new_id(conn.execute(t.cluster_nodes.insert().values(**values)))

    def node_seen(self, node_id: int, now: datetime, *, state: str | None = None) -> None:
        values: dict[str, Any] = {"seen_at": now}
        if state is not None:
            values["state"] = state
            if state in ("stopped", "dead"):
                values.update(stopped_at=now, worker_id=None)
        with self.engine.begin() as conn:
            conn.execute(
                update(t.cluster_nodes).where(t.cluster_nodes.c.id == node_id).values(**values)
            )

    def mark_nodes_dead(self, worker_ids: Iterable[int], now: datetime) -> int:
        """Nodes whose procrastinate workers were found stalled: dead."""
        ids = list(worker_ids)
        if not ids:
            return 0
        n = t.cluster_nodes
        with self.engine.begin() as conn:
            return conn.execute(
                update(n)
                .where(n.c.worker_id.in_(ids), n.c.state.in_(["running", "draining"]))
                .values(state="dead", stopped_at=now, worker_id=None)
            ).rowcount

    def mark_silent_nodes_dead(self, before: datetime, now: datetime) -> int:
        """Nodes not seen since `before` (their process vanished): dead."""
        n = t.cluster_nodes
        with self.engine.begin() as conn:
            return conn.execute(
                update(n)
                .where(n.c.state.in_(["running", "draining"]), n.c.seen_at < before)
                .values(state="dead", stopped_at=now, worker_id=None)
            ).rowcount

    def cluster_nodes(self, *, include_stopped: bool = False) -> list[dict[str, Any]]:
        n = t.cluster_nodes
        query = select(n).order_by(n.c.started_at.desc(), n.c.id.desc())
        if not include_stopped:
            query = query.where(n.c.state.in_(["running", "draining"]))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def cluster_queue(self, stall_timeout: float) -> dict[str, Any]:
        """procrastinate's queue (PostgreSQL): jobs by task and status, stalled jobs
        (running on a worker silent for `stall_timeout`), and the workers' heartbeats.
        Empty when the queue's tables do not exist (not a cluster database)."""
        with self.engine.connect() as conn:
            if conn.dialect.name != "postgresql":
                return {}
            if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
                return {}
            counts: dict[str, dict[str, int]] = {}
            for task, status, count in conn.execute(
                text(
                    "SELECT task_name, status::text, count(*) FROM procrastinate_jobs "
                    "WHERE status IN ('todo', 'doing') GROUP BY task_name, status"
                )
            ):
                counts.setdefault(str(task).rsplit(":", 1)[-1], {})[str(status)] = int(count)
            stalled = [
                dict(r._mapping)
                for r in conn.execute(
                    text(
                        "SELECT j.id, j.task_name, j.lock, j.worker_id FROM procrastinate_jobs j "
                        "LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
                        "WHERE j.status = 'doing' AND (w.id IS NULL OR w.last_heartbeat < "
                        "now() - make_interval(secs => :secs)) ORDER BY j.id LIMIT 50"
                    ),
                    {"secs": stall_timeout},
                )
            ]
            workers = {
                int(r.id): r.last_heartbeat
                for r in conn.execute(text("SELECT id, last_heartbeat FROM procrastinate_workers"))
            }
        todo = sum(c.get("todo", 0) for c in counts.values())
        doing = sum(c.get("doing", 0) for c in counts.values())
        return {
            "todo": todo,
            "doing": doing,
            "by_task": counts,
            "stalled": stalled,
            "workers": workers,
        }
