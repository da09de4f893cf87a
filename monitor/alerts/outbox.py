"""The outbox worker: sends due deliveries through notifiers, with retries.

Alerts reach the outbox in the same transaction as the classification that caused
them, so none is lost to a crash. Delivery is at-least-once towards the service and
once per (story, route) on our side: a delivery is marked "sending" before the notifier
is called and "sent" (with the service's receipt) right after it answered. A crash
between the two leaves it "sending"; `Store.recover_inflight()` at the next start puts
it back to pending and it is sent again. That is the duplicate window: at most the one
message in flight per notifier when the process died (or whose send timed out here).

Failures are retried with capped, jittered exponential backoff (or the service's
Retry-After, at most `MAX_DELAY`, 24 hours), and dead-lettered after `max_attempts` or
on a permanent error. A notifier that failed temporarily is paused until its retry
time, so an outage costs one attempt per period rather than one per waiting alert.

Every notifier has its own queue: one task per notifier sends that notifier's due
deliveries in outbox order, so a slow or failing Slack never delays email. Ordering
within a story holds per notifier (a follow-up waits for its story's first message on
the same notifier, see `Store.due_deliveries`).

A delivery marked "sending" is always settled by the same call, whatever the notifier
does: an exception is a failed attempt; a return value that is not a `Delivery` (None,
a string, anything) after `send` returned normally counts as sent, with no thread
reference, because the message most likely went out and sending it again would
duplicate it; the plugin error is logged. Only a process that dies mid-send leaves one
"sending" (recovered at the next start); `/healthz` reports any other.
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
from monitor.ingest.backoff import MAX_DELAY, backoff_delay, clamp_delay
from monitor.models import Delivery
from monitor.store.base import DeliveryRow, Store

log = logging.getLogger("monitor.alerts.outbox")

BATCH = 200
RECENT = 60.0  # seconds a settled delivery is remembered for the health check
#: Most delivery ids passed to the store as exclusions in one query.
MAX_EXCLUDE = 20_000
#: A send still running this long after its time-out is reported by `/healthz`.
OVERDUE_GRACE = 30.0


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
        #: delivery id -> (notifier, time.monotonic() when its send started)
        self.inflight: dict[int, tuple[str, float]] = {}
        #: Deliveries settled in the last RECENT seconds (id -> when, monotonic): a
        #: reader of the store may still see them "sending" from before they settled.
        self.recent: dict[int, float] = {}

    async def run_once(self, *, flush_digests: bool = False) -> DeliveryReport:
        """Send every delivery due now: immediate ones alone, digest ones grouped per
        notifier. `flush_digests` sends waiting digests now (the end of `monitor once`).

        One task per notifier with due deliveries; the call returns once none has any
        left. Each delivery is tried at most once per call; follow-ups held back for
        their story's first message are picked up in the same call once it is sent.
        While some notifier is still busy, the others' queues are looked at again every
        `delivery.interval`, so a slow one never holds the others' new alerts back.
        """
        report = DeliveryReport()
        async with self._lock:
            tried: dict[str, set[int]] = defaultdict(set)
            idle: dict[str, set[int]] = {}  # what a notifier's task left as not sendable
            tasks: dict[str, asyncio.Task[None]] = {}
            try:
                while True:
                    due = await asyncio.to_thread(
                        self.store.due_ids_by_notifier, self.clock(), flush_digests=flush_digests
                    )
                    for name, ids in due.items():
                        task = tasks.get(name)
                        if task is not None and not task.done():
                            continue
                        fresh = set(ids) - tried[name] - idle.get(name, set())
                        if not fresh or self._is_paused(name):
                            continue
                        tasks[name] = asyncio.create_task(
                            self._drain(name, flush_digests, report, tried[name], idle),
                            name=f"deliver:{name}",
                        )
                    running = [t for t in tasks.values() if not t.done()]
                    if not running:
                        return report
                    await asyncio.wait(
                        running,
                        timeout=max(0.05, self.settings.interval),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
            finally:
                left = [t for t in tasks.values() if not t.done()]
                for task in left:
                    task.cancel()
                if left:
                    await asyncio.gather(*left, return_exceptions=True)

    async def _drain(
        self,
        name: str,
        flush_digests: bool,
        report: DeliveryReport,
        tried: set[int],
        idle: dict[str, set[int]],
    ) -> None:
        """Send `name`'s due deliveries, oldest first, until none is left that it can
        send now (what remains is recorded in `idle`: follow-ups still waiting)."""
        while not self._is_paused(name):
            now = self.clock()
            due_ids = await asyncio.to_thread(
                self.store.due_ids_by_notifier, now, flush_digests=flush_digests
            )
            # The store has no per-notifier query: the others' due rows are excluded
            # (bounded, so the SQL stays within the database's parameter limit).
            others = [i for n, ids in due_ids.items() if n != name for i in ids]
            room = max(0, MAX_EXCLUDE - len(tried))
            due = await asyncio.to_thread(
                self.store.due_deliveries,
                now,
                BATCH,
                flush_digests=flush_digests,
                exclude=frozenset(tried) | frozenset(others[:room]),
            )
            due = [d for d in due if d.notifier == name and d.id not in tried]
            if not due:
                idle[name] = set(due_ids.get(name, ())) - tried
                return
            tried.update(d.id for d in due)
            for batch in _batches(due):
                if self._is_paused(name):
                    return  # not an attempt: tried again once the pause is over
                await self._send(batch, report)

    def _is_paused(self, name: str) -> bool:
        until = self._paused.get(name)
        if until is None:
            return False
        if self.clock() >= until:
            del self._paused[name]
            return False
        return True

    def overdue(self) -> list[tuple[int, str, float]]:
        """Sends still running past their time-out (plus `OVERDUE_GRACE`): (delivery id,
        notifier, seconds running). Empty unless something is badly wrong."""
        limit = self.settings.timeout + OVERDUE_GRACE
        now = time.monotonic()
        return [
            (i, name, now - started)
            for i, (name, started) in list(self.inflight.items())
            if now - started > limit
        ]

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
        started = time.monotonic()
        for i in ids:
            self.inflight[i] = (name, started)
        try:
            await asyncio.to_thread(self.store.mark_sending, ids)
            await self._attempt(notifier, batch, report)
        finally:
            settled = time.monotonic()
            for i in ids:
                self.inflight.pop(i, None)
                self.recent[i] = settled
            if len(self.recent) > 1000:
                self.recent = {i: t for i, t in self.recent.items() if settled - t < RECENT}

    def accounted_for(self) -> set[int]:
        """Deliveries in flight now or settled in the last RECENT seconds: a "sending"
        row among them is a send in progress (or a snapshot older than its end), not an
        orphan left by a crash."""
        now = time.monotonic()
        return set(self.inflight) | {i for i, t in self.recent.items() if now - t < RECENT}

    async def _attempt(
        self, notifier: Notifier, batch: list[DeliveryRow], report: DeliveryReport
    ) -> None:
        """Call the notifier and settle the deliveries: sent, retried or dead. Nothing the
        notifier does (raise, hang, return garbage) leaves them "sending"."""
        name = batch[0].notifier
        ids = [d.id for d in batch]
        alerts = [d.alert for d in batch]
        t0 = time.perf_counter()
        try:
            try:
                answer = await asyncio.wait_for(
                    asyncio.to_thread(notifier.send, alerts, digest=batch[0].digest),
                    timeout=self.settings.timeout,
                )
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # SystemExit from a plugin thread is a failure too
                if not isinstance(exc, Exception):
                    exc = RuntimeError(f"{type(exc).__name__}: {exc}")
                await self._failed(batch, exc, time.perf_counter() - t0, report)
                return
            external_id, detail = _receipt(answer, name)
            duration = time.perf_counter() - t0
            await asyncio.to_thread(
                self.store.record_delivery,
                ids,
                ok=True,
                now=self.clock(),
                detail=detail,
                external_id=external_id,
                duration=duration,
            )
        except asyncio.CancelledError:
            raise  # a drain that timed out: recovered as "sending" at the next start
        except Exception as exc:  # recording failed (store busy?): try once more as failed
            log.exception("delivery via %s: settling failed", name, extra={"notifier": name})
            await self._failed(batch, exc, time.perf_counter() - t0, report)
            return
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
        try:
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
        except Exception:
            # The rows stay "sending": /healthz reports them, the next start resends them.
            log.exception(
                "delivery via %s: cannot record the failed attempt", name, extra={"notifier": name}
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
        """The service's Retry-After when it gave one, else capped jittered backoff;
        never more than `MAX_DELAY` (24 hours)."""
        retry_after = exc.retry_after if isinstance(exc, DeliveryError) else None
        if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
            return clamp_delay(retry_after)
        return min(
            backoff_delay(attempts, self.settings.backoff_base, self.settings.backoff_cap),
            MAX_DELAY,
        )

    def _emit(self, event: str, **fields: object) -> None:
        for observer in self.observers:
            try:
                observer(event, fields)
            except Exception:
                log.exception("delivery observer failed on %s", event)


def _receipt(answer: object, name: str) -> tuple[str | None, str]:
    """(external id, detail) from what a notifier's `send` returned. Anything but a
    `Delivery` counts as sent without a thread reference (see the module docstring)."""
    if isinstance(answer, Delivery):
        external = answer.external_id
        if external is not None and not isinstance(external, str):
            external = str(external)
        detail = answer.detail if isinstance(answer.detail, str) else repr(answer.detail)
        return (external or None), detail[:2000]
    problem = (
        f"notifier {name!r} returned {type(answer).__name__} instead of a Delivery; "
        "counted as sent, without a thread reference"
    )
    log.error("plugin error: %s", problem, extra={"notifier": name})
    return None, problem


def _batches(due: list[DeliveryRow]) -> list[list[DeliveryRow]]:
    """Immediate deliveries one by one, in outbox order; digest deliveries one batch per
    notifier (all routes' digests due for a notifier become one message)."""
    single = [[d] for d in due if not d.digest]
    grouped: dict[str, list[DeliveryRow]] = defaultdict(list)
    for d in due:
        if d.digest:
            grouped[d.notifier].append(d)
    return single + list(grouped.values())
