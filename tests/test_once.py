"""`monitor once` under a scheduler (cron, a systemd timer): its exit code says whether
the pass reached the world, and each failure is told once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.slackserver import SlackServer
from tests.test_daemon import seed_items

ROOT = Path(__file__).resolve().parent.parent
UNAVAILABLE = 69


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "once", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )


def feed_tables(urls: dict[str, str]) -> str:
    return "".join(
        f'\n[[feeds]]\nname = "{name}"\nurl = "{url}"\nfulltext = false\n'
        for name, url in urls.items()
    )


def test_every_feed_failing_exits_unavailable_and_names_each_once(
    tmp_path: Path, feeds: FeedServer
) -> None:
    feeds.route("/down.xml", b"oops", status=500)
    feeds.route("/gone.xml", b"<rss", status=404)
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "m.db"}"\n'
        + feed_tables({"down": feeds.url("/down.xml"), "gone": feeds.url("/gone.xml")}),
        encoding="utf-8",
    )
    proc = once(config)
    assert proc.returncode == UNAVAILABLE, proc.stderr
    assert "2 feed(s) polled (2 failed)" in proc.stderr
    for name in ("down", "gone"):
        told = [line for line in proc.stderr.splitlines() if f"feed {name}:" in line]
        assert len(told) == 1, proc.stderr


def test_one_feed_up_is_success(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.route("/down.xml", b"oops", status=500)
    feeds.route("/up.xml", rss([], title="Up"))
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "m.db"}"\n'
        + feed_tables({"down": feeds.url("/down.xml"), "up": feeds.url("/up.xml")}),
        encoding="utf-8",
    )
    proc = once(config)
    assert proc.returncode == 0, proc.stderr


def test_a_dead_lettered_delivery_exits_unavailable(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.route("/seeds.xml", rss(seed_items(feeds.url("").rstrip("/"))[:1], title="Seeds"))
    with SlackServer() as slack:
        slack.fail_next(error="channel_not_found")
        config = tmp_path / "monitor.toml"
        config.write_text(
            f'[store]\npath = "{tmp_path / "m.db"}"\n'
            f'[notifiers.slack]\nkind = "slack"\nwebhook_url = "{slack.webhook_url}"\n'
            + feed_tables({"seeds": feeds.url("/seeds.xml")}),
            encoding="utf-8",
        )
        proc = once(config)
    assert proc.returncode == UNAVAILABLE, proc.stderr
    assert "1 dead-lettered" in proc.stderr
