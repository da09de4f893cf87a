"""`monitor run`: the long-running daemon around one Runtime.

APScheduler 3.x (AsyncIOScheduler, in-memory job store) on the daemon's asyncio loop:
one interval job per feed (its interval, jittered, first runs spread out, moved later
by the pipeline's backoff), a delivery job (which also sends digests when their schedule
comes: a digest is an outbox row due at its next cron time) and a daily
clean-up. All durable state lives in the store, so the schedule is rebuilt from the
config and the feeds' stored `next_poll_at` at every start and reload.

Signals: SIGTERM/SIGINT stop taking work and drain what is in flight (at most
`daemon.drain_timeout`); a second one exits at once (130). SIGHUP reloads the config.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Config, FeedConfig, load_config
from monitor.errors import ConfigError
from monitor.service import logs
from monitor.service.health import (
    Health,
    parse_address,
    pipeline_checks,
    store_check,
)
from monitor.service.metrics import Metrics
from monitor.service.pipeline import PollOutcome
from monitor.service.runtime import Runtime
from monitor.store.base import FeedRow
from monitor.web.server import WebServer, daemon_server

log = logging.getLogger("monitor.service.daemon")


class ExitCode(IntEnum):
    """What `monitor run` exits with, for supervisors (systemd, containers).

    The only definition; docs/operations.md explains each one to operators.
    """

    OK = 0  # stopped by SIGTERM/SIGINT after draining
    CRASH = 1  # unexpected error: restart (and report the traceback)
    UNAVAILABLE = 69  # EX_UNAVAILABLE (`monitor once`): every feed failed, or a delivery
    # was dead-lettered in this run: the work was done but did not reach the world
    TEMPFAIL = 75  # EX_TEMPFAIL: another daemon holds the database; retry later
    CONFIG = 78  # EX_CONFIG: invalid config or unusable database; do not restart
    FORCED = 130  # a second SIGTERM/SIGINT: exited at once, in-flight work abandoned


PROCESS_RETRY = 30.0  # seconds before items whose processing failed are tried again
POLL_RETENTION = timedelta(days=30)
POLL_FLUSH = 2.0  # seconds between writes of buffered poll records (plain successful polls)


class Daemon:
    """Start, run until a signal, drain, stop; reload on SIGHUP."""

    def __init__(self, runtime: Runtime, *, metrics: Metrics | None = None) -> None:
        self.runtime = runtime
        self.metrics = metrics or Metrics(lambda: self.runtime.store)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping = asyncio.Event()
        self.abandoned = 0
        self.endpoint: WebServer | None = None
        self.force_exit: Callable[[int], None] = _exit_now
        self._inflight: set[asyncio.Task[Any]] = set()
        self._quiet = False  # set while a reload swaps the parts: jobs do nothing
        self._process_wanted = False
        self._processor: asyncio.Task[Any] | None = None
        self._reload_task: asyncio.Task[bool] | None = None
        runtime.pipeline.observers.append(self.metrics.observe_pipeline)
        runtime.deliverer.observers.append(self.metrics.observe_delivery)
        runtime.host.on_error = self.metrics.observe_plugin_error
        for plugin, count in runtime.host.errors.items():  # failures while loading
            self.metrics.plugin_errors.labels(plugin).inc(count)

    @property
    def config(self) -> Config:
        return self.runtime.config

    # --- lifecycle -------------------------------------------------------------------

    async def run(self, on_ready: Callable[[], None] | None = None) -> ExitCode:
        """Install the signal handlers, start, wait for a stop signal, drain, stop."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_reload_signal)
        try:
            await self.start()
            if on_ready is not None:
                on_ready()
            log.info("running; SIGHUP reloads, SIGTERM stops", extra={"phase": "run"})
            await self.stopping.wait()
        finally:
            # The handlers stay installed until the loop closes: a second signal during
            # the drain or the clean-up after it still exits at once.
            await self.stop()
        return ExitCode.OK

    async def start(self) -> None:
        """Open the endpoint, build the schedule, start the scheduler, and catch up on
        items a previous run stored but did not process."""
        # /healthz, /metrics and the web UI, on this event loop (monitor.web)
        self.endpoint = daemon_server(
            self.config.daemon.http,
            self.runtime.store,
            lambda: self.runtime.config,
            self.health,
            self.metrics.render,
            lambda item: self.runtime.host.classify(self.runtime.host.enrich(item)),
        )
        if self.endpoint is not None:
            await self.endpoint.start()
        self.scheduler.add_listener(self._on_job_event, EVENT_JOB_ERROR)
        rows = {r.name: r for r in await asyncio.to_thread(self.runtime.store.feeds)}
        self._schedule(self.config, rows)
        self.scheduler.start()
        self.metrics.up.set(1)
        feeds = [f.name for f in self.config.feeds if f.enabled]
        log.info(
            "scheduled %d feed(s), delivery every %g s, %d digest route(s)",
            len(feeds),
            self.config.delivery.interval,
            sum(1 for r in self.config.effective_routes() if r.mode == "digest"),
            extra={"phase": "schedule"},
        )
        self._kick_processing()

    async def stop(self) -> None:
        """Stop taking work, give in-flight work `daemon.drain_timeout`, then cancel it."""
        self.stopping.set()
        if self.scheduler.running:
            # Pause, not shut down, until the drain is over: shutting the scheduler down
            # would cancel the coroutine jobs still running.
            self.scheduler.pause()
        self.metrics.up.set(0)
        if self._reload_task is not None:
            self._reload_task.cancel()
        busy = {t for t in self._inflight if not t.done()}
        timeout = self.config.daemon.drain_timeout
        if busy:
            log.info(
                "draining %d task(s) for at most %g s", len(busy), timeout, extra={"phase": "stop"}
            )
            _, left = await asyncio.wait(busy, timeout=timeout)
            for task in left:
                task.cancel()
            self.abandoned = len(left)
            if left:
                log.warning(
                    "drain timed out: %d task(s) abandoned; the outbox resends any delivery "
                    "caught mid-send at the next start",
                    len(left),
                    extra={"phase": "stop"},
                )
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.endpoint is not None:
            await self.endpoint.stop()
        log.info("scheduler stopped, in-flight work drained", extra={"phase": "stop"})

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            log.warning("second %s: exiting now without draining", sig.name)
            self.force_exit(ExitCode.FORCED)
            return
        log.info(
            "%s: stopping; in-flight work gets at most %g s (send it again to exit now)",
            sig.name,
            self.config.daemon.drain_timeout,
            extra={"phase": "stop"},
        )
        self.stopping.set()

    # --- health ----------------------------------------------------------------------

    async def health(self) -> Health:
        """scheduler: running and not stopping; store: a write succeeds."""
        if self.stopping.is_set():
            scheduler: bool | str = "stopping"
        else:
            scheduler = True if self.scheduler.running else "scheduler is not running"
        store = await store_check(self.runtime.store.is_writable)
        pipeline = await pipeline_checks(self.runtime.store, self.runtime.deliverer)
        return Health({"scheduler": scheduler, "store": store, **pipeline})

    # --- schedule --------------------------------------------------------------------

    def _schedule(self, config: Config, rows: dict[str, FeedRow]) -> None:
        now = datetime.now(UTC)
        for feed in config.feeds:
            if feed.enabled:
                self._schedule_feed(feed, rows.get(feed.name), now)
        self._schedule_delivery(config)
        # Records of plain successful polls are buffered by the pipeline: write them soon.
        self.scheduler.add_job(
            self._job,
            IntervalTrigger(seconds=POLL_FLUSH, timezone=UTC),
            args=["flush", self._flush_polls],
            id="flush",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            replace_existing=True,
        )
        # Housekeeping once a day: the polls table would otherwise grow for ever.
        self.scheduler.add_job(
            self._job,
            IntervalTrigger(days=1, timezone=UTC),
            args=["maintenance", self._maintain],
            id="maintenance",
            next_run_time=now + timedelta(minutes=5),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            replace_existing=True,
        )

    def _schedule_feed(self, feed: FeedConfig, row: FeedRow | None, now: datetime) -> None:
        self.scheduler.add_job(
            self._job,
            IntervalTrigger(
                seconds=feed.interval, jitter=feed.effective_jitter or None, timezone=UTC
            ),
            args=[f"feed:{feed.name}", self._poll, feed.name],
            id=f"feed:{feed.name}",
            name=f"poll {feed.name}",
            next_run_time=first_poll(feed, row, now),
            coalesce=True,  # polls missed while busy or suspended collapse into one
            max_instances=1,  # never two polls of one feed at once
            # A poll late by less than one interval (loop busy, host suspended, clock
            # jump) still runs; a later one is skipped, since the next regular poll is
            # no further away than a catch-up would be. After a long suspend this keeps
            # every feed from firing in the same instant.
            misfire_grace_time=max(1, int(feed.interval)),
            replace_existing=True,
        )

    def _schedule_delivery(self, config: Config) -> None:
        self.scheduler.add_job(
            self._job,
            IntervalTrigger(seconds=config.delivery.interval, timezone=UTC),
            args=["deliver", self._deliver],
            id="deliver",
            name="deliver due alerts",
            next_run_time=datetime.now(UTC),  # deliveries recovered from a crash go first
            coalesce=True,
            max_instances=1,
            # No grace limit: a late look at the outbox is always worth taking, and
            # coalescing keeps a backlog of missed runs down to one.
            misfire_grace_time=None,
            replace_existing=True,
        )

    def _reschedule(self, old: Config, new: Config, rows: dict[str, FeedRow]) -> None:
        now = datetime.now(UTC)
        before = {f.name: f for f in old.feeds if f.enabled}
        after = {f.name: f for f in new.feeds if f.enabled}
        for name in before.keys() - after.keys():
            if self.scheduler.get_job(f"feed:{name}") is not None:
                self.scheduler.remove_job(f"feed:{name}")
        for name, feed in after.items():
            if before.get(name) != feed:
                self._schedule_feed(feed, rows.get(name), now)
        if new.delivery.interval != old.delivery.interval:
            self._schedule_delivery(new)

    # --- jobs ------------------------------------------------------------------------

    async def _job(self, name: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Every job runs through here: skipped while stopping or reloading, tracked for
        the drain, and an exception is logged and counted; the scheduler carries on."""
        if self.stopping.is_set() or self._quiet:
            return
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        try:
            await fn(*args)
        except Exception as exc:
            self.metrics.job_errors.labels(name.split(":", 1)[0]).inc()
            extra = {"job": name, "feed": name[5:] if name.startswith("feed:") else None}
            log.error("job %s raised %s: %s; carrying on", name, type(exc).__name__, exc,
                      exc_info=True, extra=extra)  # fmt: skip
        finally:
            self._inflight.discard(task)

    def _spawn(self, name: str, fn: Callable[..., Awaitable[Any]]) -> asyncio.Task[Any]:
        return asyncio.get_running_loop().create_task(self._job(name, fn), name=name)

    async def _poll(self, name: str) -> None:
        outcome = await self.runtime.poll(name)
        feed = self.config.feed(name)
        if outcome is None or feed is None:
            return
        self._follow_backoff(feed, outcome)
        if outcome.new_items or outcome.changed_items:
            self._kick_processing()

    def _follow_backoff(self, feed: FeedConfig, outcome: PollOutcome) -> None:
        """Move the feed's next run to the pipeline's `next_poll_at` when it asks for
        later than the interval would (failure backoff, Retry-After). A success leaves
        the interval job alone, so the interval resumes from the moved run."""
        job = self.scheduler.get_job(f"feed:{feed.name}")
        wanted = outcome.next_poll_at
        if job is None or wanted is None or job.next_run_time is None or self.stopping.is_set():
            return
        margin = timedelta(0) if outcome.error else timedelta(seconds=feed.effective_jitter + 1)
        if wanted > job.next_run_time + margin:
            job.modify(next_run_time=wanted)
            log.info(
                "feed %s: next poll at %s",
                feed.name,
                wanted.isoformat(timespec="seconds"),
                extra={"feed": feed.name},
            )

    def _kick_processing(self) -> None:
        """Process stored items soon, in one task at a time (two would race on the same
        pending items); a kick while it runs makes it look again when done."""
        if self.stopping.is_set():
            return
        self._process_wanted = True
        if self._processor is None or self._processor.done():
            self._processor = self._spawn("process", self._process)

    def _halted(self) -> bool:
        return self.stopping.is_set() or self._quiet

    async def _process(self) -> None:
        """Enrich, classify and decide pending items, stopping between items when asked,
        then deliver at once if any alert was written."""
        alerted = False
        try:
            while self._process_wanted and not self._halted():
                self._process_wanted = False
                done = await self.runtime.process(halted=self._halted)
                alerted = alerted or any(p.alerts for p in done)
        except Exception:
            # The store could not be read: look again later even if no feed brings news.
            asyncio.get_running_loop().call_later(PROCESS_RETRY, self._kick_processing)
            raise
        await self._wake_for_retries()
        if alerted and not self._halted():
            self._spawn("deliver", self._deliver)

    async def _wake_for_retries(self) -> None:
        """Items that failed wait for their retry time; process again then, even if no
        feed brings news meanwhile."""
        due = await asyncio.to_thread(self.runtime.store.next_item_retry)
        if due is None or self._halted():
            return
        delay = max(0.0, (due - datetime.now(UTC)).total_seconds())
        asyncio.get_running_loop().call_later(delay + 0.05, self._kick_processing)

    async def _flush_polls(self) -> None:
        await self.runtime.pipeline.flush_polls()

    async def _deliver(self) -> None:
        await self.runtime.deliver()

    async def _maintain(self) -> None:
        before = datetime.now(UTC) - POLL_RETENTION
        removed = await asyncio.to_thread(self.runtime.store.prune_polls, before)
        log.info("maintenance: %d old poll record(s) removed", removed, extra={"job": "maint"})

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        """Errors that escaped `_job` (it catches everything but cancellation, which
        only happens to work abandoned at the end of a drain)."""
        if isinstance(event.exception, asyncio.CancelledError):
            return
        log.error("job %s raised: %r", event.job_id, event.exception, extra={"job": event.job_id})

    # --- reload ----------------------------------------------------------------------

    def _on_reload_signal(self) -> None:
        if self.stopping.is_set():
            return
        if self._reload_task is not None and not self._reload_task.done():
            log.info("SIGHUP: a reload is already in progress", extra={"phase": "reload"})
            return
        log.info("SIGHUP: reloading %s", self.config.source, extra={"phase": "reload"})
        self._reload_task = asyncio.get_running_loop().create_task(self.reload())

    async def reload(self) -> bool:
        """Re-read the config file; apply it, or log why not and keep the running one."""
        path = self.config.source
        try:
            new = await asyncio.to_thread(load_config, path)
            try:
                parse_address(new.daemon.http)
            except ValueError as exc:
                raise ConfigError(path, [str(exc)]) from None
            plan = await asyncio.to_thread(self.runtime.prepare_reload, new)
        except ConfigError as exc:
            self.metrics.reloads.labels("rejected").inc()
            log.error(
                "reload rejected, keeping the running configuration: %s: %d problem(s): %s",
                exc.path, len(exc.problems), "; ".join(exc.problems), extra={"phase": "reload"},
            )  # fmt: skip
            return False
        except Exception:
            self.metrics.reloads.labels("failed").inc()
            log.exception("reload failed, keeping the running configuration")
            return False
        await self._quiesce()
        if self.stopping.is_set():
            plan.discard()
            return False
        old = self.config
        try:
            summary = await self.runtime.apply_reload(plan)
            rows = {r.name: r for r in await asyncio.to_thread(self.runtime.store.feeds)}
            self._reschedule(old, plan.config, rows)
        finally:
            self._quiet = False
            if not self.stopping.is_set():
                self.scheduler.resume()
        if plan.config.daemon.log_level != old.daemon.log_level:
            logs.set_level(plan.config.daemon.log_level)
        self.metrics.reloads.labels("applied").inc()
        log.info("reloaded: %s", summary.describe(), extra={"phase": "reload"})
        if plan.restart_needed:
            log.warning(
                "changes to %s take effect at the next restart",
                ", ".join(plan.restart_needed),
                extra={"phase": "reload"},
            )
        self._kick_processing()
        return True

    async def _quiesce(self) -> None:
        """Pause the scheduler and wait for running jobs to finish (processing stops
        between items; polls and sends are bounded by their own timeouts)."""
        self._quiet = True
        self.scheduler.pause()
        while not self.stopping.is_set():
            busy = {t for t in self._inflight if not t.done()}
            if not busy:
                return
            await asyncio.wait(busy, timeout=0.2)


def first_poll(feed: FeedConfig, row: FeedRow | None, now: datetime) -> datetime:
    """When to poll a feed first: soon, spread over its jitter so feeds do not all fire
    at once, but never before the stored `next_poll_at` of a failing feed (a restart
    must not hammer it); a healthy feed waits at most one interval."""
    first = now + timedelta(seconds=random.uniform(0, min(feed.effective_jitter, feed.interval)))
    stored = row.next_poll_at if row is not None else None
    if stored is None or stored <= first:
        return first
    if row is not None and row.consecutive_failures:
        return stored
    return min(stored, now + timedelta(seconds=feed.interval))


def _exit_now(code: int) -> None:
    """The second signal: no drain, no clean-up beyond the logs. Safe by design: the
    store and the outbox recover from this exactly as from a crash."""
    logs.flush()
    os._exit(code)
