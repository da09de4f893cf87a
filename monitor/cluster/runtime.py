"""The single-node Runtime, adapted to share its store with other nodes.

Two differences only, both about state other nodes also write:
- no `recover_inflight()` at start: it would send again what other nodes have in
  flight right now; recovery belongs to each notifier's delivery job (`recover_for`);
- polls are recorded at once and conditionally on the due time they were dispatched
  for (`DISPATCHED_DUE`), and the pipeline caches no feed row between polls (another
  node may have polled the feed since).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from contextvars import ContextVar
from datetime import datetime
from typing import Any, cast

from monitor.alerts.outbox import MAX_EXCLUDE, Deliverer
from monitor.service.pipeline import Pipeline
from monitor.service.runtime import Runtime
from monitor.store.base import DeliveryRow, FeedRow, PollRecord, Store

log = logging.getLogger("monitor.cluster")


class _Unset:
    pass


UNSET = _Unset()
#: The due time the running poll job was dispatched for (set by the poll task).
DISPATCHED_DUE: ContextVar[datetime | _Unset | None] = ContextVar("dispatched_due", default=UNSET)


class ClusterPipeline(Pipeline):
    """The pipeline, with every poll written at once and conditionally."""

    async def _record(self, row: FeedRow, record: PollRecord) -> None:
        self._rows.pop(row.name, None)  # the store, not this node, knows the feed's state
        due = DISPATCHED_DUE.get()
        if isinstance(due, _Unset):
            await asyncio.to_thread(self.store.record_poll, row.id, record)
            return
        applied = await asyncio.to_thread(self.store.record_poll_if_due, row.id, record, due)
        if not applied:
            log.info(
                "feed %s: a late duplicate poll; its record is kept, the schedule not moved",
                row.name,
                extra={"feed": row.name},
            )


class ClusterRuntime(Runtime):
    """`Runtime` for a cluster node (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_cluster_pipeline()
        self._deliverers: dict[str, Deliverer] = {}

    def use_cluster_pipeline(self) -> None:
        """Swap the pipeline Runtime built (at start, after a reload) for ours."""
        old = self.pipeline
        if isinstance(old, ClusterPipeline):
            return
        new = ClusterPipeline(self.config, self.store, self.host, self.fetcher, self.clock)
        new.observers.extend(old.observers)
        self.pipeline = new

    async def __aenter__(self) -> ClusterRuntime:
        await self.fetcher.__aenter__()
        self.host.startup()
        return self

    def deliverer_for(self, notifier: str) -> Deliverer:
        """A deliverer that sends `notifier`'s deliveries only (kept per node: its
        retry pause lasts as long as the notifier's jobs run here)."""
        current = self._deliverers.get(notifier)
        if (
            current is not None
            and current.notifiers is self.notifiers
            and current.settings == self.config.delivery
        ):
            return current
        store = cast(Store, _OneNotifier(self.store, notifier))
        made = Deliverer(store, self.notifiers, self.config.delivery, self.clock)
        made.observers.extend(self.deliverer.observers)
        self._deliverers[notifier] = made
        return made


class _OneNotifier:
    """The store as one notifier's delivery job sees it: only that notifier's due
    deliveries (the others belong to their own jobs, maybe on other nodes)."""

    def __init__(self, store: Store, notifier: str) -> None:
        self._store = store
        self._notifier = notifier

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def due_ids_by_notifier(
        self, now: datetime, *, flush_digests: bool = False
    ) -> dict[str, list[int]]:
        due = self._store.due_ids_by_notifier(now, flush_digests=flush_digests)
        mine = due.get(self._notifier)
        return {self._notifier: mine} if mine else {}

    def due_deliveries(
        self,
        now: datetime,
        limit: int = 100,
        *,
        flush_digests: bool = False,
        exclude: Collection[int] = (),
    ) -> list[DeliveryRow]:
        due = self._store.due_ids_by_notifier(now, flush_digests=flush_digests)
        others = [i for n, ids in due.items() if n != self._notifier for i in ids]
        room = max(0, MAX_EXCLUDE - len(exclude))
        rows = self._store.due_deliveries(
            now,
            limit,
            flush_digests=flush_digests,
            exclude=frozenset(exclude) | frozenset(others[:room]),
        )
        return [r for r in rows if r.notifier == self._notifier]
