"""Hostile and broken feeds: each fails alone, quickly, cheaply, and never hurts others."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.config import FetchConfig
from monitor.ingest.fetch import Fetcher, FetchResult
from monitor.ingest.parse import ParsedFeed, ParseError, parse_feed
from monitor.testing.feedserver import FeedServer, atom, endless, rss

NOW = datetime(2025, 11, 12, tzinfo=UTC)
RSS = {"content-type": "application/rss+xml"}


def billion_laughs(levels: int = 9) -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels + 1)]
    return (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(entities)}]>'
        f'<rss version="2.0"><channel><title>Laughs</title>'
        f"<item><title>&lol{levels};</title><link>https://evil.example/lol</link></item>"
        f"</channel></rss>"
    ).encode()


def quadratic_blowup() -> bytes:
    value = "A" * 100_000
    refs = "&big;" * 50_000
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY big "{value}">]>'
        f'<rss version="2.0"><channel><title>Q</title><item><title>{refs}</title>'
        f"<link>https://evil.example/q</link></item></channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.route("/secret", "root:x:0:0:SECRET-MARKER", headers={"Content-Type": "text/plain"})
        s.route(
            "/evil.dtd",
            '<!ENTITY leak "SECRET-MARKER">',
            headers={"Content-Type": "application/xml-dtd"},
        )
        yield s


def bounded_parse(body: bytes, max_seconds: float = 2.0, max_mib: int | None = None) -> ParsedFeed:
    """parse_feed, asserting it stays within a time bound and, when `max_mib` is given,
    a memory bound (traced allocations; tracing slows parsing about threefold)."""
    if max_mib is not None:
        tracemalloc.start()
    started = time.monotonic()
    try:
        parsed = parse_feed(body, RSS, "https://evil.example/feed", NOW)
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] if max_mib is not None else 0
        tracemalloc.stop()
    assert elapsed < max_seconds, f"took {elapsed:.2f} s"
    if max_mib is not None:
        assert peak < max_mib * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    return parsed


def test_billion_laughs_does_not_expand() -> None:
    parsed = bounded_parse(billion_laughs(), max_seconds=5, max_mib=40)
    assert all("lollol" not in e.title and len(e.title) < 100 for e in parsed.entries)


def test_quadratic_blowup_does_not_expand() -> None:
    payload = quadratic_blowup()
    parsed = bounded_parse(payload)
    for entry in parsed.entries:
        assert "AAAAAAAAAA" not in entry.title and len(entry.title) < len(payload)


def test_external_file_entity_is_not_resolved() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>T</title><item><title>A&xxe;B</title>'
        b"<link>https://evil.example/x</link></item></channel></rss>"
    )
    parsed = bounded_parse(body)
    assert all("root:" not in e.title and "root:" not in e.content for e in parsed.entries)


def test_external_http_entities_and_dtds_are_never_fetched(server: FeedServer) -> None:
    general = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "{server.url("/secret")}">]>'
        f'<rss version="2.0"><channel><title>T</title><item><title>A&xxe;B</title>'
        f"<link>https://evil.example/x</link></item></channel></rss>"
    ).encode()
    parameter = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % ext SYSTEM "{server.url("/evil.dtd")}">'
        f'%ext;]><rss version="2.0"><channel><title>T</title><item><title>A&leak;B</title>'
        f"<link>https://evil.example/y</link></item></channel></rss>"
    ).encode()
    external_dtd = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{server.url("/evil.dtd")}">'
        f'<rss version="2.0"><channel><title>T</title><item><title>A&leak;B</title>'
        f"<link>https://evil.example/z</link></item></channel></rss>"
    ).encode()
    server.clear()
    for body in (general, parameter, external_dtd):
        parsed = bounded_parse(body)
        assert all("SECRET-MARKER" not in e.title for e in parsed.entries)
    assert server.requests == []


@pytest.mark.parametrize(
    "make_body",
    [
        lambda s: s.url("/secret").encode(),
        lambda s: b"/etc/passwd",
        lambda s: b"file:///etc/passwd",
    ],
    ids=["url", "path", "file-url"],
)
def test_bodies_that_look_like_urls_or_paths_are_never_opened(
    server: FeedServer, make_body: object
) -> None:
    server.clear()
    body = make_body(server)  # type: ignore[operator]
    with pytest.raises(ParseError):
        parse_feed(body, RSS, "https://evil.example/feed", NOW)
    assert server.requests == []


@pytest.mark.parametrize(
    "body",
    [
        bytes(range(256)) * 64,
        b"\x89PNG\r\n\x1a\n" + bytes(4000),
        gzip.compress(rss([{"title": "compressed twice"}])),
        b"\xff\xfe\x00\x00" + b"\x00\xd8" * 100,
    ],
    ids=["bytes", "png", "gzip-in-body", "bad-utf32"],
)
def test_binary_garbage_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        bounded_parse(body)


def test_deeply_nested_markup_is_cheap() -> None:
    nested = "<div>" * 20_000 + "deep" + "</div>" * 20_000
    parsed = bounded_parse(
        rss([{"title": "Nested", "link": "https://evil.example/n", "summary": nested}]),
        max_seconds=5,
    )
    assert parsed.entries[0].summary == "deep"


def test_huge_title_and_many_entries_stay_bounded() -> None:
    items = [
        {"title": f"Entry {i} " + "x" * 200, "link": f"https://n.example/{i}"} for i in range(1000)
    ]
    items.append({"title": "T" * 1_000_000, "link": "https://n.example/big"})
    parsed = bounded_parse(rss(items), max_seconds=10)
    assert len(parsed.entries) == 1001


# --- many feeds at once -------------------------------------------------------------------


HOSTILE = {
    "/drip": dict(body=endless(b"<rss>"), drip=0.05),
    "/stall": dict(body=rss([{"title": "x"}]), drip=5.0, chunk=20),
    "/huge": dict(body=endless(b"<" * 65536, limit=50 * 2**20)),
    "/bomb": dict(
        body=gzip.compress(b"\0" * 30 * 2**20),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/xml"},
    ),
    "/loop": dict(body=b"", redirect_to="/loop", status=301),
    "/html": dict(
        body=b"<!DOCTYPE html><html><body>Home</body></html>", headers={"Content-Type": "text/html"}
    ),
    "/500": dict(body=b"boom", status=500),
    "/garbage": dict(body=bytes(range(256)) * 100),
    "/lol": dict(body=billion_laughs()),
}


def test_hostile_feeds_do_not_stop_healthy_ones() -> None:
    settings = FetchConfig(
        connect_timeout=1,
        read_timeout=0.5,
        total_timeout=1.0,
        max_bytes=2 * 2**20,
        per_host=2,
        concurrency=16,
    )
    servers = [FeedServer().start() for _ in range(4)]
    try:
        healthy: dict[str, str] = {}
        hostile: list[str] = []
        for i in range(12):
            s = servers[i % 4]
            build = rss if i % 2 else atom
            s.route(
                f"/ok{i}",
                build(
                    [
                        {
                            "title": f"Healthy {i}",
                            "link": f"https://ok.example/{i}",
                            "guid": f"tag:ok.example,2025:{i}",
                        }
                    ]
                ),
            )
            healthy[s.url(f"/ok{i}")] = f"Healthy {i}"
        for n, (path, options) in enumerate(HOSTILE.items()):
            s = servers[n % 4]
            s.route(path, **options)  # type: ignore[arg-type]
            hostile.append(s.url(path))

        async def poll(fetcher: Fetcher, url: str) -> tuple[FetchResult, object]:
            result = await fetcher.fetch_feed(url)
            if not result.ok or result.body is None:
                return result, result.error
            try:
                parsed = await asyncio.to_thread(
                    parse_feed, result.body, result.headers, result.final_url, NOW
                )
            except ParseError as exc:
                return result, exc
            return result, parsed

        async def main() -> list[tuple[FetchResult, object]]:
            async with Fetcher(settings) as fetcher:
                return await asyncio.gather(*(poll(fetcher, u) for u in [*hostile, *healthy]))

        started = time.monotonic()
        outcomes = asyncio.run(main())
        elapsed = time.monotonic() - started
    finally:
        for s in servers:
            s.stop()

    by_url = {result.url: outcome for result, outcome in outcomes}
    for url, title in healthy.items():
        outcome = by_url[url]
        assert isinstance(outcome, ParsedFeed), f"{url}: {outcome}"
        assert [e.title for e in outcome.entries] == [title]
    for url in hostile:
        outcome = by_url[url]
        if isinstance(outcome, ParsedFeed):  # billion laughs: parsed, unexpanded
            assert all("lollol" not in e.title for e in outcome.entries), url
        else:
            assert outcome, f"{url} failed without a reason"
    assert elapsed < 8, f"took {elapsed:.1f} s"
