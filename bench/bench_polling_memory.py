"""Resident memory of polling over many cycles: the curve behind bench_polling.py's peak.

One process polls --feeds local feeds (bench/_feedserver.py, a separate process) as
bench_polling.py does (Runtime + Pipeline.poll for every feed at once, then the buffered
poll records written; classification not run): a cold cycle, then --cycles cycles where
--changing feeds gain an item before each cycle (a 200 with one new entry) and every
other feed answers 304. VmRSS is read from /proc after every cycle and printed every
--every cycles, with the peak (VmHWM) and the growth from the first sample after the
cold cycle.

    python bench/bench_polling_memory.py                       # 2000 feeds, 500 cycles
    python bench/bench_polling_memory.py --feeds 500 --cycles 100 --every 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import NOT_POLLING, LeanFeedServer, machine, median, monitor_config, status_kib


def status_mib(field: str) -> float:
    return status_kib(field) / 1024


async def curve(server: LeanFeedServer, args: argparse.Namespace, db: Path) -> None:
    from monitor.service.runtime import Runtime

    config = monitor_config(server.urls(), db, args.concurrency)
    feeds = [f.name for f in config.feeds]
    samples: list[float] = []
    walls: list[float] = []
    async with Runtime(config) as runtime:
        for cycle in range(args.cycles + 1):
            if cycle:
                when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=cycle)
                for k in range(args.changing):
                    i = (cycle * args.changing + k) % args.feeds
                    server.add(i, {"title": f"cycle {cycle} item {k}",
                                   "link": f"https://changing.example/{cycle}/{k}",
                                   "summary": "A new item.",
                                   "published": format_datetime(when)})  # fmt: skip
            t0 = time.perf_counter()
            found = await asyncio.gather(*(runtime.poll(name) for name in feeds))
            await runtime.pipeline.flush_polls()
            walls.append(time.perf_counter() - t0)
            errors = [p.error for p in found if p is not None and p.error]
            if errors:
                print(f"  warning: cycle {cycle}: {len(errors)} feed error(s), e.g. {errors[0]}")
            rss = status_mib("VmRSS")
            samples.append(rss)
            if cycle == 0 or cycle % args.every == 0 or cycle == args.cycles:
                label = "cold" if cycle == 0 else f"{cycle:5d}"
                print(f"  cycle {label}: VmRSS {rss:6.1f} MiB, peak {status_mib('VmHWM'):6.1f} "
                      f"MiB, cycle {walls[-1]:.2f} s", flush=True)  # fmt: skip
        items = runtime.store.item_count()
    first = samples[1] if len(samples) > 1 else samples[0]
    later = samples[1:] or samples
    print(f"\n{args.cycles} cycles after the cold one; items stored: {items}")
    spread = f"{min(later):.1f}-{max(later):.1f}"
    print(f"  VmRSS after cycle 1 {first:.1f} MiB, last {samples[-1]:.1f} MiB, "
          f"min-max over cycles 1-{args.cycles}: {spread} MiB")  # fmt: skip
    print(f"  growth from cycle 1 to the end: {samples[-1] - first:+.1f} MiB; "
          f"peak (VmHWM) {status_mib('VmHWM'):.1f} MiB")  # fmt: skip
    later_wall = median(walls[1:] or walls)
    print(f"  cycle wall: cold {walls[0]:.2f} s, later cycles median {later_wall:.2f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--cycles", type=int, default=500, help="cycles after the cold one")
    p.add_argument("--changing", type=int, default=20, help="feeds gaining an item per cycle")
    p.add_argument("--every", type=int, default=50, help="print every this many cycles")
    p.add_argument("--concurrency", type=int, default=32)
    args = p.parse_args()
    os.environ["MONITOR_DISABLE_PLUGINS"] = NOT_POLLING
    print(f"machine: {machine()}")
    print(f"feeds: {args.feeds} x 20 entries, {args.cycles} cycles, {args.changing} feeds "
          f"changing per cycle, concurrency {args.concurrency}")  # fmt: skip
    with LeanFeedServer(args.feeds) as server, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(curve(server, args, Path(tmp) / "monitor.db"))


if __name__ == "__main__":
    main()
