"""The cluster's parts, fast: its store methods on SQLite and on a real PostgreSQL, its
config, and a node in this process polling, processing and delivering once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import ClusterConfig, Config, FeedConfig, StoreConfig
from monitor.store import SqlStore, open_store
from monitor.store.base import PollRecord
from monitor.testing.postgres import PostgresServer

NOW = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cluster.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.new_database()
    s = open_store(StoreConfig(url=url))
    yield s
    s.close()


def test_schedule_sync_due_feeds_and_conditional_record(store: SqlStore) -> None:
    store.sync_feeds([("a", "https://a.test/f"), ("b", "https://b.test/f"), ("c", "https://c/")])
    counts = store.sync_schedule([("a", 60.0, 0.0), ("b", 60.0, 10.0)], NOW)
    assert counts == {"scheduled": 2, "unscheduled": 0}
    # c is not scheduled (not configured or disabled): no node dispatches it
    due = dict(store.due_feeds(NOW + timedelta(seconds=11), skip_queued=False))
    assert set(due) == {"a", "b"}
    assert due["a"] == NOW  # no jitter: due at once
    assert NOW <= due["b"] <= NOW + timedelta(seconds=10)  # first poll spread

    row = store.feed("a")
    assert row is not None
    poll = PollRecord(started_at=NOW, duration=0.1, status=200, next_poll_at=NOW + timedelta(60))
    assert store.record_poll_if_due(row.id, poll, NOW) is True
    assert store.feed_due_at("a") == (True, NOW + timedelta(60))
    # a late duplicate for the same due time: recorded, but the schedule stays
    late = PollRecord(started_at=NOW, duration=0.1, status=200, next_poll_at=NOW + timedelta(99))
    assert store.record_poll_if_due(row.id, late, NOW) is False
    assert store.feed_due_at("a") == (True, NOW + timedelta(60))
    assert len(store.recent_polls(row.id)) == 2
    assert "a" not in dict(store.due_feeds(NOW + timedelta(seconds=11), skip_queued=False))

    # a feed dropped from the config is unscheduled; adding it back schedules it again
    assert store.sync_schedule([("a", 60.0, 0.0)], NOW) == {"scheduled": 1, "unscheduled": 1}
    assert store.feed_due_at("b")[0] is False
    assert store.feed_due_at("nope") == (False, None)


def test_nodes_and_inflight_recovery_per_notifier(store: SqlStore) -> None:
    node = store.register_node(name="n1", host="h", pid=1, version="0", worker_id=7, now=NOW)
    other = store.register_node(name="n2", host="h", pid=2, version="0", worker_id=8, now=NOW)
    assert {n["name"] for n in store.cluster_nodes()} == {"n1", "n2"}
    store.node_seen(node, NOW + timedelta(seconds=30))
    assert store.mark_silent_nodes_dead(NOW + timedelta(seconds=10), NOW) == 1  # n2
    assert store.mark_nodes_dead([7], NOW) == 1
    states = {n["name"]: n["state"] for n in store.cluster_nodes(include_stopped=True)}
    assert states == {"n1": "dead", "n2": "dead"}
    assert store.cluster_nodes() == []
    store.node_seen(other, NOW, state="stopped")
    assert store.recover_inflight_for("slack") == 0
    assert store.due_notifiers(NOW) == []
    assert store.processable(NOW) is False


def test_cluster_config_checks() -> None:
    assert ClusterConfig().enabled is False
    with pytest.raises(ValueError, match="divides 60"):
        ClusterConfig(tick=7)
    with pytest.raises(ValueError, match="twice the heartbeat"):
        ClusterConfig(heartbeat=10, stall_timeout=15)


def test_cron_and_conninfo() -> None:
    pytest.importorskip("procrastinate")
    from monitor.cluster.app import conninfo, cron_every, delivery_tick

    assert cron_every(1) == "* * * * * */1"
    assert cron_every(60) == "* * * * *"
    assert delivery_tick(Config()) == 5
    libpq = conninfo("postgresql+psycopg://u:p@/db?host=/run/pg")
    assert libpq in ("postgresql://u:p@/db?host=/run/pg", "postgresql://u:p@/db?host=%2Frun%2Fpg")
    with pytest.raises(ValueError, match="PostgreSQL"):
        conninfo("sqlite:///x.db")


def test_a_node_in_process_polls_once_per_due_time(postgres: PostgresServer) -> None:
    """One node's jobs, called directly (no worker): a dispatch queues one poll per due
    feed, a second dispatch queues nothing while it waits, the poll records once, and a
    stale duplicate of it is skipped."""
    pytest.importorskip("procrastinate")
    from sqlalchemy import text

    from monitor.cluster.app import ensure_queue_schema
    from monitor.cluster.node import ClusterNode
    from monitor.cluster.runtime import ClusterRuntime
    from monitor.testing.feedserver import FeedServer, rss

    with FeedServer() as feeds:
        feeds.route("/a.xml", rss([{"title": "Rain", "link": "https://x.test/1"}]))
        config = Config(
            store=StoreConfig(url=postgres.new_database()),
            feeds=[FeedConfig(name="a", url=feeds.url("/a.xml"), interval=60, jitter=0)],
            plugins={"disabled": ["rudprk", "fulltext", "language"]},  # type: ignore[arg-type]
            daemon={"http": ""},  # type: ignore[arg-type]
        )

        async def scenario() -> None:
            async with ClusterRuntime(config) as runtime:
                node = ClusterNode(runtime)
                async with node.app.open_async():
                    await ensure_queue_schema(node.app, runtime.store.engine)
                    await node.sync()
                    assert await node.dispatch() == 1
                    assert await node.dispatch() == 0  # one waiting at most
                    with runtime.store.engine.connect() as conn:
                        job = conn.execute(
                            text("SELECT args FROM procrastinate_jobs WHERE task_name = "
                                 "'monitor:poll'")
                        ).scalar_one()  # fmt: skip
                    assert job["feed"] == "a"
                    assert (await node.poll("a", job["due"])).startswith("status 200")
                    assert await node.poll("a", job["due"]) == "polled already for that due time"
                    assert feeds.count("/a.xml") == 1
                    assert await node.process() == 1
                    assert (await node.health()).checks["store"] is True
                    body, _ = node.metrics.render()
                    assert b'monitor_cluster_jobs{status="todo",task="poll"}' in body

        asyncio.run(scenario())
