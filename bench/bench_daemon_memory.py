"""Steady-state memory of the daemon: resident memory over many poll cycles.

Two modes, both against local feeds (a FeedServer on 127.0.0.1), some of which gain a
new item every cycle (relevant and irrelevant articles, so classification, stories and
the outbox all work):

  runtime (default)  drives `Runtime.cycle()` in a loop in this process: poll every
                     feed, process, deliver. 1000 cycles of 10 feeds take about four minutes.
  daemon             runs `monitor run` as a subprocess with a 1 s interval per feed
                     and reads its VmRSS from /proc/PID/status; a "cycle" is one poll
                     of every feed.

    python bench/bench_daemon_memory.py                       # 1000 in-process cycles
    python bench/bench_daemon_memory.py --mode daemon --cycles 240 --feeds 20

Prints VmRSS at start, every `--every` cycles and at the end, with the growth from the
start and from the first sample after warm-up (caches, lazily built models).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config import load_config
from monitor.models import Alert, Delivery
from monitor.service.runtime import Runtime
from monitor.testing.feedserver import FeedServer, rss

ROOT = Path(__file__).resolve().parent.parent
RELEVANT = (
    "Kim Jong Un received Russian Defence Minister Sergei Shoigu in Pyongyang on {day} for "
    "talks on military cooperation between Russia and North Korea, KCNA reported. Report {n}."
)
IRRELEVANT = (
    "The city council of Lyon approved a new cycling lane on {day}; works start next spring "
    "and should last six months according to the mayor's office. Report {n}."
)


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Feeds:
    """`count` feeds; the first `changing` gain one item per cycle (a window of 20)."""

    def __init__(self, server: FeedServer, count: int, changing: int) -> None:
        self.server = server
        self.count = count
        self.changing = changing
        self.items: dict[int, list[dict[str, Any]]] = {i: [] for i in range(count)}
        self.serial = 0
        for i in range(count):
            self.add(i)

    def path(self, i: int) -> str:
        return f"/feed{i}.xml"

    def add(self, i: int) -> None:
        self.serial += 1
        n = self.serial
        day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
        text = (RELEVANT if n % 3 == 0 else IRRELEVANT).format(day=day.date(), n=n)
        base = self.server.url("").rstrip("/")
        self.items[i].insert(
            0,
            {
                "title": text[:80],
                "link": f"{base}/a/{n}",
                "guid": f"{base}/a/{n}",
                "summary": text,
                "published": day,
            },
        )
        del self.items[i][20:]
        self.server.route(self.path(i), rss(self.items[i], title=f"feed {i}"), etag=True)

    def step(self) -> None:
        for i in range(self.changing):
            self.add(i)


def write_config(tmp: Path, feeds: Feeds, interval: float, notifier: str) -> Path:
    """Feeds all on 127.0.0.1 stand for feeds on many hosts: `per_host` is raised so
    the per-host limit does not serialise them."""
    path = tmp / "monitor.toml"
    tables = "".join(
        f'[[feeds]]\nname = "f{i}"\nurl = "{feeds.server.url(feeds.path(i))}"\n'
        f"interval = {interval}\njitter = 0\nfulltext = false\n\n"
        for i in range(feeds.count)
    )
    path.write_text(
        f'languages = ["en", "fr"]\n[store]\npath = "{tmp / "bench.db"}"\n'
        f'[daemon]\nhttp = ""\n[delivery]\ninterval = 1\n[fetch]\nper_host = {feeds.count}\n'
        f"[notifiers.null]\n{notifier}\n\n{tables}",
        encoding="utf-8",
    )
    return path


class NullNotifier:
    """Counts what it is given; the bench measures the daemon, not a service."""

    name = "null"

    def __init__(self) -> None:
        self.sent = 0

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> Delivery:
        self.sent += len(alerts)
        return Delivery(detail="counted")

    def close(self) -> None:
        pass


def report(samples: list[tuple[int, float, int]], warmup: int) -> None:
    print(f"{'cycle':>7} {'seconds':>8} {'VmRSS MiB':>10}")
    for cycle, elapsed, kib in samples:
        print(f"{cycle:>7} {elapsed:>8.1f} {kib / 1024:>10.1f}")
    start, end = samples[0][2], samples[-1][2]
    warm = next((s for s in samples if s[0] >= warmup), samples[0])[2]
    print(f"growth from start:            {(end - start) / 1024:+.1f} MiB")
    print(f"growth after {warmup} cycles warm-up: {(end - warm) / 1024:+.1f} MiB")


async def run_runtime(args: argparse.Namespace, feeds: Feeds, tmp: Path) -> None:
    # A webhook only to pass validation: the notifier object is replaced below.
    config = load_config(write_config(tmp, feeds, 1, 'kind = "webhook"\nurl = "http://x.test/"'))
    null = NullNotifier()
    t0 = time.monotonic()
    samples = [(0, 0.0, rss_kib())]
    polls = 0
    async with Runtime(config, notifiers={"null": null}) as runtime:
        for cycle in range(1, args.cycles + 1):
            feeds.step()
            result = await runtime.cycle()
            polls += len(result.polls)
            if cycle % args.every == 0 or cycle == args.cycles:
                samples.append((cycle, time.monotonic() - t0, rss_kib()))
        items = runtime.store.item_count()
    report(samples, args.warmup)
    print(f"{args.cycles} cycles, {polls} polls, {items} items stored, {null.sent} alerts sent")


def run_daemon(args: argparse.Namespace, feeds: Feeds, tmp: Path) -> None:
    config = write_config(tmp, feeds, 1, 'kind = "console"')  # alerts go to /dev/null
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(config), "--log-level", "WARNING"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        path = feeds.path(feeds.count - 1)
        wait(lambda: feeds.server.count(path) >= 1, 60)
        t0 = time.monotonic()
        samples = [(0, 0.0, rss_kib(proc.pid))]
        done = 0
        while done < args.cycles:
            seen = feeds.server.count(path)
            wait(lambda seen=seen: feeds.server.count(path) > seen, 30)  # one more cycle
            feeds.step()
            done += 1
            if done % args.every == 0 or done == args.cycles:
                samples.append((done, time.monotonic() - t0, rss_kib(proc.pid)))
        polls = len(feeds.server.requests)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    report(samples, args.warmup)
    print(f"{args.cycles} cycles, {polls} HTTP requests served, daemon exit code {code}")


def wait(cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("the daemon stopped polling")
        time.sleep(0.02)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mode", choices=["runtime", "daemon"], default="runtime")
    p.add_argument("--cycles", type=int, default=1000)
    p.add_argument("--feeds", type=int, default=10)
    p.add_argument("--changing", type=int, default=2, help="feeds with a new item per cycle")
    p.add_argument("--every", type=int, default=100, help="sample every N cycles")
    p.add_argument("--warmup", type=int, default=100)
    args = p.parse_args()
    print(f"monitor memory bench: mode={args.mode} cycles={args.cycles} feeds={args.feeds} "
          f"changing={args.changing} pid={os.getpid()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, FeedServer() as server:
        feeds = Feeds(server, args.feeds, args.changing)
        if args.mode == "runtime":
            asyncio.run(run_runtime(args, feeds, Path(tmp)))
        else:
            run_daemon(args, feeds, Path(tmp))


if __name__ == "__main__":
    main()
