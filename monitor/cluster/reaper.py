"""The reaper of stalled workers.

procrastinate does not recover the jobs of a dead worker by itself, and its documented
recipe (retry the stalled jobs) breaks with queueing locks (procrastinate issues 1446,
1543): a retried poll would collide with the one the dispatcher queued meanwhile. So a
stalled job is only marked failed; the work behind it is found again from the store:
- a poll: the feed is still due (its record was never written), and no job is waiting
  or running for it any more, so the next dispatch queues it;
- a delivery: the notifier's lock is free, and its next delivery job first puts back
  to pending what is still "sending" (only the dead job can have left it so);
- processing: the next dispatch sees items still waiting and queues it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from procrastinate import App
from procrastinate import jobs as pjobs

log = logging.getLogger("monitor.cluster.reaper")


async def reap(app: App, store: Any, stall_timeout: float) -> int:
    """Fail the running jobs of workers whose heartbeat is older than `stall_timeout`,
    forget those workers and mark their nodes dead; returns how many jobs were failed."""
    manager = app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=stall_timeout))
    failed = 0
    for job in stalled:
        assert job.id is not None
        try:
            await manager.finish_job_by_id_async(
                job_id=job.id, status=pjobs.Status.FAILED, delete_job=False
            )
        except Exception:
            continue  # another node's reaper, or the worker itself, finished it first
        failed += 1
        log.warning(
            "job %d (%s %s) of stalled worker %s marked failed; its work is taken over",
            job.id, job.task_name, job.lock or "", job.worker_id,
            extra={"job": "reap"},
        )  # fmt: skip
    pruned = await manager.prune_stalled_workers(stall_timeout)
    now = datetime.now(UTC)
    dead = await asyncio.to_thread(store.mark_nodes_dead, pruned, now)
    dead += await asyncio.to_thread(
        store.mark_silent_nodes_dead, now - timedelta(seconds=stall_timeout), now
    )
    if dead:
        log.warning("%d node(s) stopped heartbeating: marked dead", dead, extra={"job": "reap"})
    return failed
