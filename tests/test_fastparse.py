"""The lxml fast path against feedparser: over a generated corpus of feed shapes, every
body parses to the same result both ways (entries, feed title, language, warning, or
the same ParseError), or the fast path declines and feedparser parses it."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest

from monitor.ingest.fastparse import fast_parse
from monitor.ingest.parse import ParsedFeed, ParseError, parse_feed

# feedparser's entries warn when read for `updated_parsed` without one (its issue 310)
pytestmark = pytest.mark.filterwarnings("ignore:To avoid breaking existing software")

FETCHED = datetime(2025, 11, 12, 8, 0, 0, tzinfo=UTC)
URL = "https://feeds.example/news/world.xml"

NS = {
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "media": "http://search.yahoo.com/mrss/",
    "atom": "http://www.w3.org/2005/Atom",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "wfw": "http://wellformedweb.org/commentAPI/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "georss": "http://www.georss.org/georss",
    "x": "http://unknown.example/ns#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}

TITLES = [
    "Plain title",
    "  padded   title  ",
    "Fish &amp; chips",
    "<![CDATA[Tom & Jerry <b>bold</b>]]>",
    "&lt;b&gt;escaped&lt;/b&gt; markup",
    "&lt;script&gt;alert(1)&lt;/script&gt;Title",
    "",
    "Corée du Nord – Poutine reçu à Pyongyang",
    "Россия и КНДР",
    "朝鲜与俄罗斯",
    "CorÃ©e mis-decoded",
    "Smart &#147;quotes&#148; and &#150; dash",
    "a &lt; b and c &gt; d",
    "Emoji \U0001f600 title",
    "Tab\tand\nnewline",
    "&#xFFFD; replacement",
    "Title with &amp;amp; double",
    "&#38;#38; nested ref",
]
LINKS = [
    "https://news.example/story/{n}",
    "https://news.example/story/{n}?utm_source=rss&amp;id={n}",
    "/relative/story/{n}",
    "story-{n}.html",
    "",
    "javascript:alert({n})",
    "  https://news.example/padded/{n}  ",
    "https://news.example/a?x=1&amp;b;c={n}",
    "http://news.example/%7Estory/{n}#frag",
    "//cdn.example/story/{n}",
    "mailto:editor@news.example",
    "https://ünicode.example/story/{n}",
]
GUIDS = [
    ("", "https://news.example/story/{n}"),
    (' isPermaLink="false"', "story-{n}"),
    (' isPermaLink="true"', "/guid/{n}"),
    (' isPermaLink="false"', "1"),
    (' isPermaLink="True"', "https://news.example/g/{n}"),
    ("", "tag:news.example,2025:{n}"),
    ("", "{n}"),
    (' isPermaLink="false"', "null"),
    ("", ""),
    ("", "  https://news.example/spaced/{n}  "),
]
SUMMARIES = [
    "Summary of story {n}.",
    "&lt;p&gt;Escaped &lt;b&gt;HTML&lt;/b&gt; summary {n}.&lt;/p&gt;",
    "<![CDATA[<p>CDATA <i>HTML</i> summary {n}</p><p>Second paragraph.</p>]]>",
    "",
    "Cyrillic summary: Москва и Пхеньян {n}",
    "&lt;script&gt;x()&lt;/script&gt;Visible {n}",
    "Entities &amp;nbsp; &#160; and &#8212; {n}",
    "<![CDATA[Unclosed <b>bold {n}]]>",
]
DATES = [
    "Mon, 10 Nov 2025 09:30:00 +0000",
    "Mon, 10 Nov 2025 09:30:00 GMT",
    "10 Nov 2025 09:30:00 EST",
    "Mon, 10 Nov 25 09:30:00 PDT",
    "2025-11-10T09:30:00Z",
    "2025-11-10T09:30:00+05:30",
    "2025-11-10",
    "2025-11-10 09:30:00",
    "0001-01-01T00:00:00Z",
    "2099-01-01T00:00:00Z",
    "not a date",
    "",
    "Tue, 31 Feb 2025 10:00:00 +0000",
    "Mon, 10 Nov 2025 09:30:60 +0000",
    "20251110T093000Z",
    "Mon,10 Nov 2025 9:30 +0100",
]
EXTRAS = [
    "<category>World</category>",
    "<author>editor@news.example (Editor)</author>",
    "<dc:creator>Jane Doe</dc:creator>",
    "<dc:subject>Politics</dc:subject>",
    "<rights>© News Example</rights>",
    "<contributor><name>Sub Editor</name></contributor>",
    '<enclosure url="https://cdn.example/a.mp3" length="1" type="audio/mpeg"/>',
    "<comments>https://news.example/comments/{n}</comments>",
    '<media:content url="https://cdn.example/p{n}.jpg" medium="image"/>',
    '<media:thumbnail url="https://cdn.example/t{n}.jpg"/>',
    "<slash:comments>4</slash:comments>",
    "<wfw:commentRss>https://news.example/c/{n}/rss</wfw:commentRss>",
    "<x:custom>unknown namespace</x:custom>",
    "<itunes:summary>Podcast summary {n}</itunes:summary>",
    "<media:group><media:title>Grouped</media:title></media:group>",
    '<source url="https://other.example/rss">Other Paper</source>',
    "<georss:point>45.256 -71.92</georss:point>",
    "<dc:title>Dublin Core title {n}</dc:title>",
    "<media:title>Media title {n}</media:title>",
    "<dc:date>2025-11-09T08:00:00Z</dc:date>",
    "<dcterms:modified>2025-11-09T07:00:00Z</dcterms:modified>",
    "<dcterms:created>2025-11-08T07:00:00Z</dcterms:created>",
    "<dcterms:issued>2025-11-08T06:00:00Z</dcterms:issued>",
    '<atom:link rel="alternate" href="https://alt.example/{n}"/>',
    '<atom:link rel="enclosure" href="https://alt.example/{n}.mp3"/>',
    "<content:encoded><![CDATA[<p>Full <b>content</b> {n}.</p><p>Much longer text "
    "than the summary, to be chosen as the body.</p>]]></content:encoded>",
    "<content:encoded>Short</content:encoded>",
    "<!-- a comment between elements -->",
    "<?pi processing instruction?>",
    "<unknownelement>bare unknown</unknownelement>",
    "<description>Second description {n}</description>",
    "<title>Second title {n}</title>",
    "<guid>https://news.example/second-guid/{n}</guid>",
    "<pubDate>Tue, 11 Nov 2025 10:00:00 +0000</pubDate>",
    "<link>https://news.example/second-link/{n}</link>",
    "<dc:language>ko</dc:language>",
    "<category><sub>nested</sub></category>",
    "<title>Title with <!-- comment --> inside</title>",
    "<description>Desc <b>raw markup</b> {n}</description>",
]


#: The extras the fast path reads itself (so clean feeds mostly take it).
SUPPORTED = [e for e in EXTRAS if not e.startswith(("<itunes", "<media:group", "<georss", "<x:"))]
SUPPORTED = [e for e in SUPPORTED if "unknownelement" not in e and "<sub>" not in e]


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    headers: dict[str, str]


def _rss_item(rnd: random.Random, n: int, dup_guid: bool, extras: list[str]) -> str:
    parts: list[str] = []
    if rnd.random() < 0.9:
        parts.append(f"<title>{rnd.choice(TITLES)}</title>")
    if rnd.random() < 0.85:
        parts.append(f"<link>{rnd.choice(LINKS).format(n=n)}</link>")
    if rnd.random() < 0.8:
        attrs, value = rnd.choice(GUIDS)
        n_guid = 0 if dup_guid else n
        parts.append(f"<guid{attrs}>{value.format(n=n_guid)}</guid>")
    if rnd.random() < 0.85:
        parts.append(f"<description>{rnd.choice(SUMMARIES).format(n=n)}</description>")
    if rnd.random() < 0.85:
        parts.append(f"<pubDate>{rnd.choice(DATES)}</pubDate>")
    for _ in range(rnd.choice([0, 0, 1, 1, 2, 3])):
        parts.insert(rnd.randrange(len(parts) + 1), rnd.choice(extras).format(n=n))
    rnd.shuffle(parts) if rnd.random() < 0.2 else None
    return "<item>" + "".join(parts) + "</item>"


def _declarations() -> str:
    return "".join(f' xmlns:{p}="{u}"' for p, u in NS.items() if p != "rdf")


def _rss(rnd: random.Random, version: str, extras: list[str]) -> str:
    items = [_rss_item(rnd, n, rnd.random() < 0.1, extras) for n in range(rnd.randint(0, 6))]
    channel = [
        f"<title>{rnd.choice(TITLES)}</title>",
        "<link>https://news.example/</link>",
        "<description>A test channel</description>",
    ]
    if rnd.random() < 0.6:
        channel.append(f"<language>{rnd.choice(['en', 'fr-FR', 'ru_RU', 'EN-us', 'x'])}</language>")
    if rnd.random() < 0.3:
        channel.append(
            "<image><url>https://news.example/logo.png</url><title>Logo title</title>"
            "<link>https://news.example/</link></image>"
        )
    if rnd.random() < 0.2:
        channel.append('<atom:link rel="self" href="https://feeds.example/news/world.xml"/>')
    if rnd.random() < 0.1:
        channel.append("<textinput><title>Search</title><name>q</name></textinput>")
    if rnd.random() < 0.1:
        channel.append("<skipHours><hour>1</hour></skipHours><ttl>60</ttl>")
    if rnd.random() < 0.05:
        channel.append("<dc:title>DC channel title</dc:title>")
    body = "".join(channel) + "".join(items)
    if rnd.random() < 0.1:  # the channel's title after its items
        body = "".join(channel[1:]) + "".join(items) + channel[0]
    root_attrs = _root_attrs(rnd, extras)
    base = rnd.random() < 0.05 and extras is EXTRAS
    channel_attrs = ' xml:base="https://base.example/dir/"' if base else ""
    return (
        f'<rss version="{version}"{_declarations()}{root_attrs}>'
        f"<channel{channel_attrs}>{body}</channel></rss>"
    )


def _root_attrs(rnd: random.Random, extras: list[str]) -> str:
    roll = rnd.random()
    if extras is not EXTRAS and roll < 0.15:
        return ""
    if roll < 0.1:
        return ' xml:lang="de-DE"'
    if roll < 0.15:
        return ' xml:base="https://base.example/root/"'
    if roll < 0.18:
        return ' xml:lang=""'
    return ""


def _rdf(rnd: random.Random, extras: list[str]) -> str:
    n_items = rnd.randint(0, 5)
    items = []
    for n in range(n_items):
        about = f' rdf:about="https://news.example/rdf/{n}"' if rnd.random() < 0.8 else ""
        parts = [f"<title>{rnd.choice(TITLES)}</title>"]
        if rnd.random() < 0.9:
            parts.append(f"<link>{rnd.choice(LINKS).format(n=n)}</link>")
        if rnd.random() < 0.8:
            parts.append(f"<description>{rnd.choice(SUMMARIES).format(n=n)}</description>")
        if rnd.random() < 0.8:
            parts.append(f"<dc:date>{rnd.choice(DATES)}</dc:date>")
        for _ in range(rnd.choice([0, 1, 2])):
            parts.append(rnd.choice(extras).format(n=n))
        items.append(f"<item{about}>{''.join(parts)}</item>")
    seq = "".join(f'<rdf:li rdf:resource="https://news.example/rdf/{n}"/>' for n in range(n_items))
    image_first = rnd.random() < 0.15
    image = (
        '<image rdf:about="https://news.example/logo.png"><title>Logo</title>'
        "<url>https://news.example/logo.png</url><link>https://news.example/</link></image>"
    )
    channel = (
        f'<channel rdf:about="https://news.example/"><title>{rnd.choice(TITLES)}</title>'
        "<link>https://news.example/</link><description>RDF channel</description>"
        f"{'<dc:language>ja</dc:language>' if rnd.random() < 0.5 else ''}"
        f"<items><rdf:Seq>{seq}</rdf:Seq></items>"
        '<image rdf:resource="https://news.example/logo.png"/></channel>'
    )
    default_ns = rnd.choice(["http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"])
    inner = (image + channel if image_first else channel + image) + "".join(items)
    return (
        f'<rdf:RDF xmlns:rdf="{NS["rdf"]}" xmlns="{default_ns}"{_declarations()}'
        f"{_root_attrs(rnd, extras)}>{inner}</rdf:RDF>"
    )


def _atom(rnd: random.Random, extras: list[str]) -> str:
    entries = []
    for n in range(rnd.randint(0, 5)):
        parts = []
        if rnd.random() < 0.9:
            kind = rnd.choice(["", ' type="text"', ' type="html"', ' type="xhtml"'])
            title = rnd.choice(TITLES)
            if kind == ' type="xhtml"':
                title = f'<div xmlns="http://www.w3.org/1999/xhtml">{escape("x")}</div>'
            parts.append(f"<title{kind}>{title}</title>")
        if rnd.random() < 0.85:
            parts.append(f"<id>{rnd.choice(GUIDS)[1].format(n=n)}</id>")
        for _ in range(rnd.choice([0, 1, 1, 2])):
            rel = rnd.choice(["", ' rel="alternate"', ' rel="self"', ' rel="enclosure"'])
            kind = rnd.choice(["", ' type="text/html"', ' type="application/pdf"'])
            parts.append(f'<link{rel}{kind} href="{rnd.choice(LINKS).format(n=n)}"/>')
        if rnd.random() < 0.7:
            kind = rnd.choice(["", ' type="html"', ' type="text"'])
            parts.append(f"<summary{kind}>{rnd.choice(SUMMARIES).format(n=n)}</summary>")
        if rnd.random() < 0.5:
            kind = rnd.choice(["", ' type="html"', ' type="text"', ' type="xhtml"', ' src="x"'])
            body = rnd.choice(SUMMARIES).format(n=n) + " and more content text"
            if kind == ' type="xhtml"':
                body = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Para</p></div>'
            parts.append(f"<content{kind}>{body}</content>")
        for tag in ("published", "updated"):
            if rnd.random() < 0.6:
                parts.append(f"<{tag}>{rnd.choice(DATES)}</{tag}>")
        if rnd.random() < 0.4:
            parts.append("<author><name>Jane</name><email>j@news.example</email></author>")
        if rnd.random() < 0.2:
            parts.append('<category term="world"/>')
        if rnd.random() < 0.1:
            parts.append(rnd.choice(extras).format(n=n))
        if rnd.random() < 0.2:
            rnd.shuffle(parts)
        lang = ' xml:lang="es"' if rnd.random() < 0.05 and extras is EXTRAS else ""
        entries.append(f"<entry{lang}>{''.join(parts)}</entry>")
    head = (
        f"<title>{rnd.choice(TITLES)}</title><id>urn:uuid:feed</id>"
        '<link rel="self" href="https://feeds.example/news/world.xml"/>'
        "<updated>2025-11-10T09:30:00Z</updated><author><name>Desk</name></author>"
    )
    body = head + "".join(entries) if rnd.random() < 0.5 else "".join(entries) + head
    ns = NS["atom"] if rnd.random() < 0.9 or extras is not EXTRAS else "http://purl.org/atom/ns#"
    return f'<feed xmlns="{ns}"{_declarations()}{_root_attrs(rnd, extras)}>{body}</feed>'


def _prolog(rnd: random.Random, text: str) -> tuple[bytes, dict[str, str]]:
    """Encodings, declared or not, right or wrong, and the header that goes with them."""
    roll = rnd.random()
    xml_types = ["application/rss+xml", "application/xml", "application/atom+xml", "text/xml"]
    other_types = ["text/html", "application/octet-stream", "Application/RSS+XML", "text/plain"]
    ctype = rnd.choice(xml_types if rnd.random() < 0.85 else other_types)
    decl = '<?xml version="1.0" encoding="{}"?>\n'
    if roll < 0.45:
        return (decl.format("utf-8") + text).encode(), {"content-type": ctype}
    if roll < 0.55:
        return text.encode(), {"content-type": ctype}
    if roll < 0.62:
        return (decl.format("UTF-8") + text).encode(), {"content-type": ctype + "; charset=utf-8"}
    if roll < 0.68:  # legacy encoding, declared
        body = (decl.format("windows-1251") + text).encode("cp1251", "replace")
        return body, {"content-type": ctype}
    if roll < 0.74:  # UTF-8 bytes declared ISO-8859-1 (relabelled before parsing)
        return (decl.format("ISO-8859-1") + text).encode(), {"content-type": ctype}
    if roll < 0.78:  # Latin-1 bytes, undeclared
        return text.encode("latin-1", "replace"), {"content-type": ctype}
    if roll < 0.81:
        return b"\xef\xbb\xbf" + (decl.format("utf-8") + text).encode(), {"content-type": ctype}
    if roll < 0.84:
        return ("\n" + decl.format("utf-8") + text).encode(), {"content-type": ctype}
    if roll < 0.87:
        return ('<?xml version="1.1"?>' + text).encode(), {"content-type": ctype}
    if roll < 0.9:
        return (decl.format("utf-8") + text).encode("utf-16"), {"content-type": ctype}
    if roll < 0.93:
        body = (decl.format("utf-8") + text).encode()
        return body, {"content-type": ctype, "content-language": "pt-BR"}
    return (decl.format("us-ascii") + text).encode("ascii", "xmlcharrefreplace"), {
        "content-type": ctype + "; charset=us-ascii"
    }


def _damage(rnd: random.Random, body: bytes) -> bytes:
    """Broken XML of the kinds real feeds have."""
    roll = rnd.random()
    if roll < 0.25:
        return body[: rnd.randrange(len(body) // 2, len(body))]  # truncated
    if roll < 0.4:
        return body.replace(b"</title>", b"", 1)  # an unclosed tag
    if roll < 0.55:
        return body.replace(b"</title>", b"&nbsp;</title>", 1)  # an undefined entity
    if roll < 0.65:
        return body.replace(b"&amp;", b"&", 1) if b"&amp;" in body else body + b"<junk/>"
    if roll < 0.75:
        return body + b"<trailing>junk</trailing>"
    if roll < 0.85:
        return body.replace(b"<channel>", b"<channel><x:undeclared>1</x:undeclared>", 1).replace(
            b'xmlns:x="http://unknown.example/ns#"', b""
        )
    if roll < 0.9:
        return body.replace(b"<item>", b"<item>\x01", 1)
    doctype = (
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
    )
    if roll < 0.95:
        return body.replace(b"<rss", doctype + b"<rss", 1)
    return body.replace(b"<rss", b'<!DOCTYPE rss [<!ENTITY e "entity">]><rss', 1).replace(
        b"</title>", b"&e;</title>", 1
    )


def corpus(seed: int = 20251112, size: int = 1200) -> Iterator[Case]:
    """`size` feeds: every other one clean (well-formed, an XML media type, UTF-8, the
    elements the fast path reads), the others anything (odd encodings and media types,
    unknown elements, xml:base and xml:lang, broken XML)."""
    rnd = random.Random(seed)
    makers: list[tuple[str, Callable[[random.Random, list[str]], str]]] = [
        ("rss2", lambda r, e: _rss(r, "2.0", e)),
        ("rss091", lambda r, e: _rss(r, "0.91", e)),
        ("rss092", lambda r, e: _rss(r, "0.92", e)),
        ("rdf", _rdf),
        ("atom", _atom),
    ]
    for i in range(size):
        name, make = makers[i % len(makers)]
        if i % 2:
            text = make(rnd, SUPPORTED)
            ctype = rnd.choice(["application/rss+xml", "application/xml", "application/atom+xml"])
            charset = rnd.choice(["", "; charset=utf-8", "; charset=UTF-8"])
            decl = rnd.choice(
                ['<?xml version="1.0" encoding="utf-8"?>\n', "", "<?xml version='1.0'?>"]
            )
            headers = {"content-type": ctype + charset}
            if rnd.random() < 0.1:
                headers["content-language"] = rnd.choice(["pt-BR", "uk", "zh_TW"])
            yield Case(f"{i}-{name}-clean", (decl + text).encode(), headers)
            continue
        body, headers = _prolog(rnd, make(rnd, EXTRAS))
        if rnd.random() < 0.15:
            body = _damage(rnd, body)
            name += "-damaged"
        yield Case(f"{i}-{name}", body, headers)


def outcome(case: Case, *, fast: bool) -> ParsedFeed | str:
    try:
        return parse_feed(case.body, case.headers, URL, FETCHED, fast=fast)
    except ParseError as exc:
        return f"ParseError: {exc.reason}"


def test_fast_path_gives_feedparsers_result_or_declines() -> None:
    accepted = 0
    cases = list(corpus())
    for case in cases:
        reference = outcome(case, fast=False)
        assert outcome(case, fast=True) == reference, case.name
        headers = {**case.headers, "content-location": URL}
        accepted += fast_parse(case.body, headers) is not None
    # the proof is not vacuous: the fast path takes a good share of the corpus
    assert accepted >= len(cases) // 4, f"fast path took {accepted} of {len(cases)}"


PLAIN_RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
    b"<item><title>One</title><link>https://news.example/1</link>"
    b"<guid>https://news.example/1</guid><description>Text</description>"
    b"<pubDate>Mon, 10 Nov 2025 09:30:00 +0000</pubDate></item></channel></rss>"
)
PLAIN_ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
    b"<title>T</title><entry><title>One</title><id>tag:news.example,2025:1</id>"
    b'<link href="https://news.example/1"/><updated>2025-11-10T09:30:00Z</updated>'
    b'<summary>Text</summary><content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>'
)
PLAIN_RDF = (
    b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b'<channel rdf:about="https://news.example/"><title>T</title></channel>'
    b'<item rdf:about="https://news.example/1"><title>One</title>'
    b"<link>https://news.example/1</link><dc:date>2025-11-10T09:30:00Z</dc:date></item></rdf:RDF>"
)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (PLAIN_RSS, "application/rss+xml"),
        (PLAIN_ATOM, "application/atom+xml"),
        (PLAIN_RDF, "application/rdf+xml"),
    ],
)
def test_common_shapes_take_the_fast_path(body: bytes, ctype: str) -> None:
    headers = {"content-type": ctype, "content-location": URL}
    assert fast_parse(body, headers) is not None
    case = Case("plain", body, {"content-type": ctype})
    assert outcome(case, fast=True) == outcome(case, fast=False)


@pytest.mark.parametrize(
    "body",
    [
        PLAIN_RSS.replace(b"<rss ", b'<rss xmlns:x="http://unknown.example/" ').replace(
            b"<title>One", b"<x:t>1</x:t><title>One"
        ),
        PLAIN_RSS.replace(b"<channel>", b'<channel xml:base="https://other.example/">'),
        PLAIN_RSS.replace(b"</rss>", b""),
        PLAIN_RSS.replace(b"<title>One", b"<title>&nbsp;One"),
        PLAIN_RSS.replace(b"<description>Text", b"<description><p>Raw</p>Text"),
        PLAIN_RSS.replace(b"<rss", b'<!DOCTYPE rss SYSTEM "x.dtd"><rss'),
        PLAIN_ATOM.replace(b'type="html"', b'type="xhtml"'),
    ],
    ids=["unknown-namespace", "xml-base", "broken", "entity", "markup", "doctype", "xhtml"],
)
def test_fast_path_declines_what_it_is_not_sure_of(body: bytes) -> None:
    assert fast_parse(body, {"content-type": "application/xml", "content-location": URL}) is None
