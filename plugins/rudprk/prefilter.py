"""The prefilter: one Aho–Corasick pass over every name form of either side.

Most feed items name neither Russia nor the DPRK. Every name form the classifier knows
for one of the two sides (gazetteer people, organisations and places, script-level
country names, every pack's [names]) goes into one automaton; an item in which none is
found is not relevant, and nothing else is done. The test is a superset of what the
matcher finds: stems and wildcards enter with their literal part, `re:` terms with their
longest literal and their regex (run only when that literal occurs). Alphabetic hits
must start on a word boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from .lexicon import SIDE_NAMES, Shared, name_payloads
from .normalize import norm_term

_SIDES = ("ru", "kp")
_SYNTAX = re.compile(r"\[[^\]]*\]|\(\?<?[=!][^)]*\)|\\.|[()|?+*{}^$.,\d]")


@dataclass(frozen=True, slots=True)
class _Entry:
    sides: tuple[str, ...]
    bounded: bool
    length: int
    rx: re.Pattern[str] | None


def _literal(term: str) -> str:
    """The longest run of letters of a raw regex term (its anchor in the automaton)."""
    runs = _SYNTAX.sub(" ", term[3:]).split()
    return max(runs, key=len) if runs else ""


class Prefilter:
    """Which of the two sides a normalised text names at all (a cheap superset)."""

    def __init__(self, terms: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        self._auto = ahocorasick.Automaton()
        entries: dict[str, list[_Entry]] = {}
        for term, sides in terms:
            term = term.strip()
            if not term or not sides:
                continue
            rx = None
            if term.startswith("re:"):
                key = norm_term(_literal(term))
                rx = re.compile(term[3:])
            else:
                key = norm_term(term.lstrip("~").split("*", 1)[0])
            if len(key) < 1:
                continue
            bounded = not term.startswith("~") and key[0].isalnum() and key[0] < "\u0530"
            entries.setdefault(key, []).append(_Entry(sides, bounded, len(key), rx))
        for key, es in entries.items():
            self._auto.add_word(key, tuple(es))
        if entries:
            self._auto.make_automaton()
        self._empty = not entries

    def sides(self, text: str) -> set[str]:
        """The sides ("ru", "kp") named in normalised `text` (stops once both are found)."""
        found: set[str] = set()
        if self._empty:
            return found
        if "  " in text:
            text = re.sub(" {2,}", " ", text)
        for end, entries in self._auto.iter(text):
            for e in entries:
                if found.issuperset(e.sides):
                    continue
                if e.rx is not None:
                    if not e.rx.search(text):
                        continue
                elif e.bounded:
                    start = end - e.length + 1
                    if start > 0 and text[start - 1].isalnum():
                        continue
                found.update(e.sides)
            if len(found) == 2:
                break
        return found


def _side_of(payload: tuple[object, ...], sh: Shared) -> tuple[str, ...]:
    tag = payload[0]
    if tag == "country":
        side = payload[1]
        return _SIDES if side == "pair" else ((str(side),) if side in _SIDES else ())
    if tag == "place":
        idx = payload[1]
        assert isinstance(idx, int)
        c = sh.places[idx].country
        return (c,) if c in _SIDES else ()
    return ()


def build_prefilter(sh: Shared) -> Prefilter:
    """Every name form of either side, from the gazetteer and all packs."""
    terms: list[tuple[str, tuple[str, ...]]] = []
    for p in sh.people:
        if p.side in _SIDES:
            terms += [(a, (p.side,)) for a in p.aliases]
    for o in sh.orgs:
        if o.side in _SIDES:
            terms += [(a, (o.side,)) for a in o.aliases]
    for pl in sh.places:
        if pl.country in _SIDES:
            terms += [(a, (pl.country,)) for a in (pl.name, *pl.aliases)]
    for c in sh.countries:
        side = c["side"]
        sides = _SIDES if side == "pair" else (side,) if side in _SIDES else ()
        for t in (*c.get("names", []), *c.get("demonyms", [])):
            terms.append((t, sides))
    for data in sh.packs.values():
        for term, payload in name_payloads(data, sh.places):
            terms.append((term, _side_of(payload, sh)))
    assert set(SIDE_NAMES) >= set(_SIDES)
    return Prefilter(terms)


_CACHE: list[tuple[Shared, Prefilter]] = []


def prefilter(sh: Shared) -> Prefilter:
    """The prefilter of the current shared data (rebuilt after `lexicon.reset()`)."""
    if not _CACHE or _CACHE[0][0] is not sh:
        _CACHE[:] = [(sh, build_prefilter(sh))]
    return _CACHE[0][1]
