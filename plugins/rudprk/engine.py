"""The decision: from matched names and cues to a `Classification`.

A contact is counted only where one sentence links a Russian party and a DPRK party
(person, organisation, place, role or country) with a contact cue that is not negated,
and no third country takes the place of one of them. Each linked sentence adds to the
types its cues name, weighted by where it stands (headline and lead weigh more),
whether it is background ("last year", pluperfect) and how firmly the two sides are
named. Visit types follow the taxonomy's rank line: the lower of the two sides' highest
ranks decides summit / high_level_visit / delegation.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from monitor.models import Classification, Evidence, Item
from monitor.taxonomy import CONTACT_TYPES, DEFAULT_RELEVANCE_THRESHOLD, DEFAULT_TYPE_THRESHOLD

from . import dates as dt
from . import langid
from .gazetteer import RANKS
from .lexicon import Knowledge
from .matcher import Match
from .normalize import Normalized, normalize
from .sentences import HEAD, LEAD, Layout, Sentence, layout

VISIT_TYPES = ("summit", "high_level_visit", "delegation")
DOMAIN_TYPES = ("military", "security", "agreement", "message", "economic", "media_culture")
RANK_TYPE = {3: "summit", 2: "high_level_visit", 1: "delegation"}
RANK_NAME = {3: "leader", 2: "minister", 1: "official"}
SIDES = ("ru", "kp")
#: How strongly one linked sentence counts toward an item score (noisy-OR factor).
TYPE_GAIN = 0.85
#: Broad domains (trade, culture, documents) are often named in passing: one word in one
#: sentence is not enough for them, so their gain is lower. Letters, intelligence contacts
#: and visits are specific: one clear sentence reports them.
DOMAIN_GAIN = {"military": 0.7, "agreement": 0.55, "economic": 0.55, "media_culture": 0.55}
#: Gains of headline and lead sentences: there a broad domain word is the item's news.
HEAD_GAIN = {"military": 0.7, "agreement": 0.55, "economic": 0.55, "media_culture": 0.55}
#: A type with no evidence in the headline or lead is scaled by this.
FOCUS_BODY_ONLY = 0.7
REL_GAIN = 0.8
COOPERATION_CUE = 0.4
BACKGROUND = 0.6
#: A contact named as the object of concern or protest ("voiced concern about their
#: military cooperation") is a topic: it counts this much on top of the background factor.
REACTION = 0.6

_GIVEN_SURNAME_LAT = re.compile(
    r"(?:ov|ova|ev|eva|ow|owa|ew|ewa|off|in|ine|ina|yn|ski|sky|skiy|skii|skaya|enko|ko|uk|"
    r"chuk|ich|itch|vich|ikh|ykh|tsev|tseva|tsov|zew|yan|ian|dze|shvili|ets|ak|yak|ova|eva)$"
)
_GIVEN_SURNAME_CYR = re.compile(
    r"(?:ов|ова|ев|ева|ин|ина|ын|ский|ская|енко|ко|ук|ич|их|ых|ян|ец|як)$"
)
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
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
    message_party: bool = False


@dataclass(slots=True)
class Cue:
    group: str
    weight: float
    start: int
    end: int
    term: str
    negated: bool = False


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


# --- mentions ------------------------------------------------------------------------


def _translit(word: str) -> str:
    out = "".join(_TRANSLIT.get(ch, ch) for ch in word.lower())
    return out[:1].upper() + out[1:]


def _generic_people(k: Knowledge, text: str) -> list[tuple[int, int, str]]:
    """Russians not in the gazetteer: a known given name plus a Russian-looking surname."""
    rx = _given_regex(k)
    out = []
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


_GIVEN_RX: dict[int, re.Pattern[str]] = {}


def _given_regex(k: Knowledge) -> re.Pattern[str]:
    rx = _GIVEN_RX.get(id(k))
    if rx is None:
        names = "|".join(re.escape(n) for n in sorted(k.given_names, key=len, reverse=True))
        rx = re.compile(
            rf"(?<!\w)(?P<given>{names})\s+(?P<sur>[A-ZА-ЯЁ][a-zа-яёà-ÿ]+(?:-[A-ZА-Я][a-zа-яё]+)?)"
            r"(?!\w)"
        )
        _GIVEN_RX[id(k)] = rx
    return rx


def _mentions_and_cues(
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
    for m in matches:
        start, end = norm.to_original(m.start), norm.to_original(m.end)
        a = locate(start)
        if a is None:
            continue
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
                a.cues.append(Cue(p[1], p[2], start, end, m.key))
            else:
                a.markers.append((tag, p[1] if len(p) > 1 else None, start, end))
    for start, end, name in _generic_people(k, item_text):
        if any(s < end and start < e for s, e in person_spans):
            continue
        a = locate(start)
        if a is not None:
            a.mentions.append(
                Mention(
                    "person",
                    "ru",
                    start,
                    end,
                    start,
                    end,
                    name=name,
                    rank=RANKS["official"],
                )
            )
    for a in analyses:
        a.mentions.sort(key=lambda x: x.start)
    return analyses


# --- one sentence ----------------------------------------------------------------------


def _markers(a: Analysis, tag: str) -> list[tuple[str, Any, int, int]]:
    return [m for m in a.markers if m[0] == tag]


def _clause_between(text: str, lo: int, hi: int) -> bool:
    return bool(re.search(r"[,;:()\u3001\uff0c]", text[lo:hi]))


def _attribute_roles(a: Analysis) -> None:
    """Give each role (minister, leader...) the side of the nearest side marker."""
    text, base = a.sentence.text, a.sentence.start
    anchors = [m for m in a.mentions if m.kind != "role" and m.side in ("ru", "kp", "other")]
    for r in a.mentions:
        if r.kind != "role":
            continue
        best, best_d = None, 10**9
        for m in anchors:
            if m.start >= r.end:
                d = m.start - r.end
                limit = 45
            else:
                d = r.start - m.end
                limit = 30
            if 0 <= d <= limit and d < best_d:
                if (
                    _clause_between(text, min(m.end, r.end) - base, max(m.start, r.start) - base)
                    and m.kind != "person"
                ):
                    continue
                best, best_d = m, d
        if best is not None:
            r.side = best.side


#: A dateline opening a sentence: "SEOUL, Nov. 20 (Yonhap) --", "MOSCOW (Reuters) -",
#: "【ソウル共同】", "[서울=연합뉴스]". Names inside it are where the story was filed.
_DATELINE = re.compile(
    r"^[^\w\[【(（]{0,3}(?:[^\W\d][^,()\n]{0,40}?(?:,\s*[^,()\n]{0,30}?)?"
    r"(?:\s*\([^)\n]{1,40}\))?\s*(?:--|[-–—])\s|[\[【(（][^\]】)）\n]{1,30}[\]】)）])"
)
#: Topic particles: a source at the head of a Japanese/Korean/Chinese sentence that ends
#: in a reporting verb ("韓国国防省は、…と明らかにした", "국정원은 … 밝혔다").
_CJK_TOPIC = re.compile(r"^[^、，,。]{0,12}?(?:は|는|은|称|表示|指出)")


def _attribution(a: Analysis) -> None:
    """Media and third parties quoted as a source are no party to the contact.

    A third country, its agency, official or capital is a source when an attribution
    word stands next to it ("Seoul says", "laut Seoul", "segundo o NIS sul-coreano"), when
    it is the dateline, when a headline names it before or after a colon ("Seoul: ...",
    "...: NIS"), or, in CJK, when it is the topic of a sentence that reports
    ("韓国国防省は、ロシアが…明らかにした").
    """
    text, base = a.sentence.text, a.sentence.start
    attrs = _markers(a, "attr")
    dateline = _DATELINE.match(text)
    date_end = base + dateline.end() if dateline else -1
    cjk = bool(_CJK_CHAR.search(text))
    for m in a.mentions:
        media = m.kind == "org" and m.org_kind == "media"
        third = m.side == "other" and m.kind in ("country", "org", "place", "person")
        if not (media or third):
            continue
        if m.end <= date_end:
            m.attributed = True
            continue
        lo, hi = m.start - base, m.end - base
        if third and (
            (lo <= 2 and text[hi : hi + 2].strip()[:1] == ":")
            or (hi >= len(text.rstrip()) - 1 and ":" in text[max(lo - 3, 0) : lo])
        ):
            m.attributed = True
            continue
        if any(m.start - 50 <= s <= m.end + 30 for _, _, s, _e in attrs) or (
            cjk
            and third
            and any(s >= m.end for _, _, s, _e in attrs)
            and _CJK_TOPIC.match(text[m.end - base :])
            and not re.search(r"[、，,]", text[: m.start - base])
        ):
            m.attributed = True


def _negation(a: Analysis) -> None:
    text, base = a.sentence.text, a.sentence.start
    negs = _markers(a, "neg")
    denial = bool(_markers(a, "denial"))
    for c in a.cues:
        if denial:
            c.negated = True
            continue
        for _, _, s, e in negs:
            before, after = (10, 8) if _CJK_CHAR.search(text[s - base : e - base]) else (35, 12)
            ahead = c.start - before <= s < c.start and not _clause_between(
                text, e - base, c.start - base
            )
            behind = c.end <= s <= c.end + after and not _clause_between(
                text, c.end - base, s - base
            )
            if ahead or behind:
                c.negated = True


def _message_parties(a: Analysis) -> None:
    """People named as sender or recipient of a letter are not meeting participants."""
    for c in a.cues:
        if c.group != "message" or c.negated:
            continue
        for m in a.mentions:
            if m.kind in ("person", "role") and c.start - 25 <= m.start <= c.end + 70:
                m.message_party = True


def _participants(a: Analysis, cues: set[str]) -> tuple[dict[str, int], str]:
    """Highest rank on each side among the people, roles and delegations of a sentence."""
    best: dict[str, int] = {}
    unknown: list[int] = []
    counterparts = []
    for m in a.mentions:
        if m.message_party or m.attributed:
            continue
        if m.kind == "person" and m.side in SIDES and m.rank:
            best[m.side] = max(best.get(m.side, 0), m.rank)
        elif m.kind == "role":
            if m.role == "counterpart":
                counterparts.append(m)
            elif m.rank:
                if m.side in SIDES:
                    best[m.side] = max(best.get(m.side, 0), m.rank)
                elif m.side is None:
                    unknown.append(m.rank)
    if "delegation" in cues:
        for c in a.cues:
            if c.group == "delegation" and not c.negated:
                side = _nearest_side(a, c.start, c.end)
                if side in SIDES:
                    best[side] = max(best.get(side, 0), RANKS["official"])
                elif side is None:
                    unknown.append(RANKS["official"])
    for u in unknown:
        missing = [s for s in SIDES if s not in best]
        if len(missing) == 1 and len(best) == 1:
            best[missing[0]] = u
        elif not best:
            best["?"] = max(best.get("?", 0), u)
    for cp in counterparts:
        other = [s for s in SIDES if s in best and s != cp.side]
        if cp.side in SIDES and other:
            best[cp.side] = max(best.get(cp.side, 0), best[other[0]])
        elif len(best) == 1:
            ((s, r),) = best.items()
            best["kp" if s == "ru" else "ru"] = r
    note = ", ".join(f"{s}={RANK_NAME.get(r, r)}" for s, r in sorted(best.items()))
    return best, note


def _nearest_side(a: Analysis, start: int, end: int) -> str | None:
    best, best_d = None, 10**9
    for m in a.mentions:
        if m.side not in ("ru", "kp", "other") or m.kind == "role":
            continue
        d = m.start - end if m.start >= end else start - m.end
        if 0 <= d <= 40 and d < best_d:
            best, best_d = m.side, d
    return best


def _analyse(a: Analysis, prev: Analysis | None, status_retro: bool) -> None:
    """Decide whether a sentence links the two sides and what it contributes."""
    _attribute_roles(a)
    _attribution(a)
    _negation(a)
    _message_parties(a)
    sides: dict[str, bool] = {}
    third = []
    for m in a.mentions:
        if m.attributed:
            continue
        if m.kind == "pair":
            for s in SIDES:
                sides.setdefault(s, False)
        elif m.side in SIDES:
            strong = m.strong and not (m.kind == "role" and m.role == "generic")
            sides[m.side] = sides.get(m.side, False) or strong
        elif m.side == "other" and m.kind in ("person", "country", "org", "place"):
            third.append(m.name or "?")
    live = [c for c in a.cues if not c.negated]
    if not live:
        if a.cues and len(sides) == 2:
            a.why_not = "negated"
        return
    carried = False
    if (
        len(sides) < 2
        and prev is not None
        and prev.linked
        and prev.sentence.paragraph == a.sentence.paragraph
        and sides
    ):
        for s in SIDES:
            if s not in sides:
                sides[s] = False
                carried = True
    if len(sides) < 2:
        return
    if third and not all(sides.values()):
        a.why_not = f"third party ({', '.join(sorted(set(third)))})"
        return
    reaction = any(m[0] == "reaction" for m in a.markers)
    if reaction and third:
        # a third party protesting, condemning or worried about Russia–DPRK ties: the
        # contact is the topic of its reaction, not the news
        a.why_not = f"third-party reaction ({', '.join(sorted(set(third)))})"
        return
    a.linked = True
    n_strong = sum(sides.values())
    a.link = (1.0, 0.85, 0.7)[2 - n_strong]
    if carried:
        a.link = min(a.link, 0.75)
    bg = bool(_markers(a, "status") and any(m[1] == "background" for m in a.markers))
    a.background = (bg or reaction) and not status_retro
    w = a.sentence.weight * a.link * (BACKGROUND if a.background else 1.0)
    if reaction:
        w *= REACTION

    groups: dict[str, float] = {}
    for c in live:
        groups[c.group] = max(groups.get(c.group, 0.0), c.weight)
    for m in a.mentions:
        if m.attributed or m.kind != "org" or m.side not in SIDES:
            continue
        if m.org_kind == "security":
            groups["security"] = max(groups.get("security", 0.0), 0.8)
        elif m.org_kind == "military":
            groups["military"] = max(groups.get("military", 0.0), 0.6)
        elif m.org_kind == "media" and groups.keys() & {"visit", "delegation", "agreement"}:
            groups["media_culture"] = max(groups.get("media_culture", 0.0), 0.6)
    phone = "phone" in groups
    if phone:
        groups["message"] = 1.0
    visit = not phone and (
        groups.keys() & {"visit", "summit", "delegation"}
        or ("receive" in groups and "message" not in groups)
    )
    if visit:
        best, note = _participants(a, set(groups))
        if len(best) == 2:
            rank = min(best.values())
        elif len(best) == 1:
            rank = next(iter(best.values()))
        elif "summit" in groups:
            rank = RANKS["leader"]
        else:
            rank = 0
        if (
            rank == RANKS["leader"]
            and len(best) < 2
            and "summit" not in groups
            and not any(m.is_name for m in a.mentions if m.side in SIDES)
        ):
            rank = 0
        a.rank_note = note or "no ranked party"
        if rank in RANK_TYPE:
            a.types[RANK_TYPE[rank]] = w
    for t in DOMAIN_TYPES:
        if t in groups:
            a.types[t] = w * groups[t]
    contact = max(a.types.values(), default=0.0)
    if visit and not a.types:
        contact = w * 0.8
    if "cooperation" in groups or "receive" in groups:
        contact = max(contact, w * COOPERATION_CUE)
    a.relevance = contact


# --- the item --------------------------------------------------------------------------


def _noisy_or(values: list[float], gain: float) -> float:
    p = 1.0
    for v in values:
        p *= 1.0 - gain * min(v, 1.0)
    return 1.0 - p


def _type_scores(linked: list[Analysis], score: float) -> dict[str, float]:
    """Noisy-OR of each type over its sentences, the headline and lead counting most.

    A broad domain (military, documents, trade, culture) named in the headline or lead
    is the item's own news; found only further down it is mostly background or context
    (a treaty recalled, troops mentioned in passing), so its score is then scaled by
    FOCUS_BODY_ONLY. Visits, messages and security contacts are specific: one clear
    sentence anywhere reports them.
    """
    head: dict[str, list[float]] = defaultdict(list)
    body: dict[str, list[float]] = defaultdict(list)
    for a in linked:
        bucket = head if a.sentence.region in (HEAD, LEAD) else body
        for t, v in a.types.items():
            bucket[t].append(v)
    out = {}
    for t in CONTACT_TYPES:
        h, b = head.get(t, []), body.get(t, [])
        miss_h = 1.0 - _noisy_or(h, HEAD_GAIN.get(t, TYPE_GAIN))
        miss_b = 1.0 - _noisy_or(b, DOMAIN_GAIN.get(t, TYPE_GAIN))
        value = 1.0 - miss_h * miss_b
        if not h and t in DOMAIN_GAIN:
            value *= FOCUS_BODY_ONLY
        out[t] = round(min(value, score), 4)
    return out


def _reference(
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


def _year(k: Knowledge, item: Item, ref: date | None, lay: Layout) -> int | None:
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


def _both_sides_possible(
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
        return bool(_generic_people(k, text[:end]))
    return False


_ENTITY_TAGS = frozenset({"person", "org", "place", "country"})


def _nothing(k: Knowledge, item: Item, text: str, plugin_version: str) -> Classification:
    """The verdict on an item naming no person, organisation, place or country we know."""
    language = item.language or langid.guess(k, text)
    return Classification(
        relevant=False,
        score=0.0,
        types={t: 0.0 for t in CONTACT_TYPES},
        language=language,
        plugin="rudprk",
        plugin_version=plugin_version,
        explanation=(
            f"language: {language}"
            + ("" if item.language else " (guessed from script and stopwords)"),
            "not relevant: no person, organisation, place or country of the gazetteer named",
        ),
    )


def _one_sided(
    k: Knowledge,
    item: Item,
    text: str,
    norm: Normalized,
    lay: Layout,
    matches: list[Match],
    language: str,
    plugin_version: str,
) -> Classification:
    """The verdict on an item that does not name both sides: not relevant, entities only."""
    analyses = _mentions_and_cues(k, text, norm, lay.sentences, None, matches)
    actors, orgs, places = _entities(analyses)
    explanation = (
        f"language: {language}" + ("" if item.language else " (guessed from script and stopwords)"),
        f"text: {len(lay.sentences)} sentences kept ({lay.kept_chars} chars)",
        "actors: " + (", ".join(actors) or "none"),
        "organisations: " + (", ".join(orgs) or "none"),
        "places: " + (", ".join(places) or "none"),
        "not relevant: the text does not name both a Russian and a DPRK party",
    )
    return Classification(
        relevant=False,
        score=0.0,
        types={t: 0.0 for t in CONTACT_TYPES},
        primary=None,
        actors=tuple(actors),
        organisations=tuple(orgs),
        places=tuple(places),
        event_date=None,
        direction=None,
        status=None,
        language=language,
        evidence=(),
        plugin="rudprk",
        plugin_version=plugin_version,
        explanation=explanation,
    )


def classify(k: Knowledge, item: Item, plugin_version: str) -> Classification:
    """Classify one item (see the module docstring for the method)."""
    text = item.full_text
    norm = normalize(text)
    matches = k.matcher.find(norm.text)
    if not any(p[0] in _ENTITY_TAGS for m in matches for p in m.payloads):
        # the common case of a feed: no person, organisation, place or country at all
        return _nothing(k, item, text, plugin_version)
    title_len = len(item.title) if item.title and text.startswith(item.title) else 0
    lay: Layout = layout(k, text, title_len)
    language = item.language or langid.guess(k, " ".join(s.text for s in lay.sentences))
    if not _both_sides_possible(k, text, norm, lay, matches):
        return _one_sided(k, item, text, norm, lay, matches, language, plugin_version)
    ref, ref_source = _reference(k, item, norm, matches)
    year = _year(k, item, ref, lay)
    analyses = _mentions_and_cues(k, text, norm, lay.sentences, year, matches)
    head = [a for a in analyses if a.sentence.region == HEAD]
    retro = any(m[0] == "status" and m[1] == "retrospective" for a in head for m in a.markers)
    prev = None
    for a in analyses:
        _analyse(a, prev, retro)
        if a.mentions or a.cues:
            prev = a

    linked = [a for a in analyses if a.linked and a.relevance > 0]
    score = _noisy_or([a.relevance for a in linked], REL_GAIN)
    focus_note = ""
    head_linked = any(a.sentence.region in (HEAD, LEAD) for a in linked)
    if not head_linked and linked:
        score *= 0.75
        focus_note = "no contact in headline or lead: x0.75"
    score = round(min(max(score, 0.0), 1.0), 4)
    relevant = score >= DEFAULT_RELEVANCE_THRESHOLD

    types = _type_scores(linked, score)
    reported = {t: s for t, s in types.items() if s >= DEFAULT_TYPE_THRESHOLD}

    status, status_note = _status(analyses, retro)
    primary, primary_note = _primary(linked, types, reported, status, relevant)
    event_date, date_note = _event_date(k, analyses, linked, ref, year, status)
    if status == "reported" and ref is not None and event_date is not None and event_date > ref:
        status, status_note = "announced", f"event date {event_date} after reference {ref}"
    direction, direction_note = _direction(k, norm, linked, primary)

    actors, orgs, places = _entities(analyses)
    evidence = _evidence(text, linked, reported)
    explanation = _explain(
        lay,
        language,
        item,
        ref,
        ref_source,
        year,
        analyses,
        linked,
        score,
        focus_note,
        types,
        primary,
        primary_note,
        status,
        status_note,
        direction,
        direction_note,
        event_date,
        date_note,
        actors,
        orgs,
        places,
    )
    return Classification(
        relevant=relevant,
        score=score,
        types=types,
        primary=primary if relevant else None,
        actors=tuple(actors),
        organisations=tuple(orgs),
        places=tuple(places),
        event_date=event_date if relevant else None,
        direction=direction if relevant else None,
        status=status if relevant else None,
        language=language,
        evidence=tuple(evidence),
        plugin="rudprk",
        plugin_version=plugin_version,
        explanation=tuple(explanation),
    )


def _status(analyses: list[Analysis], retro: bool) -> tuple[str, str]:
    if retro:
        return "retrospective", "retrospective cue in the headline"
    ann = rep = 0.0
    for a in analyses:
        if a.sentence.region not in (HEAD, LEAD):
            continue
        if not any(m.side in SIDES or m.kind == "pair" for m in a.mentions):
            continue
        w = 2.0 if a.sentence.region == HEAD else 1.0
        for m in a.markers:
            if m[0] == "status" and m[1] == "announced":
                ann += w
            elif m[0] == "status" and m[1] == "reported":
                rep += w
    if ann > rep:
        return "announced", f"planned/future cues {ann:g} > past cues {rep:g} in headline and lead"
    return "reported", f"past cues {rep:g} >= planned/future cues {ann:g} in headline and lead"


def _primary(
    linked: list[Analysis],
    types: dict[str, float],
    reported: dict[str, float],
    status: str,
    relevant: bool,
) -> tuple[str | None, str]:
    if not relevant:
        return None, "not relevant"
    cands = reported or {max(types, key=lambda t: types[t]): 0.0}
    mass: dict[str, float] = defaultdict(float)
    top: dict[str, float] = defaultdict(float)
    for a in linked:
        region_w = {HEAD: 2.0, LEAD: 1.0}.get(a.sentence.region, 0.0)
        for t, v in a.types.items():
            mass[t] += v
            top[t] += v * region_w
    visits = [t for t in VISIT_TYPES if t in cands]
    if status == "retrospective":
        pool = visits or list(cands)
        best = max(pool, key=lambda t: (mass[t], types[t]))
        return best, f"retrospective: most evidence ({mass[best]:.2f})"
    signed_head = any(
        a.sentence.region in (HEAD, LEAD)
        and "agreement" in a.types
        and any(m[0] == "signed" for m in a.markers)
        for a in linked
    )
    if (
        "agreement" in cands
        and signed_head
        and status == "reported"
        and top["agreement"] >= max((top[t] for t in visits), default=0.0)
    ):
        return "agreement", "a signed document leads the headline"
    head_visits = [t for t in visits if top[t] > 0]
    if head_visits:
        best = max(head_visits, key=lambda t: (top[t], mass[t]))
        return best, f"visit or meeting in headline/lead (weight {top[best]:.2f})"
    if "message" in cands and top["message"] > 0:
        return "message", "a message leads the headline"
    head_domains = [t for t in cands if top[t] > 0]
    if head_domains:
        best = max(head_domains, key=lambda t: (top[t], mass[t]))
        return best, f"strongest in headline/lead (weight {top[best]:.2f})"
    best = max(cands, key=lambda t: (t in VISIT_TYPES, mass[t], types[t]))
    return best, f"most evidence ({mass[best]:.2f})"


def _event_date(
    k: Knowledge,
    analyses: list[Analysis],
    linked: list[Analysis],
    ref: date | None,
    year: int | None,
    status: str,
) -> tuple[date | None, str]:
    order = sorted(
        linked, key=lambda a: ({HEAD: 0, LEAD: 1}.get(a.sentence.region, 2), a.sentence.index)
    )
    for a in order:
        if a.background and status != "retrospective":
            continue
        norm = normalize(a.sentence.text).text
        mentions = dt.find(k, norm)
        weekdays = [m for m in a.markers if m[0] == "weekday"]
        rel = [m for m in a.markers if m[0] == "reldate"]
        future = any(m[0] == "status" and m[1] == "announced" for m in a.markers)
        wd = weekdays[0][1] if weekdays else None
        for m in mentions:
            if m.kind == "monthyear":
                continue
            got = dt.resolve(m, ref, year, future=future, weekday=wd)
            if got is not None:
                return got, f"«{a.sentence.text[:80]}»"
        if ref is not None:
            for tag, val, _s, _e in weekdays + rel:
                kind = "weekday" if tag == "weekday" else "relative"
                got = dt.resolve(dt.DateMention(kind, 0, delta=val), ref, year, future=future)
                if got is not None:
                    return got, f"«{a.sentence.text[:80]}» relative to {ref}"
    return None, "no resolvable date in the contact sentences"


def _direction(
    k: Knowledge, norm: Normalized, linked: list[Analysis], primary: str | None
) -> tuple[str | None, str]:
    if primary not in VISIT_TYPES:
        return None, "not a visit"
    votes: dict[str, float] = defaultdict(float)
    for a in linked:
        if not a.types.keys() & set(VISIT_TYPES):
            continue
        w = max(a.types.values()) * (2.0 if a.sentence.region == HEAD else 1.0)
        for m in a.mentions:
            venue = m.venue if m.kind == "org" else (m.side if m.is_name else None)
            if venue not in ("ru", "kp", "other") or m.attributed:
                continue
            before = norm.text[max(0, m.nstart - 24) : m.nstart]
            after = norm.text[m.nend : m.nend + 12]
            if k.loc_from.search(before):
                factor = 0.3
            elif k.loc_before.search(before) or k.loc_after.search(after):
                factor = 2.0
            elif m.kind == "org":
                continue
            else:
                factor = 1.0
            votes[venue] += w * factor
        for tag, side, _s, _e in a.markers:
            if tag == "venue" and side in ("ru", "kp", "other"):
                votes[side] += w * 2.0
    total = sum(votes.values())
    if not total:
        return None, "no venue named"
    side, best = max(votes.items(), key=lambda kv: kv[1])
    note = ", ".join(f"{s}={v:.2f}" for s, v in sorted(votes.items()))
    if best / total < 0.6:
        return None, f"no dominant venue ({note})"
    return {"kp": "ru_to_kp", "ru": "kp_to_ru", "other": "third"}[side], f"venue votes {note}"


def _entities(analyses: list[Analysis]) -> tuple[list[str], list[str], list[str]]:
    actors: dict[str, int] = {}
    orgs: dict[str, int] = {}
    places: dict[str, int] = {}
    for a in analyses:
        for m in a.mentions:
            if m.kind == "person" and m.side in SIDES and m.name:
                actors.setdefault(m.name, m.start)
            elif m.kind == "org" and m.name:
                orgs.setdefault(m.name, m.start)
            elif m.kind == "place" and m.name:
                places.setdefault(m.name, m.start)
    return list(actors), list(orgs), list(places)


def _evidence(text: str, linked: list[Analysis], reported: dict[str, float]) -> list[Evidence]:
    out = []
    for t in reported:
        best = sorted((a for a in linked if t in a.types), key=lambda a: -a.types[t])[:3]
        for a in sorted(best, key=lambda a: a.sentence.start):
            s = a.sentence
            out.append(Evidence(type=t, text=text[s.start : s.end], start=s.start, end=s.end))
    return out


def _explain(
    lay: Layout,
    language: str,
    item: Item,
    ref: date | None,
    ref_source: str,
    year: int | None,
    analyses: list[Analysis],
    linked: list[Analysis],
    score: float,
    focus_note: str,
    types: dict[str, float],
    primary: str | None,
    primary_note: str,
    status: str,
    status_note: str,
    direction: str | None,
    direction_note: str,
    event_date: date | None,
    date_note: str,
    actors: list[str],
    orgs: list[str],
    places: list[str],
) -> list[str]:
    lines = [
        f"language: {language}" + ("" if item.language else " (guessed from script and stopwords)"),
        f"text: {len(lay.sentences)} sentences kept ({lay.kept_chars} chars), "
        f"{lay.dropped_lines} navigation lines dropped"
        + (f", cut at offset {lay.cut_at} by {lay.cut_reason}" if lay.cut_at is not None else ""),
        f"reference date: {ref} ({ref_source}); year for partial dates: {year}",
        "actors: " + (", ".join(actors) or "none"),
        "organisations: " + (", ".join(orgs) or "none"),
        "places: " + (", ".join(places) or "none"),
    ]
    for a in analyses:
        s = a.sentence
        excerpt = " ".join(s.text.split())[:110]
        if a.linked:
            cues = ", ".join(sorted({f"{c.group}:{c.term}" for c in a.cues if not c.negated}))
            contrib = ", ".join(f"{t} {v:.2f}" for t, v in sorted(a.types.items()))
            lines.append(
                f"[{s.index} {s.region} w={s.weight:.2f} link={a.link:.2f}"
                f"{' background' if a.background else ''}] relevance {a.relevance:.2f}; "
                f"{contrib or 'no type'}; cues {cues}"
                + (f"; ranks {a.rank_note}" if a.rank_note else "")
                + f" «{excerpt}»"
            )
        elif a.why_not:
            lines.append(f"[{s.index} {s.region}] not counted: {a.why_not} «{excerpt}»")
    lines.append(
        f"relevance score = 1 - prod(1 - {REL_GAIN} x sentence relevance) over {len(linked)} "
        f"linked sentences = {score:.4f}" + (f" ({focus_note})" if focus_note else "")
    )
    lines.append(
        "type scores = 1 - prod(1 - "
        f"{TYPE_GAIN} x sentence weight x link x cue), capped by relevance: "
        + ", ".join(f"{t} {v:.2f}" for t, v in types.items() if v > 0)
    )
    lines.append(f"primary: {primary} ({primary_note})")
    lines.append(f"status: {status} ({status_note})")
    lines.append(f"direction: {direction} ({direction_note})")
    lines.append(f"event date: {event_date} ({date_note})")
    return lines
