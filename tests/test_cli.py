"""The CLI as a real subprocess against feeds served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.testing.feedserver import FeedServer, atom, rss

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
CONTRACT_KEYS = {
    "id",
    "relevant",
    "score",
    "primary",
    "types",
    "actors",
    "places",
    "event_date",
    "direction",
    "status",
    "language",
    "evidence",
}


def monitor(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def seed_items(base: str) -> list[dict[str, str]]:
    items = []
    for i, path in enumerate(SEEDS):
        text = path.read_text(encoding="utf-8")
        title = next(line for line in text.splitlines() if line.strip())
        items.append(
            {
                "title": title[:200],
                "link": f"{base}/articles/{path.stem}",
                "guid": f"{base}/articles/{path.stem}",
                "summary": text,
                "content": text,
                "published": f"2025-11-1{i}T08:00:00Z",
            }
        )
    return items


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        items = seed_items(server.url("").rstrip("/"))
        server.route("/rss.xml", rss(items[:3], title="Seeds RSS"))
        server.route("/atom.xml", atom(items[2:], title="Seeds Atom"))
        yield server


def write_config(tmp_path: Path, server: FeedServer, extra: str = "") -> Path:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
[store]
path = "{tmp_path / "monitor.db"}"

[notifiers.console]
kind = "console"

[[feeds]]
name = "seeds-rss"
url = "{server.url("/rss.xml")}"
fulltext = false

[[feeds]]
name = "seeds-atom"
url = "{server.url("/atom.xml")}"
fulltext = false
{extra}
""",
        encoding="utf-8",
    )
    return config


def test_once_alerts_every_seed_once_and_never_twice(tmp_path: Path, feeds: FeedServer) -> None:
    config = write_config(tmp_path, feeds)
    first = monitor("once", "-c", str(config))
    assert first.returncode == 0, first.stderr
    for path in SEEDS:
        assert first.stdout.count(f"/articles/{path.stem}") >= 1, (
            f"no alert for {path.stem}\n{first.stdout}"
        )
    assert (
        "2 feed(s) polled (0 failed), 5 new item(s), 5 relevant, 5 delivery(ies) sent"
        in first.stderr
    )
    second = monitor("once", "-c", str(config))
    assert second.returncode == 0, second.stderr
    assert "/articles/" not in second.stdout
    assert "0 new item(s)" in second.stderr and "0 delivery(ies) sent" in second.stderr


def test_classify_seeds_prints_the_contract(tmp_path: Path) -> None:
    proc = monitor("classify", *map(str, SEEDS), "-c", str(ROOT / "config" / "monitor.toml"))
    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["id"] for d in docs] == [p.stem for p in SEEDS]
    for doc in docs:
        assert set(doc) == CONTRACT_KEYS
        assert isinstance(doc["score"], float) and 0 <= doc["score"] <= 1
        assert doc["language"] == "fr"
        for ev in doc["evidence"]:
            assert set(ev) == {"type", "text", "start", "end"} and ev["type"] in doc["types"]


def test_classify_jsonl_stdin_and_bad_input(tmp_path: Path) -> None:
    line = json.dumps(
        {
            "id": "a1",
            "text": "Kim Jong Un received Russian Foreign Minister Sergei Lavrov in Pyongyang.",
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "classify", "-"],
        input=line + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["id"] == "a1"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    proc = monitor("classify", str(bad))
    assert proc.returncode == 2
    assert f'{bad}:1: expected an object with at least "id" and "text"' in proc.stderr
    proc = monitor("classify", str(tmp_path / "missing.txt"))
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def test_plugins_lists_builtins_and_failed_plugin(tmp_path: Path) -> None:
    (tmp_path / "exploding_plugin.py").write_text("raise RuntimeError('kaboom at import')\n")
    config = tmp_path / "monitor.toml"
    config.write_text('[plugins]\nmodules = ["exploding_plugin"]\n', encoding="utf-8")
    proc = monitor("plugins", "-c", str(config), "--json", env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    infos = {p["name"]: p for p in json.loads(proc.stdout)}
    assert infos["rudprk"]["status"] == "loaded" and "monitor_classify" in infos["rudprk"]["hooks"]
    assert infos["console"]["origin"] == "built-in"
    assert infos["exploding_plugin"]["status"] == "failed"
    assert infos["exploding_plugin"]["error"] == "import failed: RuntimeError: kaboom at import"
    table = monitor("plugins", "-c", str(config), env={"PYTHONPATH": str(tmp_path)})
    assert table.returncode == 0
    assert "failed: import failed: RuntimeError: kaboom at import" in table.stdout


def test_every_command_has_help() -> None:
    proc = monitor("--help")
    assert proc.returncode == 0
    commands = ["run", "once", "classify", "eval", "plugins", "check-config", "status"]
    for command in commands:
        assert command in proc.stdout
        sub = monitor(command, "--help")
        assert sub.returncode == 0 and "usage: monitor" in sub.stdout


def test_status_shows_failing_feed(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.route("/broken.xml", "oops", status=500)
    config = write_config(
        tmp_path,
        feeds,
        f"""
[[feeds]]
name = "broken"
url = "{feeds.url("/broken.xml")}"
""",
    )
    assert monitor("once", "-c", str(config)).returncode == 0
    proc = monitor("status", "-c", str(config))
    assert proc.returncode == 0, proc.stderr
    assert "broken: FAILING x1" in proc.stdout and "HTTP 500" in proc.stdout
    assert "next poll 20" in proc.stdout
    doc = json.loads(monitor("status", "-c", str(config), "--json").stdout)
    broken = next(f for f in doc["feeds"] if f["name"] == "broken")
    assert broken["consecutive_failures"] == 1 and broken["next_poll"]


def test_once_refuses_while_another_process_holds_the_database(
    tmp_path: Path, feeds: FeedServer
) -> None:
    from monitor.config import load_config
    from monitor.service.lock import database_lock

    config = write_config(tmp_path, feeds)
    lock = database_lock(load_config(config))
    assert lock is not None
    with lock:
        proc = monitor("once", "-c", str(config))
    assert proc.returncode == 75
    assert "is already using the database" in proc.stderr
    assert monitor("once", "-c", str(config)).returncode == 0
