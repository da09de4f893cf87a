"""Mentions and cues: every match of the text filed under its sentence.

People, organisations, places, countries and roles become `Mention`s (with their side
and rank), cue words become `Cue`s, everything else (negation, status, attribution,
date words) a marker. Russians missing from the gazetteer are found by a known given
name and a Russian-looking surname.
"""

from __future__ import annotations

import bisect
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from . import dates as dt
from .gazetteer import RANKS
from .lexicon import Knowledge
from .matcher import Match, trie_pattern, words_trie
from .normalize import Normalized, normalize
from .sentences import Sentence

DOMAIN_TYPES = ("military", "security", "agreement", "message", "economic", "media_culture")
RANK_TYPE = {3: "summit", 2: "high_level_visit", 1: "delegation"}
RANK_NAME = {3: "leader", 2: "minister", 1: "official"}
SIDES = ("ru", "kp")

_GIVEN_SURNAME_LAT = re.compile(
    r"(?:ov|ova|ev|eva|ow|owa|ew|ewa|off|in|ine|ina|yn|ski|sky|skiy|skii|skaya|enko|ko|uk|"
    r"chuk|ich|itch|vich|ikh|ykh|tsev|tseva|tsov|zew|yan|ian|dze|shvili|ets|ak|yak|ova|eva)$"
)
_GIVEN_SURNAME_CYR = re.compile(
    r"(?:ов|ова|ев|ева|ин|ина|ын|ский|ская|енко|ко|ук|ич|их|ых|ян|ец|як)$"
)
CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "yo",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


@dataclass(slots=True)
class Mention:
    """A side-bearing name or role found in one sentence."""

    kind: str  # person | org | place | country | role | pair
    side: str | None
    start: int  # original offsets
    end: int
    nstart: int  # normalised offsets
    nend: int
    name: str | None = None
    rank: int | None = None
    strong: bool = True
    is_name: bool = False  # a country named as a place, not as a demonym
    org_kind: str | None = None
    venue: str | None = None
    role: str | None = None
    attributed: bool = False
    dateline: bool = False  # inside the dateline: where the story was filed
    message_party: bool = False
    guessed: bool = False  # found by given name + surname, not in the gazetteer
    cited: bool = False  # quoted as a source: names a side, gives no type


@dataclass(slots=True)
class Cue:
    group: str
    weight: float
    start: int
    end: int
    term: str
    negated: bool = False
    in_title: bool = False  # part of a job title (the same term is a role)
    troupe: bool = False  # a visiting group ("art troupe"), not the word "delegation"


@dataclass(slots=True)
class Analysis:
    """What one sentence contributes; kept for evidence and the explanation."""

    sentence: Sentence
    mentions: list[Mention] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    markers: list[tuple[str, Any, int, int]] = field(default_factory=list)
    linked: bool = False
    link: float = 0.0
    why_not: str | None = None
    background: bool = False
    relevance: float = 0.0
    types: dict[str, float] = field(default_factory=dict)
    rank_note: str = ""
    dates: list[dt.DateMention] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    focal: set[str] = field(default_factory=set)
    #: the visit rank came only from the word "delegation" (no named person or title)
    bare_delegation: bool = False
    #: the sentence's delegation is a visiting troupe or team: its performance or match
    #: is the news (the domain is primary), the delegation a type beside it
    troupe_only: bool = False


# --- mentions ------------------------------------------------------------------------


def _translit(word: str) -> str:
    out = "".join(_TRANSLIT.get(ch, ch) for ch in word.lower())
    return out[:1].upper() + out[1:]


def generic_people(k: Knowledge, text: str) -> list[tuple[int, int, str]]:
    """Russians not in the gazetteer: a known given name plus a Russian-looking surname."""
    out: list[tuple[int, int, str]] = []
    if not _SURNAME_AFTER_SPACE.search(text):
        return out  # every match has a space, then a capital and a small letter
    rx = _given_regex(k)
    for m in rx.finditer(text):
        surname = m["sur"]
        plain = normalize(surname).text
        if _GIVEN_SURNAME_CYR.search(plain):
            surname = _translit(plain)
        elif not _GIVEN_SURNAME_LAT.search(plain):
            continue
        else:
            surname = plain[:1].upper() + plain[1:]
        given = k.given_names.get(m["given"], m["given"])
        out.append((m.start(), m.end(), f"{given} {surname}"))
    return out


#: By the pack's id, with a reference to the pack: after `lexicon.reset()` a new pack
#: may get a freed pack's id, and must not get its regex.
_GIVEN_RX: dict[int, tuple[weakref.ref[Knowledge], re.Pattern[str]]] = {}
#: What every `_given_regex` match holds: the space before the surname and its first two
#: letters (a cheap scan that spares the name regex pages in other scripts).
_SURNAME_AFTER_SPACE = re.compile(r"\s[A-ZА-ЯЁ][a-zа-яёà-ÿ]")


def _given_regex(k: Knowledge) -> re.Pattern[str]:
    cached = _GIVEN_RX.get(id(k))
    if cached is not None and cached[0]() is k:
        return cached[1]
    # a trie of the given names (not a flat alternation): the engine gives up at most
    # positions after one character
    names = trie_pattern(words_trie(k.given_names))
    rx = re.compile(
        rf"(?P<given>{names})\s+(?P<sur>[A-ZА-ЯЁ][a-zа-яёà-ÿ]+(?:-[A-ZА-Я][a-zа-яё]+)?)"
        r"(?!\w)"
    )
    _GIVEN_RX[id(k)] = (weakref.ref(k), rx)
    return rx


def mentions_and_cues(
    k: Knowledge,
    item_text: str,
    norm: Normalized,
    sentences: list[Sentence],
    year: int | None,
    matches: list[Match],
) -> list[Analysis]:
    """Run the matcher once over the whole text and file each match under its sentence."""
    analyses = [Analysis(s) for s in sentences]
    starts = [s.start for s in sentences]

    def locate(pos: int) -> Analysis | None:
        i = bisect.bisect_right(starts, pos) - 1
        if i >= 0 and pos < sentences[i].end:
            return analyses[i]
        return None

    person_spans: list[tuple[int, int]] = []
    to_original = norm.to_original
    for m in matches:
        if norm.offsets is None:  # what `to_original` gives, without two calls per match
            start, end = m.start, m.end
        else:
            start, end = to_original(m.start), to_original(m.end)
        i = bisect.bisect_right(starts, start) - 1  # `locate`, inlined
        if i < 0 or start >= sentences[i].end:
            continue
        a = analyses[i]
        for p in m.payloads:
            tag = p[0]
            if tag == "person":
                person = k.people[p[1]]
                a.mentions.append(
                    Mention(
                        "person",
                        person.side,
                        start,
                        end,
                        m.start,
                        m.end,
                        name=person.name,
                        rank=person.rank_in(year),
                    )
                )
                person_spans.append((start, end))
            elif tag == "org":
                org = k.orgs[p[1]]
                a.mentions.append(
                    Mention(
                        "org",
                        org.side,
                        start,
                        end,
                        m.start,
                        m.end,
                        name=org.name,
                        org_kind=org.kind,
                        venue=org.venue,
                    )
                )
            elif tag == "place":
                place = k.places[p[1]]
                a.mentions.append(
                    Mention(
                        "place",
                        place.country,
                        start,
                        end,
                        m.start,
                        m.end,
                        name=place.name,
                        is_name=True,
                    )
                )
            elif tag == "country":
                _, side, cname, is_name = p
                if side == "neutral":
                    continue
                kind = "pair" if side == "pair" else "country"
                a.mentions.append(
                    Mention(
                        kind,
                        side,
                        start,
                        end,
                        m.start,
                        m.end,
                        name=cname,
                        strong=False,
                        is_name=is_name,
                    )
                )
            elif tag == "role":
                a.mentions.append(
                    Mention(
                        "role",
                        None,
                        start,
                        end,
                        m.start,
                        m.end,
                        role=p[1],
                        rank=RANKS.get(p[1]),
                    )
                )
            elif tag == "cue":
                in_title = any(q[0] == "role" for q in m.payloads)  # asked only of cues
                troupe = len(p) > 3 and p[3] == "group"
                a.cues.append(Cue(p[1], p[2], start, end, m.key, in_title=in_title, troupe=troupe))
            else:
                a.markers.append((tag, p[1] if len(p) > 1 else None, start, end))
    for start, end, name in generic_people(k, item_text):
        if any(s < end and start < e for s, e in person_spans):
            continue
        guessed_in = locate(start)
        if guessed_in is not None:
            guessed_in.mentions.append(
                Mention(
                    "person",
                    "ru",
                    start,
                    end,
                    start,
                    end,
                    name=name,
                    rank=RANKS["official"],
                    guessed=True,
                )
            )
    for a in analyses:
        a.mentions.sort(key=lambda x: x.start)
        _deputies(a)
    return analyses


#: How far a deputy word may stand from the title it modifies: a space or a hyphen in
#: alphabetic scripts ("deputy chief", "chef adjoint", "Bakan Yardımcısı"), none in Han
#: and kana, where "副" is glued to the title.
DEPUTY_GAP = re.compile(r"[\s\-‐-―]{0,3}")


def _deputies(a: Analysis) -> None:
    """A deputy ranks below the title he deputises for: "deputy chief of the General
    Staff" is an official, not a senior party. Titles that are ranked as a whole ("deputy
    prime minister") are matched whole and keep their own rank."""
    deputies = [m for m in a.mentions if m.kind == "role" and m.role == "deputy"]
    if not deputies:
        return
    text, base = a.sentence.text, a.sentence.start
    for m in a.mentions:
        if m.kind != "role" or not m.rank or m.rank <= RANKS["official"]:
            continue
        for d in deputies:
            if d.end <= m.start:
                gap = text[d.end - base : m.start - base]
            elif m.end <= d.start:
                gap = text[m.end - base : d.start - base]
            else:
                continue
            if DEPUTY_GAP.fullmatch(gap) and (gap or CJK_CHAR.match(text[m.start - base :])):
                m.rank = RANKS["official"]
                break
