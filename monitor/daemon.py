"""`monitor run`: the long-running daemon around one Runtime.

APScheduler 3.x (AsyncIOScheduler, in-memory job store): one job per feed at its
interval with jitter, a delivery job, digest flushes. The schedule is rebuilt from the
config at start; all durable state lives in the store.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.config import Config, FeedConfig
from monitor.runtime import Runtime

log = logging.getLogger("monitor.daemon")

EXIT_OK = 0
EXIT_CONFIG = 78  # EX_CONFIG: fix the config, restarting will not help
EXIT_LOCKED = 75  # EX_TEMPFAIL: another daemon holds the database
EXIT_FORCED = 130


class Daemon:
    """Start, run until a signal, drain, stop."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.config: Config = runtime.config
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping = asyncio.Event()
        self.forced = False
        self._inflight: set[asyncio.Task[object]] = set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        self.scheduler.add_listener(self._on_job_error, EVENT_JOB_ERROR)
        self._schedule()
        self.scheduler.start()
        log.info(
            "started: %d feed(s), %d notifier(s)",
            len(self.config.feeds),
            len(self.runtime.notifiers),
        )
        await self.runtime.pipeline.process_pending()
        await self.stopping.wait()
        return await self._drain()

    def _schedule(self) -> None:
        now = datetime.now(UTC)
        for feed in self.config.feeds:
            if feed.enabled:
                self._schedule_feed(feed, now)
        self.scheduler.add_job(
            self._track,
            "interval",
            args=[self.runtime.deliverer.run_once],
            seconds=self.config.delivery.interval,
            id="deliver",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    def _schedule_feed(self, feed: FeedConfig, now: datetime) -> None:
        first = now + timedelta(
            seconds=random.uniform(0, min(feed.effective_jitter, feed.interval))
        )
        self.scheduler.add_job(
            self._poll,
            "interval",
            args=[feed],
            id=f"feed:{feed.name}",
            seconds=feed.interval,
            jitter=feed.effective_jitter or None,
            next_run_time=first,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(max(feed.interval, 1)),
            replace_existing=True,
        )

    async def _poll(self, feed: FeedConfig) -> None:
        if self.stopping.is_set():
            return
        outcome = await self._track(self.runtime.pipeline.poll, feed)
        await self._track(self.runtime.pipeline.process_pending)
        next_at = getattr(outcome, "next_poll_at", None)
        job = self.scheduler.get_job(f"feed:{feed.name}")
        if (
            job is not None
            and next_at is not None
            and job.next_run_time
            and next_at > job.next_run_time
        ):
            job.modify(next_run_time=next_at)

    async def _track(self, fn, *args):  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(fn(*args))
        self._inflight.add(task)
        try:
            return await task
        finally:
            self._inflight.discard(task)

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            log.warning("second %s: exiting now", sig.name)
            self.forced = True
            for task in self._inflight:
                task.cancel()
            raise SystemExit(EXIT_FORCED)
        log.info("%s: draining (at most %.0f s)", sig.name, self.config.daemon.drain_timeout)
        self.stopping.set()

    def _on_job_error(self, event: JobExecutionEvent) -> None:
        log.error("job %s raised: %r", event.job_id, event.exception)

    async def _drain(self) -> int:
        self.scheduler.shutdown(wait=False)
        pending = list(self._inflight)
        if pending:
            _, not_done = await asyncio.wait(pending, timeout=self.config.daemon.drain_timeout)
            for task in not_done:
                task.cancel()
            if not_done:
                log.warning("drain timed out: %d task(s) cancelled", len(not_done))
        log.info("stopped")
        return EXIT_OK
