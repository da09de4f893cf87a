"""Alerts end to end: real feeds, the real classifier, a local Slack API and SMTP server.

`monitor once` runs as a subprocess over feeds carrying the seed articles; stories are
checked in process (same parts, fewer process starts) with articles written for them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.service.runtime import CycleReport, Runtime
from monitor.testing.feedserver import FeedServer, atom, rss
from monitor.testing.slackserver import SlackMessage, SlackServer
from monitor.testing.smtpserver import SMTPServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
MENTION_TITLE = "&lt;!channel&gt; "  # HTML in the feed: the title's text is "<!channel> …"


def seed_items(base: str) -> list[dict[str, str]]:
    items = []
    for i, path in enumerate(SEEDS):
        text = path.read_text(encoding="utf-8")
        title = next(line for line in text.splitlines() if line.strip())[:200]
        link = f"{base}/articles/{path.stem}"
        items.append(
            {
                "title": (MENTION_TITLE if i == 0 else "") + title,
                "link": link,
                "guid": link,
                "summary": text,
                "content": text,
                "published": f"2025-11-1{i}T08:00:00Z",
            }
        )
    return items


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ),
    )


def notifier_toml(slack: SlackServer, smtp: SMTPServer) -> str:
    return f"""
[notifiers.slack]
kind = "slack"
token = "{slack.token}"
channel = "{slack.channel}"
api_url = "{slack.api_url}"

[notifiers.email]
kind = "email"
host = "{smtp.host}"
port = {smtp.port}
security = "none"
sender = "monitor@example.org"
recipients = ["analysts@example.org"]
"""


ROUTES = [
    {"name": "analysts", "notifiers": ["slack"]},
    {"name": "morning-mail", "notifiers": ["email"], "mode": "digest", "schedule": "daily"},
]


@pytest.fixture
def servers() -> Iterator[tuple[FeedServer, SlackServer, SMTPServer]]:
    with FeedServer() as feeds, SlackServer() as slack, SMTPServer() as smtp:
        yield feeds, slack, smtp


def test_seeds_reach_slack_once_and_email_as_one_digest(
    tmp_path: Path, servers: tuple[FeedServer, SlackServer, SMTPServer]
) -> None:
    feeds, slack, smtp = servers
    items = seed_items(feeds.url("").rstrip("/"))
    feeds.route("/rss.xml", rss(items[:3], title="Seeds RSS"))
    feeds.route("/atom.xml", atom(items[2:], title="Seeds Atom"))  # seed 2 in both feeds
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
[store]
path = "{tmp_path / "monitor.db"}"
{notifier_toml(slack, smtp)}
[[feeds]]
name = "seeds-rss"
url = "{feeds.url("/rss.xml")}"
fulltext = false

[[feeds]]
name = "seeds-atom"
url = "{feeds.url("/atom.xml")}"
fulltext = false

[[routes]]
name = "analysts"
notifiers = ["slack"]

[[routes]]
name = "morning-mail"
notifiers = ["email"]
mode = "digest"
schedule = "daily"
timezone = "Asia/Seoul"
""",
        encoding="utf-8",
    )
    first = monitor("once", "-c", str(config))
    assert first.returncode == 0, first.stderr
    assert "5 relevant" in first.stderr and "0 to retry, 0 dead-lettered" in first.stderr

    assert len(slack.messages) == 5, [m.payload["text"] for m in slack.messages]
    assert slack.rejected == [] and slack.mentions == []
    texts = "\n".join(m.text for m in slack.messages)
    for path in SEEDS:
        assert f"/articles/{path.stem}" in texts, f"no Slack alert for {path.stem}"
    assert "&lt;!channel&gt;" in texts and "<!channel>" not in texts

    (digest,) = smtp.messages
    assert digest.rcpt_tos == ("analysts@example.org",)
    assert "digest" in str(digest.message["Subject"])
    body = digest.part("plain")
    for path in SEEDS:
        assert f"/articles/{path.stem}" in body, f"{path.stem} missing from the digest"
    assert "<!channel>" in body  # plain text mail: shown as written, nobody pinged

    second = monitor("once", "-c", str(config))
    assert second.returncode == 0, second.stderr
    assert "0 new item(s)" in second.stderr and "0 delivery(ies) sent" in second.stderr
    assert len(slack.messages) == 5 and len(smtp.messages) == 1


# --- stories -------------------------------------------------------------------------

ARTICLES = {
    "kcna-watch": (
        "Shoigu meets Kim Jong Un in Pyongyang",
        "Russian Security Council Secretary Sergei Shoigu met North Korean leader Kim Jong Un "
        "in Pyongyang on June 4, 2025, the Korean Central News Agency reported. The two sides "
        "discussed cooperation between Moscow and Pyongyang during the visit, which was not "
        "announced in advance.",
    ),
    "ria-ru": (
        "Шойгу прибыл в Пхеньян и провёл переговоры с Ким Чен Ыном",
        "Секретарь Совета безопасности России Сергей Шойгу прибыл с визитом в Пхеньян и "
        "4 июня 2025 года провёл переговоры с председателем КНДР Ким Чен Ыном, сообщает ЦТАК.",
    ),
    "asia-wire": (
        "Kim Jong Un receives Russia's Shoigu",
        "North Korean leader Kim Jong Un received Sergei Shoigu, secretary of Russia's Security "
        "Council, in Pyongyang on Wednesday, June 4, 2025, state media said. It was Shoigu's "
        "second trip to the North Korean capital in two weeks.",
    ),
}
AGREEMENT = (
    "Shoigu and Kim Jong Un sign agreement in Pyongyang",
    "Russian Security Council Secretary Sergei Shoigu and North Korean leader Kim Jong Un "
    "signed an agreement on cooperation during Shoigu's visit to Pyongyang on June 4, 2025, "
    "North Korean state media reported on Thursday.",
)


def entry(feed: str, key: str, title: str, text: str) -> dict[str, str]:
    link = f"https://{feed}.example/{key}"
    return {
        "title": title,
        "link": link,
        "guid": link,
        "summary": text,
        "content": text,
        "published": "2025-06-04T15:00:00Z",
    }


def run_cycle(config: Config) -> CycleReport:
    async def run() -> CycleReport:
        async with Runtime(config) as runtime:
            return await runtime.cycle(flush_digests=True)

    return asyncio.run(run())


def thread_of(slack: SlackServer) -> tuple[SlackMessage, list[SlackMessage]]:
    roots = [m for m in slack.messages if m.thread_ts is None]
    assert len(roots) == 1, [m.payload["text"] for m in slack.messages]
    return roots[0], slack.replies(roots[0].ts)


def test_one_contact_in_three_outlets_and_two_languages_alerts_once(
    tmp_path: Path, servers: tuple[FeedServer, SlackServer, SMTPServer]
) -> None:
    feeds, slack, smtp = servers
    for feed, (title, text) in ARTICLES.items():
        feeds.route(f"/{feed}.xml", rss([entry(feed, "shoigu", title, text)], title=feed))
    config = Config.model_validate(
        {
            "store": {"path": str(tmp_path / "monitor.db")},
            "notifiers": {
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
                    "recipients": ["analysts@example.org"],
                },
            },
            "feeds": [
                {"name": feed, "url": feeds.url(f"/{feed}.xml"), "fulltext": False}
                for feed in ARTICLES
            ],
            "routes": ROUTES,
        }
    )
    report = run_cycle(config)
    assert sum(bool(p.classification and p.classification.relevant) for p in report.processed) == 3

    # Slack: one alert, the two other outlets as replies in its thread
    root, replies = thread_of(slack)
    assert root.payload["text"].startswith("New:")
    assert len(replies) == 2 and all("Also reported by" in r.text for r in replies)
    outlets = {feed for feed in ARTICLES if any(feed in r.text for r in replies)}
    assert len(outlets) == 2 and not any(feed in root.text for feed in outlets)

    # email: one digest, one story, the other outlets as "also reported by" lines
    (digest,) = smtp.messages
    assert "1 stories, 3 reports" in str(digest.message["Subject"])
    body = digest.part("plain")
    assert body.count("Also reported by") == 2
    assert all(feed in body for feed in outlets)

    # the story gains a type: an update in the same thread, broadcast to the channel
    feeds.route(
        "/kcna-watch.xml",
        rss(
            [
                entry("kcna-watch", "shoigu", *ARTICLES["kcna-watch"]),
                entry("kcna-watch", "agreement", *AGREEMENT),
            ]
        ),
    )
    run_cycle(config)
    root_again, replies = thread_of(slack)
    assert root_again == root and len(replies) == 3
    update = replies[-1]
    assert update.payload["text"].startswith("Update:") and "agreement" in update.text
    assert update.payload.get("reply_broadcast") is True
    (_, update_mail) = smtp.messages
    assert "Shoigu and Kim Jong Un sign agreement" in update_mail.part("plain")

    run_cycle(config)  # nothing new: nothing sent
    assert len(slack.messages) == 4 and len(smtp.messages) == 2
