"""Feed health as alerts: a feed failing longer than `[daemon] failing_after` alerts the
`[health] notifiers` once ("feed down") through the outbox, and once more when it
recovers; no repeat on later polls or after a restart.

The decision is checked pure; the store on SQLite and PostgreSQL (including the
migration of an older database); then real runs against a local feed server that
answers 500, with the clock under the test's control, delivering to the real console,
Slack (local API), email (aiosmtpd) and webhook notifiers; and `monitor run` itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts.feedhealth import HEALTH_ROUTE, owed
from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.notify.feedhealth import FEED_DOWN, FEED_RECOVERED, as_alert, notes, span
from monitor.notify.render import view
from monitor.service.runtime import Runtime
from monitor.store.base import FeedAlert, FeedRow, PollRecord
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.postgres import PostgresServer
from monitor.testing.receiver import WebhookReceiver
from monitor.testing.slackserver import SlackServer
from monitor.testing.smtpserver import SMTPServer

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
DAY = 24 * 3600.0


def row(**state: Any) -> FeedRow:
    values: dict[str, Any] = {
        "id": 1, "name": "wire", "configured_url": "https://wire.example/rss",
        "url": "https://wire.example/rss", "etag": None, "last_modified": None,
        "enabled": True, "disabled_reason": None, "next_poll_at": None,
        "consecutive_failures": 0, "failing_since": None, "last_success_at": None,
        "last_error": None, "last_error_at": None, "items_seen": 0,
    }  # fmt: skip
    values.update(state)
    return FeedRow(**values)


# --- the decision --------------------------------------------------------------------


def decide(
    state: FeedRow, error: str | None, at: datetime, notifiers: tuple[str, ...] = ("ops",)
) -> FeedAlert | None:
    return owed(state, error=error, at=at, failing_after=DAY, notifiers=notifiers)


def test_down_once_the_streak_is_longer_than_failing_after() -> None:
    failing = row(consecutive_failures=4, failing_since=T0, last_error="HTTP 500")
    assert decide(row(), "HTTP 500", T0) is None  # first failure
    assert decide(failing, "HTTP 500", T0 + timedelta(hours=24)) is None  # not longer yet
    down = decide(failing, "HTTP 503", T0 + timedelta(hours=25))
    assert down is not None and down.kind == FEED_DOWN and down.since == T0
    assert down.notifiers == ("ops",) and down.route == HEALTH_ROUTE
    assert down.meta["failures"] == 5 and down.meta["error"] == "HTTP 503"
    assert down.meta["summary"] == ("feed wire down since 2025-06-01 08:00 UTC (1 d 1 h): HTTP 503")
    alerted = row(consecutive_failures=5, failing_since=T0, down_since=T0)
    assert decide(alerted, "HTTP 500", T0 + timedelta(days=3)) is None  # no repeat
    assert decide(failing, "HTTP 500", T0 + timedelta(days=2), notifiers=()) is None


def test_recovered_once_when_a_down_feed_succeeds_again() -> None:
    alerted = row(consecutive_failures=6, failing_since=T0, down_since=T0, last_error="HTTP 500")
    back = decide(alerted, None, T0 + timedelta(hours=30))
    assert back is not None and back.kind == FEED_RECOVERED and back.since == T0
    assert back.meta["error"] == "HTTP 500" and back.meta["failures"] == 6
    assert decide(row(), None, T0) is None  # healthy: nothing
    assert (
        decide(row(failing_since=T0, consecutive_failures=9), None, T0 + timedelta(days=9)) is None
    )


def test_what_notifiers_show_of_a_feed_alert() -> None:
    assert [span(s) for s in (59, 45 * 60, 3 * 3600 + 1200, 2 * 86400 + 4 * 3600, 86400)] == [
        "0 min", "45 min", "3 h 20 min", "2 d 4 h", "1 d",
    ]  # fmt: skip
    failing = row(consecutive_failures=2, failing_since=T0)
    down = decide(failing, "HTTP 500\r\nX-Evil: 1", T0 + timedelta(hours=26))
    assert down is not None
    alert = as_alert(7, down.kind, down.route, down.due_at, down.meta, "Wire Service")
    v = view(alert)
    assert v.is_feed_health and v.kind_label == "Feed down"
    assert v.headline == "Feed Wire Service is down: failing for 1 d 2 h"
    assert v.url == "https://wire.example/rss" and v.feed == "Wire Service"
    assert v.details() == [
        ("Feed", "Wire Service (wire)"),
        ("Failing since", "2025-06-01 08:00 UTC (1 d 2 h)"),
        ("Failed polls", "3"),
        ("Last error", "HTTP 500 X-Evil: 1"),  # one line: no header or line forged
    ]
    later = {**down.meta, "at": (T0 + timedelta(hours=30)).isoformat()}
    assert notes(FEED_RECOVERED, "wire", None, later)[1] == (
        "Down",
        "2025-06-01 08:00 UTC – 2025-06-02 14:00 UTC (1 d 6 h)",
    )


def test_health_notifiers_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text('[health]\nnotifiers = ["console", "ops"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == str(path)
    assert caught.value.problems == [
        "health.notifiers[1]: no notifier named 'ops'; expected one of ['console']"
    ]


# --- the store -----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


def failed(at: datetime, feed_alert: Any = None) -> PollRecord:
    return PollRecord(started_at=at, duration=0.1, status=500, error="HTTP 500",
                      next_poll_at=at + timedelta(hours=1), feed_alert=feed_alert)  # fmt: skip


def test_the_store_writes_each_feed_alert_once_with_the_poll(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        feed = store.sync_feeds([("wire", "https://wire.example/rss")], {"wire": "Wire"})["wire"]
        assert feed.title == "Wire"
        store.record_poll(feed.id, failed(T0))
        state = store.feed("wire")
        assert state is not None and state.failing_since == T0 and state.down_since is None
        down = decide(state, "HTTP 500", T0 + timedelta(hours=25))
        assert down is not None
        store.record_poll(feed.id, failed(T0 + timedelta(hours=25), down))
        store.record_poll(feed.id, failed(T0 + timedelta(hours=25), down))  # recorded twice
        state = store.feed("wire")
        assert state is not None and state.down_since == T0
        (delivery,) = store.due_deliveries(T0 + timedelta(hours=26))
        alert = delivery.alert
        assert (delivery.notifier, alert.kind, alert.route) == ("ops", FEED_DOWN, "health")
        assert alert.story_id == 0 and alert.item.feed == "wire"
        assert alert.item.title == "Feed Wire is down: failing for 1 d 1 h"
        store.record_delivery([delivery.id], ok=True, now=T0 + timedelta(hours=26))
        back = decide(state, None, T0 + timedelta(hours=30))
        assert back is not None
        ok = PollRecord(started_at=T0 + timedelta(hours=30), duration=0.1, status=200,
                        next_poll_at=T0 + timedelta(hours=31), feed_alert=back)  # fmt: skip
        store.record_poll(feed.id, ok)
        state = store.feed("wire")
        assert state is not None and state.down_since is None and state.failing_since is None
        (recovered,) = store.due_deliveries(T0 + timedelta(hours=31))
        assert recovered.alert.kind == FEED_RECOVERED
        store.record_delivery([recovered.id], ok=False, now=T0, detail="boom", dead=True)
        (dead,) = store.dead_letters()  # listed with its summary where items show a title
        assert dead["route"] == "health" and dead["title"].startswith("feed wire recovered at")
        assert dead["url"] == "https://wire.example/rss"
        assert [r["kind"] for r in store.outbox(["sent", "dead"])] == [FEED_RECOVERED, FEED_DOWN]
        assert store.delivery_counts() == {"pending": 0, "sending": 0, "sent": 1, "dead": 1}
    finally:
        store.close()


def test_a_cluster_poll_writes_its_feed_alert_only_when_it_applies(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    feed = store.sync_feeds([("wire", "https://wire.example/rss")])["wire"]
    store.sync_schedule([("wire", 60.0, 0.0)], T0)
    state = store.feed("wire")
    assert state is not None and state.next_poll_at is not None
    due = state.next_poll_at
    down = owed(row(failing_since=T0 - timedelta(days=2)), error="HTTP 500", at=T0,
                failing_after=DAY, notifiers=("ops",))  # fmt: skip
    assert store.record_poll_if_due(feed.id, failed(T0, down), due + timedelta(1)) is False
    assert store.due_deliveries(T0) == []  # a late duplicate poll writes no alert
    assert store.record_poll_if_due(feed.id, failed(T0, down), due) is True
    assert [d.alert.kind for d in store.due_deliveries(T0)] == [FEED_DOWN]
    store.close()


# The alerts table of schema 4, and a story alert with its delivery and attempt.
OLD_ALERTS = """CREATE TABLE alerts (
    id INTEGER NOT NULL PRIMARY KEY, story_id INTEGER NOT NULL, route VARCHAR(200) NOT NULL,
    item_id INTEGER NOT NULL, kind VARCHAR(16) NOT NULL, dedupe_key TEXT NOT NULL UNIQUE,
    created_at DATETIME NOT NULL, meta JSON NOT NULL,
    FOREIGN KEY(story_id) REFERENCES stories (id) ON DELETE CASCADE,
    FOREIGN KEY(item_id) REFERENCES items (id) ON DELETE CASCADE)"""


def make_schema_4(store: SqlStore) -> None:
    """Turn a fresh database back into what schema 4 had, with one story alert in it."""
    from monitor.models import Classification, Item
    from monitor.store.base import EntryRecord, NewAlert

    feed = store.sync_feeds([("wire", "https://wire.example/rss")])["wire"]
    entry = EntryRecord(
        key="k", canonical_url=None, url="https://wire.example/1", title="Putin meets Kim",
        summary="", text="...", published=T0, content_hash="h",
    )  # fmt: skip
    item_id, _ = store.upsert_entry(feed.id, entry, T0)
    c = Classification(relevant=True, score=0.9, types={"summit": 0.9}, primary="summit")
    alert = NewAlert("desk", "new", ("ops",), T0)
    store.commit_classification(
        item_id, Item(id="k", title="Putin meets Kim"), c, None, [alert], T0
    )
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        rows = conn.exec_driver_sql(
            "SELECT id, story_id, route, item_id, kind, dedupe_key, created_at, meta FROM alerts"
        ).all()
        if store.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TABLE alerts")
            conn.exec_driver_sql(OLD_ALERTS)
            conn.exec_driver_sql(
                "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [tuple(r) for r in rows]
            )
        else:
            conn.exec_driver_sql("ALTER TABLE alerts DROP COLUMN feed_id")
            conn.exec_driver_sql("ALTER TABLE alerts ALTER COLUMN story_id SET NOT NULL")
            conn.exec_driver_sql("ALTER TABLE alerts ALTER COLUMN item_id SET NOT NULL")
        conn.exec_driver_sql("ALTER TABLE feeds DROP COLUMN title")
        conn.exec_driver_sql("ALTER TABLE feeds DROP COLUMN down_since")
        conn.exec_driver_sql("UPDATE meta SET value = '4' WHERE key = 'schema_version'")


def test_an_older_database_migrates_keeping_its_alerts_and_deliveries(store_url: str) -> None:
    from monitor.store.migrations import SCHEMA_VERSION

    old = SqlStore(store_url)
    make_schema_4(old)
    old.close()
    store = SqlStore(store_url)  # migrates 4 -> 5
    try:
        with store.engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'schema_version'")
            assert version.scalar_one() == str(SCHEMA_VERSION)
            if store.engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        (delivery,) = store.due_deliveries(T0)  # the deliveries did not cascade away
        assert delivery.alert.item.title == "Putin meets Kim"
        feed = store.feed("wire")
        assert feed is not None and feed.title is None and feed.down_since is None
        down = decide(row(id=feed.id, failing_since=T0), "HTTP 500", T0 + timedelta(days=2))
        store.record_poll(feed.id, failed(T0 + timedelta(days=2), down))
        assert sorted(d.alert.kind for d in store.due_deliveries(T0 + timedelta(days=3))) == [
            FEED_DOWN, "new",
        ]  # fmt: skip
    finally:
        store.close()


# --- real runs: a feed that answers 500, the clock in the test's hands ----------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


ARTICLE = {
    "title": "Weather in Vladivostok", "link": "https://wire.example/weather",
    "guid": "https://wire.example/weather", "summary": "Rain.", "published": "2025-06-01T07:00:00Z",
}  # fmt: skip


@pytest.fixture
def world() -> Iterator[tuple[FeedServer, SlackServer, SMTPServer, WebhookReceiver]]:
    with (
        FeedServer() as feeds,
        SlackServer() as slack,
        SMTPServer() as smtp,
        WebhookReceiver() as hooks,
    ):
        yield feeds, slack, smtp, hooks


def every_notifier(tmp_path: Path, world: Any) -> Config:
    feeds, slack, smtp, hooks = world
    return Config.model_validate(
        {
            "store": {"path": str(tmp_path / "monitor.db")},
            "daemon": {"failing_after": "24h"},
            "health": {"notifiers": ["console", "slack", "email", "webhook"]},
            "feeds": [
                {
                    "name": "wire",
                    "title": "Wire Service (EN)",
                    "url": feeds.url("/wire.xml"),
                    "fulltext": False,
                    "allow_private": True,
                },
            ],
            "notifiers": {
                "console": {"kind": "console"},
                "slack": {
                    "kind": "slack",
                    "token": slack.token,
                    "channel": slack.channel,
                    "api_url": slack.api_url,
                },
                "email": {
                    "kind": "email",
                    "host": smtp.host,
                    "port": smtp.port,
                    "security": "none",
                    "sender": "monitor@example.org",
                    "recipients": ["ops@example.org"],
                },
                "webhook": {"kind": "webhook", "url": hooks.url("/hook")},
            },
            "routes": [{"name": "analysts", "notifiers": ["slack"]}],
        }
    )


def cycle_at(config: Config, clock: Clock) -> Callable[[float], Any]:
    """A function running one cycle (`monitor once`'s) `hours` after T0, in a runtime
    opened for that cycle alone: every cycle is a restart."""

    def run(hours: float) -> Any:
        clock.now = T0 + timedelta(hours=hours)

        async def one() -> Any:
            async with Runtime(config, clock=clock) as runtime:
                return await runtime.cycle()

        return asyncio.run(one())

    return run


def test_a_failing_feed_alerts_once_down_and_once_recovered_everywhere(
    tmp_path: Path, world: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds, slack, smtp, hooks = world
    feeds.route("/wire.xml", b"upstream broke", status=500)
    config = every_notifier(tmp_path, world)
    run = cycle_at(config, Clock(T0))

    for hours in (0, 6, 12, 24):  # failing, not longer than 24 h yet
        report = run(hours)
        assert report.polls[0].error and report.delivery.sent == 0
    report = run(25)
    assert report.delivery.sent == 4 and report.delivery.dead == 0
    for hours in (26, 30, 48):  # still failing: no repeat, each cycle a fresh runtime
        assert run(hours).delivery.sent == 0
    feeds.route("/wire.xml", rss([ARTICLE], title="wire"))
    report = run(49)
    assert report.polls[0].error is None and report.delivery.sent == 4
    assert run(50).delivery.sent == 0 and run(51).delivery.sent == 0
    feeds.route("/wire.xml", b"broke again", status=500)
    assert run(60).delivery.sent == 0  # a new streak, only 0 h old

    # console
    out = capsys.readouterr().out
    assert out.count("[Feed down] Feed Wire Service (EN) is down: failing for 1 d 1 h") == 1
    assert out.count("[Feed recovered] Feed Wire Service (EN) has recovered after 2 d 1 h") == 1
    assert "    feed: Wire Service (EN) (wire)" in out and "last error: HTTP 500" in out
    # slack
    assert slack.rejected == [] and len(slack.messages) == 2
    down, back = slack.messages
    assert down.thread_ts is None and "Feed down:" in down.payload["text"]
    assert "Feed Wire Service (EN) is down" in down.text and "*Failed polls:* 5" in down.text
    assert "story 0" not in down.text and "actions" not in json.dumps(down.payload["blocks"])
    assert "Feed recovered: Feed Wire Service (EN) has recovered" in back.payload["text"]
    # email
    subjects = [str(m.message["Subject"]) for m in smtp.messages]
    assert subjects == [
        "[monitor] Feed Wire Service (EN) is down: failing for 1 d 1 h",
        "[monitor] Feed Wire Service (EN) has recovered after 2 d 1 h down",
    ]
    body = smtp.messages[0].part("plain")
    assert (
        "Failing since: 2025-06-01 08:00 UTC (1 d 1 h)" in body and feeds.url("/wire.xml") in body
    )
    # webhook
    payloads = [r.json()["alerts"][0] for r in hooks.requests]
    assert [(p["kind"], p["route"], p["feed"], p["feed_title"]) for p in payloads] == [
        (FEED_DOWN, "health", "wire", "Wire Service (EN)"),
        (FEED_RECOVERED, "health", "wire", "Wire Service (EN)"),
    ]
    assert payloads[0]["feed_health"]["failures"] == 5
    assert payloads[1]["feed_health"]["since"] == T0.isoformat()
    assert payloads[0]["classification"]["relevant"] is False and payloads[0]["story_id"] == 0


def test_a_feed_alert_survives_a_notifier_outage_in_the_outbox(tmp_path: Path, world: Any) -> None:
    feeds, slack, _, _ = world
    feeds.route("/wire.xml", b"", status=503)
    config = every_notifier(tmp_path, world).model_copy(
        update={"health": Config.model_validate({"health": {"notifiers": ["slack"]}}).health}
    )
    clock = Clock(T0)
    run = cycle_at(config, clock)
    run(0)
    slack.fail_next(status=500)
    first = run(25)
    assert first.delivery.sent == 0 and first.delivery.retried == 1
    later = run(27)  # the retry is due: sent once, and no second alert was written
    assert later.delivery.sent == 1 and len(slack.messages) == 1
    assert "is down" in slack.messages[0].payload["text"]


# --- `monitor run` -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def wait_for(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return value


@pytest.mark.slow
def test_the_daemon_alerts_down_and_recovered_once_across_a_restart(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route("/wire.xml", b"", status=500)
        config = tmp_path / "monitor.toml"
        config.write_text(
            f"""
[store]
path = "{tmp_path / "monitor.db"}"

[daemon]
http = ""
failing_after = "2s"

[fetch]
backoff_base = "0.5s"
backoff_cap = "1s"

[health]
notifiers = ["console"]

[delivery]
interval = "0.2s"

[[feeds]]
name = "wire"
title = "Wire Service"
url = "{feeds.url("/wire.xml")}"
interval = 1
jitter = 0
fulltext = false
""",
            encoding="utf-8",
        )
        out = tmp_path / "out.txt"

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(config)],
                stdout=out.open("ab"), stderr=subprocess.DEVNULL, cwd=ROOT, env=dict(os.environ),
            )  # fmt: skip

        def printed() -> str:
            return out.read_text(encoding="utf-8") if out.exists() else ""

        def stop(proc: subprocess.Popen[bytes]) -> None:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0

        daemon = start()
        try:
            wait_for(lambda: "[Feed down] Feed Wire Service is down" in printed(), 30, "down")
            polls = feeds.count("/wire.xml")
            wait_for(lambda: feeds.count("/wire.xml") >= polls + 2, 30, "more failed polls")
        finally:
            stop(daemon)
        daemon = start()  # a restart while the feed is still down
        try:
            polls = feeds.count("/wire.xml")
            wait_for(lambda: feeds.count("/wire.xml") >= polls + 2, 30, "polls after restart")
            feeds.route("/wire.xml", rss([ARTICLE], title="wire"))
            wait_for(lambda: "[Feed recovered]" in printed(), 30, "recovered")
            polls = feeds.count("/wire.xml")
            wait_for(lambda: feeds.count("/wire.xml") >= polls + 2, 30, "healthy polls")
        finally:
            stop(daemon)
    text = printed()
    assert text.count("[Feed down] Feed Wire Service is down") == 1, text
    assert text.count("[Feed recovered] Feed Wire Service has recovered") == 1, text
