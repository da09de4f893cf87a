"""The outbox worker: sends due deliveries through notifiers, with retries.

Delivery is at-least-once towards the service and once per (story, route) on our
side. A delivery is marked "sending" before the notifier is called and "sent" after
the service acknowledged it; a crash between the two leaves it "sending", and
`recover_inflight()` at the next start sends it again — the only window in which a
message can be duplicated is one in-flight send per notifier.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.backoff import backoff_delay
from monitor.config import DeliveryConfig
from monitor.errors import DeliveryError
from monitor.hookspecs import Notifier
from monitor.models import Delivery
from monitor.store.base import DeliveryRow, Store

log = logging.getLogger("monitor.deliver")


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

    async def run_once(self, *, flush_digests: bool = False) -> DeliveryReport:
        """Send every delivery due now: immediate ones alone, digest ones grouped.
        `flush_digests` sends waiting digests now (the end of `monitor once`)."""
        report = DeliveryReport()
        async with self._lock:
            while True:
                due = await asyncio.to_thread(
                    self.store.due_deliveries, self.clock(), 200, flush_digests=flush_digests
                )
                if not due:
                    return report
                for batch in _batches(due):
                    await self._send(batch, report)
                if len(due) < 200:
                    return report

    async def _send(self, batch: list[DeliveryRow], report: DeliveryReport) -> None:
        name = batch[0].notifier
        ids = [d.id for d in batch]
        notifier = self.notifiers.get(name)
        now = self.clock()
        if notifier is None:
            detail = f"notifier {name!r} is not configured"
            await asyncio.to_thread(
                self.store.record_delivery, ids, ok=False, now=now, detail=detail, dead=True
            )
            report.dead += len(ids)
            report.errors.append(detail)
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
        delay = backoff_delay(attempts, self.settings.backoff_base, self.settings.backoff_cap)
        retry_after = exc.retry_after if isinstance(exc, DeliveryError) else None
        if retry_after is not None:
            delay = max(retry_after, 0.0)
        now = self.clock()
        await asyncio.to_thread(
            self.store.record_delivery,
            ids,
            ok=False,
            now=now,
            detail=detail,
            next_attempt_at=now + timedelta(seconds=delay),
            dead=dead,
            duration=duration,
        )
        if dead:
            report.dead += len(ids)
            log.error(
                "dead-lettered %d alert(s) via %s: %s",
                len(ids),
                name,
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

    def _emit(self, event: str, **fields: object) -> None:
        for observer in self.observers:
            observer(event, fields)


def _batches(due: list[DeliveryRow]) -> list[list[DeliveryRow]]:
    """Immediate deliveries one by one; digest deliveries one batch per notifier."""
    single = [[d] for d in due if not d.digest]
    grouped: dict[str, list[DeliveryRow]] = defaultdict(list)
    for d in due:
        if d.digest:
            grouped[d.notifier].append(d)
    return single + list(grouped.values())
