"""Text normalisation with an offset map back to the original text.

Every lexicon term and every article goes through the same `normalize`, so that
"Choïgou", "CHOIGOU" and "Choigou", or "Ch’oe Sŏn-hŭi" and "Ch'oe Son hui", compare
equal without listing every form. Matching runs on the normalised text; the offset map
turns a match back into character offsets of the original (for `Evidence`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_APOSTROPHES = "'’‘ʼʻ`´′"
_HYPHENS = "-‐‑‒–—―−_"
_QUOTES = '«»“”„‟"‹›「」『』'
_SPECIAL = {"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "ё": "е"}


def _norm_char(ch: str) -> str:
    """Normalise one character (NFKC, case-fold, strip Latin/Cyrillic diacritics)."""
    if ch in _APOSTROPHES:
        return "'"
    if ch in _HYPHENS:
        return " "
    if ch in _QUOTES:
        return '"'
    if ch.isspace():
        return " "
    out = []
    for c in unicodedata.normalize("NFKC", ch).casefold():
        c = _SPECIAL.get(c, c)
        if c < "\u0530":  # Latin, Greek, Cyrillic: drop combining marks
            d = unicodedata.normalize("NFD", c)
            c = "".join(x for x in d if not unicodedata.combining(x))
        elif unicodedata.combining(c) and not ("\u3000" <= c <= "\u30ff"):
            c = ""
        out.append(c)
    return "".join(out)


class _Table(dict[int, str]):
    """A `str.translate` table filled lazily; remembers characters that change length."""

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        value = _norm_char(ch)
        if len(value) != 1:
            self.irregular.add(ch)
        self[code] = value
        return value


_TABLE = _Table()


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus, when lengths differ, the original offset of each char."""

    text: str
    offsets: tuple[int, ...] | None
    original_length: int

    def to_original(self, pos: int) -> int:
        """Original offset of normalised position `pos` (a start or an end)."""
        if self.offsets is None:
            return pos
        if pos >= len(self.offsets):
            return self.original_length
        return self.offsets[pos]


def normalize(text: str) -> Normalized:
    """Normalise `text`; the identity offset map is skipped when lengths are unchanged."""
    out = text.translate(_TABLE)
    if _TABLE.irregular.isdisjoint(text):
        return Normalized(out, None, len(text))
    offsets: list[int] = []
    for i, ch in enumerate(text):
        offsets.extend([i] * len(_TABLE[ord(ch)]))
    return Normalized(out, tuple(offsets), len(text))


def norm_term(term: str) -> str:
    """Normalise a lexicon term the same way as article text, collapsing spaces."""
    return " ".join(term.translate(_TABLE).split())
