"""A cluster node: one procrastinate worker over the shared queue, plus the node's own
housekeeping (its row in `cluster_nodes`, the reaper of stalled workers).

Lifecycle: open the runtime (store migrated once cluster-wide, plugins, notifiers), make
sure the queue's tables exist, sync the feeds and their schedule from the config,
register, run the worker until SIGTERM/SIGINT, then drain: the worker takes no new job
and gives running ones `daemon.drain_timeout` before aborting them, unregisters, and
the node's row says "stopped": nothing is left to reap. A second signal exits at once.
SIGHUP re-reads the config: feeds (and their schedule), notifiers and plugins are
swapped between jobs, as the single-node daemon does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from procrastinate import exceptions as pexc
from procrastinate import jobs as pjobs
from procrastinate.tasks import Task
from procrastinate.worker import Worker

import monitor
from monitor.cluster.app import (
    QUEUE,
    START_LOCK_KEY,
    Tasks,
    advisory_lock,
    build_app,
    deliver_lock,
    ensure_queue_schema,
    poll_lock,
)
from monitor.cluster.metrics import ClusterCollector
from monitor.cluster.runtime import DISPATCHED_DUE, ClusterRuntime
from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.service.daemon import POLL_RETENTION, ExitCode
from monitor.service.health import Health, HttpEndpoint, parse_address, store_check
from monitor.service.metrics import Metrics

log = logging.getLogger("monitor.cluster")

#: Most poll jobs one dispatch queues (the rest at the next tick).
DISPATCH_LIMIT = 20_000
DEFER_BATCH = 500
#: Finished jobs kept this long in the queue's table (failed ones: to be looked at).
JOB_RETENTION_HOURS = 72
NODE_RETENTION = timedelta(days=7)


def utcnow() -> datetime:
    return datetime.now(UTC)


class ClusterNode:
    """One node; `run()` is its whole life."""

    def __init__(self, runtime: ClusterRuntime, *, metrics: Metrics | None = None) -> None:
        self.runtime = runtime
        self.name = runtime.config.cluster.node or f"{socket.gethostname()}:{os.getpid()}"
        self.metrics = metrics or Metrics(lambda: self.runtime.store)
        self.tasks: Tasks | None = None
        self.app = build_app(self)
        self.worker: Worker | None = None
        self.node_id: int | None = None
        self.endpoint: HttpEndpoint | None = None
        self.stopping = asyncio.Event()
        self.force_exit: Callable[[int], None] = _exit_now
        self.reaped = 0
        self._open = asyncio.Event()  # cleared while a reload swaps the parts
        self._open.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0
        self._reload_task: asyncio.Task[bool] | None = None
        runtime.pipeline.observers.append(self.metrics.observe_pipeline)
        runtime.deliverer.observers.append(self.metrics.observe_delivery)
        runtime.host.on_error = self.metrics.observe_plugin_error
        self.metrics.registry.register(
            ClusterCollector(
                lambda: self.runtime.store,
                runtime.config.cluster.stall_timeout,
                lambda: self.reaped,
            )
        )

    @property
    def config(self) -> Config:
        return self.runtime.config

    @property
    def store(self) -> Any:
        return self.runtime.store

    # --- lifecycle -------------------------------------------------------------------

    async def run(self, on_ready: Callable[[], None] | None = None) -> ExitCode:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_reload_signal)
        cluster = self.config.cluster
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # procrastinate logs every job start and end at INFO: hundreds a second
            logging.getLogger("procrastinate").setLevel(logging.WARNING)
        async with self.app.open_async():
            async with advisory_lock(self.store.engine, START_LOCK_KEY):
                await ensure_queue_schema(self.app, self.store.engine)
                await self.sync()
            self.app.perform_import_paths()  # type: ignore[no-untyped-call]  # procrastinate leaves it unannotated
            self.worker = Worker(
                app=self.app,
                queues=[QUEUE],
                name=self.name,
                concurrency=cluster.concurrency,
                wait=True,
                fetch_job_polling_interval=float(cluster.tick),
                abort_job_polling_interval=max(1.0, cluster.heartbeat),
                shutdown_graceful_timeout=self.config.daemon.drain_timeout,
                listen_notify=True,
                delete_jobs=pjobs.DeleteJobCondition.SUCCESSFUL,
                install_signal_handlers=False,
                update_heartbeat_interval=cluster.heartbeat,
                stalled_worker_timeout=cluster.stall_timeout,
            )
            worker_task = asyncio.create_task(
                self.worker.run(),  # type: ignore[no-untyped-call]  # procrastinate leaves it unannotated
                name="procrastinate worker",
            )
            while self.worker.worker_id is None and not worker_task.done():
                await asyncio.sleep(0.01)
            if worker_task.done():
                await worker_task  # raises what stopped it
                return ExitCode.CRASH
            self.node_id = await asyncio.to_thread(
                self.store.register_node,
                name=self.name,
                host=socket.gethostname(),
                pid=os.getpid(),
                version=monitor.__version__,
                worker_id=self.worker.worker_id,
                now=utcnow(),
            )
            beat = asyncio.create_task(self._beat(), name="node heartbeat and reaper")
            await self._start_endpoint()
            self.metrics.up.set(1)
            log.info(
                "cluster node %s running (worker %d, %d job(s) at a time, tick %d s); "
                "SIGHUP reloads, SIGTERM stops",
                self.name, self.worker.worker_id, cluster.concurrency, cluster.tick,
                extra={"phase": "run"},
            )  # fmt: skip
            if on_ready is not None:
                on_ready()
            stop = asyncio.create_task(self.stopping.wait())
            await asyncio.wait({worker_task, stop}, return_when=asyncio.FIRST_COMPLETED)
            code = await self._drain(worker_task, beat, stop)
        return code

    async def _drain(
        self, worker_task: asyncio.Task[Any], beat: asyncio.Task[Any], stop: asyncio.Task[Any]
    ) -> ExitCode:
        self.stopping.set()
        self.metrics.up.set(0)
        if self._reload_task is not None:
            self._reload_task.cancel()
        assert self.worker is not None
        crashed = worker_task.done() and not stop.done()
        if self.node_id is not None and not crashed:
            await self._seen(state="draining")
        log.info(
            "draining: no new job; running ones get at most %g s",
            self.config.daemon.drain_timeout,
            extra={"phase": "stop"},
        )
        self.worker.stop()  # type: ignore[no-untyped-call]  # procrastinate leaves it unannotated
        try:
            await worker_task
        except Exception:
            log.exception("the worker failed", extra={"phase": "stop"})
            crashed = True
        finally:
            beat.cancel()
            stop.cancel()
            await asyncio.gather(beat, stop, return_exceptions=True)
        if self.node_id is not None:
            await self._seen(state="dead" if crashed else "stopped")
        if self.endpoint is not None:
            await self.endpoint.stop()
        log.info("cluster node %s stopped", self.name, extra={"phase": "stop"})
        return ExitCode.CRASH if crashed else ExitCode.OK

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            log.warning("second %s: exiting now without draining", sig.name)
            self.force_exit(ExitCode.FORCED)
            return
        log.info("%s: stopping (send it again to exit now)", sig.name, extra={"phase": "stop"})
        self.stopping.set()

    async def _start_endpoint(self) -> None:
        address = parse_address(self.config.daemon.http)
        if address is None:
            return
        self.endpoint = HttpEndpoint(address, self.health, self.metrics.render)
        await self.endpoint.start()

    async def health(self) -> Health:
        if self.stopping.is_set():
            worker: bool | str = "stopping"
        elif self.worker is None or self.worker.worker_id is None:
            worker = "the queue's worker is not running"
        else:
            worker = True
        store = await store_check(self.store.is_writable)
        return Health({"worker": worker, "store": store})

    # --- the node's heartbeat and the reaper -----------------------------------------

    async def _beat(self) -> None:
        """Every heartbeat: the node's row is seen, and stalled workers are reaped (any
        node may reap; doing it twice is harmless)."""
        while True:
            await asyncio.sleep(self.config.cluster.heartbeat)
            try:
                await self._seen()
                await self.reap()
            except Exception:
                log.exception("heartbeat or reaper failed; trying again", extra={"job": "reap"})

    async def _seen(self, state: str | None = None) -> None:
        assert self.node_id is not None
        await asyncio.to_thread(self.store.node_seen, self.node_id, utcnow(), state=state)

    async def reap(self) -> int:
        """Fail the running jobs of workers silent for `stall_timeout` (a killed node,
        a partitioned one), so their feeds are dispatched again and their notifiers'
        next delivery job recovers what they left in flight; forget those workers."""
        from monitor.cluster.reaper import reap

        found = await reap(self.app, self.store, self.config.cluster.stall_timeout)
        self.reaped += found
        return found

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
        """Re-read the config; apply it between jobs, and sync feeds and their schedule."""
        path = self.config.source
        try:
            new = await asyncio.to_thread(load_config, path)
            plan = await asyncio.to_thread(self.runtime.prepare_reload, new)
        except ConfigError as exc:
            self.metrics.reloads.labels("rejected").inc()
            log.error(
                "reload rejected, keeping the running configuration: %s: %s",
                exc.path, "; ".join(exc.problems), extra={"phase": "reload"},
            )  # fmt: skip
            return False
        except Exception:
            self.metrics.reloads.labels("failed").inc()
            log.exception("reload failed, keeping the running configuration")
            return False
        old = self.config
        self._open.clear()
        try:
            await self._idle.wait()
            if self.stopping.is_set():
                plan.discard()
                return False
            async with advisory_lock(self.store.engine, START_LOCK_KEY):
                summary = await self.runtime.apply_reload(plan)
                self.runtime.use_cluster_pipeline()
                await self.sync()
        finally:
            self._open.set()
        self.metrics.reloads.labels("applied").inc()
        log.info("reloaded: %s", summary.describe(), extra={"phase": "reload"})
        if new.cluster != old.cluster:
            log.warning("changes to [cluster] take effect at the next restart")
        return True

    async def sync(self) -> None:
        """Feeds from the config into the store, with the schedule any node follows."""
        feeds = self.config.feeds
        await asyncio.to_thread(self.store.sync_feeds, [(f.name, f.url) for f in feeds])
        counts = await asyncio.to_thread(
            self.store.sync_schedule,
            [(f.name, f.interval, f.effective_jitter) for f in feeds if f.enabled],
            utcnow(),
        )
        log.info(
            "feeds synced: %d scheduled, %d unscheduled",
            counts["scheduled"],
            counts["unscheduled"],
            extra={"phase": "schedule"},
        )

    @asynccontextmanager
    async def _working(self) -> AsyncIterator[None]:
        """Every job runs inside this: a reload waits for running jobs, and jobs wait
        while it swaps the parts."""
        await self._open.wait()
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    def _halted(self) -> bool:
        return self.stopping.is_set() or not self._open.is_set()

    # --- the jobs --------------------------------------------------------------------

    @property
    def _tasks(self) -> Tasks:
        assert self.tasks is not None
        return self.tasks

    async def dispatch(self) -> int:
        """Queue a poll for every feed due with none waiting or running; processing
        when items wait. Returns how many polls were queued."""
        async with self._working():
            now = utcnow()
            due = await asyncio.to_thread(self.store.due_feeds, now, DISPATCH_LIMIT)
            poll = self._tasks.poll
            jobs = [
                poll.configure(lock=poll_lock(name), queueing_lock=poll_lock(name)).make_new_job(
                    feed=name, due=when.isoformat() if when else None
                )
                for name, when in due
            ]
            queued = await self._defer(jobs)
            if await asyncio.to_thread(self.store.processable, now):
                await self._defer_one(self._tasks.process)
            if queued:
                log.debug("dispatched %d poll(s)", queued, extra={"job": "dispatch"})
            return queued

    async def queue_deliveries(self) -> int:
        """A delivery job for every notifier with something due (digests included) or
        left in flight; one per notifier waits at most."""
        async with self._working():
            names = await asyncio.to_thread(self.store.due_notifiers, utcnow())
            jobs = [
                self._tasks.deliver.configure(
                    lock=deliver_lock(n), queueing_lock=deliver_lock(n)
                ).make_new_job(notifier=n)
                for n in names
            ]
            return await self._defer(jobs)

    async def poll(self, feed: str, due: str | None) -> str:
        async with self._working():
            when = datetime.fromisoformat(due) if due else None
            scheduled, current = await asyncio.to_thread(self.store.feed_due_at, feed)
            if not scheduled:
                return "not scheduled"
            if current != when:
                return "polled already for that due time"
            configured = self.config.feed(feed)
            if configured is None or not configured.enabled:
                log.warning(
                    "feed %s is scheduled but not in this node's config: reload this node "
                    "(SIGHUP) so every node has the same config",
                    feed,
                    extra={"feed": feed},
                )
                return "unknown here"
            token = DISPATCHED_DUE.set(when)
            try:
                outcome = await self.runtime.poll(feed)
            finally:
                DISPATCHED_DUE.reset(token)
            if outcome is None:
                return "skipped"
            if outcome.new_items or outcome.changed_items:
                await self._defer_one(self._tasks.process)
            return f"status {outcome.status}, {outcome.new_items} new"

    async def process(self) -> int:
        async with self._working():
            done = await self.runtime.process(halted=self._halted)
        if any(p.alerts for p in done) and not self.stopping.is_set():
            await self.queue_deliveries()
        return len(done)

    async def deliver(self, notifier: str) -> int:
        async with self._working():
            if notifier not in self.runtime.notifiers:
                log.warning(
                    "notifier %s is not in this node's config: its deliveries wait for a "
                    "node that has it (reload this node with SIGHUP)",
                    notifier,
                    extra={"notifier": notifier},
                )
                return 0
            recovered = await asyncio.to_thread(self.store.recover_inflight_for, notifier)
            if recovered:
                log.warning(
                    "%d delivery(ies) via %s were left in flight by a delivery job that "
                    "died; sending again",
                    recovered,
                    notifier,
                    extra={"notifier": notifier},
                )
            report = await self.runtime.deliverer_for(notifier).run_once()
            return report.sent

    async def maintenance(self) -> None:
        async with self._working():
            now = utcnow()
            removed = await asyncio.to_thread(self.store.prune_polls, now - POLL_RETENTION)
            await self.app.job_manager.delete_old_jobs(
                nb_hours=JOB_RETENTION_HOURS,
                include_failed=True,
                include_cancelled=True,
                include_aborted=True,
            )
            log.info(
                "maintenance: %d old poll record(s) removed, finished jobs older than %d h deleted",
                removed,
                JOB_RETENTION_HOURS,
                extra={"job": "maint"},
            )

    # --- deferring -------------------------------------------------------------------

    async def _defer(self, jobs: list[pjobs.Job]) -> int:
        """Queue jobs in batches; a batch that meets a job already waiting under the
        same queueing lock (another dispatcher was quicker) is queued one by one."""
        queued = 0
        manager = self.app.job_manager
        for start in range(0, len(jobs), DEFER_BATCH):
            batch = jobs[start : start + DEFER_BATCH]
            try:
                await manager.batch_defer_jobs_async(batch)
                queued += len(batch)
                continue
            except pexc.AlreadyEnqueued:
                pass
            for job in batch:
                try:
                    await manager.defer_job_async(job)
                    queued += 1
                except pexc.AlreadyEnqueued:
                    pass
        return queued

    async def _defer_one(self, task: Task[Any, Any, Any], **kwargs: Any) -> bool:
        try:
            await task.configure().defer_async(**kwargs)
        except pexc.AlreadyEnqueued:
            return False
        return True


async def run_node(config: Config, on_ready: Callable[[], None] | None = None) -> int:
    """Open a runtime for `config` and run a node on it until it stops."""
    runtime = ClusterRuntime(config)
    async with runtime:
        return await ClusterNode(runtime).run(on_ready=on_ready)


def _exit_now(code: int) -> None:
    from monitor.service import logs

    logs.flush()
    os._exit(code)
