"""HTTP fetching of feeds and article pages that survives the real web.

Every limit is enforced here, once: connect/read/total time, redirects (followed by
hand so permanent moves and loops are visible), body size after decompression (gzip
bombs), global and per-host concurrency, and a guard against private addresses (see
`monitor.ingest.netguard` for which hops are checked). A checked hop is connected to the
very addresses that were checked: the guarded client's network backend never resolves
a name itself, it dials the pinned addresses (the Host header and the TLS server name
stay the URL's host). Problems never raise: they come back as `FetchResult.error`, a
sentence a person can act on.
"""

from __future__ import annotations

import asyncio
import codecs
import re
import ssl
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from types import MappingProxyType
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
import httpcore
import httpx

from monitor import __version__
from monitor.config import FetchConfig
from monitor.ingest.backoff import parse_retry_after
from monitor.ingest.feedhttp import as_httpx, feed_session, peer
from monitor.ingest.netguard import IPAddress, is_public, resolve_public

DEFAULT_USER_AGENT = f"monitor/{__version__} (+https://github.com/monitor-project/monitor)"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_NOT_FEED_PREFIXES = ("image/", "audio/", "video/", "font/")
_NOT_FEED_TYPES = frozenset({"application/pdf", "application/zip", "application/gzip"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRY_STATUSES = frozenset({429, 503})
_SNIFF_BYTES = 1024
_HTML_START = re.compile(
    rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S
)
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:rdf|channel)[\s>]", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_EMPTY_HEADERS: Mapping[str, str] = MappingProxyType({})
#: An answer's body read and dropped to keep its connection (a redirect's, an error page's).
_DISCARD_BYTES = 64 * 1024
_DISCARD_SECONDS = 0.25


@dataclass(frozen=True)
class Validators:
    """What the server gave last time, sent back so it can answer 304 Not Modified."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one fetch, successful or not; `error` says what went wrong."""

    url: str
    final_url: str
    status: int | None = None
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY_HEADERS)
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    gone: bool = False
    retry_after: float | None = None
    error: str | None = None
    duration: float = 0.0
    nbytes: int = 0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ("" when absent)."""
        return media_type(self.headers.get("content-type"))

    @property
    def text(self) -> str | None:
        """The body decoded as a web page: HTTP charset, else <meta charset>, else UTF-8."""
        if self.body is None:
            return None
        encoding = _charset(self.headers.get("content-type"))
        if encoding is None and (m := _META_CHARSET.search(self.body[:4096])):
            encoding = _known_codec(m.group(1).decode("ascii", "replace"))
        return self.body.decode(encoding or "utf-8", errors="replace")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _known_codec(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip().strip("'\"")).name
    except LookupError:
        return None


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value:
            return _known_codec(value)
    return None


def looks_like_html(body: bytes) -> bool:
    """True when the body starts like an HTML document (a web page, not a feed)."""
    head = body[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START.match(head)) and not _FEED_ROOT.search(head)


def _seconds(value: float) -> str:
    return f"{value:g} s"


class _Failure(Exception):
    """A fetch problem already phrased for people; becomes FetchResult.error."""


class _Decoder:
    """Bounded gzip/deflate decoding: never produces more than the caller's room.

    httpx's own decoders inflate a whole network chunk at once, so one 64 KiB chunk of
    a gzip bomb could become tens of megabytes before any size check could run.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: Any = self._new()
        self._raw_deflate_tried = False

    def _new(self) -> Any:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        if self.encoding == "deflate":
            return zlib.decompressobj(zlib.MAX_WBITS)
        return None

    def decode(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of `data`; raises _Failure once output would exceed `room`."""
        if self._zlib is None:
            if len(data) > room:
                raise _Failure("too large")
            return data
        out = bytearray()
        pending = data
        while pending:
            try:
                piece = self._zlib.decompress(pending, room - len(out) + 1)
            except zlib.error:
                if self.encoding == "deflate" and not self._raw_deflate_tried and not out:
                    # Some servers send raw deflate without the zlib header.
                    self._raw_deflate_tried = True
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise
            out += piece
            if len(out) > room:
                raise _Failure("too large")
            pending = self._zlib.unconsumed_tail
            if self._zlib.eof:
                pending = self._zlib.unused_data
                if pending and self.encoding != "deflate":  # another gzip member follows
                    self._zlib = self._new()
                else:
                    pending = b""
        return bytes(out)


@dataclass
class _Hop:
    """One HTTP exchange: status, lower-cased headers and (for 2xx) the decoded body."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes | None = None
    peer: str | None = None  # the IP address the connection went to, when known


@dataclass
class _Held:
    """A feed poll's slots (see `Fetcher.polling`): its host's, held by the poll
    itself for the hops to that host, and a global one, kept until the body is done."""

    host: str
    acquired: bool = False


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


BodyCheck = Callable[[str, bytes | None], str | None]
#: httpx for checked hops, articles and a caller's transport; aiohttp for unchecked feed hops.
Client = httpx.AsyncClient | aiohttp.ClientSession
Resolver = Callable[[str], Awaitable[tuple[tuple[IPAddress, ...], str | None]]]
_PIN_TTL = 300.0


class _Unpinned(httpcore.ConnectError):
    """The guarded client was asked to connect to a host nobody checked."""


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that never resolves names: it connects to the addresses the
    guard checked for that (host, port), or refuses. So the address connected to is the
    address that was checked, whatever the DNS answers a second time."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._pins: dict[tuple[str, int], tuple[float, tuple[IPAddress, ...]]] = {}

    def pin(self, host: str, port: int, addresses: tuple[IPAddress, ...]) -> None:
        now = time.monotonic()
        if len(self._pins) > 1024:
            self._pins = {k: v for k, v in self._pins.items() if v[0] > now}
        self._pins[(host.lower(), port)] = (now + _PIN_TTL, addresses)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        expires, addresses = self._pins.get((host.lower(), port), (0.0, ()))
        if not addresses or expires < time.monotonic():
            raise _Unpinned(f"no checked address for {host}:{port}")
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise _Unpinned("unix sockets are never used by the guarded client")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a `_PinnedBackend` (no proxy: a proxy would resolve the name)."""

    def __init__(self, limits: httpx.Limits, tls: ssl.SSLContext) -> None:
        super().__init__(verify=tls, limits=limits, trust_env=False)
        self.backend = _PinnedBackend()
        old = self._pool
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=old._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self.backend,
        )


class Fetcher:
    """Fetches feeds and article pages through shared, kept-alive HTTP clients.

    Use as `async with Fetcher(config.fetch) as f: ...`. `transport` replaces the
    network (tests, or an HTTP proxy transport): every request then goes through httpx.
    """

    def __init__(
        self, settings: FetchConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.user_agent = settings.user_agent or DEFAULT_USER_AGENT
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._feeds: Client | None = None
        self._guarded: httpx.AsyncClient | None = None
        self._pinned: _PinnedBackend | None = None
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _HostSlot] = {}

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        limits = httpx.Limits(
            max_connections=s.concurrency,
            max_keepalive_connections=min(s.concurrency, 20),
        )
        options: dict[str, Any] = {
            "follow_redirects": False,
            "timeout": httpx.Timeout(
                connect=s.connect_timeout,
                read=s.read_timeout,
                write=s.read_timeout,
                pool=s.total_timeout,
            ),
            "limits": limits,
            "headers": {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
        }
        self._client = httpx.AsyncClient(transport=self._transport, **options)
        if self._transport is None:
            # both trust what httpx trusts without the environment (loaded once: ~20 ms)
            tls = httpx.create_ssl_context(trust_env=False)
            # feeds' unchecked hops straight on aiohttp (a seventh of httpx's CPU per request)
            self._feeds = feed_session(
                tls=tls,
                concurrency=s.concurrency,
                connect_timeout=s.connect_timeout,
                read_timeout=s.read_timeout,
                pool_timeout=s.total_timeout,
                headers=options["headers"],
            )
            pinned = _PinnedTransport(limits, tls)
            self._pinned = pinned.backend
            self._guarded = httpx.AsyncClient(transport=pinned, **options)
        else:  # a caller's transport (tests, a proxy): the guard checks, nothing pins
            self._feeds = self._guarded = self._client
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if isinstance(self._feeds, aiohttp.ClientSession):
            await self._feeds.close()
        if self._guarded is not None and self._guarded is not self._client:
            await self._guarded.aclose()
        self._guarded = self._feeds = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch_feed(
        self, url: str, validators: Validators | None = None, *, allow_private: bool = False
    ) -> FetchResult:
        """GET a feed, conditionally when `validators` are known. Never raises for
        network, HTTP or size problems.

        The configured URL itself is not checked (it is the operator's), but unless
        `allow_private`, a redirect may not lead from a public address to a non-public
        one (the redirect target is the publisher's choice, not the operator's)."""
        return await self._fetch_feed(url, validators, allow_private, None)

    @asynccontextmanager
    async def polling(
        self, url: str, validators: Validators | None = None, *, allow_private: bool = False
    ) -> AsyncIterator[FetchResult]:
        """`fetch_feed`, with the fetch's share of `concurrency` kept until the block ends.

        The caller parses and stores the body inside the block, so feeds are fetched no
        faster than they are processed: at most `concurrency` bodies (and what they parse
        into) are in memory. The slot is taken after the host's slot, as for any fetch,
        so feeds waiting for a busy host never hold one."""
        held = _Held(_host_key(url))
        try:
            # polls wait here, before any fetch state exists (thousands may be due at once)
            async with self._host_slot(held.host):
                await self._global.acquire()
                held.acquired = True
                result = await self._fetch_feed(url, validators, allow_private, held)
            yield result
        finally:
            if held.acquired:
                self._global.release()

    async def _fetch_feed(
        self, url: str, validators: Validators | None, allow_private: bool, held: _Held | None
    ) -> FetchResult:
        validators = validators or Validators()
        headers = {"Accept": FEED_ACCEPT}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        check = "none" if allow_private else "redirects"
        return await self._fetch(
            url, headers, validators, _feed_problem, check=check, client=self._feeds, held=held
        )

    async def fetch_article(self, url: str, *, allow_private: bool) -> FetchResult:
        """GET an article page linked from a feed. Refuses non-public addresses (each
        redirect hop too) unless `allow_private`, and anything that is not HTML."""
        check = "none" if allow_private else "every hop"
        return await self._fetch(
            url, {"Accept": HTML_ACCEPT}, Validators(), _article_problem, check=check,
            client=self._client,
        )  # fmt: skip

    async def _fetch(
        self,
        url: str,
        headers: dict[str, str],
        validators: Validators,
        body_problem: BodyCheck,
        check: str,
        client: Client | None,
        held: _Held | None = None,
    ) -> FetchResult:
        """`check`: "every hop" (articles), "redirects" (feeds: hops after the first,
        while the first answered from a public address) or "none" (`allow_private`).
        `client` makes the unchecked hops; checked ones go through the pinned client."""
        started = time.monotonic()
        current = url
        moved_to: str | None = None
        permanent_so_far = True
        visited = {_without_fragment(url)}
        spent = 0.0
        hop: _Hop | None = None
        seen: list[_Hop] = []  # the hop whose headers arrived, even if its body failed

        def result(error: str | None = None, **fields: Any) -> FetchResult:
            base: dict[str, Any] = {
                "etag": validators.etag,
                "last_modified": validators.last_modified,
            }
            if hop is not None:
                base.update(status=hop.status, headers=MappingProxyType(hop.headers))
            base.update(fields)
            return FetchResult(
                url=url,
                final_url=current,
                error=error,
                duration=time.monotonic() - started,
                **base,
            )

        redirects = 0
        guarded = check == "every hop"
        while True:
            if (problem := _url_problem(current)) is not None:
                return result(problem)
            hop_client: Client | None = client
            if guarded:
                try:
                    async with asyncio.timeout(self.settings.connect_timeout):
                        addresses, refusal = await resolve_public(current)
                except TimeoutError:
                    addresses, refusal = (
                        (),
                        (
                            f"refused {current}: resolving its host timed out after "
                            f"{_seconds(self.settings.connect_timeout)}"
                        ),
                    )
                if refusal is not None:
                    if current != url:
                        refusal = f"redirect from {url} {refusal}"
                    return result(refusal)
                hop_client = self._guarded
                if self._pinned is not None:
                    hop_url = httpx.URL(current)
                    port = hop_url.port or (443 if hop_url.scheme == "https" else 80)
                    self._pinned.pin(hop_url.raw_host.decode("ascii"), port, addresses)
            remaining = self.settings.total_timeout - spent
            hop = None
            seen.clear()
            try:
                async with self._slot(current, held):
                    hop_started = time.monotonic()
                    try:
                        async with asyncio.timeout(remaining):
                            hop = await self._exchange(
                                hop_client, current, headers, body_problem, seen
                            )
                    finally:
                        spent += time.monotonic() - hop_started
            except _Failure as exc:
                hop = seen[-1] if seen else None
                return result(str(exc))
            except TimeoutError:
                hop = seen[-1] if seen else None
                return result(f"timed out after {_seconds(self.settings.total_timeout)} in total")
            except (httpx.HTTPError, httpx.InvalidURL, OSError, zlib.error, ValueError) as exc:
                # ValueError covers UnicodeError, e.g. idna's refusal of a host name.
                hop = seen[-1] if seen else None
                return result(self._describe(exc))

            status = hop.status
            if status in _REDIRECTS:
                location = hop.headers.get("location", "").strip()
                if not location:
                    return result(f"HTTP {status} redirect without a Location header")
                target = urljoin(current, location)
                if _without_fragment(target) in visited:
                    return result(f"redirect loop: {current} redirects back to {target}")
                if redirects >= self.settings.max_redirects:
                    return result(f"too many redirects (more than {self.settings.max_redirects})")
                redirects += 1
                visited.add(_without_fragment(target))
                if permanent_so_far and status in _PERMANENT:
                    moved_to = target
                else:
                    permanent_so_far = False
                if check == "redirects" and not guarded:
                    # An intranet feed (the operator's choice) may redirect within the
                    # intranet; a feed served from a public address may not lead there.
                    guarded = hop.peer is None or is_public(hop.peer)
                current = target
                continue
            break

        moved = moved_to if moved_to not in (None, url) else None
        if status == 304:
            return result(
                etag=hop.headers.get("etag") or validators.etag,
                last_modified=hop.headers.get("last-modified") or validators.last_modified,
                moved_to=moved,
            )
        if 200 <= status < 300:
            body = hop.body or b""
            problem = body_problem(hop.headers.get("content-type", ""), body)
            if problem is not None:
                return result(problem, nbytes=len(body))
            return result(
                body=body,
                etag=hop.headers.get("etag"),
                last_modified=hop.headers.get("last-modified"),
                moved_to=moved,
                nbytes=len(body),
            )
        message = f"HTTP {status} {hop.reason}".rstrip()
        if status == 410:
            return result(message, gone=True)
        if status in _RETRY_STATUSES:
            retry_after = parse_retry_after(hop.headers.get("retry-after"), datetime.now(UTC))
            if retry_after is not None:
                message += f" (retry after {retry_after:.0f} s)"
            return result(message, retry_after=retry_after)
        return result(message)

    async def _exchange(
        self,
        client: Client | None,
        url: str,
        headers: dict[str, str],
        body_problem: BodyCheck,
        seen: list[_Hop],
    ) -> _Hop:
        """One request; the body is read (bounded) only for 2xx answers. The hop is put
        in `seen` once its headers arrive, so a failure later still reports the status."""
        if client is None:
            raise RuntimeError("Fetcher used outside `async with`")
        if isinstance(client, aiohttp.ClientSession):
            try:
                return await self._exchange_direct(client, url, headers, body_problem, seen)
            except aiohttp.ClientError as exc:
                raise as_httpx(exc) from exc
        async with client.stream("GET", url, headers=headers) as response:
            hop = _Hop(
                status=response.status_code,
                reason=response.reason_phrase or _reason(response.status_code),
                headers={k.lower(): v for k, v in response.headers.items()},
                peer=_peer(response),
            )
            seen.append(hop)
            if 200 <= hop.status < 300:
                hop.body = await self._read_body(hop, response.aiter_raw(), body_problem)
            return hop

    async def _exchange_direct(
        self,
        session: aiohttp.ClientSession,
        url: str,
        headers: dict[str, str],
        body_problem: BodyCheck,
        seen: list[_Hop],
    ) -> _Hop:
        """`_exchange` on aiohttp: httpx's per-request cost is most of a 304 poll's."""
        if "xn--" in url.lower():  # a malformed IDNA name is refused, as httpx refuses it
            (urlsplit(url).hostname or "").encode("ascii", "replace").decode("idna")
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            status = response.status
            hop = _Hop(
                status=status,
                reason=response.reason or _reason(status),
                headers=_lowered(response.headers.items()),
                peer=peer(response),
            )
            seen.append(hop)
            if 200 <= status < 300:
                hop.body = await self._read_body(hop, response.content.iter_any(), body_problem)
            elif not response.content.at_eof():
                await _discard(response)
            return hop

    async def _read_body(
        self, hop: _Hop, chunks: AsyncIterable[bytes], body_problem: BodyCheck
    ) -> bytes:
        """The raw body decoded, within `max_bytes` after decoding, whichever client."""
        headers = hop.headers
        # Refuse by type, then by declared size, before downloading (a PDF, a 1 GB dump).
        early = body_problem(headers.get("content-type", ""), None)
        if early is not None:
            raise _Failure(early)
        limit = self.settings.max_bytes
        too_large = f"response larger than {limit} bytes"
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise _Failure(f"{too_large} (Content-Length: {declared})")
        encoding = headers.get("content-encoding", "identity").strip().lower() or "identity"
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise _Failure(f"unsupported Content-Encoding {encoding!r}")
        decoder = _Decoder(encoding)
        body = bytearray()
        try:
            async for chunk in chunks:
                body += decoder.decode(chunk, limit - len(body))
        except _Failure:
            raise _Failure(too_large) from None
        except zlib.error as exc:
            raise _Failure(f"corrupt {encoding} body: {exc}") from None
        return bytes(body)

    @asynccontextmanager
    async def _slot(self, url: str, held: _Held | None = None) -> AsyncIterator[None]:
        """Hold the host's slot, then a global one (in that order, so requests queued
        behind one slow host do not hold global slots other hosts could use). With
        `held`, the poll's own slots are used (see `polling`)."""
        key = _host_key(url)
        if held is not None and held.acquired:
            if key == held.host:
                yield
            else:
                async with self._host_slot(key):
                    yield
            return
        async with self._host_slot(key), self._global:
            yield

    @asynccontextmanager
    async def _host_slot(self, key: str) -> AsyncIterator[None]:
        slot = self._hosts.get(key)
        if slot is None:
            slot = self._hosts[key] = _HostSlot(asyncio.Semaphore(self.settings.per_host))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                self._hosts.pop(key, None)

    def _describe(self, exc: BaseException) -> str:
        s = self.settings
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connect timed out after {_seconds(s.connect_timeout)}"
        if isinstance(exc, httpx.ReadTimeout):
            return f"read timed out after {_seconds(s.read_timeout)}"
        if isinstance(exc, httpx.WriteTimeout):
            return f"write timed out after {_seconds(s.read_timeout)}"
        if isinstance(exc, httpx.PoolTimeout):
            return f"no free connection after {_seconds(s.total_timeout)}"
        if isinstance(exc, httpx.ConnectError):
            if isinstance(exc.__cause__, _Unpinned):
                return f"refused: {exc.__cause__}"
            return f"cannot connect: {exc or type(exc).__name__}"
        if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
            return f"HTTP protocol error: {exc or type(exc).__name__}"
        if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
            return f"invalid URL: {exc}"
        if isinstance(exc, zlib.error):
            return f"corrupt compressed body: {exc}"
        if isinstance(exc, UnicodeError):
            return f"invalid host name: {exc}"
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _host_key(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:  # refused by `_url_problem` before any request
        return url


def _peer(response: httpx.Response) -> str | None:
    """The IP address the response came from (None when the transport does not say)."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        address = stream.get_extra_info("server_addr")
    except Exception:
        return None
    if isinstance(address, tuple) and address:
        return str(address[0])
    return None


def _lowered(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased, a repeated header's values joined (as httpx gives them)."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


async def _discard(response: aiohttp.ClientResponse) -> None:
    """Read and drop a small body (a redirect's, an error page's) so its connection goes
    back to the pool; a large or slow one is left, and its connection closed."""
    length = response.content_length
    if length is not None and length > _DISCARD_BYTES:
        return
    left = _DISCARD_BYTES
    try:
        async with asyncio.timeout(_DISCARD_SECONDS):
            while left > 0 and (chunk := await response.content.readany()):
                left -= len(chunk)
    except (TimeoutError, aiohttp.ClientError):
        pass  # the answer stands; only the connection is lost


def _feed_problem(content_type: str, body: bytes | None) -> str | None:
    """Why a 2xx answer is not a feed (None when it may be one: the parser decides)."""
    media = media_type(content_type)
    if media.startswith(_NOT_FEED_PREFIXES) or media in _NOT_FEED_TYPES:
        return f"not a feed: {media}"
    if body is not None and looks_like_html(body):
        return f"not a feed: {media} page" if media else "not a feed: HTML page"
    return None


def _article_problem(content_type: str, body: bytes | None) -> str | None:
    """Why a 2xx answer is not an article page: only HTML is worth extracting."""
    media = media_type(content_type)
    if media in HTML_TYPES:
        return None
    if not media and (body is None or looks_like_html(body)):
        return None
    return f"not an HTML page: {media or 'no Content-Type'}"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"invalid URL {url!r}: {exc}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"unsupported URL {url!r}: only http and https are fetched"
    if not parts.hostname:
        return f"invalid URL {url!r}: no host"
    return None


def _without_fragment(url: str) -> str:
    try:
        return urlunsplit(urlsplit(url)._replace(fragment=""))
    except ValueError:
        return url
