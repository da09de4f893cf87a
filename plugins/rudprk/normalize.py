"""Text normalisation with an offset map back to the original text.

Every lexicon term and every article goes through the same `normalize`, so that
"Choïgou", "CHOIGOU" and "Choigou", "Ch’oe Sŏn-hŭi" and "Ch'oe Son hui", or 會談 and
会谈 compare equal without listing every form. Matching runs on the normalised text; the offset map
turns a match back into character offsets of the original (for `Evidence`).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

_APOSTROPHES = "'’‘ʼʻ`´′"
_HYPHENS = "-‐‑‒–—―−_"
_QUOTES = '«»“”„‟"‹›「」『』'
_SPECIAL = {"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "ё": "е"}


_T2S: Any = None


def fold_han(ch: str) -> str:
    """Traditional → Simplified for one Han character (OpenCC's t2s table).

    Most Chinese-language outlets outside the mainland write Traditional characters;
    folding text and lexicon terms alike lets one list of Simplified terms match both.
    Only one-to-one foldings are applied, so offsets are kept. Japanese kanji go
    through the same folding on both sides, which keeps Japanese terms matching.
    """
    global _T2S
    if _T2S is None:
        try:
            import opencc

            _T2S = opencc.OpenCC("t2s")
        except (ImportError, RuntimeError):  # pragma: no cover - OpenCC is a dependency
            _T2S = False
    if _T2S is False:
        return ch
    out = str(_T2S.convert(ch))
    return out if len(out) == 1 else ch


def _norm_char(ch: str) -> str:
    """Normalise one character (NFKC, case-fold, strip Latin/Cyrillic diacritics)."""
    if ch in _APOSTROPHES:
        return "'"
    if ch in _HYPHENS:
        return " "
    if ch in _QUOTES:
        return '"'
    if ch == "\n":
        return ch  # a line break ends every term: a headline's last word and the lead's
        # first are no phrase ("... to Russia" / "North Korea has ...")
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
        elif "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff":
            c = fold_han(c)
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


_irregular_rx: tuple[int, re.Pattern[str]] = (0, re.compile(r"(?!x)x"))


def _irregular_pattern() -> re.Pattern[str]:
    """A character class of the length-changing characters, rebuilt when the set grows."""
    global _irregular_rx
    size, rx = _irregular_rx
    if size != len(_TABLE.irregular):
        chars = "".join(re.escape(ch) for ch in sorted(_TABLE.irregular))
        rx = re.compile("[" + chars + "]")
        _irregular_rx = (len(_TABLE.irregular), rx)
    return rx


def normalize(text: str) -> Normalized:
    """Normalise `text`; the identity offset map is skipped when lengths are unchanged."""
    out = text.translate(_TABLE)
    if not _TABLE.irregular:
        return Normalized(out, None, len(text))
    rx = _irregular_pattern()  # a scan in C, not a set lookup per character
    if rx.search(text) is None:
        return Normalized(out, None, len(text))
    # runs of one-to-one characters map to ranges: only the irregular ones are looked at
    offsets: list[int] = []
    pos = 0
    for m in rx.finditer(text):
        i = m.start()
        offsets.extend(range(pos, i))
        offsets.extend([i] * len(_TABLE[ord(text[i])]))
        pos = i + 1
    offsets.extend(range(pos, len(text)))
    return Normalized(out, tuple(offsets), len(text))


def norm_term(term: str) -> str:
    """Normalise a lexicon term the same way as article text, collapsing spaces."""
    return " ".join(term.translate(_TABLE).split())


def span_text(norm: Normalized | None, text: str, start: int, end: int) -> str:
    """The normalised text of the original span [start, end) of `text`: a slice of the
    page's normalised text (`norm`, of the same `text`), else normalised anew.

    Each character is normalised on its own, so the span's normalised text is that of
    the characters whose original offset lies in [start, end): one slice either way."""
    if norm is not None and norm.original_length == len(text):
        if norm.offsets is None:
            return norm.text[start:end]
        lo = bisect.bisect_left(norm.offsets, start)
        return norm.text[lo : bisect.bisect_left(norm.offsets, end, lo)]
    return normalize(text[start:end]).text
