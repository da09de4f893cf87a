"""The parsing shortcuts give what the general code gives, over broad generated inputs.

Each shortcut (plain URLs taken as they are, ASCII text left alone, dates sent to the
RFC 822 parser, the tag scan of `_too_complex`, line-wise whitespace) is checked here
against the implementation it replaced, kept below as it was.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import pytest
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.urls import _urljoin
from lxml import etree

from monitor.ingest import fastparse, identity, parse, textclean

# --- the implementations the shortcuts replaced ----------------------------------------


SAFE_PATH = identity._SAFE_PATH


def old_is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # since: what urlsplit cannot read is no web URL
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def old_canonical_url(url: str) -> str:
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    scheme = parts.scheme.lower()
    if scheme not in identity._DEFAULT_PORTS or not parts.hostname:
        return raw
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != identity._DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    path = (
        quote(identity._PERCENT.sub(identity._normalise_escape, parts.path), safe=SAFE_PATH) or "/"
    )
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not identity._is_tracking(k)
    ]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, quote_via=quote), ""))


def old_link(raw: dict[str, Any], feed_url: str) -> str | None:
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
            if old_is_web_url(absolute):
                return absolute
    return None


def old_text(base: str, el: Any, *, resolve: bool) -> str:
    text = (el.text or "").strip()
    if resolve and text:
        text = _urljoin(base, text)
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return str(text.translate(_cp1252))


_SPACES = re.compile(r"[^\S\n]+")
_BREAKS = re.compile(r"\s*\n\s*")
_PARAS = re.compile(r"\n{2,}")


def old_html_to_text(s: str | None, *, keep_paragraphs: bool = False) -> str:
    if not s:
        return ""
    if "<" in s or "&" in s:
        collector = textclean._TextCollector()
        collector.feed(s)
        collector.close()
        text = "".join(collector.parts)
    else:
        text = s
    text = text.translate(textclean._INVISIBLE).replace("\r", "\n").replace("\xa0", " ")
    if not keep_paragraphs:
        return " ".join(text.split())
    text = _SPACES.sub(" ", text)
    text = _BREAKS.sub("\n", text).strip()
    return _PARAS.sub("\n", text).replace("\n", "\n\n")


def old_too_complex(body: bytes) -> str | None:
    limit = parse.MAX_ATTRIBUTES_PER_ELEMENT
    for elements, match in enumerate(parse._TAG.finditer(body), 1):
        tag = match.group()
        if len(tag) > 8 * limit:
            attributes = len(parse._ATTRIBUTE.findall(tag))
            if attributes > limit:
                name = tag[1:].split(None, 1)[0][:40].decode("ascii", "replace")
                return (
                    f"refused: element <{name}> has {attributes} attributes "
                    f"(at most {limit} are parsed)"
                )
        if elements > parse.MAX_ELEMENTS:
            return f"refused: more than {parse.MAX_ELEMENTS} elements"
    return None


def outcome(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The result, or the exception's type and message."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # the same exceptions are part of the behaviour
        return (type(exc), str(exc))


# --- generated inputs -------------------------------------------------------------------

SCHEMES = ["http", "https", "HTTP", "Https", "ftp", "mailto", "urn", "feed", "javascript", ""]
SEPARATORS = ["://", ":", ":///", "//", "", ":/"]
USERINFO = ["", "", "", "user@", "u:p@", "@", "a@b@"]
HOSTS = [
    "example.com",
    "Example.COM",
    "news5.example",
    "example.com.",
    "xn--bcher-kva.example",
    "bücher.example",
    "127.0.0.1",
    "[::1]",
    "[2001:DB8::1]",
    "[bad",
    "bad]",
    "a..b",
    ".",
    "",
    "ex_ample.com",
    "ｅｘａｍｐｌｅ.com",
    "-a-.b",
]
PORTS = ["", "", "", ":80", ":443", ":8080", ":", ":0", ":65536", ":abc", ":१२"]
PATHS = [
    "",
    "/",
    "/a/b",
    "/a/b.html",
    "/2025/11/kim-putin/",
    "/a//b/",
    "//a",
    "/a/./b/../c",
    "/%7euser/%2f",
    "/%41%",
    "/cor\u00e9e",
    "/a b",
    "/a;p=1",
    "/a;",
    "/~x/",
    "/a\tb",
    "/[x]",
    "/a|b",
    '/a"b',
    "/<x>",
    "/a^b`c{d}",
    "/a\\b",
    "/'()*+,=:@!$&",
    "a/b",
]
QUERIES = [
    "",
    "",
    "?",
    "?a=1",
    "?b=2&a=1",
    "?utm_source=rss",
    "?utm_source=x&id=3",
    "?a=1&a=0",
    "?q=a+b",
    "?x",
    "?=",
    "?a=%20",
    "?a=1;b=2",
    "?&&",
    "?fbclid=1&Ref=2",
    "?a=?b",
    "?a=b c",
    "?a=é",
]
FRAGMENTS = ["", "", "#", "#sec", "#a#b", "#?x", "#a b"]
WRAPPERS = ["", "", "", " ", "\t", "\n ", "\u00a0", "\x00", "\x1f"]
RELATIVE = ["a/b", "/x", "//host/x", "?q", "#f", "../up", ".", "", " ", "http:", "https:/x"]


def urls(count: int = 6000, seed: int = 20251204) -> Iterator[str]:
    rnd = random.Random(seed)
    yield from RELATIVE
    yield from (f"https://{h}/a" for h in HOSTS)
    for _ in range(count):
        core = (
            rnd.choice(SCHEMES)
            + rnd.choice(SEPARATORS)
            + rnd.choice(USERINFO)
            + rnd.choice(HOSTS)
            + rnd.choice(PORTS)
            + rnd.choice(PATHS)
            + rnd.choice(QUERIES)
            + rnd.choice(FRAGMENTS)
        )
        yield rnd.choice(WRAPPERS) + core + rnd.choice(WRAPPERS)
    # the common shape, with every variation of each part
    for _ in range(count):
        yield (
            rnd.choice(["http", "https"])
            + "://"
            + rnd.choice(HOSTS)
            + rnd.choice(PORTS)
            + rnd.choice(PATHS)
            + rnd.choice(QUERIES)
            + rnd.choice(FRAGMENTS)
        )


def every_plain_variation() -> Iterator[str]:
    for parts in itertools.product(
        ["http://", "https://"],
        ["example.com", "Example.COM", "example.com.", "."],
        ["", ":8080", ":", ":65536", ":443"],
        PATHS,
        QUERIES,
        ["", "#", "#sec"],
    ):
        yield "".join(parts)


BASES = [
    "https://feeds.example/news/world.xml",
    "http://127.0.0.1:8000/feed/1.xml",
    "https://example.com",
    "HTTP://Example.com/a/",
    "feed://example.com/rss",
    "ftp://example.com/a/b",
    "http://[bad/feed.xml",
    "",
]


# --- the tests --------------------------------------------------------------------------


def test_urls_cover_both_shapes() -> None:
    shapes = [bool(identity.PLAIN_URL.match(url.strip())) for url in urls()]
    assert shapes.count(True) > 1000 and shapes.count(False) > 5000


def test_is_web_url_and_canonical_url_agree_with_the_general_code() -> None:
    for url in itertools.chain(urls(), every_plain_variation()):
        assert outcome(identity.is_web_url, url) == outcome(old_is_web_url, url), url
        assert identity.canonical_url(url) == old_canonical_url(url), url


def test_canonical_url_cache_gives_each_value_its_own_result() -> None:
    values = list(urls(count=500))
    first = [identity.canonical_url(url) for url in values]
    assert [identity.canonical_url(url) for url in reversed(values)] == first[::-1]


@pytest.mark.parametrize("base", BASES)
def test_plain_urls_are_their_own_join(base: str) -> None:
    try:
        urlsplit(base)
    except ValueError:
        splits = False
    else:
        splits = True
    for url in itertools.chain(urls(count=2000), every_plain_variation()):
        if identity.PLAIN_URL.match(url):
            assert _urljoin(base, url) == (url if splits else ""), url
            if splits:
                assert urljoin(base, url) == url


@pytest.mark.parametrize("base", BASES)
def test_entry_link_agrees_with_the_general_code(base: str) -> None:
    for url in urls(count=2000):
        for raw in (
            {"link": url},
            {"id": url, "guidislink": True},
            {"link": " ", "id": url, "guidislink": True},
            {"links": [{"href": url}, {"rel": "alternate", "href": "/a"}]},
        ):
            assert outcome(parse._link, raw, base) == outcome(old_link, raw, base), (raw, base)


@pytest.mark.parametrize("base", [b for b in BASES if b])
def test_fast_path_text_and_joins_agree_with_the_general_code(base: str) -> None:
    try:
        walk = fastparse._Walk({"content-location": base})
    except fastparse._Decline:
        pytest.skip("the fast path declines this base")
    texts = [*urls(count=1500), "Corée", "CorÃ©e", "\x80\x9f", "naïve", "€ and ™", " plain "]
    for text in texts:
        el = etree.Element("link")
        try:
            el.text = text
        except ValueError:  # not XML text: lxml never gives it
            continue
        for resolve in (False, True):
            assert walk._text(el, resolve=resolve) == old_text(walk.base, el, resolve=resolve)
        assert walk._join(text) == _urljoin(walk.base, text), text


DATE_PARTS = [
    ["", "Sun, ", "sun ", "Tue, ", "Thu,", "Sat, ", "Mon ", "Foo, ", "T", "t "],
    ["01 ", "1 ", "31 ", "32 ", "2025-06-01", "20250601", "99 "],
    ["Jun ", "jun ", "June ", "Jux ", "Feb ", ""],
    ["2025 ", "25 ", "1899 ", "0001 ", "99999 ", ""],
    ["00:00:00", "23:59:60", "12:00", "1:2:3", "25:00:00", "T12:00:00", ""],
    ["", " +0000", " GMT", " -0500", " EST", " Z", " +25:00", " UT", " PDT", "Z", " junk"],
]


def dates(seed: int = 7) -> Iterator[str]:
    rnd = random.Random(seed)
    yield from ("", " ", "today", "Tuesday", "Sun", "tomorrow at noon", "2025", "T12:00")
    yield from ("Sun, 01 Jun 2025 00:00:00 +0000", "2025-06-01T00:00:00Z", "Juni 2025")
    for parts in itertools.islice(itertools.product(*DATE_PARTS), 0, None, 7):
        yield "".join(parts)
    for _ in range(3000):
        yield "".join(rnd.choice(p) for p in DATE_PARTS)


def test_dates_agree_with_feedparser() -> None:
    for text in dates():
        assert fastparse._date(text) == _parse_date(text), text


def texts(seed: int = 11) -> Iterator[str]:
    pieces = [
        "word",
        "Été",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\r\n",
        "\r",
        "\t",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x1f",
        "\x00",
        "\x07",
        "\x7f",
        "\x85",
        "\xa0",
        "\u2028",
        "\u2029",
        "\u3000",
        "\u200b",
        "\ufeff",
        "\u00ad",
        "<p>",
        "</p>",
        "<br/>",
        "<b>",
        "&amp;",
        "&nbsp;",
        "&#10;",
        "<script>x</script>",
        "<li>",
        "a.",
    ]
    rnd = random.Random(seed)
    yield ""
    for _ in range(6000):
        yield "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12)))


def test_html_to_text_agrees_with_the_regex_version() -> None:
    for text in texts():
        for keep in (False, True):
            assert textclean.html_to_text(text, keep_paragraphs=keep) == old_html_to_text(
                text, keep_paragraphs=keep
            ), repr(text)


def bodies(seed: int = 3) -> Iterator[bytes]:
    limit = parse.MAX_ATTRIBUTES_PER_ELEMENT
    rnd = random.Random(seed)
    yield b""
    yield b"<rss><channel><item><title>x</title></item></channel></rss>"
    for _ in range(150):
        tags = []
        for _ in range(rnd.randint(1, 6)):
            count = rnd.choice([0, 3, limit - 1, limit, limit + 1, 2 * limit])
            width = rnd.choice([1, 4, 8, 12])
            attrs = " ".join(f'a{i}="{"v" * width}"' for i in range(count))
            name = rnd.choice(["item", "x:y", "_a", "1bad", "/end"])
            tags.append(f"<{name} {attrs}>" + rnd.choice(["", "text", "<", ">", 'a="b"']))
        yield "".join(tags).encode()


def test_too_complex_agrees_with_the_full_scan() -> None:
    found = set()
    for body in bodies():
        problem = parse._too_complex(body)
        assert problem == old_too_complex(body), body[:80]
        found.add(problem is None)
    assert found == {True, False}


def test_too_complex_counts_elements_past_the_bound() -> None:
    body = b"<a>" * (parse.MAX_ELEMENTS + 1)
    assert parse._too_complex(body) == old_too_complex(body) is not None
    assert parse._too_complex(b"<a>" * 10 + b"<" * parse.MAX_ELEMENTS) is None


def test_sniff_counts_the_same_controls() -> None:
    rnd = random.Random(5)
    for _ in range(2000):
        head = bytes(
            rnd.choice([0, 1, 8, 9, 10, 13, 14, 27, 31, 32, 65, 127, 200]) for _ in range(60)
        )
        assert len(head.translate(None, parse._NOT_CONTROL)) == sum(
            1 for b in head if b < 9 or 13 < b < 32
        )
