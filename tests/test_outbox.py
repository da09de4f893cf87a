"""The outbox: retries with backoff, dead letters, and no alert lost to a crash.

Everything real but the classifier: feeds on a local feed server, a local Slack API,
a local SMTP server, SQLite under tmp_path. A stand-in classifier plugin reads what
to find from a tag in the article, so the tests do not depend on its wording rules.
Crashes are real: the `monitor once` process kills itself with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts.outbox import Deliverer
from monitor.cli import main as cli_main
from monitor.config import Config, DeliveryConfig, load_config
from monitor.errors import DeliveryError
from monitor.host.loader import build_host
from monitor.service.runtime import CycleReport, Runtime
from monitor.store import SqlStore
from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.receiver import WebhookReceiver
from monitor.testing.slackserver import SlackServer
from monitor.testing.smtpserver import SMTPServer

ROOT = Path(__file__).resolve().parent.parent

#: A plugin module: the tag classifier and a Slack notifier that can crash its process.
STUB_PLUGIN = '''
"""Test plugin: `[[types=...; actors=A|B; date=YYYY-MM-DD]]` classifier, crashing Slack."""
import os
import re
import signal
from datetime import date
from pathlib import Path

from monitor.hookspecs import hookimpl
from monitor.models import Classification
from monitor.plugins.slack import SlackNotifier

TAG = re.compile(r"\\[\\[(.*?)\\]\\]")


@hookimpl
def monitor_classify(item):
    m = TAG.search(item.full_text)
    if not m:
        return Classification(relevant=False, score=0.0)
    fields = dict(part.strip().split("=", 1) for part in m.group(1).split(";"))
    types = {t: float(s) for t, s in (p.split(":") for p in fields["types"].split(","))}
    return Classification(
        relevant=True, score=max(types.values()), types=types,
        primary=max(types, key=types.get), actors=tuple(fields["actors"].split("|")),
        event_date=date.fromisoformat(fields["date"]), language="en", plugin="tagged",
    )


class CrashingSlack(SlackNotifier):
    """Slack, except that while `marker` exists the first send kills the process:
    before posting (`crash = "before"`) or once Slack acknowledged (`"after"`)."""

    def __init__(self, name, options):
        options = dict(options)
        self.marker = Path(options.pop("marker"))
        self.crash = options.pop("crash")
        super().__init__(name, options)

    def send(self, alerts, *, digest=False):
        armed = self.marker.exists()
        if armed and self.crash == "before":
            self._die()
        receipt = super().send(alerts, digest=digest)
        if armed and self.crash == "after":
            self._die()
        return receipt

    def _die(self):
        self.marker.unlink()
        os.kill(os.getpid(), signal.SIGKILL)


@hookimpl
def monitor_notifier_kinds():
    return {"crashing-slack": CrashingSlack}
'''


def article(key: str, title: str, actors: str = "Sergei Shoigu|Kim Jong Un") -> dict[str, str]:
    link = f"https://outlet.example/news/{key}"
    tag = f"[[types=high_level_visit:0.9; actors={actors}; date=2025-06-0{key[-1]}]]"
    return {
        "title": title,
        "link": link,
        "guid": link,
        "summary": f"{title}. {tag}",
        "published": "2025-06-04T12:00:00Z",
    }


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Outbox:
    """One configuration over the local servers, run in process with a settable clock."""

    tmp: Path
    feeds: FeedServer
    slack: SlackServer
    smtp: SMTPServer
    clock: Clock = field(default_factory=Clock)
    delivery: dict[str, object] = field(default_factory=dict)
    routes: list[dict[str, object]] = field(default_factory=list)
    notifiers: dict[str, object] = field(default_factory=dict)

    def config(self) -> Config:
        return Config.model_validate(
            {
                "store": {"path": str(self.tmp / "monitor.db")},
                "plugins": {"disabled": ["rudprk", "fulltext", "language"]},
                "delivery": {"backoff_base": 60, "backoff_cap": 600, **self.delivery},
                "notifiers": {
                    "slack": {
                        "kind": "slack",
                        "token": self.slack.token,
                        "channel": self.slack.channel,
                        "api_url": self.slack.api_url,
                    },
                    "email": {
                        "kind": "email",
                        "host": self.smtp.host,
                        "port": self.smtp.port,
                        "security": "none",
                        "sender": "monitor@example.org",
                        "recipients": ["analysts@example.org"],
                    },
                    "console": {"kind": "console"},
                    **self.notifiers,
                },
                "feeds": [{"name": "news", "url": self.feeds.url("/news.xml"), "fulltext": False}],
                "routes": self.routes or [{"name": "slack", "notifiers": ["slack"]}],
            }
        )

    def cycle(self) -> CycleReport:
        config = self.config()
        host = build_host(config, entry_points=False)
        stub = types.ModuleType("outbox_stub")
        exec(compile(STUB_PLUGIN, "outbox_stub.py", "exec"), stub.__dict__)
        host.register(stub, "outbox_stub", "test")

        async def run() -> CycleReport:
            async with Runtime(config, host=host, clock=self.clock) as runtime:
                return await runtime.cycle(flush_digests=True)

        return asyncio.run(run())

    def later(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)

    def store(self) -> SqlStore:
        return SqlStore(f"sqlite:///{self.tmp / 'monitor.db'}")


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with FeedServer() as feeds, SlackServer() as slack, SMTPServer() as smtp:
        feeds.route("/news.xml", rss([article("a1", "Shoigu arrives in Pyongyang")]))
        yield Outbox(tmp_path, feeds, slack, smtp)


def attempts_of(box: Outbox) -> list[tuple[str, int, str]]:
    store = box.store()
    try:
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT notifier, attempts, status FROM deliveries ORDER BY id"
            ).all()
    finally:
        store.close()
    return [tuple(r) for r in rows]


# --- retries -----------------------------------------------------------------------


def test_slack_rate_limit_is_retried_after_retry_after(outbox: Outbox) -> None:
    outbox.slack.fail_next(429, retry_after=120)
    report = outbox.cycle()
    assert (report.delivery.sent, report.delivery.retried) == (0, 1)
    assert "rate limited" in report.delivery.errors[0]
    outbox.later(60)  # the service said 120 s: not yet
    assert outbox.cycle().delivery.sent == 0
    outbox.later(61)
    assert outbox.cycle().delivery.sent == 1
    (message,) = outbox.slack.messages
    assert "Shoigu arrives in Pyongyang" in message.text
    assert attempts_of(outbox) == [("slack", 2, "sent")]
    assert outbox.slack.requests == 2


def test_smtp_refusal_is_retried_with_backoff(outbox: Outbox) -> None:
    outbox.routes = [{"name": "mail", "notifiers": ["email"]}]
    outbox.smtp.refuse_next(1, 451)
    report = outbox.cycle()
    assert report.delivery.retried == 1 and outbox.smtp.messages == []
    assert "451" in report.delivery.errors[0]
    outbox.later(29)  # first retry: between half the base (30 s) and the base (60 s)
    assert outbox.cycle().delivery.sent == 0
    outbox.later(31)
    assert outbox.cycle().delivery.sent == 1
    (mail,) = outbox.smtp.messages
    assert "Shoigu arrives in Pyongyang" in str(mail.message["Subject"])
    assert outbox.smtp.attempts == 2


def test_an_outage_costs_one_attempt_per_period_not_one_per_alert(outbox: Outbox) -> None:
    outbox.feeds.route(
        "/news.xml",
        rss(
            [
                article("a1", "Shoigu in Pyongyang"),
                article("b2", "Lavrov in Wonsan", "Sergei Lavrov"),
            ]
        ),
    )
    outbox.slack.fail_next(503)
    report = outbox.cycle()
    assert outbox.slack.requests == 1 and report.delivery.retried == 1
    outbox.later(60)
    assert outbox.cycle().delivery.sent == 2
    assert [a for _, a, _ in attempts_of(outbox)] == [2, 1]


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    deliverer = Deliverer(
        None,  # type: ignore[arg-type]
        {},
        DeliveryConfig(backoff_base=30, backoff_cap=600),
        lambda: datetime.now(UTC),
    )
    error = DeliveryError("busy")
    for attempt, full in [(1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (40, 600)]:
        delays = {deliverer.retry_delay(attempt, error) for _ in range(20)}
        assert all(full / 2 <= d <= full for d in delays), (attempt, delays)
        assert len(delays) > 1  # jittered
    assert deliverer.retry_delay(3, DeliveryError("429", retry_after=7)) == 7


def test_every_builtin_notifier_gets_the_first_report_then_its_followup(
    outbox: Outbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same contract for all: first messages fail once, follow-ups wait for them,
    then thread under them (Slack thread, email In-Reply-To, webhook story and kind)."""
    with WebhookReceiver() as hook:
        outbox.notifiers = {"webhook": {"kind": "webhook", "url": hook.url()}}
        outbox.routes = [{"name": "all", "notifiers": ["slack", "email", "webhook", "console"]}]
        outbox.feeds.route(
            "/news.xml",
            rss([article("a1", "Shoigu in Pyongyang"), article("b1", "Kim receives Shoigu")]),
        )
        outbox.slack.fail_next(500)
        outbox.smtp.refuse_next(1, 451)
        hook.respond(503)
        first = outbox.cycle().delivery
        assert (first.sent, first.retried) == (2, 3)  # console: both; the others: none yet
        outbox.later(120)
        assert outbox.cycle().delivery.sent == 6
        payloads = [r.json()["alerts"][0] for r in hook.requests[1:]]
    root, reply = outbox.slack.messages
    assert root.thread_ts is None and reply.thread_ts == root.ts
    new_mail, followup_mail = outbox.smtp.messages
    assert followup_mail.message["In-Reply-To"] == new_mail.message["Message-ID"]
    assert str(followup_mail.message["Subject"]).startswith("Re: ")
    assert [p["kind"] for p in payloads] == ["new", "followup"]
    assert payloads[0]["story_id"] == payloads[1]["story_id"]
    console = capsys.readouterr().out
    assert console.index("[New] Shoigu in Pyongyang") < console.index("Also reported by")


# --- dead letters ------------------------------------------------------------------


def test_dead_lettered_after_max_attempts_and_shown_by_status(
    outbox: Outbox, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox.delivery = {"max_attempts": 3}
    for _ in range(3):
        outbox.slack.fail_next(500)
    reports = []
    for _ in range(3):
        reports.append(outbox.cycle().delivery)
        outbox.later(600)
    assert [(r.retried, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    assert outbox.cycle().delivery.sent == 0  # dead stays dead
    assert outbox.slack.messages == [] and outbox.slack.requests == 3
    status = status_output(outbox, capsys)
    assert "1 dead-lettered" in status
    assert "after 3 attempt(s): DeliveryError: slack slack: server error HTTP 500" in status
    assert "Shoigu arrives in Pyongyang" in status


@pytest.mark.parametrize("error", ["invalid_payload", "channel_not_found"])
def test_permanent_errors_are_dead_lettered_at_once(
    outbox: Outbox, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox.slack.fail_next(error=error)
    report = outbox.cycle().delivery
    assert (report.sent, report.retried, report.dead) == (0, 0, 1)
    assert attempts_of(outbox) == [("slack", 1, "dead")]
    assert f"after 1 attempt(s): DeliveryError: slack slack: {error}" in status_output(
        outbox, capsys
    )


def test_dead_letters_can_be_retried(outbox: Outbox) -> None:
    outbox.slack.fail_next(error="channel_not_found")
    outbox.cycle()
    store = outbox.store()
    try:
        assert store.retry_dead_letters(outbox.clock()) == 1
    finally:
        store.close()
    assert outbox.cycle().delivery.sent == 1
    assert len(outbox.slack.messages) == 1
    assert attempts_of(outbox) == [("slack", 1, "sent")]


def test_status_retry_dead_queues_dead_letters_again(
    outbox: Outbox, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox.slack.fail_next(error="channel_not_found")
    outbox.cycle()
    assert attempts_of(outbox) == [("slack", 1, "dead")]
    assert "0 dead-lettered delivery(ies) queued again" in status_output(
        outbox, capsys, "--retry-dead", "999"
    )
    assert "1 dead-lettered delivery(ies) queued again" in status_output(
        outbox, capsys, "--retry-dead"
    )
    assert attempts_of(outbox) == [("slack", 0, "pending")]


def status_output(box: Outbox, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    path = box.tmp / "status.toml"
    path.write_text(f'[store]\npath = "{box.tmp / "monitor.db"}"\n', encoding="utf-8")
    capsys.readouterr()
    assert cli_main(["status", "-c", str(path), *extra]) == 0
    return capsys.readouterr().out


# --- crashes -----------------------------------------------------------------------


def write_crash_config(tmp: Path, feeds: FeedServer, slack: SlackServer, crash: str) -> Path:
    (tmp / "outbox_stub.py").write_text(STUB_PLUGIN, encoding="utf-8")
    (tmp / "armed").write_text("", encoding="utf-8")
    config = tmp / "monitor.toml"
    config.write_text(
        f"""
[store]
path = "{tmp / "monitor.db"}"

[plugins]
modules = ["outbox_stub"]
disabled = ["rudprk", "fulltext", "language"]

[notifiers.slack]
kind = "crashing-slack"
token = "{slack.token}"
channel = "{slack.channel}"
api_url = "{slack.api_url}"
marker = "{tmp / "armed"}"
crash = "{crash}"

[[feeds]]
name = "news"
url = "{feeds.url("/news.xml")}"
fulltext = false
""",
        encoding="utf-8",
    )
    load_config(config)  # fail here, not in the subprocess, if the config is wrong
    return config


def monitor_once(config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{config.parent}{os.pathsep}{ROOT}"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "once", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture
def two_stories() -> Iterator[tuple[FeedServer, SlackServer]]:
    with FeedServer() as feeds, SlackServer() as slack:
        items = [
            article("a1", "Shoigu arrives in Pyongyang"),
            article("b2", "Lavrov visits Wonsan", "Sergei Lavrov|Choe Son Hui"),
        ]
        feeds.route("/news.xml", rss(items))
        yield feeds, slack


def test_crash_after_the_service_acknowledged_sends_that_one_again(
    tmp_path: Path, two_stories: tuple[FeedServer, SlackServer]
) -> None:
    feeds, slack = two_stories
    config = write_crash_config(tmp_path, feeds, slack, "after")
    crashed = monitor_once(config)
    assert crashed.returncode == -9, crashed.stderr
    (acknowledged,) = slack.messages  # Slack has it; our commit never happened
    restarted = monitor_once(config)
    assert restarted.returncode == 0, restarted.stderr
    assert "were in flight at the last stop" in restarted.stderr
    texts = [m.text for m in slack.messages]
    assert len(texts) == 3  # the in-flight one exactly once more, the other one once
    assert texts.count(acknowledged.text) == 2
    assert sum("Lavrov visits Wonsan" in t for t in texts) == 1
    again = monitor_once(config)
    assert again.returncode == 0 and len(slack.messages) == 3


def test_crash_between_classification_and_delivery_loses_nothing(
    tmp_path: Path, two_stories: tuple[FeedServer, SlackServer]
) -> None:
    feeds, slack = two_stories
    config = write_crash_config(tmp_path, feeds, slack, "before")
    crashed = monitor_once(config)
    assert crashed.returncode == -9, crashed.stderr
    assert slack.messages == []
    store = SqlStore(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        counts = store.delivery_counts()
        assert store.item_count() == 2 and store.pending_items() == []
    finally:
        store.close()
    assert counts["pending"] + counts["sending"] == 2 and counts["sent"] == 0
    restarted = monitor_once(config)
    assert restarted.returncode == 0, restarted.stderr
    assert "0 new item(s)" in restarted.stderr and "2 delivery(ies) sent" in restarted.stderr
    titles = sorted(m.payload["text"] for m in slack.messages)
    assert len(titles) == 2 and "Lavrov visits Wonsan" in titles[0] + titles[1]
