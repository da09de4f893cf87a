"""Feed parsing: formats, encodings, clean text, dates, identity and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import MonitorError
from monitor.ingest.parse import Entry, ParseError, parse_feed, strip_internal_subset
from monitor.ingest.textclean import html_to_text
from monitor.testing.feedserver import atom, rss

FETCHED = datetime(2025, 11, 12, 8, 0, 0, tzinfo=UTC)
URL = "https://feeds.example/world.xml"
RSS = {"content-type": "application/rss+xml"}
ATOM = {"content-type": "application/atom+xml"}
TITLE_FR = "Corée du Nord – Poutine reçu à Pyongyang"


def parse(body: bytes, headers: dict[str, str] | None = None) -> list[Entry]:
    return list(parse_feed(body, headers or RSS, URL, FETCHED).entries)


def item(n: int, **extra: object) -> dict[str, object]:
    return {
        "title": f"Story {n}",
        "link": f"https://news.example/story/{n}",
        "guid": f"https://news.example/story/{n}",
        "summary": f"<p>Summary of story {n}.</p>",
        "published": datetime(2025, 11, 10, 9, 30, tzinfo=UTC) + timedelta(hours=n),
        **extra,
    }


# --- formats ---------------------------------------------------------------------


def test_rss2() -> None:
    feed = parse_feed(rss([item(1), item(2)], language="fr-FR"), RSS, URL, FETCHED)
    assert feed.title == "Test feed" and feed.language == "fr" and feed.warning is None
    first = feed.entries[0]
    assert first.key == "url:https://news.example/story/1"
    assert first.link == first.canonical_url == "https://news.example/story/1"
    assert first.title == "Story 1" and first.summary == "Summary of story 1."
    assert first.published == datetime(2025, 11, 10, 10, 30, tzinfo=UTC)
    assert first.published_from_feed and first.language == "fr"


def test_atom() -> None:
    body = atom(
        [item(1, content="<p>Full <b>text</b> one.</p><p>Second paragraph.</p>")], language="de"
    )
    feed = parse_feed(body, ATOM, URL, FETCHED)
    entry = feed.entries[0]
    assert entry.title == "Story 1" and entry.link == "https://news.example/story/1"
    assert entry.content == "Full text one.\n\nSecond paragraph."
    assert entry.published.tzinfo is not None and entry.language == "de"


def test_rss091_with_netscape_doctype() -> None:
    body = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>Old</title><link>http://old.example/</link>'
        b"<description>d</description><language>en-us</language>"
        b"<item><title>First &amp; only</title><link>http://old.example/1</link>"
        b"<description>Caf\xe9 news</description></item></channel></rss>"
    )
    feed = parse_feed(body, {"content-type": "text/xml"}, URL, FETCHED)
    (entry,) = feed.entries
    assert entry.title == "First & only" and entry.summary == "Café news"
    assert feed.language == "en" and not entry.published_from_feed


def test_rss10_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://rdf.example/"><title>RDF</title><link>http://rdf.example/</link>
    <description>d</description></channel>
  <item rdf:about="http://rdf.example/1"><title>RDF item</title>
    <link>http://rdf.example/1</link><dc:date>2024-05-01T10:00:00+02:00</dc:date></item>
</rdf:RDF>"""
    (entry,) = parse(body, {"content-type": "application/rdf+xml"})
    assert entry.title == "RDF item"
    assert entry.published == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_broken_xml_that_still_yields_entries_gives_a_warning() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Kim & Putin</title><link>https://news.example/a</link></item>"
        b"<item><title>Second</title><link>https://news.example/b</link></item>"
        b"</channel>"
    )
    feed = parse_feed(body, RSS, URL, FETCHED)
    assert [e.title for e in feed.entries] == ["Kim & Putin", "Second"]
    assert feed.warning and feed.warning.startswith("malformed feed: ")


def test_empty_but_valid_feed_has_no_entries_and_no_error() -> None:
    feed = parse_feed(rss([]), RSS, URL, FETCHED)
    assert feed.entries == () and feed.warning is None
    assert parse_feed(atom([]), ATOM, URL, FETCHED).entries == ()


# --- encodings ---------------------------------------------------------------------


def test_utf8_body_declared_iso_8859_1() -> None:
    body = rss([item(1, title=TITLE_FR)], encoding="utf-8", declare="iso-8859-1")
    assert parse(body)[0].title == TITLE_FR
    header = {"content-type": "application/rss+xml; charset=ISO-8859-1"}
    assert parse(body, header)[0].title == TITLE_FR


def test_iso_8859_1_body_declared_utf8() -> None:
    title = "Corée du Nord : délégation reçue à Pyongyang"
    body = rss([item(1, title=title)], encoding="iso-8859-1", declare="utf-8")
    assert parse(body)[0].title == title
    assert parse(body, {"content-type": "text/xml; charset=utf-8"})[0].title == title


def test_correctly_declared_legacy_and_wide_encodings() -> None:
    cyrillic = "Северная Корея и Россия"
    assert parse(rss([item(1, title=cyrillic)], encoding="windows-1251"))[0].title == cyrillic
    assert parse(rss([item(1, title=TITLE_FR)], encoding="utf-16"))[0].title == TITLE_FR
    korean = "북한과 러시아"
    assert parse(rss([item(1, title=korean)], encoding="euc-kr"))[0].title == korean


# --- text, dates, identity -----------------------------------------------------------


def test_html_in_titles_and_summaries_becomes_clean_text() -> None:
    entry = parse(
        rss(
            [
                item(
                    1,
                    title="<b>Kim</b> &amp;amp; Putin&nbsp;meet",
                    summary="<p>Talks&#8230;</p><script>alert(1)</script>\n\n"
                    "  <div>in   <i>Pyongyang</i></div>",
                )
            ]
        )
    )[0]
    assert entry.title == "Kim &amp; Putin meet"
    assert entry.summary == "Talks… in Pyongyang"
    assert entry.content == "Talks…\n\nin Pyongyang"


def test_content_is_the_longest_of_content_and_summary() -> None:
    long = "<p>" + "Long article text. " * 50 + "</p>"
    entry = parse(rss([item(1, content=long)]))[0]
    assert entry.summary == "Summary of story 1."
    assert entry.content.startswith("Long article text.") and len(entry.content) > 500


def test_dates_are_converted_to_utc() -> None:
    entry = parse(rss([item(1, published="Tue, 11 Nov 2025 09:00:00 +0900")]))[0]
    assert entry.published == datetime(2025, 11, 11, 0, 0, tzinfo=UTC)


def test_missing_date_uses_fetch_time() -> None:
    entry = parse(rss([{"title": "No date", "link": "https://news.example/x"}]))[0]
    assert entry.published == FETCHED and not entry.published_from_feed


def test_future_date_uses_fetch_time_but_small_skew_is_kept() -> None:
    far = parse(rss([item(1, published=FETCHED + timedelta(days=2))]))[0]
    assert far.published == FETCHED and not far.published_from_feed
    near = parse(rss([item(1, published=FETCHED + timedelta(minutes=2))]))[0]
    assert near.published == FETCHED + timedelta(minutes=2) and near.published_from_feed


def test_naive_fetched_at_is_taken_as_utc() -> None:
    feed = parse_feed(
        rss([{"title": "x", "link": "https://n.example/1"}]), RSS, URL, FETCHED.replace(tzinfo=None)
    )
    assert feed.entries[0].published == FETCHED


def test_updated_entry_keeps_its_key_but_changes_content_hash() -> None:
    before = parse(rss([item(1)]))[0]
    after = parse(rss([item(1, summary="<p>Corrected: the visit was postponed.</p>")]))[0]
    same = parse(rss([item(1)]))[0]
    assert before.key == after.key
    assert before.content_hash != after.content_hash
    assert before.content_hash == same.content_hash


def test_same_article_in_two_feeds_gets_the_same_key() -> None:
    a = parse(
        rss([{"title": "Kim in Moscow", "guid": ("https://news.example/kim?utm_source=a", True)}])
    )[0]
    b = parse(
        atom(
            [
                {
                    "title": "Kim in Moscow (wire)",
                    "link": "https://NEWS.example/kim/?utm_medium=feed&fbclid=x",
                }
            ]
        ),
        ATOM,
    )[0]
    assert a.key == b.key == "url:https://news.example/kim"
    assert a.link == "https://news.example/kim?utm_source=a"


def test_relative_links_are_resolved_against_the_feed_url() -> None:
    entry = parse(rss([{"title": "Rel", "link": "/2025/rel-story"}]))[0]
    assert entry.link == "https://feeds.example/2025/rel-story"


def test_entries_without_guid_or_link_are_keyed_by_content() -> None:
    entries = parse(rss([{"title": "Only a title", "summary": "and a summary"}]))
    assert entries[0].key.startswith("hash:") and entries[0].link is None


def test_duplicate_entries_in_one_feed_are_collapsed() -> None:
    assert len(parse(rss([item(1), item(1), item(2)]))) == 2


# --- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body>x</body></html>",
            {"content-type": "text/html"},
            "not a feed: HTML page",
        ),
        (b"\n<html lang='en'><body><p>hi</p></body></html>", RSS, "not a feed: HTML page"),
        (bytes(range(256)) * 8, RSS, "binary data"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 100, RSS, "binary data"),
        (b"", RSS, "empty response"),
        (b'<?xml version="1.0"?><rss><channel><title>T</ti', RSS, "no entries and XML error"),
        (b"just some words, not xml", {"content-type": "text/plain"}, "no entries and XML error"),
        (b'<?xml version="1.0"?><config><a>1</a></config>', RSS, "not a feed"),
    ],
)
def test_unusable_bodies_raise_parse_error(
    body: bytes, headers: dict[str, str], reason: str
) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, headers, URL, FETCHED)
    assert str(info.value).startswith(reason)
    assert info.value.url == URL and isinstance(info.value, MonitorError)


def test_internal_subset_is_stripped_but_public_doctype_kept() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "]>"><!ENTITY b "x">]><rss/>'
    assert strip_internal_subset(body) == b'<?xml version="1.0"?><!DOCTYPE r ><rss/>'
    public = b'<!DOCTYPE rss PUBLIC "-//X//DTD RSS 0.91//EN" "http://x/rss.dtd"><rss/>'
    assert strip_internal_subset(public) == public


# --- textclean ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        ("plain  text\n here", "plain text here"),
        ("Q&A &amp; more &eacute;t&eacute;", "Q&A & more été"),
        ("<p>one</p><p>two</p>", "one two"),
        ("<style>p{}</style><script>x()</script>kept", "kept"),
        ("<b>unclosed <i>tags", "unclosed tags"),
        ("soft\u00adhyphen and zero\u200bwidth", "softhyphen and zerowidth"),
        ("a < b and c > d", "a < b and c > d"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_keeps_paragraphs_on_request() -> None:
    html = "<h1>Title</h1>\n<p>First  line<br>second</p><ul><li>item</li></ul>"
    assert html_to_text(html, keep_paragraphs=True) == "Title\n\nFirst line\n\nsecond\n\nitem"


def test_parsing_tries_no_import() -> None:
    """feedparser asked for its drv_libxml2 SAX driver on every parse: a failed import,
    with a search of sys.path, per feed."""
    import sys

    body = rss([item(1)])
    parse_feed(body, RSS, URL, FETCHED, fast=False)
    attempts: list[str] = []

    class Spy:
        def find_spec(self, name: str, *args: object) -> None:
            attempts.append(name)

    sys.meta_path.insert(0, Spy())  # type: ignore[arg-type]
    try:
        parse_feed(body, RSS, URL, FETCHED, fast=False)
        parse_feed(body, RSS, URL, FETCHED)
    finally:
        sys.meta_path.pop(0)
    assert attempts == []


# --- one entry that cannot be read --------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_a_guid_urlsplit_cannot_read_is_a_plain_guid(fast: bool) -> None:
    """A broken IPv6 host in one guid used to fail the whole feed ("Invalid IPv6 URL")."""
    body = rss([item(1), item(2, guid=("http://[bad/guid-2", False)), item(3)])
    feed = parse_feed(body, RSS, URL, FETCHED, fast=fast)
    assert [e.title for e in feed.entries] == ["Story 1", "Story 2", "Story 3"]
    assert feed.entries[1].key == "http://[bad/guid-2" and feed.warning is None


@pytest.mark.parametrize("fast", [True, False])
def test_an_entry_that_cannot_be_read_costs_that_entry_not_the_feed(
    fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever raises while one entry is read (here injected into its identity) skips
    that entry with a warning; the feed fails only when no entry can be read."""
    import monitor.ingest.parse as parse_module

    real = parse_module.entry_key

    def entry_key(
        guid: str | None, link: str | None, title: str | None, summary: str | None
    ) -> str:
        if title and title.startswith("Broken"):
            raise ValueError(f"cannot read {title}")
        return real(guid, link, title, summary)

    monkeypatch.setattr(parse_module, "entry_key", entry_key)
    body = rss([item(1), item(2, title="Broken 2"), item(3)])
    feed = parse_feed(body, RSS, URL, FETCHED, fast=fast)
    assert [e.title for e in feed.entries] == ["Story 1", "Story 3"]
    assert feed.warning == "1 entry skipped, e.g. ValueError: cannot read Broken 2"
    broken = rss([item(1, title="Broken 1"), item(2, title="Broken 2")])
    with pytest.raises(ParseError, match="no usable entries: 2 entries skipped"):
        parse_feed(broken, RSS, URL, FETCHED, fast=fast)
