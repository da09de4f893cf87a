"""Parsing cost per feed: the lxml fast path against feedparser (the reference), on the
polling benchmark's feeds (bench/_feedserver.py's RSS 2.0, 20 entries of ~500 bytes).

CPU time of `parse_feed` in this thread, both paths on the same bodies, alternating
rounds so that machine load hits both alike; medians over rounds.

    python bench/bench_parse.py
    python bench/bench_parse.py --feeds 500 --entries 5 --rounds 7
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import machine, median, spread
from _feedserver import render, synthetic_items

from monitor.ingest.parse import parse_feed

HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--feeds", type=int, default=200)
    p.add_argument("--entries", type=int, default=20)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    print(f"machine: {machine()}")
    bodies = [render(i, synthetic_items(i, args.entries)) for i in range(args.feeds)]
    urls = [f"http://127.0.0.1:8000/feed/{i}.xml" for i in range(args.feeds)]
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.rounds):
        for fast in (True, False):
            t0 = time.thread_time()
            for body, url in zip(bodies, urls, strict=True):
                parse_feed(body, HEADERS, url, FETCHED, fast=fast)
            times[fast].append((time.thread_time() - t0) * 1000 / args.feeds)
    same = all(
        parse_feed(b, HEADERS, u, FETCHED) == parse_feed(b, HEADERS, u, FETCHED, fast=False)
        for b, u in zip(bodies, urls, strict=True)
    )
    print(f"feeds: {args.feeds} x {args.entries} entries, {args.rounds} rounds; CPU ms per feed")
    print(f"  feedparser (reference)  {spread(times[False])}")
    print(f"  fast path (lxml)        {spread(times[True])}")
    ratios = [r / f for f, r in zip(times[True], times[False], strict=True)]
    print(f"  speed-up                {median(ratios):.2f}x; same entries both ways: {same}")


if __name__ == "__main__":
    main()
