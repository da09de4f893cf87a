"""Feeds in and out as OPML, the list format every feed reader speaks.

Reading uses listparser (a maintained OPML parser: nested folders, OPML 1 and 2, and
the liberties real exports take); writing uses the standard library's ElementTree,
which escapes every attribute. Imported feeds become `[[feeds]]` tables of TOML text,
so a config file gains them by appending, its comments and layout untouched.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

import listparser

from monitor.config import FeedConfig, http_url


class OPMLError(ValueError):
    """The document is not an OPML subscription list."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None
    category: str | None = None


def read_opml(data: bytes) -> tuple[list[OpmlFeed], list[str]]:
    """The feeds of an OPML document (http(s) URLs only, first occurrence of each),
    and a warning per outline left out."""
    result = listparser.parse(data)
    if not result.feeds and (result.bozo or not result.get("version")):
        why = result.bozo_exception or "no <opml> document"
        raise OPMLError(f"not an OPML subscription list: {why}")
    feeds: list[OpmlFeed] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for entry in result.feeds:
        url = str(entry.get("url") or "").strip()
        try:
            http_url(url)
        except ValueError:
            warnings.append(f"left out {entry.get('title') or url!r}: not an http(s) URL: {url!r}")
            continue
        if url in seen:
            continue
        seen.add(url)
        categories = entry.get("categories") or []
        category = "/".join(categories[0]) if categories and categories[0] else None
        title = str(entry.get("title") or "").strip() or None
        feeds.append(OpmlFeed(url, title, category))
    return feeds, warnings


def slug(text: str) -> str:
    """A feed name from a title: lower-case ASCII words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "feed"


def new_feeds(
    found: Iterable[OpmlFeed], existing: Iterable[FeedConfig]
) -> tuple[list[tuple[str, OpmlFeed]], list[OpmlFeed]]:
    """(name, feed) for each feed not configured yet (by URL), named from its title
    and unique among the configured names; and the feeds already configured."""
    existing = list(existing)
    names = {f.name for f in existing}
    urls = {f.url for f in existing}
    added: list[tuple[str, OpmlFeed]] = []
    known: list[OpmlFeed] = []
    for feed in found:
        if feed.url in urls:
            known.append(feed)
            continue
        base = slug(feed.title or re.sub(r"^https?://", "", feed.url))
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.add(name)
        urls.add(feed.url)
        added.append((name, feed))
    return added, known


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL is escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def feeds_toml(feeds: Iterable[tuple[str, OpmlFeed]]) -> str:
    blocks = []
    for name, feed in feeds:
        lines = ["[[feeds]]", f"name = {toml_string(name)}", f"url = {toml_string(feed.url)}"]
        if feed.title:
            lines.append(f"title = {toml_string(feed.title)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def write_opml(feeds: Iterable[FeedConfig], title: str = "monitor feeds") -> bytes:
    """An OPML 2.0 subscription list of these feeds."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(opml, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.title or feed.name, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        ET.SubElement(body, "outline", attrs)
    ET.indent(opml)
    data: bytes = ET.tostring(opml, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
