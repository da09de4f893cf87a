"""Resident memory of `monitor run` under load: many feeds, many cycles.

`monitor run` runs as a subprocess (all plugins, a console notifier writing to
/dev/null) against local feeds (bench/_feedserver.py, a separate process); its VmRSS is
read from /proc/PID/status after cycle 1 and then as cycles complete. A cycle is one
poll of every feed, counted from the requests the feed server answered; a few feeds
(--changing) gain an item every cycle, so storing and classifying keep happening.

Two legs, because a poll interval cannot be under 1 s: 1000 cycles take at least 1000 s.

  wide   --feeds (2000) feeds every --interval (15 s): as many cycles as fit in
         --wide-seconds.
  long   --long-feeds (20) feeds every second: as many cycles as fit in --long-seconds
         (--long-seconds 1100 reaches 1000 cycles, in about 18 minutes).

    python bench/bench_memory_load.py
    python bench/bench_memory_load.py --long-seconds 1100      # the 1000-cycle leg

Goal: under 150 MB, and flat.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, LeanFeedServer, machine, rss_kib, write_monitor_toml

GOAL_MIB = 150


def leg(
    name: str, feeds: int, entries: int, interval: float, seconds: float, changing: int,
    marks: tuple[int, ...],
) -> list[tuple[int, float, float]]:  # fmt: skip
    """Run the daemon for `seconds`; VmRSS (MiB) at the cycles in `marks` and at the end."""
    samples: list[tuple[int, float, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp,
        LeanFeedServer(feeds, entries) as server,
    ):
        jitter = 0 if interval <= 1 else None
        config = write_monitor_toml(
            Path(tmp) / "monitor.toml", server.urls(), db=Path(tmp) / "monitor.db",
            interval=interval, jitter=jitter, extra='[notifiers.console]\nkind = "console"\n',
        )  # fmt: skip
        log = (Path(tmp) / "daemon.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config), "--log-level", "ERROR"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            t0 = time.monotonic()
            deadline = t0 + seconds
            added = done = 0
            pending = list(marks)
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05 if interval <= 1 else 0.5)
                stats = server.stats()
                done = (stats["200"] + stats["304"]) // feeds
                if done > added:  # a new cycle: news in a few feeds
                    for i in range(changing):
                        server.add(i, _news(i, done))
                    added = done
                while pending and done >= pending[0]:
                    mib = rss_kib(proc.pid) / 1024
                    samples.append((pending.pop(0), time.monotonic() - t0, mib))
            if proc.poll() is not None:
                raise SystemExit(f"{name}: the daemon exited with {proc.returncode}")
            samples.append((done, time.monotonic() - t0, rss_kib(proc.pid) / 1024))
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    return samples


def _news(i: int, n: int) -> dict[str, str]:
    return {
        "title": f"Feed {i} update {n}: the harbour reopens after repairs",
        "link": f"https://news{i}.example/updates/{n}.html",
        "summary": f"Works on the harbour of feed {i}'s town ended in cycle {n}; ferries "
        "resume tomorrow, the council said.",
        "published": format_datetime(datetime.now(UTC)),
    }


def show(name: str, feeds: int, interval: float, samples: list[tuple[int, float, float]]) -> None:
    print(f"\n{name}: {feeds} feeds every {interval:g} s")
    print(f"{'cycle':>7}{'seconds':>9}{'VmRSS MiB':>11}")
    seen = set()
    for cycle, elapsed, mib in samples:
        if (cycle, round(mib, 1)) in seen:
            continue
        seen.add((cycle, round(mib, 1)))
        print(f"{cycle:>7}{elapsed:>9.0f}{mib:>11.1f}")
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        peak = max(s[2] for s in samples)
        verdict = "under" if peak < GOAL_MIB else "OVER"
        print(f"cycles {first[0]} -> {last[0]}: {last[2] - first[2]:+.1f} MiB; peak "
              f"{peak:.1f} MiB ({verdict} {GOAL_MIB} MB)")  # fmt: skip
        warm = next((s for s in samples if s[0] >= 10), None)
        if warm is not None and warm is not last:
            print(f"cycles {warm[0]} -> {last[0]} (after warm-up): {last[2] - warm[2]:+.1f} MiB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--entries", type=int, default=5, help="entries per feed")
    p.add_argument("--interval", type=float, default=15.0, help="wide leg poll interval")
    p.add_argument("--wide-seconds", type=float, default=140.0)
    p.add_argument("--long-feeds", type=int, default=20)
    p.add_argument("--long-seconds", type=float, default=120.0)
    p.add_argument("--changing", type=int, default=3, help="feeds with news every cycle")
    args = p.parse_args()
    print(f"machine: {machine()}")
    wide = leg("wide", args.feeds, args.entries, args.interval, args.wide_seconds,
               args.changing, (1, 2, 5, 10, 20, 50, 100))  # fmt: skip
    show("wide", args.feeds, args.interval, wide)
    long = leg("long", args.long_feeds, args.entries, 1.0, args.long_seconds, args.changing,
               (1, 10, 50, 100, 200, 500, 1000))  # fmt: skip
    show("long", args.long_feeds, 1.0, long)
    reached = long[-1][0]
    print(f"\nmeasured: {args.feeds} feeds for {wide[-1][0]} cycles; {args.long_feeds} feeds "
          f"for {reached} cycles" + ("" if reached >= 1000 else
          " (1000 cycles need --long-seconds 1100)"))  # fmt: skip


if __name__ == "__main__":
    main()
