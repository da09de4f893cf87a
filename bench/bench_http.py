"""CPU per conditional feed poll answered 304: monitor's Fetcher (`fetch_feed`, whose
unchecked feed hops go straight to aiohttp), against two references: plain httpx (what
article pages and checked hops use) and plain aiohttp (the floor under the Fetcher). On
the lean feed server (bench/_feedserver.py), `--concurrency` requests at a time.

    python bench/bench_http.py
    python bench/bench_http.py --feeds 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import httpx
from _common import LeanFeedServer, machine, spread

from monitor.config import FetchConfig
from monitor.ingest.fetch import Fetcher, Validators


def etag(i: int) -> str:
    return f'"f{i}v0"'  # what bench/_feedserver.py gives feed i


async def fetcher(urls: list[str], concurrency: int) -> None:
    async with Fetcher(FetchConfig(concurrency=concurrency, per_host=concurrency)) as f:
        polls = [
            f.fetch_feed(u, Validators(etag(i)), allow_private=True) for i, u in enumerate(urls)
        ]
        results = await asyncio.gather(*polls)
    assert all(r.status == 304 for r in results), results[0]


async def plain_httpx(urls: list[str], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(i: int, url: str) -> None:
            async with gate, client.stream("GET", url, headers={"If-None-Match": etag(i)}) as r:
                assert r.status_code == 304

        await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))


async def plain_aiohttp(urls: list[str], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int, url: str) -> None:
            headers = {"If-None-Match": etag(i)}
            async with gate, session.get(url, headers=headers, allow_redirects=False) as r:
                assert r.status == 304

        await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    print(f"machine: {machine()}")
    clients: list[tuple[str, Callable[[list[str], int], Awaitable[None]]]] = [
        ("Fetcher.fetch_feed", fetcher),
        ("plain httpx (reference)", plain_httpx),
        ("plain aiohttp (floor)", plain_aiohttp),
    ]
    cpu: dict[str, list[float]] = {name: [] for name, _ in clients}
    with LeanFeedServer(args.feeds, 20) as server:
        urls = server.urls()
        for _ in range(args.rounds):
            for name, run in clients:
                c0 = time.process_time()
                asyncio.run(run(urls, args.concurrency))
                cpu[name].append((time.process_time() - c0) * 1000 / args.feeds)
    print(f"{args.feeds} polls answered 304, {args.concurrency} at a time, {args.rounds} rounds")
    for name, values in cpu.items():
        print(f"  {name:26} CPU ms per poll {spread(values, '{:.3f}')}")


if __name__ == "__main__":
    main()
