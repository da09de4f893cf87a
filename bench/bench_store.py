"""CPU per poll of the store's side of polling, on a fresh SQLite file.

The bodies are bench_polling.py's (bench/_feedserver.py: RSS 2.0, 20 entries of ~500
bytes), parsed once up front; then, in this thread and timed with `time.thread_time`:

  store_entries   one poll's new entries, one transaction (2000 polls, 40 000 items)
  again           the same polls again: every entry already stored ("seen")
  record, alone   a successful poll's record written on its own (`record_poll`)
  record, batch   the same records written 200 at a time (`record_polls`: what the
                  pipeline does with plain successful polls)

Rounds alternate on fresh stores; medians over rounds.

    python bench/bench_store.py
    python bench/bench_store.py --feeds 500 --rounds 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import machine, spread
from _feedserver import render, synthetic_items

from monitor.ingest.parse import parse_feed
from monitor.store.base import EntryRecord, PollRecord
from monitor.store.sql import SqlStore

HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 200


def records_of(feeds: int) -> list[list[EntryRecord]]:
    polls = []
    for i in range(feeds):
        doc = parse_feed(render(i, synthetic_items(i, 20)), HEADERS, f"http://b/{i}", FETCHED)
        polls.append([
            EntryRecord(key=e.key, canonical_url=e.canonical_url, url=e.link, title=e.title,
                        summary=e.summary, text=e.content or e.summary, published=e.published,
                        content_hash=e.content_hash, language_hint=e.language)
            for e in doc.entries
        ])  # fmt: skip
    return polls


def one_round(polls: list[list[EntryRecord]], tmp: Path) -> dict[str, float]:
    store = SqlStore(f"sqlite:///{tmp / 'bench.db'}")
    try:
        rows = store.sync_feeds([(f"f{i}", f"http://b/{i}") for i in range(len(polls))])
        ids = [rows[f"f{i}"].id for i in range(len(polls))]
        out: dict[str, float] = {}
        for phase in ("store_entries", "again"):
            t0 = time.thread_time()
            for feed_id, entries in zip(ids, polls, strict=True):
                store.store_entries(feed_id, entries, FETCHED, 200)
            out[phase] = (time.thread_time() - t0) * 1000 / len(polls)
        record = PollRecord(started_at=FETCHED, duration=0.1, status=200, nbytes=10_000,
                            new_items=20, etag='"v1"',
                            next_poll_at=FETCHED + timedelta(minutes=15))  # fmt: skip
        t0 = time.thread_time()
        for feed_id in ids:
            store.record_poll(feed_id, record)
        out["record, alone"] = (time.thread_time() - t0) * 1000 / len(ids)
        t0 = time.thread_time()
        for start in range(0, len(ids), BATCH):
            store.record_polls([(feed_id, record) for feed_id in ids[start : start + BATCH]])
        out["record, batch"] = (time.thread_time() - t0) * 1000 / len(ids)
        return out
    finally:
        store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    print(f"machine: {machine()}")
    polls = records_of(args.feeds)
    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            for phase, ms in one_round(polls, Path(tmp)).items():
                results.setdefault(phase, []).append(ms)
    print(f"polls: {args.feeds} x 20 entries, {args.rounds} rounds; CPU ms per poll")
    for phase, values in results.items():
        print(f"  {phase:16} {spread(values, '{:.3f}')}")


if __name__ == "__main__":
    main()
