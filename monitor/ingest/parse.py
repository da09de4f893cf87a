"""Feed bodies (RSS 0.9x/1.0/2.0, Atom) to clean, identified entries.

feedparser does the format work; this module decides what counts as a usable feed,
repairs mislabelled encodings, turns markup into text, puts dates in UTC and gives
every entry its identity (`monitor.ingest.identity`). Pure and synchronous: the pipeline runs
it in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.errors import MonitorError
from monitor.ingest.fetch import looks_like_html, media_type
from monitor.ingest.identity import canonical_url, entry_key, is_web_url
from monitor.ingest.textclean import html_to_text

#: Dates further ahead than this are clock skew or lies: the entry gets `fetched_at`.
FUTURE_TOLERANCE = timedelta(minutes=10)
_SNIFF = 1024
_XML_DECLARATION = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])([A-Za-z0-9._:-]+)\2")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Single-byte and legacy encodings whose declaration is often wrong for UTF-8 bodies.
_UTF8_FAMILY = frozenset({"utf-8", "utf8"})
_WIDE = ("utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs-4")
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*\[", re.I)
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_SUBSET_END = re.compile(rb"\]\s*>")
_NON_XML_ERRORS = (feedparser.CharacterEncodingOverride,)


class ParseError(MonitorError):
    """The body yields no usable feed. `reason` says why; `url` names the feed.

    The pipeline turns it into `FeedError(name, exc.url, exc.reason)`.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Entry:
    """One feed entry, cleaned. `key` is its global identity (see `entry_key`)."""

    key: str
    guid: str | None
    link: str | None
    canonical_url: str | None
    title: str
    summary: str
    content: str
    published: datetime
    published_from_feed: bool
    content_hash: str
    language: str | None


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed. `warning` is set when the feed is malformed but still gave entries."""

    entries: tuple[Entry, ...]
    title: str
    language: str | None
    warning: str | None = None


def parse_feed(
    body: bytes, headers: Mapping[str, str], url: str, fetched_at: datetime
) -> ParsedFeed:
    """Parse one fetched feed body; raise ParseError when it is not a usable feed.

    An empty but valid feed returns no entries and no error.
    """
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    problem = _sniff(body, media_type(lowered.get("content-type")))
    if problem is not None:
        raise ParseError(url, problem)
    body, response_headers = _fix_encoding(body, lowered, url)
    body = strip_internal_subset(body)
    # A stream, never bytes or str: feedparser opens strings that look like paths/URLs.
    # Markup is reduced to text afterwards, so sanitising or resolving URIs inside
    # content would be wasted work.
    data = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    error = data.get("bozo_exception") if data.get("bozo") else None
    raw_entries = data.get("entries") or []
    if not raw_entries:
        if error is not None and not isinstance(error, _NON_XML_ERRORS):
            raise ParseError(url, f"no entries and XML error: {_describe(error)}")
        if not data.get("version"):
            raise ParseError(url, "not a feed: no RSS or Atom root element")
    feed = data.get("feed") or {}
    feed_language = _language(feed.get("language"))
    entries: list[Entry] = []
    seen: set[str] = set()
    for raw in raw_entries:
        entry = _entry(raw, url, fetched_at, feed_language)
        if entry is not None and entry.key not in seen:
            seen.add(entry.key)
            entries.append(entry)
    warning = f"malformed feed: {_describe(error)}" if error is not None else None
    return ParsedFeed(
        entries=tuple(entries),
        title=html_to_text(feed.get("title")),
        language=feed_language,
        warning=warning,
    )


def _sniff(body: bytes, media: str) -> str | None:
    """Reject what is plainly no feed before feedparser spends time on it."""
    if not body or not body.strip():
        return "empty response"
    head = body[:_SNIFF]
    if head.startswith(b"\x1f\x8b"):
        return "binary data (gzip-compressed body)"
    if not head.startswith(_BOMS[1:]):  # UTF-16 text is full of NUL bytes
        controls = sum(1 for b in head if b < 9 or 13 < b < 32)
        if b"\x00" in head or controls > len(head) // 20:
            return "binary data"
    if looks_like_html(body):
        return "not a feed: HTML page"
    if media in ("application/json", "application/feed+json"):
        return f"not a feed: {media} (JSON Feed is not supported)"
    return None


def strip_internal_subset(body: bytes) -> bytes:
    """Drop the DTD internal subset (`<!DOCTYPE rss [ ... ]>`) before parsing.

    Feeds have no use for entity declarations, and they are how billion-laughs and
    external-entity attacks work. expat (2.4+) stops the expansion, but only after
    megabytes of work and seconds of CPU; removing the declarations costs nothing. The
    public identifier stays, so RSS 0.91's Netscape DOCTYPE is still recognised.
    """
    doctype = _DOCTYPE.search(body)
    if doctype is None:
        return body
    root = _ROOT_START.search(body)
    if root is not None and root.start() < doctype.start():
        return body  # a DOCTYPE after the root element is just bad markup
    start = doctype.end()  # just after "["
    i = start
    while True:
        positions = [p for p in (body.find(c, i) for c in (b'"', b"'", b"]")) if p >= 0]
        if not positions:
            return body[: doctype.end() - 1] + b">"  # unterminated subset: drop the rest
        i = min(positions)
        char = body[i : i + 1]
        if char == b"]":
            close = _SUBSET_END.match(body, i)
            if close is not None:
                return body[: doctype.end() - 1] + b">" + body[close.end() :]
            i += 1
        else:
            end = body.find(char, i + 1)
            if end < 0:
                return body[: doctype.end() - 1] + b">"
            i = end + 1


def _fix_encoding(body: bytes, headers: dict[str, str], url: str) -> tuple[bytes, dict[str, str]]:
    """Repair the common lie: a UTF-8 body declared as ISO-8859-1 or Windows-1252.

    A declared single-byte encoding never fails to decode, so feedparser would
    produce mojibake ("CorÃ©e"). Non-ASCII bytes that form valid UTF-8 are almost never
    anything else, so such a body is relabelled UTF-8 (HTTP header and XML declaration).
    The opposite lie (declared UTF-8, really Latin-1) fails to decode, and feedparser
    then falls back to Windows-1252 by itself.
    """
    response_headers = {
        "content-type": headers.get("content-type") or "application/xml",
        "content-location": url,
    }
    if "content-language" in headers:
        response_headers["content-language"] = headers["content-language"]
    if body.startswith(_BOMS) or body.isascii():
        return body, response_headers
    declared = _declared(body, response_headers["content-type"])
    if declared is None or declared in _UTF8_FAMILY or declared.startswith(_WIDE):
        return body, response_headers
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body, response_headers
    media = media_type(response_headers["content-type"]) or "application/xml"
    response_headers["content-type"] = f"{media}; charset=utf-8"
    body = _XML_DECLARATION.sub(rb"\1\2utf-8\2", body, count=1)
    return body, response_headers


def _declared(body: bytes, content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("'\"").lower()
    m = _XML_DECLARATION.match(body[:_SNIFF])
    return m.group(3).decode("ascii").lower() if m else None


def _entry(
    raw: Mapping[str, Any], feed_url: str, fetched_at: datetime, feed_language: str | None
) -> Entry | None:
    guid = (raw.get("id") or "").strip() or None
    link = _link(raw, feed_url)
    title = html_to_text(raw.get("title"))
    summary, content = _summary_and_content(raw)
    if not (guid or link or title or summary or content):
        return None
    published, from_feed = _published(raw, fetched_at)
    language = None
    for detail in (raw.get("title_detail"), *(raw.get("content") or ()), raw.get("summary_detail")):
        if isinstance(detail, Mapping) and (language := _language(detail.get("language"))):
            break
    key = entry_key(guid, link, title, summary or content[:1000])
    return Entry(
        key=key,
        guid=guid,
        link=link,
        canonical_url=canonical_url(link) if link else None,
        title=title,
        summary=summary,
        content=content or summary,
        published=published,
        published_from_feed=from_feed,
        content_hash=hashlib.sha256(f"{title}\n{content or summary}".encode()).hexdigest(),
        language=language or feed_language,
    )


def _link(raw: Mapping[str, Any], feed_url: str) -> str | None:
    """The entry's web page: `link`, else an alternate link, else a permalink guid."""
    candidates = [raw.get("link")]
    candidates += [
        link.get("href")
        for link in raw.get("links") or ()
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate"
    ]
    if raw.get("guidislink"):
        candidates.append(raw.get("id"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            absolute = urljoin(feed_url, candidate.strip())
            if is_web_url(absolute):
                return absolute
    return None


def _summary_and_content(raw: Mapping[str, Any]) -> tuple[str, str]:
    """The summary as one line, and the text (with paragraphs) of the longest body the
    entry offers: full content or summary. Each body is converted once."""
    summary_html = raw.get("summary") or ""
    summary_text = html_to_text(summary_html, keep_paragraphs=True)
    bodies = [c.get("value") or "" for c in raw.get("content") or () if isinstance(c, Mapping)]
    longest = max(bodies, key=len, default="")
    if len(longest) > len(summary_html):
        content = html_to_text(longest, keep_paragraphs=True)
    else:
        content = summary_text
    return " ".join(summary_text.split()), content


def _published(raw: Mapping[str, Any], fetched_at: datetime) -> tuple[datetime, bool]:
    """The entry's date in UTC, or `fetched_at` when absent, unparseable or in the future."""
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = raw.get(field)
        if not parsed:
            continue
        try:
            year, month, day, hour, minute, second = parsed[:6]
            when = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        if when > fetched_at + FUTURE_TOLERANCE:
            return fetched_at, False
        return when, True
    return fetched_at, False


def _language(value: object) -> str | None:
    """ "fr-FR" -> "fr": the primary subtag, lower-cased, as a hint."""
    if not isinstance(value, str):
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    text = " ".join(str(error).split())
    return text or type(error).__name__
