"""A lean feed server for the benchmarks: many RSS feeds on 127.0.0.1, fast.

Runs in its own process (so its CPU does not count against the pollers), on one
asyncio loop with a hand-written HTTP/1.1 keep-alive handler and precomputed bodies:
thousands of requests per second on one core, where the test kit's threaded FeedServer
manages a few hundred.

    GET  /feed/<i>.xml   feed i: RSS 2.0, `entries` items; strong ETag, 304 on
                         If-None-Match (and on If-Modified-Since with Last-Modified)
    GET  /_stats         {"200": n, "304": n, "other": n, "connections": n} since the
                         last reset
    POST /_reset         zero the counters
    POST /_add/<i>       prepend one item (a JSON object: title, link, summary,
                         published as RFC 822) to feed i; its ETag changes

Start it with `LeanFeedServer` (bench/_common.py), or by hand:
`python bench/_feedserver.py --feeds 2000` prints `PORT <n>` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

SUMMARY = (
    "Officials from {city} met counterparts on {day} to discuss trade, transport and "
    "cultural exchange; the delegation visited a port, a school and a factory, and both "
    "sides agreed to meet again before the end of the year. Item {n} of feed {i}."
)
CITIES = ("Lyon", "Porto", "Gdansk", "Osaka", "Recife", "Mombasa", "Tromso", "Cusco")
BASE_DATE = datetime(2025, 6, 1, tzinfo=UTC)
MAX_HEADER = 16 * 1024


def synthetic_items(i: int, entries: int) -> list[dict[str, str]]:
    """`entries` distinct, dull items for feed i (nothing a classifier would flag)."""
    items = []
    for n in range(entries):
        when = BASE_DATE + timedelta(hours=i % 500, minutes=n)
        items.append(
            {
                "title": f"Feed {i} report {n}: regional delegation visits {CITIES[n % 8]}",
                "link": f"https://news{i % 97}.example/{i}/{n}.html",
                "summary": SUMMARY.format(city=CITIES[(i + n) % 8], day=when.date(), n=n, i=i),
                "published": format_datetime(when),
            }
        )
    return items


def render(i: int, items: list[dict[str, str]]) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>Bench feed {i}</title><link>https://news{i % 97}.example/</link>",
        "<description>bench</description><language>en</language>",
    ]
    for item in items:
        link = escape(item["link"])
        out.append(
            f"<item><title>{escape(item['title'])}</title><link>{link}</link>"
            f'<guid isPermaLink="true">{link}</guid>'
            f"<description>{escape(item['summary'])}</description>"
            f"<pubDate>{escape(item['published'])}</pubDate></item>"
        )
    out.append("</channel></rss>\n")
    return "".join(out).encode("utf-8")


class Feeds:
    def __init__(self, count: int, entries: int) -> None:
        self.entries = entries
        self.items = [synthetic_items(i, entries) for i in range(count)]
        self.version = [0] * count
        self.responses: list[tuple[bytes, bytes, bytes]] = []  # etag, 200 answer, 304 answer
        for i in range(count):
            self.responses.append(self._build(i))
        self.counts = {"200": 0, "304": 0, "other": 0, "connections": 0}

    def _build(self, i: int) -> tuple[bytes, bytes, bytes]:
        body = render(i, self.items[i])
        etag = f'"f{i}v{self.version[i]}"'.encode()
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
            b"ETag: " + etag + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        not_modified = b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n"
        return etag, head + body, not_modified

    def add(self, i: int, item: dict[str, str]) -> None:
        self.items[i].insert(0, item)
        del self.items[i][self.entries :]
        self.version[i] += 1
        self.responses[i] = self._build(i)


def _simple(status: str, body: bytes, ctype: bytes = b"text/plain") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\n".encode()
        + b"Content-Type: "
        + ctype
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


class Handler(asyncio.Protocol):
    def __init__(self, feeds: Feeds) -> None:
        self.feeds = feeds
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.feeds.counts["connections"] += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEADER:
                    self.transport.close()
                return
            head = self.buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            parts = lines[0].split(" ")
            method, path = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
            self.transport.write(self.answer(method, path, headers, body))
            if headers.get("connection", "").lower() == "close":
                self.transport.close()
                self.transport = None

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        feeds = self.feeds
        if path.startswith("/feed/") and path.endswith(".xml"):
            try:
                i = int(path[6:-4])
                etag, full, not_modified = feeds.responses[i]
            except (ValueError, IndexError):
                feeds.counts["other"] += 1
                return _simple("404 Not Found", b"no such feed\n")
            match = headers.get("if-none-match")
            if match and etag.decode() in {t.strip() for t in match.split(",")}:
                feeds.counts["304"] += 1
                return not_modified
            feeds.counts["200"] += 1
            return full if method != "HEAD" else full.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        feeds.counts["other"] += 1
        if path == "/_stats":
            return _simple("200 OK", json.dumps(feeds.counts).encode(), b"application/json")
        if path == "/_reset" and method == "POST":
            feeds.counts.update({"200": 0, "304": 0, "other": 0, "connections": 0})
            return _simple("200 OK", b"ok\n")
        if path.startswith("/_add/") and method == "POST":
            try:
                feeds.add(int(path[6:]), json.loads(body))
            except (ValueError, IndexError, TypeError) as exc:
                return _simple("400 Bad Request", str(exc).encode())
            return _simple("200 OK", b"ok\n")
        return _simple("404 Not Found", b"not found\n")


async def serve(count: int, entries: int, port: int) -> None:
    feeds = Feeds(count, entries)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Handler(feeds), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--entries", type=int, default=20)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    try:
        asyncio.run(serve(args.feeds, args.entries, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
