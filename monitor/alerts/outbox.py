"""The outbox worker: sends due deliveries through notifiers, with retries.

Alerts reach the outbox in the same transaction as the classification that caused
them, so none is lost to a crash. Delivery is at-least-once towards the service and
once per (story, route) on our side: a delivery is marked "sending" before the notifier
is called and "sent" (with the service's receipt) right after it answered. A crash
between the two leaves it "sending"; `Store.recover_inflight()` at the next start puts
it back to pending and it is sent again. That is the duplicate window: at most the one
message in flight per notifier when the process died (or whose send timed out here).

Failures are retried with capped, jittered exponential backoff (or the service's
Retry-After), and dead-lettered after `max_attempts` or on a permanent error. A
notifier that failed temporarily is paused until its retry time, so an outage costs
one attempt per period rather than one per waiting alert.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.config import DeliveryConfig
from monitor.errors import DeliveryError
from monitor.hookspecs import Notifier
from monitor.ingest.backoff import backoff_delay
from monitor.models import Delivery
from monitor.store.base import DeliveryRow, Store

log = logging.getLogger("monitor.alerts.outbox")

BATCH = 200


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


class Deliverer:
    """Sends what the outbox holds; one instance per running config."""

    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        settings: DeliveryConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.notifiers = notifiers
        self.settings = settings
        self.clock = clock
        self.observers: list[Callable[[str, dict[str, object]], None]] = []
        self._lock = asyncio.Lock()
        self._paused: dict[str, datetime] = {}

    async def run_once(self, *, flush_digests: bool = False) -> DeliveryReport:
        """Send every delivery due now: immediate ones alone, digest ones grouped per
        notifier. `flush_digests` sends waiting digests now (the end of `monitor once`).

        Each delivery is tried at most once per call; follow-ups held back for their
        story's first message are picked up in the same call once it is sent.
        """
        report = DeliveryReport()
        async with self._lock:
            seen: set[int] = set()
            while True:
                due = await asyncio.to_thread(
                    self.store.due_deliveries,
                    self.clock(),
                    BATCH,
                    flush_digests=flush_digests,
                    exclude=frozenset(seen),
                )
                if not due:
                    return report
                seen.update(d.id for d in due)
                for batch in _batches(due):
                    if self._is_paused(batch[0].notifier):
                        continue  # not an attempt: tried again once the pause is over
                    await self._send(batch, report)

    def _is_paused(self, name: str) -> bool:
        until = self._paused.get(name)
        if until is None:
            return False
        if self.clock() >= until:
            del self._paused[name]
            return False
        return True

    async def _send(self, batch: list[DeliveryRow], report: DeliveryReport) -> None:
        name = batch[0].notifier
        ids = [d.id for d in batch]
        notifier = self.notifiers.get(name)
        if notifier is None:
            detail = f"notifier {name!r} is not configured"
            await asyncio.to_thread(
                self.store.record_delivery,
                ids,
                ok=False,
                now=self.clock(),
                detail=detail,
                dead=True,
            )
            report.dead += len(ids)
            report.errors.append(detail)
            log.error("dead-lettered %d alert(s): %s", len(ids), detail, extra={"notifier": name})
            return
        await asyncio.to_thread(self.store.mark_sending, ids)
        alerts = [d.alert for d in batch]
        t0 = time.perf_counter()
        try:
            receipt: Delivery = await asyncio.wait_for(
                asyncio.to_thread(notifier.send, alerts, digest=batch[0].digest),
                timeout=self.settings.timeout,
            )
        except Exception as exc:
            await self._failed(batch, exc, time.perf_counter() - t0, report)
            return
        duration = time.perf_counter() - t0
        await asyncio.to_thread(
            self.store.record_delivery,
            ids,
            ok=True,
            now=self.clock(),
            detail=receipt.detail,
            external_id=receipt.external_id,
            duration=duration,
        )
        report.sent += len(ids)
        for d in batch:
            latency = (self.clock() - d.alert.created).total_seconds()
            self._emit("delivered", notifier=name, latency=latency, kind=d.alert.kind)
        log.info("delivered %d alert(s) via %s", len(ids), name, extra={"notifier": name})

    async def _failed(
        self, batch: list[DeliveryRow], exc: Exception, duration: float, report: DeliveryReport
    ) -> None:
        name = batch[0].notifier
        ids = [d.id for d in batch]
        attempts = max(d.attempts for d in batch) + 1
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        if isinstance(exc, TimeoutError):
            detail = f"timed out after {self.settings.timeout:g} s"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        dead = permanent or attempts >= self.settings.max_attempts
        delay = self.retry_delay(attempts, exc)
        now = self.clock()
        retry_at = now + timedelta(seconds=delay)
        await asyncio.to_thread(
            self.store.record_delivery,
            ids,
            ok=False,
            now=now,
            detail=detail,
            next_attempt_at=retry_at,
            dead=dead,
            duration=duration,
        )
        if not permanent:
            self._paused[name] = retry_at  # the service is down or busy, not this alert
        if dead:
            report.dead += len(ids)
            log.error(
                "dead-lettered %d alert(s) via %s after %d attempt(s): %s",
                len(ids),
                name,
                attempts,
                detail,
                extra={"notifier": name},
            )
        else:
            report.retried += len(ids)
            log.warning(
                "delivery via %s failed (attempt %d, retry in %.0f s): %s",
                name,
                attempts,
                delay,
                detail,
                extra={"notifier": name},
            )
        report.errors.append(f"{name}: {detail}")
        self._emit("failed", notifier=name, dead=dead)

    def retry_delay(self, attempts: int, exc: Exception) -> float:
        """The service's Retry-After when it gave one, else capped jittered backoff."""
        retry_after = exc.retry_after if isinstance(exc, DeliveryError) else None
        if retry_after is not None:
            return max(retry_after, 0.0)
        return backoff_delay(attempts, self.settings.backoff_base, self.settings.backoff_cap)

    def _emit(self, event: str, **fields: object) -> None:
        for observer in self.observers:
            observer(event, fields)


def _batches(due: list[DeliveryRow]) -> list[list[DeliveryRow]]:
    """Immediate deliveries one by one, in outbox order; digest deliveries one batch per
    notifier (all routes' digests due for a notifier become one message)."""
    single = [[d] for d in due if not d.digest]
    grouped: dict[str, list[DeliveryRow]] = defaultdict(list)
    for d in due:
        if d.digest:
            grouped[d.notifier].append(d)
    return single + list(grouped.values())
