"""A real HTTP server on 127.0.0.1 that serves feeds and pages the way the web does.

For tests, benchmarks and plugin authors: register routes (conditional GET, gzip, slow
drips, redirects, any status and header), point the code under test at `server.url()`,
then inspect `server.requests`. Runs in a background thread; thread-safe.

    with FeedServer() as server:
        server.route("/feed.xml", rss([{"title": "Hello", "link": "https://x.test/1"}]),
                     etag=True)
        ...fetch server.url("/feed.xml")...
        assert server.count("/feed.xml") == 1
"""

from __future__ import annotations

import gzip as gzip_module
import hashlib
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

#: A body: fixed bytes/str, or a callable returning chunks (streamed, possibly endless).
Body = bytes | str | Callable[[], Iterable[bytes]]
_CHUNK = 64 * 1024


@dataclass
class Route:
    """How one path answers; see `FeedServer.route`."""

    body: Body
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool | str = False
    last_modified: str | None = None
    gzip: bool = False
    drip: float | None = None
    redirect_to: str | None = None
    chunk: int = 64


class FeedServer:
    """ThreadingHTTPServer on 127.0.0.1, port chosen by the OS; a context manager."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._active = 0
        self._max_active = 0
        self._connections = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> FeedServer:
        handler = type("_BoundHandler", (_Handler,), {"server_state": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- routes ------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FeedServer is not running")
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path if path.startswith('/') else '/' + path}"

    def route(
        self,
        path: str,
        body: Body = b"",
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        etag: bool | str = False,
        last_modified: str | None = None,
        gzip: bool = False,
        drip: float | None = None,
        redirect_to: str | None = None,
        chunk: int = 64,
    ) -> None:
        """Serve `body` at `path` (exact path; a query string is matched first if given).

        `etag=True` derives a strong ETag from the body, a string sets it; with it or
        `last_modified`, matching If-None-Match / If-Modified-Since get 304. `gzip`
        compresses. `drip` sends the body `chunk` bytes at a time, sleeping `drip`
        seconds between pieces. `redirect_to` answers `status` (302 unless a 3xx is
        given) with that Location. A callable body is streamed chunked as it yields.
        """
        route = Route(
            body=body,
            status=status,
            headers=dict(headers or {}),
            etag=etag,
            last_modified=last_modified,
            gzip=gzip,
            drip=drip,
            redirect_to=redirect_to,
            chunk=max(1, chunk),
        )
        with self._lock:
            self._routes[path] = route

    def update(self, path: str, body: Body, **changes: Any) -> None:
        """Change a route's body (and any other `route` option) between polls."""
        with self._lock:
            current = self._routes[path]
            self._routes[path] = Route(**{**current.__dict__, "body": body, **changes})

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    # --- request log ----------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """Every request so far: (path with query, headers with lower-case names)."""
        with self._lock:
            return list(self._requests)

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path or p.split("?", 1)[0] == path)

    @property
    def max_active(self) -> int:
        """The most requests this server was answering at the same time."""
        with self._lock:
            return self._max_active

    @property
    def connections(self) -> int:
        """The TCP connections accepted since the last `clear`."""
        with self._lock:
            return self._connections

    def clear(self) -> None:
        """Forget logged requests, connections and the concurrency high-water mark."""
        with self._lock:
            self._requests.clear()
            self._connections = 0
            self._max_active = self._active

    def _enter(self) -> None:
        with self._lock:
            self._active += 1
            self._max_active = max(self._max_active, self._active)

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1

    def _log(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._requests.append((path, headers))

    def _lookup(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path) or self._routes.get(urlsplit(path).path)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "monitor-feedserver/1"
    server_state: FeedServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        pass

    def setup(self) -> None:  # once per connection
        super().setup()
        with self.server_state._lock:
            self.server_state._connections += 1

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def _serve(self, send_body: bool) -> None:
        state = self.server_state
        headers = {k.lower(): v for k, v in self.headers.items()}
        state._log(self.path, headers)
        route = state._lookup(self.path)
        state._enter()
        try:
            if route is None:
                self._simple(404, b"not found\n", send_body)
            elif route.redirect_to is not None:
                status = route.status if 300 <= route.status < 400 else 302
                self._simple(status, b"", send_body, {"Location": route.redirect_to})
            else:
                self._route(route, headers, send_body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        finally:
            state._leave()

    def _simple(
        self, status: int, body: bytes, send_body: bool, extra: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def _route(self, route: Route, request: Mapping[str, str], send_body: bool) -> None:
        fixed = route.body.encode("utf-8") if isinstance(route.body, str) else route.body
        validators: dict[str, str] = {}
        if route.etag:
            if isinstance(route.etag, str):
                tag = route.etag if route.etag.startswith(('"', "W/")) else f'"{route.etag}"'
            else:
                digest = hashlib.sha1(fixed if isinstance(fixed, bytes) else b"stream")
                tag = f'"{digest.hexdigest()[:16]}"'
            validators["ETag"] = tag
        if route.last_modified:
            validators["Last-Modified"] = route.last_modified
        if 200 <= route.status < 300 and _not_modified(request, validators):
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(route.status)
        names = {name.lower() for name in route.headers}
        for name, value in {**validators, **route.headers}.items():
            self.send_header(name, value)
        if "content-type" not in names:
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        if isinstance(fixed, bytes):
            payload = gzip_module.compress(fixed) if route.gzip else fixed
            if route.gzip:
                self.send_header("Content-Encoding", "gzip")
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if send_body:
                self._write(_pieces(payload, route.chunk) if route.drip else [payload], route)
            return
        if route.gzip:
            self.send_header("Content-Encoding", "gzip")
        chunked = "content-length" not in names
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if send_body:
            stream = fixed()
            if route.gzip:
                stream = _gzip_stream(stream)
            self._write(stream, route, chunked=chunked)

    def _write(self, pieces: Iterable[bytes], route: Route, *, chunked: bool = False) -> None:
        stopping = self.server_state._stopping
        for piece in pieces:
            if stopping.is_set():
                self.close_connection = True
                return
            if not piece:
                continue
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                self.wfile.write(piece)
            self.wfile.flush()
            if route.drip and stopping.wait(route.drip):
                self.close_connection = True
                return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


def _not_modified(request: Mapping[str, str], validators: Mapping[str, str]) -> bool:
    etag = validators.get("ETag")
    if etag and "if-none-match" in request:
        tags = {t.strip().removeprefix("W/") for t in request["if-none-match"].split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    modified = validators.get("Last-Modified")
    since = request.get("if-modified-since")
    if modified and since:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(modified)
        except (TypeError, ValueError):
            return False
    return False


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _gzip_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def endless(piece: bytes = b" ", *, limit: int | None = None) -> Callable[[], Iterator[bytes]]:
    """A body that repeats `piece` forever (or `limit` bytes): slow drips, huge bodies."""

    def generate() -> Iterator[bytes]:
        sent = 0
        while limit is None or sent < limit:
            chunk = piece if limit is None else piece[: limit - sent]
            sent += len(chunk)
            yield chunk

    return generate


def http_date(when: datetime) -> str:
    """RFC 7231 date, for Last-Modified and Retry-After headers."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


# --- builders ----------------------------------------------------------------------


def _date(value: Any, *, atom: bool) -> str:
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        return when.isoformat() if atom else format_datetime(when)
    return str(value)


def _text(value: Any) -> str:
    return escape(str(value))


def _declaration(encoding: str, declare: str | None) -> str:
    return f'<?xml version="1.0" encoding="{declare or encoding}"?>\n'


def rss(
    items: Sequence[Mapping[str, Any]],
    *,
    title: str = "Test feed",
    link: str = "https://news.example/",
    language: str | None = None,
    encoding: str = "utf-8",
    declare: str | None = None,
    version: str = "2.0",
) -> bytes:
    """An RSS 2.0 (or 0.91/0.92 by `version`) document encoded in `encoding`.

    Items are dicts with title, link, guid (str, or (value, is_permalink)), summary,
    content (HTML, put in content:encoded) and published (datetime or RFC 822 string).
    `declare` writes a different encoding name in the XML declaration (to lie).
    """
    out = [
        _declaration(encoding, declare),
        f'<rss version="{version}" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel><title>{_text(title)}</title><link>{_text(link)}</link>",
        "<description>test</description>",
    ]
    if language:
        out.append(f"<language>{_text(language)}</language>")
    for item in items:
        out.append("<item>")
        if "title" in item:
            out.append(f"<title>{_text(item['title'])}</title>")
        if "link" in item:
            out.append(f"<link>{_text(item['link'])}</link>")
        if "guid" in item:
            guid = item["guid"]
            value, permalink = guid if isinstance(guid, tuple) else (guid, None)
            attr = "" if permalink is None else f' isPermaLink="{str(permalink).lower()}"'
            out.append(f"<guid{attr}>{_text(value)}</guid>")
        if "summary" in item:
            out.append(f"<description>{_text(item['summary'])}</description>")
        if "content" in item:
            out.append(f"<content:encoded>{_text(item['content'])}</content:encoded>")
        if "published" in item:
            out.append(f"<pubDate>{_text(_date(item['published'], atom=False))}</pubDate>")
        out.append("</item>")
    out.append("</channel></rss>\n")
    return "".join(out).encode(encoding, errors="xmlcharrefreplace")


def atom(
    items: Sequence[Mapping[str, Any]],
    *,
    title: str = "Test feed",
    link: str = "https://news.example/",
    language: str | None = None,
    encoding: str = "utf-8",
    declare: str | None = None,
    feed_id: str = "urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6",
) -> bytes:
    """An Atom 1.0 document; items as for `rss` (guid becomes <id>)."""
    lang = f" xml:lang={quoteattr(language)}" if language else ""
    out = [
        _declaration(encoding, declare),
        f'<feed xmlns="http://www.w3.org/2005/Atom"{lang}>',
        f"<title>{_text(title)}</title><id>{_text(feed_id)}</id>",
        f"<link href={quoteattr(link)}/><updated>2025-01-01T00:00:00Z</updated>",
    ]
    for item in items:
        out.append("<entry>")
        if "title" in item:
            out.append(f'<title type="html">{_text(item["title"])}</title>')
        if "link" in item:
            out.append(f'<link rel="alternate" href={quoteattr(str(item["link"]))}/>')
        if "guid" in item:
            guid = item["guid"]
            out.append(f"<id>{_text(guid[0] if isinstance(guid, tuple) else guid)}</id>")
        if "summary" in item:
            out.append(f'<summary type="html">{_text(item["summary"])}</summary>')
        if "content" in item:
            out.append(f'<content type="html">{_text(item["content"])}</content>')
        if "published" in item:
            when = _text(_date(item["published"], atom=True))
            out.append(f"<published>{when}</published><updated>{when}</updated>")
        out.append("</entry>")
    out.append("</feed>\n")
    return "".join(out).encode(encoding, errors="xmlcharrefreplace")
