"""Feed bodies (RSS 0.9x/1.0/2.0, Atom) to clean, identified entries.

`monitor.ingest.fastparse` reads the common feed shapes with lxml, and feedparser (the
reference, proven equal by tests/test_fastparse.py) does the format work for everything
else; this module decides what counts as a usable feed,
repairs mislabelled encodings, turns markup into text, puts dates in UTC and gives
every entry its identity (`monitor.ingest.identity`). Pure and synchronous: the pipeline runs
it in a worker thread, or, with a deadline, in a worker process (`parse_feed_bounded`).

Whatever the body holds, `parse_feed` either returns or raises `ParseError`: an exception
inside feedparser (an invalid character reference, a bug) is a failed parse of that feed,
never an error that escapes to the poll. Work is bounded before feedparser runs (its strict
parser is quadratic in the attributes of one element) and sizes are bounded after it (a
title, a summary or a text never exceeds `MAX_TITLE`, `MAX_SUMMARY`, `MAX_TEXT`).
"""

from __future__ import annotations

import atexit
import codecs
import concurrent.futures
import contextlib
import hashlib
import io
import logging
import multiprocessing
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from monitor.errors import MonitorError
from monitor.ingest.fastparse import fast_parse
from monitor.ingest.fetch import looks_like_html, media_type
from monitor.ingest.identity import PLAIN_URL, canonical_url, entry_key, is_web_url
from monitor.ingest.textclean import html_to_text

log = logging.getLogger("monitor.ingest.parse")

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

#: Bounds on what one entry may cost downstream (characters, after markup is removed).
MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_TEXT = 200_000
#: Markup is cut before it is converted: a few times the text bound is plenty.
_MAX_MARKUP = 4 * MAX_TEXT
#: Pre-parse sanity limits. Real feeds have a handful of attributes per element; 100,000
#: on one element cost feedparser's strict parser minutes of CPU (quadratic).
MAX_ATTRIBUTES_PER_ELEMENT = 256
MAX_ELEMENTS = 2_000_000
#: Dates before this are placeholders ("0001-01-01") or garbage: the entry gets `fetched_at`.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
#: Wall-clock bound of one parse in a worker process (`parse_feed_bounded`).
PARSE_DEADLINE = 20.0

_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9A-Fa-f]{1,16})|([0-9]{1,20}));")
_TAG = re.compile(rb"<[A-Za-z_][^<>]*")
_ATTRIBUTE = re.compile(rb"=\s*[\"']")
#: A tag long enough that `_too_complex` counts its attributes.
_LONG_TAG = re.compile(rb"<[A-Za-z_][^<>]{%d,}" % (8 * MAX_ATTRIBUTES_PER_ELEMENT - 1))
#: Every byte but the controls `_sniff` counts.
_NOT_CONTROL = bytes(b for b in range(256) if not (b < 9 or 13 < b < 32))
_UTF8_BOM = b"\xef\xbb\xbf"
#: Declarations so often wrong (the default of many tools) that the body gets a second look.
_WESTERN = frozenset({"cp1252", "iso8859_1", "latin_1", "iso8859_15", "ascii"})
#: A declared legacy encoding that fails to decode is usually its superset in disguise.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "euc_jp": "euc_jis_2004",
    "big5": "big5hkscs",
}
_DETECT_SAMPLE = 64 * 1024

# feedparser's strict parser is expat (the reference the fast path is proven against);
# left alone, feedparser asks for the drv_libxml2 SAX driver first on every parse, a
# failed import that searches sys.path each time.
feedparser.api.PREFERRED_XML_PARSERS[:] = []


class ParseError(MonitorError):
    """The body yields no usable feed. `reason` says why; `url` names the feed.

    The pipeline records `reason` as the poll's error, with backoff.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(reason)

    def __reduce__(self) -> tuple[Any, ...]:  # crosses the worker-process boundary
        return (type(self), (self.url, self.reason))


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
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    fetched_at: datetime,
    *,
    fast: bool = True,
) -> ParsedFeed:
    """Parse one fetched feed body; raise ParseError when it is not a usable feed.

    An empty but valid feed returns no entries and no error. Any exception raised while
    parsing becomes a ParseError naming it, so one bad body is one failed poll. `fast`
    tries `monitor.ingest.fastparse` first (False: feedparser only, the reference).
    """
    try:
        return _parse_feed(body, headers, url, fetched_at, fast)
    except ParseError:
        raise
    except Exception as exc:  # feedparser's UnicodeEncodeError, ValueError, anything
        log.debug("feed %s: parser raised", url, exc_info=True)
        raise ParseError(url, f"parser failed: {type(exc).__name__}: {_describe(exc)}") from exc


def _parse_feed(
    body: bytes, headers: Mapping[str, str], url: str, fetched_at: datetime, fast: bool
) -> ParsedFeed:
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    problem = _sniff(body, media_type(lowered.get("content-type")))
    if problem is not None:
        raise ParseError(url, problem)
    problem = _too_complex(body)
    if problem is not None:
        raise ParseError(url, problem)
    body, response_headers = _fix_encoding(body, lowered, url)
    body = strip_internal_subset(body)
    body = replace_invalid_char_refs(body)
    found = fast_parse(body, response_headers) if fast else None
    raw_entries: Sequence[Mapping[str, Any]]
    feed: Mapping[str, Any]
    error: BaseException | None = None
    if found is not None:
        raw_entries, feed = found
    else:
        raw_entries, feed, error = _feedparser(body, response_headers, url)
    feed_language = _language(feed.get("language"))
    entries: list[Entry] = []
    seen: set[str] = set()
    unreadable: list[Exception] = []
    for raw in raw_entries:
        try:
            entry = _entry(raw, url, fetched_at, feed_language)
        except Exception as exc:  # one entry's odd field costs that entry, not the feed
            log.debug("feed %s: an entry could not be read", url, exc_info=True)
            unreadable.append(exc)
            continue
        if entry is not None and entry.key not in seen:
            seen.add(entry.key)
            entries.append(entry)
    if error is not None and not isinstance(error, _NON_XML_ERRORS) and not entries:
        # A truncated or broken document whose only "entries" are empty fragments: no
        # usable content, so it is a failed poll (visible, backed off), not a healthy one.
        raise ParseError(url, f"no usable entries and XML error: {_describe(error)}")
    skipped = _unreadable(unreadable)
    if skipped and not entries:
        raise ParseError(url, f"no usable entries: {skipped}")
    warnings = [f"malformed feed: {_describe(error)}" if error is not None else "", skipped]
    warning = "; ".join(w for w in warnings if w) or None
    return ParsedFeed(
        entries=tuple(entries),
        title=_bounded(html_to_text(_cut(feed.get("title"), MAX_TITLE)), MAX_TITLE),
        language=feed_language,
        warning=warning,
    )


def _unreadable(errors: Sequence[Exception]) -> str:
    """What the poll's warning says of the entries that could not be read."""
    if not errors:
        return ""
    first = errors[0]
    noun = "entry" if len(errors) == 1 else "entries"
    return f"{len(errors)} {noun} skipped, e.g. {type(first).__name__}: {_describe(first)}"


def _feedparser(
    body: bytes, response_headers: dict[str, str], url: str
) -> tuple[list[Mapping[str, Any]], Mapping[str, Any], BaseException | None]:
    """feedparser's entries, feed fields and error (None unless it complained); the
    reference `fast_parse` is proven against."""
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
    return raw_entries, data.get("feed") or {}, error


# --- parsing in a worker process, with a deadline ------------------------------------

_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def parse_feed_bounded(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    fetched_at: datetime,
    *,
    deadline: float = PARSE_DEADLINE,
) -> ParsedFeed:
    """`parse_feed` in a worker process that is killed once `deadline` seconds pass.

    Blocking (call it from a worker thread, as the pipeline calls `parse_feed`). Two
    worker processes are shared by the whole daemon; a parse that overruns its deadline
    costs its worker (killed, replaced on the next call) and raises ParseError, so no
    feed body, however crafted, can hold a CPU for longer than `deadline`.
    """
    pool = _worker_pool()
    try:
        future = pool.submit(parse_feed, body, dict(headers), url, fetched_at)
    except RuntimeError:  # the pool broke (a worker died): start a new one, once
        _discard_pool(pool)
        future = _worker_pool().submit(parse_feed, body, dict(headers), url, fetched_at)
    try:
        return future.result(timeout=deadline)
    except concurrent.futures.TimeoutError:
        _discard_pool(pool, kill=True)
        raise ParseError(url, f"parsing took longer than {deadline:g} s; gave up") from None
    except concurrent.futures.process.BrokenProcessPool as exc:
        _discard_pool(pool)
        raise ParseError(url, f"the parser's worker process died: {exc}") from None


def _worker_pool() -> concurrent.futures.ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the daemon has threads, and a forked child of a threaded
            # process can inherit a lock held by a thread that does not exist there.
            _pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=2, mp_context=multiprocessing.get_context("spawn")
            )
        return _pool


def _discard_pool(pool: concurrent.futures.ProcessPoolExecutor, *, kill: bool = False) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    if kill:
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):  # already gone
                process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _close_pool() -> None:
    if _pool is not None:
        _discard_pool(_pool, kill=True)


# --- bounds before and after feedparser ------------------------------------------------


def _too_complex(body: bytes) -> str | None:
    """Why the body is refused before parsing: too many attributes on one element, or
    too many elements. A linear scan of the tags (attribute values with '=' in them are
    over-counted, which only errs towards a limit nobody's real feed comes near)."""
    if body.count(b"<") <= MAX_ELEMENTS:
        # every tag starts with "<": only the long ones can break a bound
        for match in _LONG_TAG.finditer(body):
            problem = _too_many_attributes(match.group())
            if problem is not None:
                return problem
        return None
    for elements, match in enumerate(_TAG.finditer(body), 1):
        problem = _too_many_attributes(match.group())
        if problem is not None:
            return problem
        if elements > MAX_ELEMENTS:
            return f"refused: more than {MAX_ELEMENTS} elements"
    return None


def _too_many_attributes(tag: bytes) -> str | None:
    if len(tag) > 8 * MAX_ATTRIBUTES_PER_ELEMENT:
        attributes = len(_ATTRIBUTE.findall(tag))
        if attributes > MAX_ATTRIBUTES_PER_ELEMENT:
            name = tag[1:].split(None, 1)[0][:40].decode("ascii", "replace")
            return (
                f"refused: element <{name}> has {attributes} attributes "
                f"(at most {MAX_ATTRIBUTES_PER_ELEMENT} are parsed)"
            )
    return None


def replace_invalid_char_refs(body: bytes) -> bytes:
    """Numeric character references to code points XML forbids (`&#xD800;`, `&#x110000;`,
    `&#0;`) become U+FFFD: feedparser raises on some and drops the strict parser on others,
    and one such reference must not cost the feed its other entries."""
    if b"&#" not in body:
        return body

    def fix(match: re.Match[bytes]) -> bytes:
        hex_digits, decimal = match.groups()
        code = int(hex_digits, 16) if hex_digits else int(decimal)
        return match.group() if _xml_char(code) else b"&#xFFFD;"

    return _CHAR_REF.sub(fix, body)


def _xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _cut(value: object, limit: int) -> str | None:
    """Markup cut to a few times `limit` before it is converted (never more work than
    the bound needs)."""
    if not isinstance(value, str):
        return None
    return value[: max(limit * 4, 4096)]


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _sniff(body: bytes, media: str) -> str | None:
    """Reject what is plainly no feed before feedparser spends time on it."""
    if not body or not body.strip():
        return "empty response"
    head = body[:_SNIFF]
    if head.startswith(b"\x1f\x8b"):
        return "binary data (gzip-compressed body)"
    if not head.startswith(_BOMS[1:]):  # UTF-16 text is full of NUL bytes
        controls = len(head.translate(None, _NOT_CONTROL))
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
    """Give feedparser the encoding the body is really in, relabelling it (HTTP header and
    XML declaration) when the declaration is missing or lies.

    - A UTF-8 byte-order mark wins over any declaration (as in browsers): a UTF-8 body
      with a BOM and a windows-1251 declaration is UTF-8.
    - Non-ASCII bytes that form valid UTF-8 are almost never anything else: such a body
      declared ISO-8859-1, Windows-1252 or any legacy encoding is relabelled UTF-8.
    - A body that is not UTF-8 and declares a specific legacy encoding it decodes in
      (windows-1251, Shift_JIS, EUC-KR, GB18030...) keeps it; one that fails to decode
      in it gets the usual superset (GB2312 -> GB18030, EUC-KR -> CP949, ...).
    - Otherwise (no declaration, a UTF-8 declaration that fails, or the Western default
      that many tools write whatever the bytes) charset-normalizer decides: the body
      stays Windows-1252 while it reads as plausible Western text, else it gets the
      detected encoding. Without this, feedparser falls back to Windows-1252 and stores
      mojibake ("Ðîññèÿ") that no classifier can read.
    """
    response_headers = {
        "content-type": headers.get("content-type") or "application/xml",
        "content-location": url,
    }
    if "content-language" in headers:
        response_headers["content-language"] = headers["content-language"]
    if body.startswith(_UTF8_BOM):
        if _decodes(body[3:], "utf-8"):
            return _relabel(body[3:], response_headers, "utf-8")
        body = body[3:]  # a BOM before bytes that are not UTF-8 is a lie like any other
    if body.startswith(_BOMS[1:]) or body.isascii():
        return body, response_headers
    declared_name = _declared(body, response_headers["content-type"])
    declared = _codec(declared_name) if declared_name else None
    if declared_name and declared_name.startswith(_WIDE):
        return body, response_headers
    if _decodes(body, "utf-8"):
        if declared in (None, "utf_8"):
            return body, response_headers
        return _relabel(body, response_headers, "utf-8")
    if declared is not None and declared not in _WESTERN and declared != "utf_8":
        if _decodes(body, declared):
            return body, response_headers
        superset = _SUPERSETS.get(declared)
        if superset is not None and _decodes(body, superset):
            return _relabel(body, response_headers, superset)
    detected = _detect(body)
    if detected is not None and detected != declared:
        log.info("feed %s: body decoded as %s (declared %s)", url, detected, declared_name)
        return _relabel(body, response_headers, detected)
    return body, response_headers


def _codec(name: str) -> str | None:
    """The Python codec's canonical name ("windows-1251" -> "cp1251"), None if unknown."""
    try:
        return codecs.lookup(name.strip().strip("'\"")).name.replace("-", "_")
    except LookupError:
        return None


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _detect(body: bytes) -> str | None:
    """The legacy encoding of a body that is not UTF-8: Windows-1252 while the text reads
    as plausible Western text in it, else what charset-normalizer finds (None when it
    finds nothing better)."""
    # imported here: only a body that is not UTF-8 needs the detector (2-3 MiB resident)
    import charset_normalizer  # the detector feedparser itself can use

    sample = body[:_DETECT_SAMPLE]
    try:
        western = charset_normalizer.from_bytes(
            sample, cp_isolation=["cp1252"], preemptive_behaviour=False
        ).best()
        if western is not None and western.chaos <= 0.1:
            return "windows-1252"
        best = charset_normalizer.from_bytes(sample, preemptive_behaviour=False).best()
    except Exception:  # a detector bug must not cost the feed
        log.debug("charset detection failed", exc_info=True)
        return None
    if best is None:
        return None
    encoding = _codec(best.encoding)
    if encoding in (None, "utf_8", "ascii") or (encoding or "").startswith(("utf_16", "utf_32")):
        return None
    return encoding


def _relabel(body: bytes, headers: dict[str, str], encoding: str) -> tuple[bytes, dict[str, str]]:
    media = media_type(headers["content-type"]) or "application/xml"
    headers = {**headers, "content-type": f"{media}; charset={encoding}"}
    label = encoding.replace("_", "-").encode("ascii")
    return _XML_DECLARATION.sub(rb"\1\g<2>" + label + rb"\2", body, count=1), headers


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
    guid = (raw.get("id") or "").strip()[:2000] or None
    link = _link(raw, feed_url)
    title = _bounded(html_to_text(_cut(raw.get("title"), MAX_TITLE)), MAX_TITLE)
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
        if isinstance(candidate, str) and (candidate := candidate.strip()):
            if PLAIN_URL.match(candidate):
                # urljoin gives a plain web URL back as it is, once the base splits
                urlsplit(feed_url)
                return candidate
            absolute = urljoin(feed_url, candidate)
            if is_web_url(absolute):
                return absolute
    return None


def _summary_and_content(raw: Mapping[str, Any]) -> tuple[str, str]:
    """The summary as one line, and the text (with paragraphs) of the longest body the
    entry offers: full content or summary. Each body is converted once."""
    summary_html = (raw.get("summary") or "")[:_MAX_MARKUP]
    summary_text = html_to_text(summary_html, keep_paragraphs=True)
    bodies = [c.get("value") or "" for c in raw.get("content") or () if isinstance(c, Mapping)]
    longest = max(bodies, key=len, default="")[:_MAX_MARKUP]
    if len(longest) > len(summary_html):
        content = html_to_text(longest, keep_paragraphs=True)
    else:
        content = summary_text
    return _bounded(" ".join(summary_text.split()), MAX_SUMMARY), _bounded(content, MAX_TEXT)


def _published(raw: Mapping[str, Any], fetched_at: datetime) -> tuple[datetime, bool]:
    """The entry's date in UTC, or `fetched_at` when absent, unparseable, in the future or
    before `EARLIEST` (a "0001-01-01" placeholder would overflow every date window)."""
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
        if when < EARLIEST:
            continue
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
