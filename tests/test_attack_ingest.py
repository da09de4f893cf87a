"""Attacks on the ingest (issue 13, cases 2, 3, 4, 6, 9): one hostile feed, served by a
real local server, polled in a real Runtime cycle next to a healthy feed. Each test
asserts that the monitor keeps going, the healthy feed still alerts, and the store (what
`monitor status` and /healthz read) shows the failure."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import monitor.ingest.fetch
import monitor.ingest.parse
from monitor.config import Config, FetchConfig
from monitor.hookspecs import hookimpl
from monitor.ingest.fetch import Fetcher
from monitor.models import Classification, Item
from monitor.service.runtime import CycleReport, Runtime
from monitor.store.base import FeedRow
from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.kit import CAPTURE_KIND, NotifierCapture, host_with

NOW = datetime.now(UTC)


class Keyword:
    """A classifier: relevant when the title holds "ALERT" (or any `words`)."""

    def __init__(self, *words: str) -> None:
        self.words = words or ("ALERT",)

    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        hit = any(w in item.title for w in self.words)
        return Classification(
            relevant=hit,
            score=0.9 if hit else 0.0,
            types={"summit": 0.9} if hit else {},
            primary="summit" if hit else None,
        )


@dataclass
class Outcome:
    report: CycleReport
    feeds: dict[str, FeedRow]
    titles: list[str]  # every stored item's title
    alerted: list[str]  # the titles the notifier received
    seconds: float


def config_for(tmp_path: Path, feeds: dict[str, str], **sections: Any) -> Config:
    data: dict[str, Any] = {
        "store": {"path": str(tmp_path / "monitor.db")},
        "fetch": {"connect_timeout": 2, "read_timeout": 2, "total_timeout": 5},
        "feeds": [
            {"name": n, "url": u, "fulltext": False, "allow_private": True}
            for n, u in feeds.items()
        ],
        "notifiers": {"inbox": {"kind": CAPTURE_KIND}},
    }
    data.update(sections)
    return Config.model_validate(data)


def cycle(config: Config, *plugins: object, capture: NotifierCapture | None = None) -> Outcome:
    """One `monitor once` cycle in process, then what the store says about it."""
    capture = capture or NotifierCapture()
    host = host_with(*(plugins or (Keyword(),)), config=config, startup=False)
    host.register(capture, "capture", "test")

    async def main() -> Outcome:
        started = time.monotonic()
        async with Runtime(config, host=host) as runtime:
            report = await runtime.cycle(flush_digests=True)
            seconds = time.monotonic() - started
            feeds = {r.name: r for r in runtime.store.feeds()}
            with runtime.store.engine.connect() as conn:
                from sqlalchemy import select

                from monitor.store import schema as t

                titles = list(conn.execute(select(t.items.c.title)).scalars())
        return Outcome(report, feeds, titles, capture.titles(), seconds)

    return asyncio.run(main())


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.route("/good.xml", rss([{"title": "ALERT good feed", "link": "https://ok.example/1"}]))
        yield s


def raw_rss(items: str, declaration: str = '<?xml version="1.0"?>') -> bytes:
    return (
        f'{declaration}<rss version="2.0"><channel><title>T</title><link>https://x.example/</link>'
        f"{items}</channel></rss>"
    ).encode()


# --- case 2: any parser exception is a failed poll; broken feeds are not healthy ------------


def test_invalid_character_references_do_not_kill_the_feed(
    tmp_path: Path, server: FeedServer
) -> None:
    server.route(
        "/refs.xml",
        raw_rss(
            "<item><title>ALERT surrogate &#xD800; here</title><link>https://x.example/a</link>"
            "</item><item><title>ALERT beyond &#x110000; unicode</title>"
            "<link>https://x.example/b</link></item>"
        ),
        headers={"Content-Type": "application/rss+xml"},
    )
    out = cycle(
        config_for(tmp_path, {"refs": server.url("/refs.xml"), "good": server.url("/good.xml")})
    )
    refs = out.feeds["refs"]
    assert refs.last_error is None and refs.last_success_at is not None
    assert (
        "ALERT surrogate \ufffd here" in out.titles and "ALERT beyond \ufffd unicode" in out.titles
    )
    assert sorted(out.alerted) == [
        "ALERT beyond \ufffd unicode",
        "ALERT good feed",
        "ALERT surrogate \ufffd here",
    ]


@pytest.mark.parametrize("which", ["fast path", "feedparser"])
def test_any_parser_exception_is_a_failed_poll_with_backoff(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    real_parse = monitor.ingest.parse.feedparser.parse
    real_fast = monitor.ingest.parse.fast_parse

    def exploding(stream: io.BytesIO, **kwargs: Any) -> Any:
        if b"EXPLODE" in stream.getvalue():
            raise RuntimeError("feedparser bug")
        return real_parse(stream, **kwargs)

    def exploding_fast(body: bytes, headers: Any) -> Any:
        if b"EXPLODE" in body:
            if which == "feedparser":
                return None  # the fast path declines: feedparser parses it
            raise RuntimeError("fast path bug")
        return real_fast(body, headers)

    monkeypatch.setattr(monitor.ingest.parse.feedparser, "parse", exploding)
    monkeypatch.setattr(monitor.ingest.parse, "fast_parse", exploding_fast)
    server.route("/boom.xml", rss([{"title": "EXPLODE", "link": "https://x.example/e"}]))
    out = cycle(
        config_for(tmp_path, {"boom": server.url("/boom.xml"), "good": server.url("/good.xml")})
    )
    boom = out.feeds["boom"]
    assert boom.consecutive_failures == 1 and boom.last_error is not None
    assert f"RuntimeError: {which} bug" in boom.last_error
    assert boom.next_poll_at is not None and boom.next_poll_at > NOW + timedelta(seconds=30)
    assert out.alerted == ["ALERT good feed"]


def test_a_truncated_feed_without_usable_entries_is_not_healthy(
    tmp_path: Path, server: FeedServer
) -> None:
    server.route(
        "/cut.xml",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>',
        headers={"Content-Type": "application/rss+xml"},
    )
    out = cycle(
        config_for(tmp_path, {"cut": server.url("/cut.xml"), "good": server.url("/good.xml")})
    )
    cut = out.feeds["cut"]
    assert cut.last_success_at is None and cut.consecutive_failures == 1
    assert cut.last_error is not None and "XML error" in cut.last_error
    assert out.alerted == ["ALERT good feed"]


# --- case 6: parse time is bounded ----------------------------------------------------------


def test_a_feed_with_many_attributes_on_one_element_fails_fast(
    tmp_path: Path, server: FeedServer
) -> None:
    attributes = " ".join(f'a{i}="v"' for i in range(50_000))
    server.route(
        "/attrs.xml",
        raw_rss(
            f"<item {attributes}><title>ALERT attrs</title><link>https://x.example/q</link></item>"
        ),
        headers={"Content-Type": "application/rss+xml"},
    )
    out = cycle(
        config_for(tmp_path, {"attrs": server.url("/attrs.xml"), "good": server.url("/good.xml")})
    )
    assert out.seconds < 15, f"took {out.seconds:.1f} s"
    attrs = out.feeds["attrs"]
    assert attrs.consecutive_failures == 1 and "attributes" in (attrs.last_error or "")
    assert out.alerted == ["ALERT good feed"]


def test_parsing_in_a_worker_process_gives_up_at_its_deadline() -> None:
    from monitor.ingest.parse import ParseError, parse_feed_bounded

    body = rss([{"title": f"Entry {i}", "link": f"https://x.example/{i}"} for i in range(3000)])
    started = time.monotonic()
    with pytest.raises(ParseError, match=r"longer than 0\.2 s"):
        parse_feed_bounded(
            body, {"content-type": "application/rss+xml"}, "https://x/f", NOW, deadline=0.2
        )
    assert time.monotonic() - started < 2
    # the next parse gets a fresh worker and works
    parsed = parse_feed_bounded(body[:2000] + b"</channel></rss>", {}, "https://x/f", NOW)
    assert parsed.entries


# --- case 4: huge Retry-After -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["300000000000", "99999999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_huge_retry_after_on_a_feed_waits_at_most_a_day(
    tmp_path: Path, server: FeedServer, value: str
) -> None:
    server.route("/busy.xml", b"busy", status=503, headers={"Retry-After": value})
    out = cycle(
        config_for(tmp_path, {"busy": server.url("/busy.xml"), "good": server.url("/good.xml")})
    )
    busy = out.feeds["busy"]
    assert busy.consecutive_failures == 1 and "HTTP 503" in (busy.last_error or "")
    assert busy.next_poll_at is not None
    assert busy.next_poll_at <= datetime.now(UTC) + timedelta(hours=24, minutes=1)
    assert out.alerted == ["ALERT good feed"]


# --- case 9: legacy encodings without a (correct) declaration ---------------------------------

RUSSIAN = "Россия и КНДР подписали соглашение о военном сотрудничестве"
SUMMARY_RU = "Делегация Северной Кореи прибыла в Москву для переговоров о сотрудничестве."
JAPANESE = "ロシアと北朝鮮が軍事協力に関する協定に署名した"
SUMMARY_JA = "北朝鮮の代表団が軍事協力に関する協議のためモスクワに到着した。"
KOREAN = "러시아와 북한, 군사 협력 협정 체결"
SUMMARY_KO = "북한 대표단이 군사 협력 회담을 위해 모스크바에 도착했다."
CHINESE = "俄罗斯与朝鲜签署军事合作协议"
SUMMARY_ZH = "朝鲜代表团抵达莫斯科，就军事合作举行会谈。"


def legacy(
    title: str, summary: str, encoding: str, declare: str | None, bom: bool = False
) -> bytes:
    declaration = (
        f'<?xml version="1.0" encoding="{declare}"?>' if declare else '<?xml version="1.0"?>'
    )
    body = raw_rss(
        f"<item><title>{title}</title><link>https://x.example/{encoding}</link>"
        f"<description>{summary}</description></item>",
        declaration,
    ).decode()
    return (b"\xef\xbb\xbf" if bom else b"") + body.encode(encoding)


ENCODED = {
    "cp1251-undeclared": (RUSSIAN, legacy(RUSSIAN, SUMMARY_RU, "cp1251", None)),
    "cp1251-as-latin1": (RUSSIAN, legacy(RUSSIAN, SUMMARY_RU, "cp1251", "iso-8859-1")),
    "utf8-bom-declared-cp1251": (
        RUSSIAN,
        legacy(RUSSIAN, SUMMARY_RU, "utf-8", "windows-1251", bom=True),
    ),
    "shift_jis-undeclared": (JAPANESE, legacy(JAPANESE, SUMMARY_JA, "shift_jis", None)),
    "euc-kr-as-utf8": (KOREAN, legacy(KOREAN, SUMMARY_KO, "euc-kr", "utf-8")),
    "gb18030-undeclared": (CHINESE, legacy(CHINESE, SUMMARY_ZH, "gb18030", None)),
    "gb18030-as-gb2312": (CHINESE, legacy(CHINESE, SUMMARY_ZH, "gb18030", "gb2312")),
}


def test_legacy_encodings_are_detected_and_alerted(tmp_path: Path, server: FeedServer) -> None:
    feeds = {"good": server.url("/good.xml")}
    for name, (_, body) in ENCODED.items():
        server.route(f"/{name}.xml", body, headers={"Content-Type": "application/rss+xml"})
        feeds[name] = server.url(f"/{name}.xml")
    words = ("ALERT", "КНДР", "北朝鮮", "북한", "朝鲜")
    out = cycle(config_for(tmp_path, feeds), Keyword(*words))
    for name, (title, _) in ENCODED.items():
        assert title in out.titles, f"{name}: stored {[t for t in out.titles if t[:3] != 'ALE']}"
        assert out.feeds[name].last_error is None
    # one story per language (two Russian feeds report the same thing): each one alerted
    assert set(out.alerted) == {"ALERT good feed", RUSSIAN, JAPANESE, KOREAN, CHINESE}


# --- case 3: SSRF -----------------------------------------------------------------------------

PUBLIC = "93.184.216.34"


def test_dns_rebinding_cannot_steer_an_article_fetch_to_loopback(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name answers a public address once (the check), then loopback (the connect):
    the article must never be requested from the loopback server."""
    real = asyncio.BaseEventLoop.getaddrinfo
    answers = {"n": 0}

    async def rebinding(self: Any, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("rebind.test", b"rebind.test"):
            answers["n"] += 1
            address = PUBLIC if answers["n"] == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", rebinding)
    article = f"http://rebind.test:{server.port}/article"
    server.route(
        "/article",
        b"<html><body><p>SECRET</p></body></html>",
        headers={"Content-Type": "text/html"},
    )
    server.route("/news.xml", rss([{"title": "ALERT short item", "link": article}]))
    config = config_for(
        tmp_path,
        {"news": server.url("/news.xml"), "good": server.url("/good.xml")},
        fetch={"connect_timeout": 1, "read_timeout": 1, "total_timeout": 2},
    )
    feeds = [
        f.model_copy(update={"fulltext": True, "allow_private": f.name == "good"})
        for f in config.feeds
    ]
    out = cycle(config.model_copy(update={"feeds": feeds}))
    assert server.count("/article") == 0
    assert sorted(out.alerted) == ["ALERT good feed", "ALERT short item"]


def test_a_feed_redirect_from_a_public_address_into_the_network_is_refused(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server is on loopback: its first answer is taken as coming from a public
    address; the redirect target (localhost) is checked for real."""
    monkeypatch.setattr(monitor.ingest.fetch, "is_public", lambda address: True, raising=False)
    server.route(
        "/internal.xml", rss([{"title": "ALERT internal", "link": "https://in.example/1"}])
    )
    server.route(
        "/moved.xml", redirect_to=f"http://localhost:{server.port}/internal.xml", status=302
    )

    async def fetch(allow_private: bool) -> Any:
        async with Fetcher(FetchConfig(connect_timeout=2, total_timeout=5)) as f:
            return await f.fetch_feed(server.url("/moved.xml"), allow_private=allow_private)

    server.clear()
    refused = asyncio.run(fetch(False))
    assert refused.error is not None and "a loopback address" in refused.error
    assert "redirect" in refused.error and server.count("/internal.xml") == 0
    allowed = asyncio.run(fetch(True))  # the explicit opt-in for intranet feeds
    assert allowed.ok and b"ALERT internal" in (allowed.body or b"")


def test_article_connections_go_to_the_checked_address(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pinned client dials the address the guard approved, not a fresh lookup."""
    dialled: list[str] = []
    real_connect = monitor.ingest.fetch.httpcore.AnyIOBackend.connect_tcp

    async def spy(self: Any, host: str, port: int, **kwargs: Any) -> Any:
        dialled.append(host)
        return await real_connect(self, host, port, **kwargs)

    async def guard(url: str) -> tuple[tuple[Any, ...], str | None]:
        return (ipaddress.ip_address("127.0.0.1"),), None

    monkeypatch.setattr(monitor.ingest.fetch.httpcore.AnyIOBackend, "connect_tcp", spy)
    monkeypatch.setattr(monitor.ingest.fetch, "resolve_public", guard)
    server.route("/page", b"<html><body>hi</body></html>", headers={"Content-Type": "text/html"})

    async def fetch() -> Any:
        async with Fetcher(FetchConfig(connect_timeout=2, total_timeout=5)) as f:
            return await f.fetch_article(
                f"http://pinned.test:{server.port}/page", allow_private=False
            )

    result = asyncio.run(fetch())
    assert result.ok, result.error
    assert dialled == ["127.0.0.1"]
    host_header = [h for p, h in server.requests if p == "/page"][-1]
    assert {k.lower(): v for k, v in host_header.items()}["host"] == f"pinned.test:{server.port}"
