"""HTML fragments (feed titles, summaries, content) to clean plain text.

Feeds put markup, entities and odd whitespace everywhere; classifiers and alerts want
plain text. Uses the stdlib parser, which never raises on broken markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "head"})
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
#: The ASCII characters `_INVISIBLE` removes.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# C0 controls other than tab and line breaks, and DEL: XML forbids them, a terminal obeys
# them (ESC sequences), and no text needs them.
_INVISIBLE.update(dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(s: str | None, *, keep_paragraphs: bool = False) -> str:
    """Plain text of an HTML fragment: entities decoded, tags and scripts dropped.

    Whitespace is collapsed to single spaces; with `keep_paragraphs`, block elements
    become paragraph breaks ("\\n\\n") so sentence-level evidence stays readable.
    """
    if not s:
        return ""
    if "<" in s or "&" in s:
        collector = _TextCollector()
        collector.feed(s)
        collector.close()
        text = "".join(collector.parts)
    else:
        text = s
    if not text.isascii() or _CONTROLS.search(text):
        text = text.translate(_INVISIBLE).replace("\xa0", " ")
    text = text.replace("\r", "\n")
    if not keep_paragraphs:
        return " ".join(text.split())
    # each line's words on one line, blank lines dropped, paragraphs apart
    return "\n\n".join(filter(None, (" ".join(line.split()) for line in text.split("\n"))))
