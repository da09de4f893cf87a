"""The daemon's parts in-process: scheduling and backoff, job errors, health, metrics,
the database lock, and reload preparation."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import Config, FeedConfig, NotifierConfig, load_config
from monitor.errors import AlreadyRunningError, ConfigError
from monitor.service.daemon import Daemon, ExitCode, first_poll
from monitor.service.health import Health, HttpEndpoint, parse_address
from monitor.service.lock import DatabaseLock, holder, lock_path, pid_path
from monitor.service.metrics import Metrics
from monitor.service.runtime import Runtime
from monitor.store.base import FeedRow
from monitor.testing.feedserver import FeedServer

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def row(next_poll_at: datetime | None, failures: int = 0) -> FeedRow:
    return FeedRow(
        1, "f", "http://x/f", "http://x/f", None, None, True, None, next_poll_at,
        failures, None, None, None, None, 0,
    )  # fmt: skip


def feed(**kw: object) -> FeedConfig:
    return FeedConfig(name="f", url="http://127.0.0.1/f", **kw)  # type: ignore[arg-type]


def test_exit_codes_are_the_documented_ones() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "CRASH": 1, "UNAVAILABLE": 69, "TEMPFAIL": 75, "CONFIG": 78, "FORCED": 130,
    }  # fmt: skip
    doc = (Path(__file__).parent.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} |" in doc


def test_first_poll_spreads_and_respects_stored_backoff() -> None:
    f = feed(interval=600, jitter=60)
    firsts = [first_poll(f, None, NOW) for _ in range(50)]
    assert all(NOW <= t <= NOW + timedelta(seconds=60) for t in firsts)
    assert len(set(firsts)) > 1
    # a failing feed waits for its stored next poll, however far
    later = NOW + timedelta(hours=3)
    assert first_poll(f, row(later, failures=4), NOW) == later
    # a healthy feed waits for its stored next poll, but at most one interval
    assert first_poll(f, row(later), NOW) == NOW + timedelta(seconds=600)
    soon = NOW + timedelta(seconds=200)
    assert first_poll(f, row(soon), NOW) == soon
    # a stored time in the past means: now (spread)
    assert first_poll(f, row(NOW - timedelta(hours=1)), NOW) <= NOW + timedelta(seconds=60)


def config_for(tmp_path: Path, server: FeedServer, extra: str = "") -> Config:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
languages = ["en"]
[store]
path = "{tmp_path / "monitor.db"}"
[daemon]
http = ""
[notifiers.console]
kind = "console"
[[feeds]]
name = "busy"
url = "{server.url("/busy.xml")}"
interval = 1
jitter = 0
fulltext = false
{extra}
""",
        encoding="utf-8",
    )
    return load_config(path)


def test_backoff_moves_the_next_run_and_the_interval_resumes(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.route("/busy.xml", "slow down", status=503, headers={"Retry-After": "120"})
        config = config_for(tmp_path, server)

        async def scenario() -> None:
            async with Runtime(config) as runtime:
                daemon = Daemon(runtime)
                await daemon.start()
                try:
                    await wait_for(lambda: server.count("/busy.xml") >= 1)
                    minute = timedelta(seconds=60)
                    await wait_for(lambda: job_time(daemon) > datetime.now(UTC) + minute)
                    moved = job_time(daemon)
                    assert moved - datetime.now(UTC) > timedelta(seconds=100)
                    assert runtime.store.feed("busy").next_poll_at == moved  # type: ignore[union-attr]
                    job = daemon.scheduler.get_job("feed:busy")
                    after = job.trigger.get_next_fire_time(moved, moved)
                    assert after - moved == timedelta(seconds=1)  # the interval, not the backoff
                finally:
                    await daemon.stop()

        asyncio.run(scenario())
        assert server.count("/busy.xml") == 1


def job_time(daemon: Daemon) -> datetime:
    return daemon.scheduler.get_job("feed:busy").next_run_time  # type: ignore[no-any-return]


async def wait_for(cond: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def test_a_job_that_raises_is_logged_and_the_schedule_carries_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FeedServer() as server:
        config = config_for(tmp_path, server)
        calls: list[str] = []

        async def boom(feed: FeedConfig) -> None:
            calls.append(feed.name)
            raise RuntimeError("kaboom")

        async def scenario() -> None:
            async with Runtime(config) as runtime:
                daemon = Daemon(runtime)
                runtime.pipeline.poll = boom  # type: ignore[method-assign]
                await daemon.start()
                try:
                    await wait_for(lambda: len(calls) >= 2, timeout=10)
                    health = await daemon.health()
                    assert health.ok, health.checks
                finally:
                    await daemon.stop()
                text = daemon.metrics.render()[0].decode()
                assert 'monitor_job_errors_total{job="feed"}' in text

        with caplog.at_level(logging.ERROR, logger="monitor.service.daemon"):
            asyncio.run(scenario())
    errors = [r for r in caplog.records if "kaboom" in r.getMessage()]
    assert len(errors) >= 2 and errors[0].feed == "busy"  # type: ignore[attr-defined]


class FakeStore:
    def __init__(self, writable: bool) -> None:
        self.writable = writable

    def is_writable(self) -> bool:
        return self.writable

    def delivery_counts_by_notifier(self) -> dict[tuple[str, str], int]:
        return {("pending", "slack"): 3, ("dead", "slack"): 1, ("sent", "console"): 7}


def test_health_endpoint_says_which_check_failed() -> None:
    from monitor.service.health import store_check

    async def scenario() -> None:
        store = FakeStore(writable=True)
        metrics = Metrics(lambda: store)  # type: ignore[arg-type,return-value]

        async def health() -> Health:
            return Health({"scheduler": True, "store": await store_check(store.is_writable)})

        endpoint = HttpEndpoint(("127.0.0.1", 0), health, metrics.render)
        host, port = await endpoint.start()
        try:
            status, body = await asyncio.to_thread(get, f"http://{host}:{port}/healthz")
            assert status == 200 and json.loads(body)["status"] == "ok"
            store.writable = False
            status, body = await asyncio.to_thread(get, f"http://{host}:{port}/healthz")
            doc = json.loads(body)
            assert status == 503 and doc["failed"] == ["store"]
            assert doc["checks"] == {"scheduler": "ok", "store": "store is not writable"}
            status, body = await asyncio.to_thread(get, f"http://{host}:{port}/metrics")
            assert status == 200
            values = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for fam in text_string_to_metric_families(body)
                for s in fam.samples
            }
            slack = (("notifier", "slack"),)
            assert values[("monitor_deliveries", (*slack, ("status", "pending")))] == 3
            assert values[("monitor_deliveries", (*slack, ("status", "dead")))] == 1
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_follow_the_observer_events() -> None:
    m = Metrics()
    m.observe_pipeline("poll", {"feed": "a", "error": None, "new": 3, "duration": 0.2})
    m.observe_pipeline("poll", {"feed": "a", "error": "HTTP 500", "new": 0, "duration": 0.1})
    m.observe_pipeline("classify", {"duration": 0.01, "relevant": True})
    m.observe_pipeline("classify", {"duration": 0.02, "relevant": False})
    m.observe_delivery("delivered", {"notifier": "slack", "latency": 4.0})
    m.observe_delivery("failed", {"notifier": "slack", "dead": False})
    m.observe_delivery("failed", {"notifier": "slack", "dead": True})
    m.observe_plugin_error("rudprk", "raised")
    r = m.registry
    assert r.get_sample_value("monitor_polls_total", {"feed": "a"}) == 2
    assert r.get_sample_value("monitor_poll_errors_total", {"feed": "a"}) == 1
    assert r.get_sample_value("monitor_items_stored_total", {"feed": "a"}) == 3
    assert r.get_sample_value("monitor_classifications_total", {"relevant": "true"}) == 1
    assert r.get_sample_value("monitor_classifications_total", {"relevant": "false"}) == 1
    assert r.get_sample_value("monitor_classify_duration_seconds_count") == 2
    assert r.get_sample_value("monitor_alerts_sent_total", {"notifier": "slack"}) == 1
    assert r.get_sample_value("monitor_alerts_failed_total", {"notifier": "slack"}) == 2
    assert r.get_sample_value("monitor_alerts_dead_total", {"notifier": "slack"}) == 1
    assert r.get_sample_value("monitor_delivery_latency_seconds_sum", {"notifier": "slack"}) == 4
    assert r.get_sample_value("monitor_plugin_errors_total", {"plugin": "rudprk"}) == 1
    # a dedicated registry: nothing leaks into the process-global one
    from prometheus_client import REGISTRY

    assert REGISTRY.get_sample_value("monitor_polls_total", {"feed": "a"}) is None


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_address(":0") == ("127.0.0.1", 0)
    assert parse_address("[::1]:9464") == ("::1", 9464)
    assert parse_address("") is None
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("localhost")


def test_lock_is_exclusive_names_the_holder_and_dies_with_it(tmp_path: Path) -> None:
    config = Config(store={"path": str(tmp_path / "var" / "m.db")})  # type: ignore[arg-type]
    path = lock_path(config)
    assert path == tmp_path / "var" / "m.db.lock"
    assert pid_path(config) == tmp_path / "var" / "m.pid"
    first = DatabaseLock(path, tmp_path / "var" / "m.db")
    with first:
        assert holder(path) == os.getpid()
        with pytest.raises(AlreadyRunningError) as exc:
            DatabaseLock(path, tmp_path / "var" / "m.db").acquire()
        assert f"pid {os.getpid()}" in str(exc.value) and "m.db" in str(exc.value)
    assert holder(path) is None
    with DatabaseLock(path, tmp_path / "var" / "m.db"):  # free again
        pass


def test_prepare_reload_rejects_bad_notifiers_and_keeps_unchanged_ones(tmp_path: Path) -> None:
    with FeedServer() as server:
        config = config_for(tmp_path, server)
        runtime = Runtime(config)
        try:
            console = runtime.notifiers["console"]
            bad = config.model_copy(
                update={"notifiers": {**config.notifiers, "x": NotifierConfig(kind="nope")}}
            )
            with pytest.raises(ConfigError, match="unknown notifier kind 'nope'"):
                runtime.prepare_reload(bad)
            assert runtime.notifiers == {"console": console}
            plan = runtime.prepare_reload(config)
            assert plan.notifiers["console"] is console and plan.built == []
            assert plan.host is None and plan.restart_needed == []
        finally:
            runtime.store.close()


def test_the_poll_store_thread_outlives_no_runtime_and_reloads_share_it(
    tmp_path: Path,
) -> None:
    # an idle store thread left alive counts as busy work at the daemon's exit (it then
    # leaves without draining), and a reload must not start another one
    def store_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("monitor-store")]

    with FeedServer() as server:
        server.route("/busy.xml", "slow down", status=503, headers={"Retry-After": "120"})
        config = config_for(tmp_path, server)

        async def scenario() -> None:
            runtime = Runtime(config)
            async with runtime:
                for _ in range(3):
                    await runtime.poll("busy")
                    await runtime.apply_reload(runtime.prepare_reload(runtime.config))
                await runtime.poll("busy")
                assert len(store_threads()) == 1
            # closed, still referenced (as by the daemon until its exit): no thread left
            for thread in store_threads():
                thread.join(2.0)
            assert store_threads() == [], runtime

        asyncio.run(scenario())
