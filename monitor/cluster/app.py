"""The procrastinate app of a node: the connector, the tasks, the queue's schema.

Tasks are thin: each calls one method of the node (monitor.cluster.node), which calls
the Runtime's passes. Names are stable (`monitor:poll`, ...): they are stored in the
jobs table, so renaming one strands the jobs queued under the old name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector
from procrastinate.tasks import Task
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from monitor.config import Config
from monitor.store.cluster import POLL_LOCK

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from monitor.cluster.node import ClusterNode

log = logging.getLogger("monitor.cluster")

QUEUE = "monitor"
#: Advisory lock held by a starting node while it creates the queue's tables and syncs
#: the feeds (others wait, then find them there).
START_LOCK_KEY = 0x70726F63  # "proc"

# Priorities: the ticks before the work they queue, deliveries before polls.
TICK_PRIORITY = 30
DELIVER_PRIORITY = 20
PROCESS_PRIORITY = 10
POLL_PRIORITY = 0

MAINTENANCE_CRON = "17 3 * * *"


def conninfo(url: str) -> str:
    """libpq's URI for a SQLAlchemy PostgreSQL URL (`postgresql+psycopg://...`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"a cluster needs a PostgreSQL store, not {parsed.get_backend_name()}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def cron_every(seconds: int) -> str:
    """procrastinate's cron (a sixth field for seconds) for every `seconds` (1..60)."""
    if seconds >= 60:
        return "* * * * *"
    return f"* * * * * */{seconds}"


def delivery_tick(config: Config) -> int:
    """The delivery tick in whole seconds: `delivery.interval` rounded to a divisor of 60."""
    divisors = [d for d in range(1, 61) if 60 % d == 0]
    wanted = max(1.0, config.delivery.interval)
    return min(divisors, key=lambda d: (abs(d - wanted), d))


def build_app(node: ClusterNode) -> App:
    """The app, its connector (not opened yet) and the node's tasks."""
    config = node.config
    connector = PsycopgConnector(
        conninfo=conninfo(config.store.sqlalchemy_url()),
        min_size=1,
        max_size=config.cluster.queue_pool,
        kwargs={"application_name": f"monitor-queue {node.name}"[:63]},
    )
    app = App(connector=connector)

    @app.periodic(cron=cron_every(config.cluster.tick), periodic_id="tick")
    @app.task(
        name="monitor:dispatch", queue=QUEUE, queueing_lock="dispatch", priority=TICK_PRIORITY
    )
    async def dispatch(timestamp: int) -> int:
        return await node.dispatch()

    @app.periodic(cron=cron_every(delivery_tick(config)), periodic_id="tick")
    @app.task(
        name="monitor:deliver_tick",
        queue=QUEUE,
        queueing_lock="deliver_tick",
        priority=TICK_PRIORITY,
    )
    async def deliver_tick(timestamp: int) -> int:
        return await node.queue_deliveries()

    @app.periodic(cron=MAINTENANCE_CRON, periodic_id="daily")
    @app.task(
        name="monitor:maintenance",
        queue=QUEUE,
        queueing_lock="maintenance",
        lock="maintenance",
        priority=TICK_PRIORITY,
    )
    async def maintenance(timestamp: int) -> None:
        await node.maintenance()

    @app.task(name="monitor:poll", queue=QUEUE, priority=POLL_PRIORITY)
    async def poll(feed: str, due: str | None) -> str:
        return await node.poll(feed, due)

    @app.task(
        name="monitor:process",
        queue=QUEUE,
        queueing_lock="process",
        lock="process",
        priority=PROCESS_PRIORITY,
    )
    async def process() -> int:
        return await node.process()

    @app.task(name="monitor:deliver", queue=QUEUE, priority=DELIVER_PRIORITY)
    async def deliver(notifier: str) -> int:
        return await node.deliver(notifier)

    node.tasks = Tasks(poll=poll, process=process, deliver=deliver)
    return app


@dataclass(frozen=True)
class Tasks:
    """The tasks the node defers itself (the periodic ones defer themselves)."""

    poll: Task[Any, Any, Any]
    process: Task[Any, Any, Any]
    deliver: Task[Any, Any, Any]


def poll_lock(feed: str) -> str:
    return f"{POLL_LOCK}{feed}"


def deliver_lock(notifier: str) -> str:
    return f"deliver:{notifier}"


@asynccontextmanager
async def advisory_lock(engine: Engine, key: int) -> AsyncIterator[None]:
    """Hold a PostgreSQL session advisory lock (nodes starting together take turns)."""

    def hold() -> Connection:
        conn = engine.connect()
        conn.execute(select(func.pg_advisory_lock(key)))
        conn.commit()
        return conn

    def release(conn: Connection) -> None:
        try:
            conn.execute(select(func.pg_advisory_unlock(key)))
            conn.commit()
        finally:
            conn.close()

    guard = await asyncio.to_thread(hold)
    try:
        yield
    finally:
        await asyncio.to_thread(release, guard)


async def ensure_queue_schema(app: App, engine: Engine) -> bool:
    """Create procrastinate's tables unless they exist; True when this node made them.
    Call holding `advisory_lock(engine, START_LOCK_KEY)`."""

    def exists() -> bool:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        return found is not None

    if await asyncio.to_thread(exists):
        return False
    await app.schema_manager.apply_schema_async()
    log.info("created the queue's tables (procrastinate schema)", extra={"phase": "start"})
    return True
