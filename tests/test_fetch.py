"""Fetching against a real local HTTP server: validators, statuses, redirects, limits."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

import monitor.ingest.fetch
from monitor.config import FetchConfig
from monitor.ingest.fetch import DEFAULT_USER_AGENT, Fetcher, FetchResult, Validators
from monitor.ingest.netguard import IPAddress, resolve_public
from monitor.ingest.parse import parse_feed
from monitor.testing.feedserver import FeedServer, atom, endless, http_date, rss

T = TypeVar("T")
FAST = FetchConfig(connect_timeout=2, read_timeout=2, total_timeout=5, max_redirects=5)
ITEMS = [{"title": "Kim meets Putin", "link": "https://news.example/1", "guid": "g-0000001"}]
HTML = b"<!DOCTYPE html><html><head><title>A</title></head><body><p>Hi</p></body></html>"


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def run(settings: FetchConfig, job: Callable[[Fetcher], Awaitable[T]]) -> T:
    async def main() -> T:
        async with Fetcher(settings) as fetcher:
            return await job(fetcher)

    return asyncio.run(main())


def feed(
    server: FeedServer,
    path: str,
    validators: Validators | None = None,
    settings: FetchConfig = FAST,
) -> FetchResult:
    return run(settings, lambda f: f.fetch_feed(server.url(path), validators))


def last_headers(server: FeedServer, path: str) -> dict[str, str]:
    return [h for p, h in server.requests if p == path][-1]


# --- success --------------------------------------------------------------------------


def test_rss_and_atom_fetch_and_parse(server: FeedServer) -> None:
    server.route("/ok.rss", rss(ITEMS))
    server.route("/ok.atom", atom(ITEMS), headers={"Content-Type": "application/atom+xml"})
    for path in ("/ok.rss", "/ok.atom"):
        result = feed(server, path)
        assert result.ok and result.status == 200 and result.final_url == result.url
        assert result.nbytes == len(result.body or b"") > 0 and result.duration > 0
        parsed = parse_feed(result.body or b"", result.headers, result.final_url, datetime.now(UTC))
        assert [e.title for e in parsed.entries] == ["Kim meets Putin"]


def test_user_agent_names_the_project_unless_configured(server: FeedServer) -> None:
    server.route("/ua", rss(ITEMS))
    feed(server, "/ua")
    assert last_headers(server, "/ua")["user-agent"] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("monitor/")
    assert "+https://github.com/monitor-project/monitor" in DEFAULT_USER_AGENT
    feed(server, "/ua", settings=FAST.model_copy(update={"user_agent": "custom/1"}))
    assert last_headers(server, "/ua")["user-agent"] == "custom/1"


def test_gzip_is_decoded(server: FeedServer) -> None:
    body = rss(ITEMS * 1)
    server.route("/gz", body, gzip=True)
    result = feed(server, "/gz")
    assert result.ok and result.body == body and result.headers["content-encoding"] == "gzip"
    assert "gzip" in last_headers(server, "/gz")["accept-encoding"]


def test_headers_have_lower_case_names(server: FeedServer) -> None:
    server.route("/hdr", rss(ITEMS), headers={"X-Custom-Thing": "1"})
    result = feed(server, "/hdr")
    assert result.headers["x-custom-thing"] == "1" and "content-type" in result.headers


# --- conditional GET -------------------------------------------------------------------


def test_304_with_etag(server: FeedServer) -> None:
    server.route("/etag", rss(ITEMS), etag=True)
    first = feed(server, "/etag")
    assert first.etag and first.body
    second = feed(server, "/etag", Validators(etag=first.etag))
    assert last_headers(server, "/etag")["if-none-match"] == first.etag
    assert second.not_modified and second.ok and second.body is None
    assert second.etag == first.etag
    server.update("/etag", rss([*ITEMS, {"title": "New", "link": "https://news.example/2"}]))
    third = feed(server, "/etag", Validators(etag=first.etag))
    assert third.status == 200 and third.etag != first.etag


def test_304_with_last_modified_keeps_old_validators(server: FeedServer) -> None:
    stamp = http_date(datetime(2025, 11, 1, tzinfo=UTC))
    server.route("/lm", rss(ITEMS), last_modified=stamp)
    first = feed(server, "/lm")
    assert first.last_modified == stamp and first.etag is None
    second = feed(server, "/lm", Validators(etag=None, last_modified=stamp))
    assert last_headers(server, "/lm")["if-modified-since"] == stamp
    assert "if-none-match" not in last_headers(server, "/lm")
    assert second.not_modified and second.last_modified == stamp


def test_no_conditional_headers_without_validators(server: FeedServer) -> None:
    server.route("/plain", rss(ITEMS), etag=True)
    feed(server, "/plain")
    sent = last_headers(server, "/plain")
    assert "if-none-match" not in sent and "if-modified-since" not in sent


# --- HTTP errors -------------------------------------------------------------------------


def test_429_retry_after_seconds(server: FeedServer) -> None:
    server.route("/429", "slow down", status=429, headers={"Retry-After": "120"})
    result = feed(server, "/429")
    assert result.status == 429 and result.retry_after == 120.0 and not result.ok
    assert result.error is not None and result.error.startswith("HTTP 429 Too Many Requests")


def test_503_retry_after_http_date(server: FeedServer) -> None:
    when = http_date(datetime.now(UTC) + timedelta(seconds=300))
    server.route("/503", "down", status=503, headers={"Retry-After": when})
    result = feed(server, "/503")
    assert result.status == 503 and result.retry_after is not None
    assert 250 <= result.retry_after <= 301


def test_500(server: FeedServer) -> None:
    server.route("/500", "boom", status=500)
    result = feed(server, "/500")
    assert result.error == "HTTP 500 Internal Server Error" and result.body is None
    assert not result.gone and result.retry_after is None


def test_410_gone(server: FeedServer) -> None:
    server.route("/410", "", status=410)
    result = feed(server, "/410")
    assert result.gone and result.error == "HTTP 410 Gone"


def test_404(server: FeedServer) -> None:
    assert feed(server, "/never-registered").error == "HTTP 404 Not Found"


def test_validators_are_kept_on_error(server: FeedServer) -> None:
    server.route("/err-etag", "x", status=502)
    result = feed(server, "/err-etag", Validators(etag='"v1"', last_modified="yesterday"))
    assert result.etag == '"v1"' and result.last_modified == "yesterday"


# --- redirects -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_sets_moved_to(server: FeedServer, status: int) -> None:
    server.route(f"/new{status}", rss(ITEMS))
    server.route(f"/old{status}", redirect_to=server.url(f"/new{status}"), status=status)
    result = feed(server, f"/old{status}")
    assert result.ok and result.moved_to == server.url(f"/new{status}")
    assert result.final_url == server.url(f"/new{status}")


@pytest.mark.parametrize("status", [302, 307])
def test_temporary_redirect_has_no_moved_to(server: FeedServer, status: int) -> None:
    server.route(f"/tmp-target{status}", rss(ITEMS))
    server.route(f"/tmp{status}", redirect_to=server.url(f"/tmp-target{status}"), status=status)
    result = feed(server, f"/tmp{status}")
    assert result.ok and result.moved_to is None
    assert result.final_url == server.url(f"/tmp-target{status}")


def test_permanent_then_temporary_moves_to_the_permanent_target(server: FeedServer) -> None:
    server.route("/chain-end", rss(ITEMS))
    server.route("/chain-mid", redirect_to=server.url("/chain-end"), status=302)
    server.route("/chain-start", redirect_to="/chain-mid", status=301)  # relative Location
    result = feed(server, "/chain-start")
    assert result.ok and result.moved_to == server.url("/chain-mid")


def test_permanent_redirect_to_an_error_has_no_moved_to(server: FeedServer) -> None:
    server.route("/moved-broken", redirect_to=server.url("/never-there"), status=301)
    result = feed(server, "/moved-broken")
    assert result.error == "HTTP 404 Not Found" and result.moved_to is None


def test_redirect_loop(server: FeedServer) -> None:
    server.route("/loop-a", redirect_to=server.url("/loop-b"), status=301)
    server.route("/loop-b", redirect_to=server.url("/loop-a"), status=302)
    result = feed(server, "/loop-a")
    assert result.error is not None and result.error.startswith("redirect loop")
    assert server.count("/loop-a") >= 1 and result.moved_to is None


def test_too_many_redirects(server: FeedServer) -> None:
    for i in range(6):
        server.route(f"/hop{i}", redirect_to=server.url(f"/hop{i + 1}"))
    server.route("/hop6", rss(ITEMS))
    settings = FAST.model_copy(update={"max_redirects": 3})
    result = feed(server, "/hop0", settings=settings)
    assert result.error == "too many redirects (more than 3)"
    assert server.count("/hop4") == 0


def test_redirect_without_location(server: FeedServer) -> None:
    server.route("/noloc", "", status=301)
    assert feed(server, "/noloc").error == "HTTP 301 redirect without a Location header"


def test_conditional_headers_follow_redirects(server: FeedServer) -> None:
    server.route("/cond-new", rss(ITEMS), etag='"abc"')
    server.route("/cond-old", redirect_to=server.url("/cond-new"), status=301)
    result = feed(server, "/cond-old", Validators(etag='"abc"'))
    assert result.not_modified and result.moved_to == server.url("/cond-new")


# --- limits ----------------------------------------------------------------------------


def test_declared_oversized_body_is_refused_without_reading(server: FeedServer) -> None:
    size = 50 * 1024 * 1024
    server.route(
        "/huge-declared",
        endless(b"x" * 65536, limit=size),
        headers={"Content-Length": str(size), "Content-Type": "application/xml"},
    )
    settings = FAST.model_copy(update={"max_bytes": 1024 * 1024})
    result = feed(server, "/huge-declared", settings=settings)
    assert result.error == f"response larger than 1048576 bytes (Content-Length: {size})"
    assert result.status == 200 and result.body is None


def test_streamed_oversized_body_is_aborted_at_the_cap(server: FeedServer) -> None:
    server.route(
        "/huge-stream",
        endless(b"<" * 65536, limit=50 * 1024 * 1024),
        headers={"Content-Type": "application/xml"},
    )
    settings = FAST.model_copy(update={"max_bytes": 1024 * 1024})
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = feed(server, "/huge-stream", settings=settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.error == "response larger than 1048576 bytes"
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"
    assert time.monotonic() - started < 5


def test_gzip_bomb_is_aborted_on_decoded_size(server: FeedServer) -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024
    server.route(
        "/bomb", bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/xml"}
    )
    settings = FAST.model_copy(update={"max_bytes": 1024 * 1024})
    tracemalloc.start()
    try:
        result = feed(server, "/bomb", settings=settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.error == "response larger than 1048576 bytes"
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


def test_unsupported_content_encoding(server: FeedServer) -> None:
    server.route("/br", b"\x0b\x02\x80abc", headers={"Content-Encoding": "br"})
    assert feed(server, "/br").error == "unsupported Content-Encoding 'br'"


def test_slow_endless_drip_is_bounded_by_the_total_timeout(server: FeedServer) -> None:
    server.route("/drip", endless(b"<rss>"), drip=0.02, headers={"Content-Type": "text/xml"})
    settings = FAST.model_copy(update={"read_timeout": 1.0, "total_timeout": 0.5})
    started = time.monotonic()
    result = feed(server, "/drip", settings=settings)
    assert result.error == "timed out after 0.5 s in total" and result.status == 200
    assert time.monotonic() - started < 2


def test_read_timeout(server: FeedServer) -> None:
    server.route("/stall", rss(ITEMS), drip=2.0, chunk=10)
    settings = FAST.model_copy(update={"read_timeout": 0.2, "total_timeout": 5})
    assert feed(server, "/stall", settings=settings).error == "read timed out after 0.2 s"


def test_connection_refused() -> None:
    with FeedServer() as gone:
        url = gone.url("/feed")
    result = run(FAST, lambda f: f.fetch_feed(url))
    host_port = url.split("/")[2]
    assert result.error == f"cannot connect: {host_port}: Connection refused"
    assert result.status is None


def test_unsupported_scheme_is_an_error_not_an_exception() -> None:
    result = run(FAST, lambda f: f.fetch_feed("ftp://files.example/feed.xml"))
    assert result.error is not None and "only http and https" in result.error


def test_html_page_instead_of_feed(server: FeedServer) -> None:
    server.route("/page", HTML, headers={"Content-Type": "text/html; charset=utf-8"})
    result = feed(server, "/page")
    assert result.error == "not a feed: text/html page" and result.body is None


def test_feed_served_as_text_html_is_still_accepted(server: FeedServer) -> None:
    server.route("/mislabelled", rss(ITEMS), headers={"Content-Type": "text/html"})
    assert feed(server, "/mislabelled").ok


def test_image_instead_of_feed(server: FeedServer) -> None:
    server.route("/img", b"\x89PNG\r\n", headers={"Content-Type": "image/png"})
    assert feed(server, "/img").error == "not a feed: image/png"


# --- concurrency -----------------------------------------------------------------------


class CountingTransport(httpx.AsyncBaseTransport):
    """The real transport, counting requests in flight (until their body is closed)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.active = 0
        self.max_active = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException:
            self.active -= 1
            raise
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Counted(response.stream, self),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Counted(httpx.AsyncByteStream):
    def __init__(self, inner: Any, owner: CountingTransport) -> None:
        self.inner, self.owner, self.closed = inner, owner, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.owner.active -= 1
        await self.inner.aclose()


@pytest.mark.parametrize(("per_host", "concurrency", "expected"), [(2, 32, 2), (8, 3, 3)])
def test_per_host_and_global_limits(
    server: FeedServer, per_host: int, concurrency: int, expected: int
) -> None:
    server.route("/slow", rss(ITEMS), drip=0.02, chunk=200)
    transport = CountingTransport()
    settings = FAST.model_copy(update={"per_host": per_host, "concurrency": concurrency})

    async def main() -> list[FetchResult]:
        async with Fetcher(settings, transport=transport) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch_feed(server.url("/slow")) for _ in range(8))
            )

    results = asyncio.run(main())
    assert all(r.ok for r in results)
    assert transport.max_active == expected


# --- articles -------------------------------------------------------------------------


def test_article_fetch_returns_html_text(server: FeedServer) -> None:
    page = "<!DOCTYPE html><html><head><meta charset='windows-1251'></head>"
    page += "<body><p>Северная Корея</p></body></html>"
    server.route("/article", page.encode("windows-1251"), headers={"Content-Type": "text/html"})
    result = run(FAST, lambda f: f.fetch_article(server.url("/article"), allow_private=True))
    assert result.ok and result.text is not None and "Северная Корея" in result.text
    assert "text/html" in last_headers(server, "/article")["accept"]


def test_article_must_be_html(server: FeedServer) -> None:
    server.route("/doc.pdf", b"%PDF-1.7" + b"0" * 1000, headers={"Content-Type": "application/pdf"})
    result = run(FAST, lambda f: f.fetch_article(server.url("/doc.pdf"), allow_private=True))
    assert result.error == "not an HTML page: application/pdf" and result.body is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/article", "a loopback address"),
        ("http://localhost:{port}/article", "a loopback address"),
        ("http://[::1]:{port}/article", "a loopback address"),
        ("http://10.0.0.5/internal", "a private address"),
        ("http://192.168.1.1/admin", "a private address"),
        ("http://172.16.0.1/", "a private address"),
        ("http://169.254.1.1/", "a link-local address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/", "a cloud metadata address"),
        ("http://0.0.0.0:{port}/", "an unspecified address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://[::ffff:127.0.0.1]:{port}/", "a loopback address"),
        ("http://2130706433:{port}/", "a loopback address"),
    ],
)
def test_article_ssrf_refusal(server: FeedServer, url: str, reason: str) -> None:
    server.route("/article", HTML, headers={"Content-Type": "text/html"})
    target = url.format(port=server.port)
    server.clear()
    result = run(FAST, lambda f: f.fetch_article(target, allow_private=False))
    assert result.error is not None and reason in result.error and target in result.error
    assert result.status is None and server.requests == []


def test_article_allowed_on_loopback_with_allow_private(server: FeedServer) -> None:
    server.route("/article", HTML, headers={"Content-Type": "text/html"})
    result = run(FAST, lambda f: f.fetch_article(server.url("/article"), allow_private=True))
    assert result.ok and result.body == HTML


def test_every_redirect_hop_of_an_article_is_checked(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server is on loopback, so only its exact origin is treated as public here;
    the redirect targets are checked by the real guard and refused before any request."""
    origin = server.url("/")

    async def guard(url: str) -> tuple[tuple[IPAddress, ...], str | None]:
        if url.startswith(origin):
            return (ipaddress.ip_address("127.0.0.1"),), None
        return await resolve_public(url)

    monkeypatch.setattr(monitor.ingest.fetch, "resolve_public", guard)
    secret = f"http://localhost:{server.port}/secret"
    server.route("/secret", HTML, headers={"Content-Type": "text/html"})
    server.route("/to-secret", redirect_to=secret)
    server.route("/to-metadata", redirect_to="http://169.254.169.254/latest/meta-data/")
    server.clear()

    async def both(f: Fetcher) -> list[Any]:
        return [
            await f.fetch_article(server.url(p), allow_private=False)
            for p in ("/to-secret", "/to-metadata")
        ]

    to_secret, to_metadata = run(FAST, both)
    assert to_secret.error is not None and "a loopback address" in to_secret.error
    assert to_metadata.error is not None and "a cloud metadata address" in to_metadata.error
    assert server.count("/secret") == 0


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://[::1", "invalid URL 'http://[::1'"),
        ("http://localhost:99999/", "invalid URL 'http://localhost:99999/'"),
        ("http:///feed.xml", "invalid URL 'http:///feed.xml': no host"),
        ("http://xn--a.example/", "invalid host name"),
    ],
)
def test_malformed_urls_are_errors_not_exceptions(url: str, error: str) -> None:
    async def both(f: Fetcher) -> list[FetchResult]:
        return [await f.fetch_feed(url), await f.fetch_article(url, allow_private=True)]

    for result in run(FAST, both):
        assert result.error is not None and result.error.startswith(error)


def test_feed_polls_reuse_the_connection_to_a_host(server: FeedServer) -> None:
    """Conditional polls answered 304 keep their connection (httpx's client closed it
    after every 304, whose empty body it was never asked to read)."""
    server.route("/feed.xml", rss(ITEMS), etag='"v1"')

    async def job(f: Fetcher) -> list[FetchResult]:
        return [await f.fetch_feed(server.url("/feed.xml"), Validators('"v1"')) for _ in range(5)]

    server.clear()
    results = run(FAST, job)
    assert [r.status for r in results] == [304] * 5
    assert server.connections == 1


def test_an_intranet_feed_may_redirect_within_the_intranet(server: FeedServer) -> None:
    """The feed client reports the address that answered: a redirect from a private
    address may lead to another (the operator configured an intranet feed)."""
    server.route("/internal.xml", rss(ITEMS))
    server.route("/moved.xml", redirect_to=f"http://localhost:{server.port}/internal.xml")
    result = feed(server, "/moved.xml")
    assert result.ok and result.final_url.endswith("/internal.xml")


# --- the feed client: unchecked feed hops go straight to aiohttp ------------------------


def test_feed_hops_do_not_go_through_httpx(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a caller's transport, the feed URL and its unchecked redirects are fetched
    on aiohttp (httpx's cost per request is most of a 304 poll's); articles stay on httpx."""
    server.route("/direct.xml", rss(ITEMS), etag='"d1"', gzip=True)
    server.route("/direct-old", redirect_to=server.url("/direct.xml"), status=301)
    server.route("/direct-page", HTML, headers={"Content-Type": "text/html"})
    streams: list[str] = []
    stream = httpx.AsyncClient.stream

    def counted(self: httpx.AsyncClient, method: str, url: Any, **kwargs: Any) -> Any:
        streams.append(str(url))
        return stream(self, method, url, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "stream", counted)

    async def job(f: Fetcher) -> list[FetchResult]:
        return [
            await f.fetch_feed(server.url("/direct-old")),
            await f.fetch_feed(server.url("/direct.xml"), Validators('"d1"')),
            await f.fetch_article(server.url("/direct-page"), allow_private=True),
        ]

    moved, not_modified, page = run(FAST, job)
    assert moved.ok and moved.body == rss(ITEMS) and moved.moved_to == server.url("/direct.xml")
    assert not_modified.not_modified and page.ok
    assert streams == [server.url("/direct-page")]


def test_every_feed_answer_gives_its_connection_back(server: FeedServer) -> None:
    """Redirects, error pages and 304s are read to their end (or their connection is
    dropped), so polls to one host go on over one connection."""
    server.route("/pool.xml", rss(ITEMS), etag='"p1"')
    server.route("/pool-old", redirect_to=server.url("/pool.xml"), status=301)
    server.route("/pool-broken", "broken\n" * 100, status=500)

    async def job(f: Fetcher) -> list[FetchResult]:
        return [
            await f.fetch_feed(server.url(p), Validators('"p1"'))
            for p in ("/pool-old", "/pool-broken", "/pool.xml", "/missing", "/pool.xml")
        ]

    server.clear()
    results = run(FAST, job)
    assert [r.status for r in results] == [304, 500, 304, 404, 304]
    assert results[0].moved_to == server.url("/pool.xml")
    assert server.connections == 1


def test_a_slow_error_page_does_not_hold_the_answer(server: FeedServer) -> None:
    server.route("/slow-500", "x" * 2000, status=500, drip=0.2, chunk=100)
    started = time.monotonic()
    result = feed(server, "/slow-500")
    assert result.error == "HTTP 500 Internal Server Error"
    assert time.monotonic() - started < 1.5


def test_a_feed_redirect_from_a_public_address_to_a_private_one_is_refused(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed client reports the address that answered (here made to count as public),
    and the redirect it gave is then checked like an article's: refused, never fetched."""
    monkeypatch.setattr(monitor.ingest.fetch, "is_public", lambda ip: str(ip) == "127.0.0.1")
    secret = f"http://localhost:{server.port}/private.xml"
    server.route("/private.xml", rss(ITEMS))
    server.route("/public.xml", redirect_to=secret, status=301)
    server.clear()
    result = feed(server, "/public.xml")
    assert result.error is not None and "a loopback address" in result.error
    assert result.error.startswith(f"redirect from {server.url('/public.xml')} refused")
    assert server.count("/private.xml") == 0


def test_feed_polls_keep_and_send_no_cookies(server: FeedServer) -> None:
    server.route("/cookie.xml", rss(ITEMS), headers={"Set-Cookie": "session=abc; Path=/"})

    async def job(f: Fetcher) -> list[FetchResult]:
        return [await f.fetch_feed(server.url("/cookie.xml")) for _ in range(2)]

    first, second = run(FAST, job)
    assert first.ok and second.ok and first.headers["set-cookie"].startswith("session=abc")
    assert "cookie" not in last_headers(server, "/cookie.xml")


def test_a_body_that_stops_short_is_a_read_timeout(server: FeedServer) -> None:
    server.route(
        "/short.xml",
        endless(b"<rss>", limit=100),
        headers={"Content-Length": "1000", "Content-Type": "application/xml"},
    )
    settings = FAST.model_copy(update={"read_timeout": 0.3})
    result = feed(server, "/short.xml", settings=settings)
    assert result.error == "read timed out after 0.3 s" and result.status == 200
