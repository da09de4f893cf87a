"""A fast path for the common feed shapes, with feedparser as the reference.

feedparser's pure-Python SAX handlers cost most of a cold poll. For the shapes nearly
every feed has (RSS 0.9x/2.0, RSS 1.0/RDF, Atom 1.0, with the usual content, dc, dcterms
and media elements), lxml builds the tree in C and this module reads the fields
`monitor.ingest.parse` uses, by feedparser's own rules (its URL joining, date parser and
text clean-ups, its order of precedence between elements), so the raw entries are the
ones feedparser would give. Whatever it is not sure about (an unknown namespace, an
element it does not know, xml:base or xml:lang below the root, a DOCTYPE, broken XML,
an encoding or media type feedparser would complain about, markup inside a field) makes
it decline: `fast_parse` returns None and feedparser parses the body.
tests/test_fastparse.py proves both paths give the same entries over a broad corpus.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from feedparser import datetimes
from feedparser.datetimes import _parse_date
from feedparser.datetimes.rfc822 import _parse_date_rfc822
from feedparser.datetimes.w3dtf import _parse_date_w3dtf
from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

from monitor.ingest.identity import PLAIN_URL

Raw = dict[str, Any]

_XML_NS = "http://www.w3.org/XML/1998/namespace"
_ATOM10 = "http://www.w3.org/2005/Atom"
#: Namespace URI (lower-cased) -> feedparser's prefix for it ("" for the core formats).
_PREFIXES: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
_HANDLERS = frozenset(n for n in dir(_FeedParserMixin) if n.startswith(("_start_", "_end_")))
_HTML_TYPES = frozenset(_FeedParserMixin.html_types)
_TEXT_TYPES = frozenset({"text/plain", "text/html"})
_XML_TYPES = ("application/xml", "application/xml-dtd", "application/xml-external-parsed-entity")
_TEXT_XML_TYPES = ("text/xml", "text/xml-external-parsed-entity")
#: For an ASCII body, these declared encodings all decode it as ASCII does.
_ASCII_SAFE = frozenset(
    {"ascii", "utf_8", "latin_1", "cp1252", "cp1250", "cp1251"}
    | {f"iso8859_{n}" for n in (2, 3, 4, 5, 7, 9, 10, 13, 14, 15)}
)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE, b"\x4c\x6f\xa7\x94")
_HEAD = re.compile(rb"<\w")
_XML_VERSION = re.compile(rb"^<\?xml\s+version\s*=\s*([\"'])([^\"']*)\1")
_LINK_QUERY = re.compile("&([A-Za-z0-9_]+);")

#: Elements inside an entry: feedparser's name -> what the fast path does with it.
_TITLES = {"title": False, "dc:title": False, "media:title": True}  # True: keeps title_depth
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms:issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc:date", "dcterms:modified"})
_CREATED = frozenset({"created", "dcterms:created"})
#: Entry elements that touch none of the fields parse.py reads (when they are leaves).
_HARMLESS = frozenset(
    {"category", "comments", "enclosure", "rights", "dc:creator", "dc:subject"}
    | {"media:content", "media:thumbnail"}
)
_PEOPLE = frozenset({"author", "contributor"})
_PERSON_PARTS = frozenset({"name", "email", "uri"})
_IMAGE_PARTS = frozenset({"title", "link", "description", "url", "href", "width", "height"})
_TEXTINPUT_PARTS = frozenset({"title", "link", "description", "name"})
#: Names that switch feedparser's context or feed fields: never inside other elements.
_DANGER = frozenset(
    {"title", "dc:title", "media:title", "language", "dc:language", "item", "entry"}
    | {"source", "image", "textinput", "channel", "feed", "rss", "rdf:rdf"}
)


#: Tag -> `_Walk._name`, for the few tags feeds use (bounded: a body may invent any).
_NAMES: dict[str, str] = {}
_MAX_NAMES = 2048


class _Decline(Exception):
    """The fast path is not sure: feedparser parses this body."""


_local = threading.local()


def _parser() -> Any:
    """One lxml parser per thread (a parser must not be used by two threads at once).
    The encoding is the one feedparser would decode with (checked by `_encoding_ok`)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            encoding="utf-8",
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            collect_ids=False,
        )
    return parser


def fast_parse(body: bytes, headers: Mapping[str, str]) -> tuple[list[Raw], Raw] | None:
    """The entries and feed fields feedparser would give for `body`, in its shapes
    (dicts with the keys parse.py reads), or None when the fast path declines.

    `headers` are the response headers as handed to feedparser (lower-cased names,
    with content-location, the base URL).
    """
    if not _encoding_ok(body, headers):
        return None
    head = body[: _head_end(body)].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        return None
    version = _XML_VERSION.match(body)
    if version is not None and version.group(2) != b"1.0":
        return None
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        return _Walk(headers).run(root)
    except _Decline:
        return None


def _head_end(body: bytes) -> int:
    start = _HEAD.search(body)
    return start.start() + 1 if start else len(body)


def _encoding_ok(body: bytes, headers: Mapping[str, str]) -> bool:
    """True when feedparser would decode the body as UTF-8 (or, for ASCII, a superset of
    ASCII) without a complaint: an XML media type and the declared encoding used."""
    if body.startswith(_BOMS) or b"\x00" in body[:4]:
        return False
    content_type, http_encoding = parse_content_type(headers.get("content-type") or "")
    match = RE_XML_PI_ENCODING.match(body)
    xml_encoding = match.group(1).decode("utf-8", "replace").lower() if match else ""
    if content_type in _XML_TYPES or (
        content_type.startswith("application/") and content_type.endswith("+xml")
    ):
        declared = http_encoding or xml_encoding or "utf-8"
    elif content_type in _TEXT_XML_TYPES or (
        content_type.startswith("text/") and content_type.endswith("+xml")
    ):
        declared = http_encoding or "us-ascii"
    else:
        return False  # feedparser: "... is not an XML media type" (a bozo warning)
    if declared.lower() == "gb2312":
        return False
    try:
        codec = codecs.lookup(declared).name.replace("-", "_")
    except LookupError:
        return False
    if body.isascii():
        return codec in _ASCII_SAFE
    if codec != "utf_8":
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Walk:
    """One document, walked in document order, with the parts of feedparser's state
    that decide the fields parse.py reads."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        base = headers.get("content-location", "")
        if not base:
            raise _Decline
        # feedparser joins the base with itself at every element: settle it once.
        settled = make_safe_absolute_uri(base, base) or base
        if (make_safe_absolute_uri(settled, settled) or settled) != settled:
            raise _Decline
        self.base: str = settled
        try:
            urlsplit(settled)
        except ValueError:
            self.base_splits = False  # every join with it fails
        else:
            self.base_splits = True
        self.header_lang: str | None = headers.get("content-language") or None
        self.lang: str | None = self.header_lang
        self.feed: Raw = {}
        self.entries: list[Raw] = []
        self.title_depth = -1

    # --- names and text ----------------------------------------------------------

    @staticmethod
    def _name(el: Any) -> str:
        """feedparser's name for an element: "prefix:local" (its own prefixes), lower-case."""
        tag = el.tag
        name = _NAMES.get(tag)
        if name is not None:
            return name
        if tag[0] != "{":
            name = str(tag).lower()
        else:
            uri, _, local = tag[1:].partition("}")
            lowered = uri.lower()
            if "backend.userland.com/rss" in lowered:
                lowered = "http://backend.userland.com/rss"
            prefix = _PREFIXES.get(lowered)
            if prefix is None:
                raise _Decline  # an unknown namespace
            name = f"{prefix}:{local}".lower() if prefix else local.lower()
        if len(_NAMES) < _MAX_NAMES:
            _NAMES[tag] = name
        return name

    @staticmethod
    def _attrs(el: Any) -> dict[str, str]:
        """The attributes as feedparser's strict parser sees them: lower-cased names,
        known namespaces as prefixes, every attribute under its bare name too."""
        items = el.items()
        if not items:
            return {}
        out: dict[str, str] = {}
        for key, value in items:
            if key[0] == "{":
                uri, _, local = key[1:].partition("}")
                prefix = _PREFIXES.get(uri.lower(), "")
                key = f"{prefix}:{local}" if prefix else local
            out[key.lower()] = value
        for key, value in items:
            out[key.rpartition("}")[2].lower()] = value
        return {k: (v.lower() if k in ("rel", "type") else v) for k, v in out.items()}

    def _text(self, el: Any, *, resolve: bool = False) -> str:
        """A leaf element's text after feedparser's `pop`: stripped, joined with the base
        when it is a URI, its mis-decoded UTF-8 repaired, cp1252 controls mapped."""
        if len(el):
            raise _Decline  # markup or comments inside: feedparser's rules differ there
        text = (el.text or "").strip()
        if resolve and text:
            text = self._join(text)
        if text.isascii():
            return text  # neither step below changes ASCII
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
        return text.translate(_cp1252)

    def _join(self, uri: str) -> str:
        """feedparser's `_urljoin` with the base; a plain URL it would give back as it is."""
        if self.base_splits and PLAIN_URL.match(uri):
            return uri
        return str(_urljoin(self.base, uri))

    @staticmethod
    def _content_type(attrs: Mapping[str, str], default: str) -> str:
        """The type of a text construct; declines base64 and XHTML, which read otherwise."""
        if "mode" in attrs:
            raise _Decline
        kind = _FeedParserMixin.map_content_type(attrs.get("type", default))
        if kind not in _TEXT_TYPES:
            raise _Decline
        return str(kind)

    @staticmethod
    def _leaf(el: Any) -> None:
        if len(el):
            raise _Decline

    def _check_subtree(self, el: Any) -> None:
        """An element the fast path skips: nothing in it may move feedparser's context."""
        for sub in el.iter():
            if not isinstance(sub.tag, str):
                continue
            name = self._name(sub)
            if sub is not el and name in _DANGER:
                raise _Decline
            self._check_attrs(sub)

    @staticmethod
    def _check_attrs(el: Any) -> None:
        for key in el.keys():  # noqa: SIM118 (iterating an element gives its children)
            local = key.rpartition("}")[2].lower()
            if local in ("base", "lang"):
                raise _Decline

    # --- the document ------------------------------------------------------------

    def run(self, root: Any) -> tuple[list[Raw], Raw] | None:
        name = self._name(root)
        if name == "rss":
            kind = "rss"
        elif name == "rdf:rdf":
            kind = "rdf"
        elif name == "feed" and root.tag == f"{{{_ATOM10}}}feed":
            kind = "atom"
        else:
            raise _Decline
        self._root_lang(root)
        if self.header_lang:
            self.feed["language"] = self.header_lang.replace("_", "-")
        if self.lang and kind != "rdf":
            self.feed["language"] = self.lang.replace("_", "-")
        if kind == "atom":
            self._container(root, 1, entry="entry")
        else:
            for child in root:
                if not isinstance(child.tag, str):
                    continue
                child_name = self._name(child)
                if child_name == "channel":
                    self._check_attrs(child)
                    if {"lastmod", "href"} & self._attrs(child).keys():
                        raise _Decline
                    self._container(child, 2, entry="item")
                elif kind == "rdf" and child_name == "item":
                    self._entry(child, 2)
                elif kind == "rdf" and child_name in ("image", "textinput"):
                    self._aside(child, 2, child_name)
                elif kind == "rdf" and child_name not in _DANGER:
                    self._check_subtree(child)
                else:
                    raise _Decline
        if not self.entries:
            return None  # empty or odd: feedparser says what it is
        return self.entries, self.feed

    def _root_lang(self, root: Any) -> None:
        """xml:lang on the root (the only place the fast path reads it) sets the entries'
        language; feedparser also makes it the feed's, except on an RDF root."""
        attrs = root.attrib
        for key in attrs:
            local = key.rpartition("}")[2].lower()
            if local == "base":
                raise _Decline
            if local == "lang" and key not in (f"{{{_XML_NS}}}lang", "lang"):
                raise _Decline
        lang = attrs.get(f"{{{_XML_NS}}}lang", attrs.get("lang"))
        if lang == "":
            self.lang = None
        elif lang is not None:
            self.lang = lang

    def _container(self, el: Any, depth: int, *, entry: str) -> None:
        """A channel (RSS, RDF) or an Atom feed: its title, language and entries."""
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = self._name(child)
            self._check_attrs(child)
            if name == entry:
                self._entry(child, depth + 1)
            elif name == "title":
                attrs = self._attrs(child)
                self._content_type(attrs, "text/plain")
                self._title(child, depth + 1, self.feed)
            elif name in ("language", "dc:language"):
                self.feed["language"] = self._text(child)
            elif name in ("image", "textinput") and entry == "item":
                self._aside(child, depth + 1, name)
            elif name in _DANGER:
                raise _Decline
            else:
                self._check_subtree(child)

    def _aside(self, el: Any, depth: int, name: str) -> None:
        """An RSS image or text input: its title goes elsewhere but moves title_depth."""
        self._check_attrs(el)
        allowed = _IMAGE_PARTS if name == "image" else _TEXTINPUT_PARTS
        self.title_depth = -1
        for child in el:
            if not isinstance(child.tag, str):
                continue
            part = self._name(child)
            if part not in allowed:
                raise _Decline
            self._check_attrs(child)
            self._leaf(child)
            if part == "title":
                self._title(child, depth + 1, None)

    def _title(self, el: Any, depth: int, into: Raw | None, *, keep_depth: bool = False) -> None:
        """feedparser's title rule: a title is kept unless one was already found at this
        depth or above since the last entry, image, text input or source began."""
        text = self._text(el)
        if into is not None and not (-1 < self.title_depth <= depth):
            into["title"] = text
            if into is not self.feed:
                into["title_detail"] = {"language": self.lang}
        if text and not keep_depth:
            self.title_depth = depth

    def _entry(self, el: Any, depth: int) -> None:
        self._check_attrs(el)
        attrs = self._attrs(el)
        if {"lastmod", "href"} & attrs.keys():
            raise _Decline
        raw: Raw = {}
        self.entries.append(raw)
        self.title_depth = -1
        has_content = False
        about = attrs.get("rdf:about")
        if about:
            raw["id"] = about
        child_depth = depth + 1
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = self._name(child)
            self._check_attrs(child)
            attrs = self._attrs(child)
            if name in _TITLES:
                self._content_type(attrs, "text/plain")
                self._title(child, child_depth, raw, keep_depth=_TITLES[name])
            elif name == "link":
                self._link(child, attrs, raw)
            elif name in ("guid", "id"):
                permalink = attrs.get("ispermalink", "true") == "true"
                value = self._text(child, resolve=permalink)
                raw["id"] = value
                raw.setdefault("guidislink", permalink and "link" not in raw)
                if permalink:
                    raw.setdefault("link", value)
            elif name in ("description", "summary"):
                if "summary" in raw and not has_content:
                    raise _Decline  # feedparser turns it into content
                default = "text/html" if name == "description" else "text/plain"
                self._content_type(attrs, default)
                raw["summary"] = self._text(child)
                raw["summary_detail"] = {"language": self.lang}
            elif name in ("content:encoded", "content"):
                if "src" in attrs:
                    raise _Decline
                has_content = True
                default = "text/html" if name == "content:encoded" else "text/plain"
                kind = self._content_type(attrs, default)
                value = self._text(child)
                raw.setdefault("content", []).append({"value": value, "language": self.lang})
                if kind in _TEXT_TYPES:
                    raw.setdefault("summary", value)
            elif name in _PUBLISHED:
                raw["published_parsed"] = _date(self._text(child))
            elif name in _UPDATED:
                raw["updated_parsed"] = _date(self._text(child))
            elif name in _CREATED:
                raw["created_parsed"] = _date(self._text(child))
            elif name == "source":
                self._leaf(child)
                self.title_depth = -1
            elif name in _HARMLESS:
                self._leaf(child)
            elif name in _PEOPLE:
                for part in child:
                    if not isinstance(part.tag, str):
                        continue
                    if self._name(part) not in _PERSON_PARTS:
                        raise _Decline
                    self._check_attrs(part)
                    self._leaf(part)
            elif ":" in name and not _handled(name):
                self._leaf(child)  # a known module's element feedparser only stores
            else:
                raise _Decline

    def _link(self, el: Any, attrs: dict[str, str], raw: Raw) -> None:
        """RSS `<link>url</link>` or Atom `<link href=... rel=...>`, as `_start_link`."""
        self._leaf(el)
        links: list[Raw] = raw.setdefault("links", [])
        if not ("href" in attrs or "url" in attrs or "uri" in attrs):
            if attrs:
                raise _Decline
            links.append({"rel": "alternate", "type": "text/html"})
            value = self._text(el, resolve=True)
            if "&" in value:
                value = _LINK_QUERY.sub(r"&\g<1>", value.replace("&amp;", "&"))
            raw["link"] = value
            if value:
                links[-1]["href"] = value
            return
        if (el.text or "").strip():
            raise _Decline
        attrs.setdefault("rel", "alternate")
        if attrs["rel"] == "self":
            attrs.setdefault("type", "application/atom+xml")
        else:
            attrs.setdefault("type", "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs.pop("url", None)
            attrs.pop("uri", None)
            attrs["href"] = href
        if "href" not in attrs:
            raise _Decline
        attrs["href"] = self._join(attrs["href"])
        links.append(attrs)
        kind = _FeedParserMixin.map_content_type(attrs.get("type"))
        if attrs.get("rel") == "alternate" and kind in _HTML_TYPES:
            raw["link"] = attrs["href"]


def _handled(name: str) -> bool:
    """True when feedparser has a handler for this prefixed element (its effects are not
    vetted here, so the fast path declines)."""
    method = name.replace(":", "_")
    return f"_start_{method}" in _HANDLERS or f"_end_{method}" in _HANDLERS


def _date(text: str) -> Any:
    """feedparser's `_parse_date`. Its first handler (W3C-DTF) finds nothing in a string
    that starts with a letter, so such a string goes to its second (RFC 822) at once."""
    first = text[:1]
    handlers = datetimes._date_handlers
    if (
        first.isalpha()
        and first.isascii()
        and handlers[0] is _parse_date_w3dtf
        and handlers[1] is _parse_date_rfc822
    ):
        try:
            parsed = _parse_date_rfc822(text)
        except (KeyError, OverflowError, ValueError, AttributeError):
            parsed = None
        if parsed and len(parsed) == 9:
            return parsed
    return _parse_date(text)
