"""Text analysis of the item: language, reference date, year, which sides it names."""

from __future__ import annotations

import bisect
from datetime import date, datetime
from typing import Any

from monitor.models import Item

from . import dates as dt
from . import langid
from .lexicon import Knowledge
from .matcher import Match
from .mentions import SIDES, generic_people
from .normalize import Normalized, normalize
from .sentences import Layout


def item_language(item: Item, text: str) -> tuple[str, bool]:
    """(language, declared): the item's own language when it has one, else identified."""
    if item.language:
        return item.language.lower().split("-", 1)[0], True
    return langid.guess(text), False


def reference_date(
    k: Knowledge, item: Item, norm: Normalized, matches: list[Match]
) -> tuple[date | None, str]:
    if item.published is not None:
        pub = item.published
        return (pub.date() if isinstance(pub, datetime) else pub), "publication date"
    for m in matches:
        if any(p[0] == "dateline" for p in m.payloads):
            window = norm.text[m.end : m.end + 40]
            for d in dt.find(k, window):
                if d.kind == "full" and d.pos < 12:
                    return dt.resolve(d, None, None), "dateline in the text"
    return None, "none"


def partial_year(k: Knowledge, item: Item, ref: date | None, lay: Layout) -> int | None:
    if ref is not None:
        return ref.year
    norm_kept = normalize("\n".join(s.text for s in lay.sentences)).text
    years = [y for y in dt.years_in(k, norm_kept) if 1990 <= y <= 2100]
    return max(years) if years else None


def _payload_sides(k: Knowledge, p: tuple[Any, ...]) -> tuple[str, ...]:
    tag = p[0]
    if tag == "person":
        return (k.people[p[1]].side,)
    if tag == "org":
        return (k.orgs[p[1]].side,)
    if tag == "place":
        return (k.places[p[1]].country,)
    if tag == "country":
        return SIDES if p[1] == "pair" else (p[1],)
    return ()


def both_sides_possible(
    k: Knowledge, text: str, norm: Normalized, lay: Layout, matches: list[Match]
) -> bool:
    """Whether the kept text names a Russian and a DPRK party at all (the cheap pre-check).

    Most feed items name neither; without both sides no sentence can link, so the
    per-sentence analysis is skipped. A Russian found only by given name + surname
    counts as the Russian side.
    """
    limit = len(norm.text)
    if lay.cut_at is not None:
        offsets = norm.offsets
        limit = lay.cut_at if offsets is None else bisect.bisect_left(offsets, lay.cut_at)
    found: set[str] = set()
    for m in matches:
        if m.start >= limit:
            break
        for p in m.payloads:
            found.update(_payload_sides(k, p))
        if "ru" in found and "kp" in found:
            return True
    if "kp" in found and not found & {"ru"}:
        end = lay.cut_at if lay.cut_at is not None else len(text)
        return bool(generic_people(k, text[:end]))
    return False
