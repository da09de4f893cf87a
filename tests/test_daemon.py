"""`monitor run` as a real subprocess, against local feed and Slack servers.

Covers what an operator relies on: it starts and alerts, reloads on SIGHUP (a new feed
is polled, an invalid config is rejected and the daemon keeps running), refuses a
second instance on the same database, serves /healthz and /metrics, logs JSON lines,
stops within the drain bound, exits at once on a second signal, and survives kill -9
at any point without losing or repeating an alert.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.slackserver import SlackServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
PROBE = "monitor_daemon_probe"

pytestmark = pytest.mark.slow


# --- helpers -----------------------------------------------------------------------------


def wait_until(cond: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `cond` every 50 ms until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def seed_items(base: str) -> list[dict[str, str]]:
    items = []
    for i, path in enumerate(SEEDS):
        text = path.read_text(encoding="utf-8")
        title = next(line for line in text.splitlines() if len(line.strip()) > 3)
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


_READY: dict[str, bool] = {}


def builtin_classifier_ready() -> bool:
    """Whether the built-in classifier finds every seed relevant. Until it does, these
    tests load a stand-in classifier, so that they test the daemon, not the classifier."""
    if "ready" not in _READY:
        from monitor.config import Config
        from monitor.host.loader import build_host
        from monitor.models import Item

        try:
            host = build_host(Config(), entry_points=False)
            items = [Item(id=p.stem, text=p.read_text(encoding="utf-8")) for p in SEEDS]
            _READY["ready"] = all((c := host.classify(i)) and c.relevant for i in items)
            host.shutdown()
        except Exception:
            _READY["ready"] = False
    return _READY["ready"]


PROBE_SOURCE = '''
"""Test plugin: an enricher that blocks while a flag file exists (to kill -9 the daemon
mid-processing) and, until the built-in classifier is ready, a keyword classifier."""
import os, pathlib, time
from monitor.hookspecs import hookimpl
from monitor.models import Classification

RU = ("russ", "moscou", "poutine", "kremlin", "choïgou", "shoigu")
KP = ("corée du nord", "pyongyang", "kim jong", "north korea", "nord-coré")

@hookimpl
def monitor_enrich(item):
    flag = os.environ.get("MONITOR_TEST_BLOCK_ENRICH")
    if flag and os.path.exists(flag):
        pathlib.Path(flag + ".started").touch()
        time.sleep(60)
    return None

if os.environ.get("MONITOR_TEST_STANDIN") == "1":
    @hookimpl
    def monitor_classify(item):
        text = item.full_text.lower()
        hit = any(w in text for w in RU) and any(w in text for w in KP)
        types = {"high_level_visit": 0.9} if hit else {}
        return Classification(relevant=hit, score=0.9 if hit else 0.0, types=types,
                              primary="high_level_visit" if hit else None)
'''


class DaemonProcess:
    """One `python -m monitor run` subprocess, its output collected line by line."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config), "--log-format", "json"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        self.stdout: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.stderr) if line.startswith("{")]

    def events(self) -> list[str]:
        return [doc["event"] for doc in self.logs()]

    def wait_log(self, text: str, timeout: float = 20.0, count: int = 1) -> None:
        wait_until(
            lambda: sum(text in e for e in self.events()) >= count or self.proc.poll() is not None,
            timeout,
            f"log {text!r}",
        )
        assert sum(text in e for e in self.events()) >= count, self.dump()

    def ready(self) -> DaemonProcess:
        self.wait_log("running;")
        return self

    @property
    def port(self) -> int:
        line = next(e for e in self.events() if e.startswith("http endpoint listening on"))
        return int(line.rsplit(":", 1)[1])

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        _, text = self.get("/metrics")
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20.0) -> int:
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def kill9(self) -> None:
        self.proc.kill()
        self.wait()

    def dump(self) -> str:
        return "\n".join(self.stderr[-60:])


class BlockingSlack(SlackServer):
    """A Slack look-alike whose next request hangs until `release()`; that request is
    then answered 500 and not recorded, as if it never reached Slack."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()
        self._release = threading.Event()
        self._armed = False

    def block_next(self) -> None:
        self.arrived.clear()
        self._release.clear()
        self._armed = True

    def release(self) -> None:
        self._release.set()

    def _handle(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self._armed:
            self._armed = False
            self.arrived.set()
            self._release.wait(30)
            return 500, {"Content-Type": "text/plain"}, b"dropped"
        return super()._handle(path, headers, body)


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def slack() -> Iterator[BlockingSlack]:
    server = BlockingSlack()
    with server:
        yield server
    server.release()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / f"{PROBE}.py").write_text(PROBE_SOURCE, encoding="utf-8")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(mods), os.environ.get("PYTHONPATH", "")]),
        "MONITOR_TEST_STANDIN": "0" if builtin_classifier_ready() else "1",
        "MONITOR_TEST_BLOCK_ENRICH": str(tmp_path / "block-enrich"),
    }


def write_config(
    tmp_path: Path, feeds: list[tuple[str, str]], slack: SlackServer, extra: str = ""
) -> Path:
    config = tmp_path / "monitor.toml"
    feed_tables = "".join(
        f'\n[[feeds]]\nname = "{name}"\nurl = "{url}"\ninterval = 1\nfulltext = false\n'
        for name, url in feeds
    )
    config.write_text(
        f"""
languages = ["en", "fr", "ru"]

[store]
path = "{tmp_path / "var" / "monitor.db"}"

[daemon]
http = "127.0.0.1:0"
drain_timeout = 2

[delivery]
interval = 1

[classifier]
timeout = "30s"

[plugins]
modules = ["{PROBE}"]

[notifiers.slack]
kind = "slack"
webhook_url = "{slack.webhook_url}"
{extra}
{feed_tables}
""",
        encoding="utf-8",
    )
    return config


def deliveries_of(slack: SlackServer, stem: str) -> int:
    return sum(f"/articles/{stem}" in m.text for m in slack.messages)


def all_delivered(slack: SlackServer) -> bool:
    return all(deliveries_of(slack, p.stem) >= 1 for p in SEEDS)


# --- tests -------------------------------------------------------------------------------


def test_daemon_alerts_reloads_serves_health_and_metrics_and_stops(
    tmp_path: Path, feeds: FeedServer, slack: BlockingSlack, env: dict[str, str]
) -> None:
    feeds.route("/seeds.xml", rss(seed_items(feeds.url("").rstrip("/")), title="Seeds"))
    feeds.route("/late.xml", rss([], title="Late"))
    config = write_config(tmp_path, [("seeds", feeds.url("/seeds.xml"))], slack)
    daemon = DaemonProcess(config, env).ready()
    try:
        # alerts: every seed, once, on Slack
        wait_until(lambda: all_delivered(slack), 30, "every seed delivered")
        status, body = daemon.get("/healthz")
        assert status == 200 and set(json.loads(body)["checks"].values()) == {"ok"}
        assert daemon.get("/nope")[0] == 404

        # a second daemon on the same database is refused
        second = subprocess.run(
            [sys.executable, "-m", "monitor", "run", "-c", str(config)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 75, second.stderr
        assert str(tmp_path / "var" / "monitor.db") in second.stderr
        assert f"pid {daemon.proc.pid}" in second.stderr and "monitor.db.lock" in second.stderr

        # metrics: parsed values agree with what happened
        n = len(SEEDS)
        m = wait_until(
            lambda: (
                (x := daemon.metrics())
                and x.get(("monitor_alerts_sent_total", (("notifier", "slack"),))) == n
                and x
            ),
            10,
            "metrics",
        )
        assert m[("monitor_items_stored_total", (("feed", "seeds"),))] == n
        assert m[("monitor_polls_total", (("feed", "seeds"),))] >= 1
        assert m[("monitor_classifications_total", (("relevant", "true"),))] == n
        assert m[("monitor_deliveries", (("notifier", "slack"), ("status", "sent")))] == n
        assert m[("monitor_delivery_latency_seconds_count", (("notifier", "slack"),))] == n
        assert m[("monitor_classify_duration_seconds_count", ())] == n
        assert m[("monitor_scheduler_running", ())] == 1

        # reload: a feed added to the config is polled
        assert feeds.count("/late.xml") == 0
        write_config(
            tmp_path,
            [("seeds", feeds.url("/seeds.xml")), ("late", feeds.url("/late.xml"))],
            slack,
        )
        daemon.signal(signal.SIGHUP)
        daemon.wait_log("reloaded: +feed late")
        wait_until(lambda: feeds.count("/late.xml") >= 1, 10, "the new feed polled")

        # an invalid config is rejected; the daemon keeps running with the old one
        good = config.read_text(encoding="utf-8")
        config.write_text(good.replace("interval = 1", 'interval = "soon"'), encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        daemon.wait_log("reload rejected, keeping the running configuration")
        rejected = next(e for e in daemon.events() if "reload rejected" in e)
        assert "feeds[0].interval" in rejected
        polled = feeds.count("/late.xml")
        wait_until(lambda: feeds.count("/late.xml") > polled, 10, "polling after a bad reload")
        assert daemon.get("/healthz")[0] == 200
        cli = subprocess.run(
            [sys.executable, "-m", "monitor", "reload", "-c", str(config)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert cli.returncode == 1 and "feeds[0].interval" in cli.stderr

        # `monitor reload` finds the daemon by its pid file and signals it
        config.write_text(good, encoding="utf-8")
        assert (tmp_path / "var" / "monitor.pid").read_text().strip() == str(daemon.proc.pid)
        cli = subprocess.run(
            [sys.executable, "-m", "monitor", "reload", "-c", str(config)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        daemon.wait_log("reloaded:", count=2)
    finally:
        daemon.signal(signal.SIGTERM)
        started = time.monotonic()
        code = daemon.wait(20)
    assert code == 0, daemon.dump()
    assert time.monotonic() - started < 2 + 3  # drain_timeout + process exit
    assert all(deliveries_of(slack, p.stem) == 1 for p in SEEDS), [m.text for m in slack.messages]
    assert not (tmp_path / "var" / "monitor.pid").exists()
    # every log line is one JSON object with the documented keys
    assert daemon.stderr and all(line.startswith("{") for line in daemon.stderr), daemon.dump()
    docs = daemon.logs()
    assert all({"timestamp", "level", "event"} <= set(d) for d in docs)
    assert any(d.get("notifier") == "slack" for d in docs)
    phases = [d["event"] for d in docs if d.get("phase")]
    assert phases[0].startswith("starting monitor") and phases[-1] == "stopped"


def test_sigterm_drains_within_bound_and_second_signal_exits_at_once(
    tmp_path: Path, feeds: FeedServer, slack: BlockingSlack, env: dict[str, str]
) -> None:
    items = seed_items(feeds.url("").rstrip("/"))[:1]
    feeds.route("/seeds.xml", rss(items, title="Seeds"))
    config = write_config(tmp_path, [("seeds", feeds.url("/seeds.xml"))], slack)

    # first SIGTERM with a send stuck in flight: exit 0 within drain_timeout (2 s)
    slack.block_next()
    daemon = DaemonProcess(config, env).ready()
    assert slack.arrived.wait(30), daemon.dump()
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.dump()
    assert time.monotonic() - started < 2 + 3
    assert any("drain timed out" in e for e in daemon.events()), daemon.dump()
    slack.release()

    # the send caught mid-flight is sent again at the next start; a second signal
    # during the drain exits at once with 130
    config.write_text(
        config.read_text().replace("drain_timeout = 2", "drain_timeout = 60"), encoding="utf-8"
    )
    slack.block_next()
    daemon = DaemonProcess(config, env).ready()
    assert slack.arrived.wait(30), daemon.dump()
    daemon.wait_log("in flight at the last stop")
    daemon.signal(signal.SIGTERM)
    daemon.wait_log("SIGTERM: stopping")
    started = time.monotonic()
    daemon.signal(signal.SIGINT)
    assert daemon.wait(10) == 130, daemon.dump()
    assert time.monotonic() - started < 5
    slack.release()

    # and a third start delivers it
    daemon = DaemonProcess(config, env).ready()
    try:
        wait_until(lambda: deliveries_of(slack, SEEDS[0].stem) == 1, 20, "delivery after restart")
    finally:
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(15) == 0


def test_kill9_during_poll_processing_and_delivery_loses_nothing(
    tmp_path: Path, feeds: FeedServer, slack: BlockingSlack, env: dict[str, str]
) -> None:
    body = rss(seed_items(feeds.url("").rstrip("/")), title="Seeds")
    feeds.route("/seeds.xml", body, drip=0.5, chunk=256)  # a poll that takes a while
    config = write_config(tmp_path, [("seeds", feeds.url("/seeds.xml"))], slack)
    db = tmp_path / "var" / "monitor.db"

    # 1. during a poll: the response is still arriving
    daemon = DaemonProcess(config, env).ready()
    wait_until(lambda: feeds.count("/seeds.xml") >= 1, 15, "first poll")
    daemon.kill9()
    assert stored_items(db) == 0

    # 2. during processing: items stored, the enricher blocked
    feeds.update("/seeds.xml", body, drip=None)
    flag = Path(env["MONITOR_TEST_BLOCK_ENRICH"])
    flag.touch()
    daemon = DaemonProcess(config, env).ready()
    wait_until(lambda: Path(f"{flag}.started").exists(), 20, "processing to start")
    daemon.kill9()
    assert stored_items(db) == len(SEEDS)
    assert not slack.messages

    # 3. during delivery: the first send reaches "Slack" and hangs
    flag.unlink()
    slack.block_next()
    daemon = DaemonProcess(config, env).ready()
    assert slack.arrived.wait(30), daemon.dump()
    daemon.kill9()
    slack.release()

    # 4. a clean run: every seed delivered exactly once, nothing left in the outbox
    daemon = DaemonProcess(config, env).ready()
    try:
        wait_until(lambda: all_delivered(slack), 30, "every seed delivered")
        assert any("in flight at the last stop" in e for e in daemon.events())
        time.sleep(1.5)  # one more delivery and poll cycle: nothing may be sent again
    finally:
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    assert [deliveries_of(slack, p.stem) for p in SEEDS] == [1] * len(SEEDS)
    assert outbox(db) == {"sent": len(SEEDS)}


def stored_items(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from items").fetchone()[0])


def outbox(db: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return dict(conn.execute("select status, count(*) from deliveries group by status"))
