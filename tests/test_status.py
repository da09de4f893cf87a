"""`monitor status` only reads: no secrets needed, no database created, the daemon's
presence shown, and nothing a feed wrote can drive the operator's terminal."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from monitor.config import load_config
from monitor.service.lock import database_lock
from monitor.store import open_store
from monitor.store.base import PollRecord
from monitor.textsafe import inert

ROOT = Path(__file__).resolve().parent.parent


def status(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK", "SMTP"))}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "status", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


def write(tmp_path: Path) -> Path:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
[store]
path = "{tmp_path / "var" / "monitor.db"}"

[notifiers.slack]
kind = "slack"
token = "${{SLACK_BOT_TOKEN}}"
channel = "#desk"

[[feeds]]
name = "one"
url = "https://example.org/one.xml"

[[feeds]]
name = "two"
url = "https://example.org/two.xml"
""",
        encoding="utf-8",
    )
    return config


def test_status_without_secrets_or_database_lists_the_configured_feeds(tmp_path: Path) -> None:
    config = write(tmp_path)
    proc = status(config)
    assert proc.returncode == 0, proc.stderr
    assert "does not exist yet" in proc.stdout
    assert "Feeds (2)" in proc.stdout and "one: not polled yet" in proc.stdout
    assert "Daemon: not running" in proc.stdout
    assert not (tmp_path / "var" / "monitor.db").exists()


def test_status_shows_the_lock_holder_and_reads_without_writing(tmp_path: Path) -> None:
    config = write(tmp_path)
    loaded = load_config(config, secrets=False)
    store = open_store(loaded.store)
    store.sync_feeds([("one", "https://example.org/one.xml")])
    store.close()
    db = tmp_path / "var" / "monitor.db"
    before = db.stat().st_mtime_ns
    lock = database_lock(loaded)
    assert lock is not None
    with lock:
        proc = status(config, "--json")
        text = status(config)
    assert proc.returncode == 0, proc.stderr
    assert f"Daemon: running (pid {os.getpid()}" in text.stdout
    assert '"running": true' in proc.stdout
    assert db.stat().st_mtime_ns == before
    # and the lock is really free again afterwards
    with open(lock.path, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_feed_text_with_escape_sequences_is_shown_inert(tmp_path: Path) -> None:
    config = write(tmp_path)
    store = open_store(load_config(config, secrets=False).store)
    rows = store.sync_feeds([("one", "https://example.org/one.xml")])
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    store.record_poll(
        rows["one"].id,
        PollRecord(started_at=now, duration=0.1, status=500, nbytes=0, new_items=0,
                   error="HTTP 500 \x1b]0;owned\x07\x1b[2J", etag=None, last_modified=None,
                   moved_to=None, disable_reason=None, next_poll_at=now),
    )  # fmt: skip
    store.close()
    proc = status(config)
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "\\x1b]0;owned\\x07" in proc.stdout
    with sqlite3.connect(tmp_path / "var" / "monitor.db") as conn:
        assert "\x1b" in conn.execute("SELECT last_error FROM feeds").fetchone()[0]


def test_inert_keeps_ordinary_text_in_every_script() -> None:
    text = "Путин и Ким — 푸틴 김정은 プーチン 普京 بوتين\ttab"
    assert inert(text) == text  # tab and newline are layout, kept
    assert inert("\u202eevil") == "\\u202eevil"
