"""Dates in running text, resolved against a reference date.

News says "mardi", "le 18 juin", "last week", "вчера", "지난 18일": none of these is
a date without the day the article was written. The reference is the publication
date; without one, a "Published: ..." line of the page; the year is otherwise the
latest year the text itself names in a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from .lexicon import Knowledge

_DIGIT = re.compile(r"\d")
_ORD = r"(?:er|re|st|nd|rd|th|\.|º|°|-?go|-?е|-?го)?"
_RANGE = r"(?:\s*(?:et|and|und|y|e|и|au|to|bis|al|a|ao|til|/|,)\s*\d{1,2}" + _ORD + r")?"


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date expression: `kind` tells how much of it the text gave."""

    kind: str  # full | daymonth | day | monthyear | weekday | relative
    pos: int
    year: int | None = None
    month: int | None = None
    day: int | None = None
    delta: int | None = None  # relative days, or weekday number


@dataclass(frozen=True)
class _Rx:
    iso: re.Pattern[str]
    numeric: re.Pattern[str]
    day_month: re.Pattern[str]
    month_day: re.Pattern[str]
    month_year: re.Pattern[str]
    cjk: re.Pattern[str]
    cjk_day: re.Pattern[str]
    year: re.Pattern[str]


@lru_cache(maxsize=4)
def _regexes(month_rx: str) -> _Rx:
    months = f"(?P<mon>{month_rx})(?![a-zа-я])"
    return _Rx(
        iso=re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)[ ./](?P<m>\d{1,2})[ ./](?P<d>\d{1,2})(?!\d)"),
        numeric=re.compile(
            r"(?<!\d)(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>(?:19|20)\d\d)(?!\d)"
        ),
        day_month=re.compile(
            r"(?<![\d.])(?P<d>\d{1,2})"
            + _ORD
            + _RANGE
            + r"\s+(?:de\s+|di\s+)?"
            + months
            + r"\.?(?:,?\s+(?:de\s+|del\s+|of\s+)?(?P<y>(?:19|20)\d\d))?"
        ),
        month_day=re.compile(
            months + r"\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?![\d.])(?:,?\s+(?P<y>(?:19|20)\d\d))?"
        ),
        month_year=re.compile(months + r"\.?\s+(?:de\s+|del\s+|of\s+)?(?P<y>(?:19|20)\d\d)"),
        cjk=re.compile(
            r"(?:(?P<y>(?:19|20)\d\d)\s*[年년]\s*)?(?P<m>\d{1,2})\s*[月월]\s*(?P<d>\d{1,2})\s*[日일号]"
        ),
        cjk_day=re.compile(r"(?<![\d월月])(?P<d>\d{1,2})\s*(?:日(?!本)|일(?!본|부|대|간)|号)"),
        year=re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)(?:\s*[年년])?(?!\d)"),
    )


def _valid(y: int | None, m: int | None, d: int | None) -> bool:
    try:
        date(y or 2000, m or 1, d or 1)
    except ValueError:
        return False
    return True


def find(k: Knowledge, norm: str, base: int = 0) -> list[DateMention]:
    """Explicit and partial date expressions in normalised text (positions + `base`)."""
    out: list[DateMention] = []
    if not _DIGIT.search(norm):  # every date form below has a number in it
        return out
    rx = _regexes(k.month_rx)
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    def add(kind: str, m: re.Match[str], y: int | None, mo: int | None, d: int | None) -> None:
        if free(m.start(), m.end()) and _valid(y, mo, d):
            taken.append((m.start(), m.end()))
            out.append(DateMention(kind, base + m.start(), y, mo, d))

    for m in rx.iso.finditer(norm):
        add("full", m, int(m["y"]), int(m["m"]), int(m["d"]))
    for m in rx.numeric.finditer(norm):
        add("full", m, int(m["y"]), int(m["m"]), int(m["d"]))
    for m in rx.cjk.finditer(norm):
        y = int(m["y"]) if m["y"] else None
        add("full" if y else "daymonth", m, y, int(m["m"]), int(m["d"]))
    if k.month_rx:
        for m in rx.day_month.finditer(norm):
            y = int(m["y"]) if m["y"] else None
            add("full" if y else "daymonth", m, y, k.month_of[m["mon"]], int(m["d"]))
        for m in rx.month_day.finditer(norm):
            y = int(m["y"]) if m["y"] else None
            add("full" if y else "daymonth", m, y, k.month_of[m["mon"]], int(m["d"]))
        for m in rx.month_year.finditer(norm):
            add("monthyear", m, int(m["y"]), k.month_of[m["mon"]], None)
    for m in rx.cjk_day.finditer(norm):
        add("day", m, None, None, int(m["d"]))
    out.sort(key=lambda d: d.pos)
    return out


def years_in(k: Knowledge, norm: str) -> list[int]:
    """Years the text names inside dates (or alone when it names none in dates)."""
    found = [d.year for d in find(k, norm) if d.year]
    if found:
        return found
    return [int(m["y"]) for m in _regexes(k.month_rx).year.finditer(norm)]


def _nearest_year(month: int, day: int, ref: date, future: bool) -> date | None:
    best = None
    for y in (ref.year - 1, ref.year, ref.year + 1):
        if not _valid(y, month, day):
            continue
        cand = date(y, month, day)
        delta = (cand - ref).days
        if not future and delta > 45:
            continue
        if best is None or abs(delta) < abs((best - ref).days):
            best = cand
    return best


def resolve(
    mention: DateMention,
    ref: date | None,
    year: int | None,
    future: bool = False,
    weekday: int | None = None,
) -> date | None:
    """A day-precise date for `mention`, or None when the text and reference cannot say.

    `future` (an announced contact) lets "Tuesday" or "18 June" point forward;
    `weekday` given alongside a day and month picks the matching year.
    """
    if mention.kind == "full":
        return date(mention.year or 2000, mention.month or 1, mention.day or 1)
    if mention.kind == "daymonth" and mention.month and mention.day:
        if ref is not None:
            return _nearest_year(mention.month, mention.day, ref, future)
        if year is None:
            return None
        if weekday is not None:
            for y in (year, year - 1, year + 1):
                if _valid(y, mention.month, mention.day):
                    cand = date(y, mention.month, mention.day)
                    if cand.weekday() == weekday:
                        return cand
        if _valid(year, mention.month, mention.day):
            return date(year, mention.month, mention.day)
        return None
    if ref is None:
        return None
    if mention.kind == "day" and mention.day:
        for back in range(0, 3):
            m = ref.month - back
            y = ref.year
            while m < 1:
                m += 12
                y -= 1
            if _valid(y, m, mention.day):
                cand = date(y, m, mention.day)
                if future or cand <= ref + timedelta(days=2):
                    return cand
        return None
    if mention.kind == "weekday" and mention.delta is not None:
        shift = (ref.weekday() - mention.delta) % 7
        if future:
            return ref + timedelta(days=(mention.delta - ref.weekday()) % 7)
        return ref - timedelta(days=shift)
    if mention.kind == "relative" and mention.delta is not None:
        return ref + timedelta(days=mention.delta)
    return None
