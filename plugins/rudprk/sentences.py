"""Lines, boilerplate and sentences, with offsets into the original text.

Pages come with cookie banners, share buttons and "related articles" lists whose
headlines name Russia and the DPRK too. Lines that are navigation are dropped; a
short line that announces a list of other articles (or a cookie banner in the second
half) ends the article, so nothing after it can weigh on the result. Sentences near
the top (headline and lead) weigh more than the tail.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .lexicon import Knowledge
from .normalize import Normalized, norm_term, normalize

_SPLIT = re.compile(
    # what every branch needs at its start, tested first: most positions fail here
    r"(?:(?=[\s\"'»”’)\]►•■▶◆●A-ZÀ-ÖØ-ÞА-ЯЁ«“])|(?<=[。！？]))(?:"
    r"(?<=[.!?…。！？])[\"'»”’)\]]*\s+"  # end punctuation then space
    r"|(?<=[a-zà-ÿа-яё\d)»”\"][.!?])(?=[A-ZÀ-ÖØ-ÞА-ЯЁ«“])"  # glued: "...Belooussov.Cette"
    r"|(?<=[。！？])"  # CJK full stops need no space
    r"|\s*[►•■▶◆●]\s*"  # bullets start a new sentence
    r")"
)
_ABBREV = re.compile(
    r"(?:\b[A-ZА-Я]|\bMr|\bMrs|\bMs|\bDr|\bSt|\bM|\bMme|\bGen|\bLt|\bCol|\bNo|\bU\.S|\bp|\bvs"
    r"|\bJan|\bFeb|\bAug|\bSept?|\bOct|\bNov|\bDec|\bт\.\s?е|\bг|\bгг)\.$"
)
#: An ordinal number: "am 18. Juni", "18. června", "76. Jahrestag" (languages whose pack
#: sets `ordinal_dot`; elsewhere "on June 12." ends a sentence).
_ORDINAL = re.compile(r"(?<![\d.,])\d{1,3}\.$")
#: Longer than any match of `_ABBREV` or `_ORDINAL` (at most five characters).
_TAIL = 16
_WORD = re.compile(r"\w+")
#: Three `_WORD` runs; the search stops at the third instead of listing every word.
_THREE_WORDS = re.compile(r"(?<!\w)\w++\W++\w++\W++\w")
#: Nine `_WORD` runs (a line too long to be a time stamp), found the same way.
_NINE_WORDS = re.compile(r"(?<!\w)\w++(?:\W++\w++){8}")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_URL = re.compile(r"https?://|www\.", re.I)
#: After a "read also" marker opening a line: a separator, then another headline.
_TEASER = re.compile(r"^\s*[\])】]?\s*[:|\-–—>»/▶►]+\s*\S|^\s*[\])】]\s*\S")
#: A bulleted line: "• headline", "- headline", "► headline", "1. headline", "① headline".
_BULLET = re.compile(
    r"^\s*(?:[•·▪►▶■◆●*\-–—]|\d{1,2}[.)])\s+\S|^\s*[\u2460-\u2473\u2776-\u277f]\s*\S"
)
#: Sentence-final punctuation: a bulleted line that ends with it is body text, not a title.
_FINAL = re.compile(r"[.!?…。！？:;]\s*$")

#: A navigation menu: three or more items between separators.
_MENU = re.compile(r"(?:[^|•·]{1,40}\s[|•·]\s){2,}")
_ALPHA_WORD = re.compile(r"[^\W\d_]{2,}")

HEAD, LEAD, BODY = "head", "lead", "body"


@dataclass(slots=True)
class Sentence:
    """One sentence of kept text: original offsets, region and position weight."""

    index: int
    start: int
    end: int
    text: str
    paragraph: int
    region: str = BODY
    weight: float = 0.6


@dataclass(slots=True)
class Layout:
    """The kept sentences and what was cut, for the explanation."""

    sentences: list[Sentence]
    kept_chars: int
    cut_at: int | None
    cut_reason: str | None
    dropped_lines: int


def _is_content(text: str) -> bool:
    """At least three words (`_WORD` runs) or eight CJK characters."""
    return _THREE_WORDS.search(text) is not None or len(_CJK.findall(text)) >= 8


def _words(line: str) -> int:
    """A line's length in words for the tests below (CJK: two characters a word)."""
    return len(_WORD.findall(line)) + len(_CJK.findall(line)) // 2


def _line_kind(k: Knowledge, line: str, may_hit: bool = True) -> str | None:
    """'tail', 'cookie', 'nav', 'teaser' or None for one stripped line. `may_hit` False:
    the page-wide boilerplate pass found no marker on this line (no per-line match)."""
    if not any(ch.isalpha() for ch in line):
        return "nav"
    norm = norm_term(line) if may_hit else ""
    hits = k.boiler.find(norm) if may_hit else []
    kinds = {p for h in hits for p in h.payloads}
    if hits and "tail" in hits[0].payloads and _TEASER.match(norm[hits[0].end :]):
        lead = norm[: hits[0].start].strip(" [(【")
        if not lead:  # "Lire aussi : <another headline>", "[관련기사] ..."
            return "teaser"
    # the word count, where a test below reads it: a marker's, or a line of fewer than
    # nine words (a time stamp); -1 for the long body lines that make most of a page
    words = _words(line) if kinds or not _NINE_WORDS.search(line) else -1
    if "cookie" in kinds and words <= 120:
        return "cookie"
    if "tail" in kinds and words <= 6:
        covered = sum(h.end - h.start for h in hits if "tail" in h.payloads)
        letters = len(re.sub(r"[\W\d_]+", "", norm))
        if covered >= 0.5 * max(letters, 1):
            return "tail"
    if "nav" in kinds and words <= 10:
        return "nav"
    if _URL.search(line) and (words if words >= 0 else _words(line)) <= 14:
        return "nav"
    if (
        len(line) <= 300
        and ("|" in line or "•" in line or "·" in line)
        and _MENU.search(line)
        and not _FINAL.search(line)
    ):
        return "nav"  # "Home | News | Politics | World"
    if 0 <= words <= 8 and any(ch.isdigit() for ch in line) and len(_ALPHA_WORD.findall(line)) <= 3:
        return "nav"  # a time stamp: "Wednesday, 3 September 2025, 11:48", "Updated: 14:05"
    return None


def _headline_lists(raws: list[str]) -> set[int]:
    """Indexes of lines in runs of two or more bulleted headlines (lists of other articles).

    A page's "related" block often comes without a heading the lexicons know, but as
    bulleted titles with no final full stop; such a run in the second half ends the text.
    """
    out: set[int] = set()
    run: list[int] = []
    for i, raw in enumerate([*raws, "."]):
        line = raw.strip()
        if not line:
            continue
        if _BULLET.match(line) and not _FINAL.search(line) and len(line) <= 160:
            run.append(i)
            continue
        if len(run) >= 2:
            out.update(run)
        run = []
    return out


def _split(text: str, base: int, ordinal_dot: bool = False) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SPLIT.finditer(text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        before = text[merged[-1][0] : merged[-1][1]].rstrip() if merged else ""
        # both patterns end at `$` and span a few characters: only the tail is searched
        # (lookbehinds and \b still see what precedes the search start)
        tail = max(len(before) - _TAIL, 0)
        if merged and (
            _ABBREV.search(before, tail) or (ordinal_dot and _ORDINAL.search(before, tail))
        ):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    out = []
    for s, e in merged:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((base + s, base + e))
    return out


def _marked_lines(k: Knowledge, raws: list[str], norm: Normalized) -> set[int]:
    """Indexes of the lines on which the boilerplate matcher finds anything, from one
    pass over the whole normalised page (most lines have none and need no line match)."""
    starts = []
    pos = 0
    for raw in raws:
        starts.append(pos)
        pos += len(raw)
    return {
        bisect.bisect_right(starts, norm.to_original(h.start)) - 1 for h in k.boiler.find(norm.text)
    }


def layout(k: Knowledge, text: str, title_len: int = 0, norm: Normalized | None = None) -> Layout:
    """Cut boilerplate, split sentences and give each its region and weight.

    `title_len` is the length of the title at the start of `text` (0 when none):
    the title is always head, then the first content sentences. `norm` is the
    normalised text when the caller has it.
    """
    sentences: list[Sentence] = []
    cut_at: int | None = None
    cut_reason: str | None = None
    dropped = 0
    total = max(len(text), 1)
    offset = 0
    paragraph = 0
    raws = text.splitlines(keepends=True)
    listed = _headline_lists(raws)
    marked = _marked_lines(k, raws, norm if norm is not None else normalize(text))
    content: list[bool] = []  # per sentence, computed once for the regions too
    n_content = 0
    for n, raw in enumerate(raws):
        start = offset
        offset += len(raw)
        line = raw.strip()
        if not line:
            continue
        paragraph += 1
        kind = _line_kind(k, line, n in marked) if start >= title_len else None
        if kind is None and title_len and start >= title_len and line == text[:title_len].strip():
            kind = "nav"  # the title repeated as the page's heading
        if n in listed and start >= title_len:
            kind = "list"
        if kind is not None:
            dropped += 1
            position = start / total
            content_before = n_content
            if (
                (kind == "tail" and position >= 0.25 and content_before >= 2)
                or (kind == "cookie" and position >= 0.5)
                or (kind == "list" and position >= 0.5 and content_before >= 2)
            ):
                cut_at, cut_reason = start, f"{kind} marker «{line[:40]}»"
                break
            continue
        lead_ws = len(raw) - len(raw.lstrip())
        for s, e in _split(line, start + lead_ws, k.ordinal_dot):
            sentence = Sentence(len(sentences), s, e, text[s:e], paragraph)
            sentences.append(sentence)
            content.append(_is_content(sentence.text))
            n_content += content[-1]
    _assign_regions(sentences, title_len, content)
    kept = sum(s.end - s.start for s in sentences)
    return Layout(sentences, kept, cut_at, cut_reason, dropped)


def _assign_regions(sentences: list[Sentence], title_len: int, content: list[bool]) -> None:
    """Regions and weights; `content[i]`: whether sentence i is content (`_is_content`)."""
    kept = [s for s, c in zip(sentences, content, strict=True) if c]
    heads = [s for s in kept if s.start < title_len]
    rest = [s for s in kept if s.start >= title_len]
    n_head = 2 if heads else 3
    for s in heads + rest[:n_head]:
        s.region, s.weight = HEAD, 1.0
    for s in rest[n_head : n_head + 3]:
        s.region, s.weight = LEAD, 0.85
    body = rest[n_head + 3 :]
    for i, s in enumerate(body):
        s.region = BODY
        s.weight = 0.7 - 0.25 * (i / max(len(body) - 1, 1))
    for s, c in zip(sentences, content, strict=True):
        if not c and s.region == BODY:
            s.weight = 0.4
