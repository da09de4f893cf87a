"""Three `monitor run --cluster` processes on one real PostgreSQL database, local feeds
and a local webhook: one node is killed with -9 during a delivery, and the cluster
keeps every promise docs/cluster.md makes.

- every (feed, interval) is polled once: no two polls of a feed closer than most of an
  interval, except one repeat of a poll the killed node had in flight;
- every feed is polled again within stall timeout + tick + interval of the kill;
- exactly one alert per (story, route), none missing, and at most the one message in
  flight at the kill sent twice;
- a restarted node takes its share of the work;
- a SIGTERM'd node drains, unregisters and leaves nothing to reap.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.postgres import PostgresServer
from monitor.testing.receiver import Received, WebhookReceiver

pytest.importorskip("procrastinate")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
FEEDS = 12
INTERVAL = 2.0
JITTER = 0.5  # spreads the polls over the interval
TICK = 1
STALL = 4.0
SEND_DELAY = 1.0  # each webhook request takes this long: deliveries are in flight

pytestmark = pytest.mark.slow

STANDIN = '''
"""A keyword classifier: these tests are about the cluster, not the classifier."""
from monitor.hookspecs import hookimpl
from monitor.models import Classification

RU = ("russ", "moscou", "poutine", "kremlin", "shoigu", "putin")
KP = ("corée du nord", "pyongyang", "kim jong", "north korea", "nord-coré")

@hookimpl
def monitor_classify(item):
    text = item.full_text.lower()
    hit = any(w in text for w in RU) and any(w in text for w in KP)
    return Classification(relevant=hit, score=0.9 if hit else 0.0,
                          types={"high_level_visit": 0.9} if hit else {},
                          primary="high_level_visit" if hit else None)
'''


def wait_until(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class TimedFeeds(FeedServer):
    """A feed server that notes when each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[tuple[str, float]] = []

    def _log(self, path: str, headers: dict[str, str]) -> None:
        super()._log(path, headers)
        with self._lock:
            self.times.append((path, time.monotonic()))

    def polls(self) -> dict[str, list[float]]:
        with self._lock:
            found: dict[str, list[float]] = {}
            for path, at in self.times:
                found.setdefault(path.strip("/").removesuffix(".xml"), []).append(at)
            return found


class SlowReceiver(WebhookReceiver):
    """A webhook that takes SEND_DELAY to answer; `sending` is set while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.sending = threading.Event()

    def _record(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        self.sending.set()
        time.sleep(SEND_DELAY)
        self.sending.clear()
        return super()._record(request)

    def alert_ids(self) -> list[int]:
        return [a["id"] for r in self.requests for a in r.json()["alerts"]]


class Node:
    def __init__(self, config: Path, env: dict[str, str], *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--cluster", "-c", str(config),
             "--log-format", "json", *extra],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._termed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def events(self) -> list[str]:
        out = []
        for line in list(self.lines):
            if line.startswith("{"):
                out.append(str(json.loads(line).get("event", "")))
        return out

    def saw(self, text: str) -> bool:
        return any(text in e for e in self.events())

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"node exited with {self.proc.returncode}:\n{self.dump()}")
        return self.saw("cluster node") and self.saw("running")

    def dump(self) -> str:
        return "\n".join(self.lines[-40:])

    def term(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM (once) and wait for the exit code."""
        if not self._termed:
            self._termed = True
            self.term()
        code = self.proc.wait(timeout)
        # the feed parser's worker processes hold stderr a little longer: not waited for
        self._reader.join(0.5)
        return code


@pytest.fixture
def feeds() -> Iterator[TimedFeeds]:
    with TimedFeeds() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[SlowReceiver]:
    with SlowReceiver() as receiver:
        yield receiver


def seed_feeds(server: FeedServer) -> None:
    """FEEDS feeds; the first three carry the seed articles, the others a dull item.
    Each answer comes in two pieces 0.35 s apart (and no validators, so no quick 304):
    polls are in flight when a node dies."""
    base = server.url("").rstrip("/")
    items: list[list[dict[str, str]]] = [[] for _ in range(FEEDS)]
    for i, path in enumerate(SEEDS):
        body = path.read_text(encoding="utf-8")
        title = next(line for line in body.splitlines() if len(line.strip()) > 3)
        items[i % 3].append(
            {"title": title[:200], "link": f"{base}/articles/{path.stem}",
             "guid": f"{base}/articles/{path.stem}", "summary": body,
             "published": f"2025-11-1{i}T08:00:00Z"}
        )  # fmt: skip
    for n in range(FEEDS):
        entries = items[n] or [
            {"title": f"Weather {n}", "link": f"{base}/dull/{n}", "summary": "Rain later."}
        ]
        doc = rss(entries, title=f"Feed {n}")
        server.route(f"/f{n}.xml", doc, drip=0.35, chunk=len(doc) // 2 + 1)


def write_config(tmp: Path, db: str, feeds: FeedServer, hook: WebhookReceiver) -> Path:
    tables = "".join(
        f'\n[[feeds]]\nname = "f{n}"\nurl = "{feeds.url(f"/f{n}.xml")}"\n'
        f"interval = {INTERVAL}\njitter = {JITTER}\nfulltext = false\n"
        for n in range(FEEDS)
    )
    config = tmp / "cluster.toml"
    config.write_text(
        f"""
languages = ["en", "fr", "ru"]

[store]
url = "{db}"

[daemon]
http = ""
drain_timeout = 3

[delivery]
interval = 1
timeout = 10

[cluster]
tick = {TICK}
heartbeat = 1
stall_timeout = {STALL}
concurrency = 8

[plugins]
modules = ["cluster_standin"]
disabled = ["rudprk", "fulltext", "language"]

[notifiers.hook]
kind = "webhook"
url = "{hook.url()}"
{tables}
""",
        encoding="utf-8",
    )
    return config


def test_three_nodes_one_killed_mid_delivery(
    tmp_path: Path, postgres: PostgresServer, feeds: TimedFeeds, hook: SlowReceiver
) -> None:
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "cluster_standin.py").write_text(STANDIN, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(mods), os.environ.get("PYTHONPATH", "")]),
    }
    db = postgres.new_database()
    seed_feeds(feeds)
    config = write_config(tmp_path, db, feeds, hook)
    engine = create_engine(db)

    def sql(query: str, **params: Any) -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(text(query), params).all())

    nodes = [Node(config, env) for _ in range(3)]
    try:
        for node in nodes:
            wait_until(node.ready, 40, "three nodes running")

        # --- monitor status shows the nodes, their heartbeats and the queue ------------
        shown = subprocess.run(
            [sys.executable, "-m", "monitor", "status", "-c", str(config), "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        cluster = json.loads(shown.stdout)["cluster"]
        assert sorted(n["pid"] for n in cluster["nodes"]) == sorted(n.proc.pid for n in nodes)
        assert all(n["heartbeat_age"] is not None for n in cluster["nodes"])
        assert {"todo", "doing", "by_task", "stalled"} <= set(cluster)

        # --- kill -9 the node that is sending a message ------------------------------
        wait_until(hook.sending.is_set, 30, "a delivery in flight")
        deliver_owner = (
            "SELECT n.pid, j.worker_id, (SELECT count(*) FROM procrastinate_jobs p "
            "WHERE p.worker_id = j.worker_id AND p.status = 'doing' "
            "AND p.task_name = 'monitor:poll') AS polls "
            "FROM procrastinate_jobs j JOIN cluster_nodes n ON n.worker_id = j.worker_id "
            "WHERE j.task_name = 'monitor:deliver' AND j.status = 'doing'"
        )
        deadline = time.monotonic() + 8  # a moment when that node also has polls running
        while (owner := sql(deliver_owner)) and not (hook.sending.is_set() and owner[0].polls):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        owner = owner or wait_until(lambda: sql(deliver_owner), 10, "a delivery job")
        owner = owner[0]
        victim = next(n for n in nodes if n.proc.pid == owner.pid)
        victim.proc.kill()
        killed_at = time.monotonic()
        victim.proc.wait(10)
        interrupted = {
            r.feed
            for r in sql(
                "SELECT args->>'feed' AS feed FROM procrastinate_jobs WHERE worker_id = :w "
                "AND status = 'doing' AND task_name = 'monitor:poll'",
                w=owner.worker_id,
            )
        }
        survivors = [n for n in nodes if n is not victim]

        # --- the cluster takes the dead node's work over ------------------------------
        bound = STALL + TICK + INTERVAL + JITTER + 2.0  # + slack for a loaded machine
        wait_until(
            lambda: all(any(t > killed_at for t in ts) for ts in feeds.polls().values()),
            bound,
            "every feed polled again within stall timeout + tick + interval",
        )
        taken_over = max(
            min(t for t in ts if t > killed_at) - killed_at for ts in feeds.polls().values()
        )
        wait_until(
            lambda: sql("SELECT 1 FROM cluster_nodes WHERE pid = :p AND state = 'dead'",
                        p=owner.pid),
            STALL + 5,
            "the killed node marked dead",
        )  # fmt: skip
        relevant = wait_until(
            lambda: (
                sql("SELECT count(*) FROM alerts")[0][0] >= 1
                and sql("SELECT count(*) FROM deliveries WHERE status <> 'sent'")[0][0] == 0
                and sql("SELECT count(*) FROM items WHERE state = 'new'")[0][0] == 0
            ),
            30,
            "every alert delivered",
        )
        assert relevant

        # --- a restarted node takes its share -----------------------------------------
        again = Node(config, env, "--log-level", "DEBUG")
        nodes.append(again)
        wait_until(again.ready, 40, "the restarted node running")
        wait_until(lambda: again.saw("Starting job monitor:poll"), 15, "the new node polls")

        # --- a SIGTERM'd node leaves nothing to reap ----------------------------------
        leaving = survivors[0]
        worker = sql("SELECT worker_id FROM cluster_nodes WHERE pid = :p", p=leaving.proc.pid)[
            0
        ].worker_id
        assert leaving.stop() == 0, leaving.dump()
        assert sql("SELECT state FROM cluster_nodes WHERE pid = :p",
                   p=leaving.proc.pid)[0].state == "stopped"  # fmt: skip
        assert not sql("SELECT 1 FROM procrastinate_workers WHERE id = :w", w=worker)
        assert not sql(
            "SELECT id FROM procrastinate_jobs WHERE worker_id = :w AND status = 'doing'",
            w=worker,
        )
        time.sleep(INTERVAL)
    finally:
        for n in nodes:
            if not n._termed:
                n._termed = True
                n.term()
        codes = [n.stop() for n in nodes]
        engine.dispose()
    assert codes[nodes.index(victim)] == -signal.SIGKILL
    assert all(c == 0 for n, c in zip(nodes, codes, strict=True) if n is not victim), codes

    # --- once per (feed, interval) ----------------------------------------------------
    # The store's poll records: each poll starts at least one interval after the last
    # (next poll = start + interval + jitter), and only for the due time it was queued
    # for. The feed server's log: every request is one of those polls, except at most
    # one per feed the killed node had in flight (its record was never written).
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT f.name, p.started_at, p.error FROM polls p JOIN feeds f "
                 "ON f.id = p.feed_id ORDER BY p.started_at")
        ).all()  # fmt: skip
    recorded: dict[str, list[Any]] = {}
    for name, started, error in rows:
        assert "duplicate poll" not in (error or ""), (name, error)
        recorded.setdefault(name, []).append(started)
    requests = {feed: len(times) for feed, times in feeds.polls().items()}
    assert sorted(requests) == sorted(recorded) == sorted(f"f{n}" for n in range(FEEDS))
    for feed, starts in recorded.items():
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
        assert min(gaps) >= INTERVAL - 0.01, (feed, min(gaps))
        extra = requests[feed] - len(starts)
        assert extra == 0 or (feed in interrupted and extra == 1), (feed, extra)
    repeated = {f for f in recorded if requests[f] > len(recorded[f])}
    total = sum(requests.values())
    # enough polls for the checks above to mean something: a floor of the scenario's
    # size with a wide margin, not a speed (a loaded machine runs fewer cycles)
    assert total >= FEEDS * 3, total

    # --- exactly one alert per (story, route), at most the in-flight one twice ---------
    with engine.connect() as conn:
        firsts = conn.execute(
            text("SELECT story_id, route, count(*) FROM alerts WHERE kind = 'new' "
                 "GROUP BY story_id, route")
        ).all()  # fmt: skip
        alert_ids = [r[0] for r in conn.execute(text("SELECT id FROM alerts"))]
        stalled = conn.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")
        ).scalar()
    engine.dispose()
    assert firsts and all(n == 1 for *_, n in firsts), firsts
    sent = Counter(hook.alert_ids())
    assert set(sent) == set(alert_ids), (sent, alert_ids)  # nothing missing
    assert sum(n - 1 for n in sent.values()) <= 1, sent  # at most one duplicate
    assert stalled == 0
    print(
        f"\ncluster e2e: {total} polls of {FEEDS} feeds, interrupted {sorted(interrupted)}, "
        f"polled again {sorted(repeated)}, every feed polled {taken_over:.1f} s after "
        f"the kill at the latest, {len(alert_ids)} alert(s), {sum(sent.values())} "
        f"message(s) received, {len(firsts)} story/route first alert(s)"
    )
