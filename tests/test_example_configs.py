"""Every shipped config starts the daemon and delivers, as an operator would run it.

Each file under config/ is read as it ships; only what points outside this machine is
replaced (feeds by a local feed server carrying the seed articles, Slack and SMTP by
local servers, the store by a temporary file, the HTTP endpoint by a free port). The
routes, digest schedules, quiet hours and notifiers stay as written, so a start-up path
that only one of them exercises (a digest route, say) is covered here.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.slackserver import SlackServer
from monitor.testing.smtpserver import SMTPServer
from tests.test_daemon import DaemonProcess, seed_items, wait_until

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "config").glob("*.toml"))

pytestmark = pytest.mark.slow


@pytest.fixture
def servers() -> Iterator[tuple[FeedServer, SlackServer, SMTPServer]]:
    with FeedServer() as feeds, SlackServer() as slack, SMTPServer() as smtp:
        yield feeds, slack, smtp


def localise(
    data: dict[str, Any], tmp_path: Path, feed_url: str, slack: SlackServer, smtp: SMTPServer
) -> dict[str, Any]:
    """The shipped config with every outside address replaced by a local one."""
    data["store"] = {"path": str(tmp_path / "monitor.db")}
    data["daemon"] = {**data.get("daemon", {}), "http": "127.0.0.1:0", "drain_timeout": 2}
    data["delivery"] = {**data.get("delivery", {}), "interval": 1}
    data["feeds"] = [{"name": "seeds", "url": feed_url, "interval": 1, "fulltext": False}]
    for spec in data.get("notifiers", {}).values():
        if spec["kind"] == "slack":
            spec.pop("webhook_url", None)
            spec.update(token="${SLACK_BOT_TOKEN}", channel=slack.channel, api_url=slack.api_url)
        elif spec["kind"] == "email":
            for key in ("username", "password"):
                spec.pop(key, None)
            spec.update(host=smtp.host, port=smtp.port, security="none")
    return data


@pytest.mark.parametrize("shipped", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_config_runs_and_delivers(
    shipped: Path, tmp_path: Path, servers: tuple[FeedServer, SlackServer, SMTPServer]
) -> None:
    feeds, slack, smtp = servers
    feeds.route("/rss.xml", rss(seed_items(feeds.url("").rstrip("/")), title="Seeds"))
    data = localise(
        tomllib.loads(shipped.read_text(encoding="utf-8")),
        tmp_path,
        feeds.url("/rss.xml"),
        slack,
        smtp,
    )
    config = tmp_path / shipped.name
    config.write_text(tomli_w.dumps(data), encoding="utf-8")
    env = {**os.environ, "SLACK_BOT_TOKEN": slack.token, "SMTP_PASSWORD": "unused"}

    daemon = DaemonProcess(config, env).ready()
    try:
        wait_until(lambda: alerts(tmp_path / "monitor.db") > 0, 60, "an alert in the outbox")
        if any(s["kind"] == "slack" for s in data.get("notifiers", {}).values()):
            wait_until(lambda: slack.messages, 30, "a Slack message")
        if any(s["kind"] == "console" for s in data.get("notifiers", {}).values()):
            wait_until(lambda: daemon.stdout, 30, "console output")
        status, body = daemon.get("/healthz")
        assert status == 200, body
        assert daemon.proc.poll() is None, daemon.dump()
    finally:
        daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.dump()
    digest_routes = {r["name"] for r in data.get("routes", []) if r.get("mode") == "digest"}
    assert digest_routes <= routes_with_alerts(tmp_path / "monitor.db"), digest_routes


def test_check_config_accepts_every_shipped_config() -> None:
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SMTP_PASSWORD": "secret"}
    for shipped in CONFIGS:
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "check-config", "-c", str(shipped)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        assert proc.returncode == 0, (shipped.name, proc.stdout, proc.stderr)


def alerts(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM alerts").fetchone()[0])


def routes_with_alerts(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT DISTINCT route FROM alerts")}
