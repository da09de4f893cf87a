"""Feeds' titles in alerts: where `[[feeds]] title` is set, every notifier names the feed
by it (immediate alerts, follow-ups and digests) instead of its config key, which stays
what routes, logs and the webhook's `feed` use. Real runs: a local feed server, the
built-in classifier, a local Slack API and an SMTP server; the titles reach the store
from the config and follow it when it changes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config
from monitor.service.runtime import Runtime
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.receiver import WebhookReceiver
from monitor.testing.slackserver import SlackServer
from monitor.testing.smtpserver import SMTPServer
from monitor.web.testing import ARTICLES, entry

TITLES = {"kcna-watch": "KCNA Watch (English)", "ria-ru": "RIA Novosti", "asia-wire": None}


@pytest.fixture
def servers() -> Iterator[tuple[FeedServer, SlackServer, SMTPServer, WebhookReceiver]]:
    with (
        FeedServer() as feeds,
        SlackServer() as slack,
        SMTPServer() as smtp,
        WebhookReceiver() as hooks,
    ):
        yield feeds, slack, smtp, hooks


def config_for(tmp_path: Path, servers: Any, titles: dict[str, str | None]) -> Config:
    feeds, slack, smtp, hooks = servers
    for feed, items in ARTICLES.items():
        entries = [entry(feed, *a) for a in items if a[0] == "shoigu"]
        feeds.route(f"/{feed}.xml", rss(entries, title=feed))
    return Config.model_validate(
        {
            "store": {"path": str(tmp_path / "monitor.db")},
            "feeds": [
                {
                    "name": name,
                    "url": feeds.url(f"/{name}.xml"),
                    "fulltext": False,
                    "allow_private": True,
                    **({"title": title} if title else {}),
                }
                for name, title in titles.items()
            ],
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
                "webhook": {"kind": "webhook", "url": hooks.url("/hook")},
            },
            "routes": [
                {"name": "now", "notifiers": ["slack", "email", "webhook"]},
                {
                    "name": "digest",
                    "notifiers": ["email", "slack"],
                    "mode": "digest",
                    "schedule": "daily",
                },
            ],
        }
    )


def unlinked(text: str) -> str:
    """`text` without the articles' URLs (their host is the feed's name)."""
    for name in TITLES:
        text = text.replace(f"https://{name}.example", "")
    return text


def run(config: Config) -> Any:
    async def once() -> Any:
        async with Runtime(config) as runtime:
            return await runtime.cycle(flush_digests=True)

    return asyncio.run(once())


def test_alerts_name_feeds_by_their_titles(tmp_path: Path, servers: Any) -> None:
    _, slack, smtp, hooks = servers
    report = run(config_for(tmp_path, servers, TITLES))
    assert report.delivery.dead == 0 and report.delivery.retried == 0

    immediate = [m for m in slack.messages if "contacts:" not in m.payload["text"]]
    (digest,) = [m for m in slack.messages if "contacts:" in m.payload["text"]]
    assert [m.thread_ts is None for m in immediate].count(True) == 1  # the story's first
    slack_text = unlinked("\n".join(m.text for m in slack.messages))
    assert "KCNA Watch (English)" in slack_text and "RIA Novosti" in slack_text
    assert "kcna-watch" not in slack_text and "ria-ru" not in slack_text
    assert "asia-wire" in slack_text  # no title: the name, as before
    # the story's lead (whichever outlet was processed first) and its follow-ups, by title
    assert "KCNA Watch (English)" in digest.text and "RIA Novosti" in digest.text
    assert "Also reported by *KCNA Watch (English)*" in digest.text or (
        "Also reported by *RIA Novosti*" in digest.text
    )

    digests = [m for m in smtp.messages if "digest" in str(m.message["Subject"])]
    singles = [m for m in smtp.messages if m not in digests]
    assert len(digests) == 1 and len(singles) == 3
    mail = unlinked("\n".join(m.part("plain") + m.part("html") for m in smtp.messages))
    assert "Source: KCNA Watch (English) · en" in mail or "Source: RIA Novosti · ru" in mail
    plain, page = digests[0].part("plain"), digests[0].part("html")
    assert any(f"Also reported by {t}:" in plain for t in ("RIA Novosti", "KCNA Watch (English)"))
    assert any(
        f"Also reported by <b>{t}</b>" in page for t in ("RIA Novosti", "KCNA Watch (English)")
    )
    assert "kcna-watch" not in mail and "ria-ru" not in mail

    alerts = [a for r in hooks.requests for a in r.json()["alerts"]]
    named = {a["feed"]: a["feed_title"] for a in alerts}
    assert named == {"kcna-watch": "KCNA Watch (English)", "ria-ru": "RIA Novosti",
                     "asia-wire": None}  # fmt: skip


def test_titles_follow_the_config(tmp_path: Path, servers: Any) -> None:
    config = config_for(tmp_path, servers, TITLES)
    run(config)
    renamed = config_for(tmp_path, servers, {**TITLES, "kcna-watch": None, "asia-wire": "Asia"})
    run(renamed)
    store = SqlStore(renamed.store.sqlalchemy_url())
    titles = {row.name: row.title for row in store.feeds()}
    store.close()
    assert titles == {"kcna-watch": None, "ria-ru": "RIA Novosti", "asia-wire": "Asia"}
