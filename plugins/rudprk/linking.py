"""Linking and roles, one sentence at a time.

A sentence counts as a contact only if it names a Russian party and a DPRK party with
a contact cue that is not negated; roles take the side of the nearest country word;
sources, datelines and reactions are no parties; the rank line decides the visit type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from . import dates as dt
from .gazetteer import RANKS
from .lexicon import Knowledge
from .mentions import (
    CJK_CHAR,
    DOMAIN_TYPES,
    RANK_NAME,
    RANK_TYPE,
    SIDES,
    Analysis,
    Cue,
)
from .normalize import Normalized, normalize, span_text
from .sentences import HEAD as HEAD_REGION
from .sentences import LEAD as LEAD_REGION

COOPERATION_CUE = 0.4
BACKGROUND = 0.6
#: A contact named as the object of concern or protest ("voiced concern about their
#: military cooperation") is a topic: it counts this much on top of the background factor.
REACTION = 0.6
#: A domain cue that is part of a job title gives its type at this factor.
TITLE_CUE = 0.5
#: ...except military: defence-ministry contacts are military (taxonomy convention 6).
TITLE_TYPES = frozenset({"military"})
#: A guessed person (given name + surname) right after a third-country word is not Russian.
NATIONALITY_WINDOW = 45


def markers(a: Analysis, tag: str) -> list[tuple[str, Any, int, int]]:
    return [m for m in a.markers if m[0] == tag]


def clause_between(text: str, lo: int, hi: int) -> bool:
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
                    clause_between(text, min(m.end, r.end) - base, max(m.start, r.start) - base)
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
    r"(?:\s*\([^)\n]{1,40}\))?\s*(?:--|[-–—])\s|[\[【(（][^\]】)）\n]{1,30}[\]】)）]"
    # "Moscú, 17 jun (EFE).- ", "Seul, 4 jun 2025 (Lusa) - "
    r"|[^\W\d][^,()\n]{0,40}?,[^,()\n]{0,12}?\d[^,()\n]{0,20}?\([A-Z][\w ]{1,20}\)\.-?\s)"
)
#: A character every `_DATELINE` match holds (its dash, or an opening bracket).
_DATELINE_HINT = re.compile(r"[-–—\[【(（]")
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
    attrs = markers(a, "attr")
    # every dateline holds a dash or an opening bracket, and only mentions use it
    hint = a.mentions and _DATELINE_HINT.search(text)
    dateline = _DATELINE.match(text) if hint else None
    date_end = base + dateline.end() if dateline else -1
    cjk = bool(CJK_CHAR.search(text))
    for m in a.mentions:
        if m.end <= date_end:
            m.dateline = True  # where the story was filed: no venue
        media = m.kind == "org" and m.org_kind == "media"
        third = m.side == "other" and m.kind in ("country", "org", "place", "person")
        if not (media or third):
            continue
        if m.end <= date_end:
            m.attributed = True
            continue
        lo, hi = m.start - base, m.end - base
        colon = text.find(":", hi)
        if (
            third
            and (
                (lo <= 2 and text[hi : hi + 2].strip()[:1] == ":")
                # "South Korean intelligence: ..." (the source and its noun before the colon)
                or (
                    lo <= 2
                    and 0 <= colon - hi <= 25
                    and not any(
                        o.side in SIDES and hi <= o.start - base < colon for o in a.mentions
                    )
                )
                or (hi >= len(text.rstrip()) - 1 and ":" in text[max(lo - 3, 0) : lo])
            )
        ):
            m.attributed = True
            if lo <= 2 and 0 <= colon - hi <= 25:
                # the source's own noun ("intelligence", "agency") is no cue of the news
                a.cues = [c for c in a.cues if not (m.start <= c.start < base + colon)]
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
    negs = markers(a, "neg")
    denial = bool(markers(a, "denial"))
    for c in a.cues:
        if denial:
            c.negated = True
            continue
        for _, _, s, e in negs:
            before, after = (10, 8) if CJK_CHAR.search(text[s - base : e - base]) else (35, 12)
            ahead = c.start - before <= s < c.start and not clause_between(
                text, e - base, c.start - base
            )
            behind = c.end <= s <= c.end + after and not clause_between(
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


#: A title and a name this close together are one party ("President Vladimir Putin").
TITLE_SPAN = 25
#: A person or role this close to a spokesman/briefing word is the speaker.
SPEAKER_SPAN = 25


def _participants(a: Analysis, cues: set[str]) -> tuple[dict[str, int], str]:
    """The rank of each side's party to the meeting among the people, roles and
    delegations of a sentence.

    A side's party is the first ranked person or role of that side the sentence names
    (its subject or first object): in "Shoigu met Kim Jong Un on Putin's instructions"
    Russia's party is Shoigu, not the leader who sent him; a title and its name within
    a few characters are one party ("President Putin": the higher rank).
    """
    nearest: dict[str, tuple[int, int]] = {}  # side -> (gap, -rank)
    unknown: list[int] = []
    counterparts = []
    named = False  # a person or a role (not only the word "delegation") gives a rank
    speakers = [(s, e) for tag, val, s, e in a.markers if tag == "status" and val == "remark"]
    for m in a.mentions:
        if m.message_party or m.attributed:
            continue
        if any(s - SPEAKER_SPAN <= m.end and m.start <= e + SPEAKER_SPAN for s, e in speakers):
            continue  # "Kremlin spokesman Dmitry Peskov said": a speaker, not a party
        rank = 0
        if m.kind == "person" and m.side in SIDES and m.rank:
            rank = m.rank
        elif m.kind == "role":
            if m.role == "counterpart":
                counterparts.append(m)
            elif m.rank:
                if m.side in SIDES:
                    rank = m.rank
                elif m.side is None:
                    unknown.append(m.rank)
        if rank and m.side in SIDES:
            named = True
            key = (m.start, -rank)
            # a title and its name ("President Putin") are one party: within a few
            # characters the higher rank stands
            old = nearest.get(m.side)
            if (
                old is None
                or key[0] < old[0] - 12
                or (abs(key[0] - old[0]) <= 12 and -rank < old[1])
            ):
                nearest[m.side] = key
    best: dict[str, int] = {side: -r for side, (_g, r) in nearest.items()}
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
    if not named and "delegation" in cues:
        a.bare_delegation = True
    return best, note


def _leader_abroad(a: Analysis, side: str | None) -> bool:
    """Whether a sentence whose only ranked party is one side's leader names the other
    side as a place ("Putin arrived in Pyongyang"): the leader visits, and with no named
    counterpart that is a summit. A leader at home ("Putin received ... in the
    Kremlin"), or named only as the owner of a place ("Kim Jong Un's resort", a
    university named after Kim Il Sung), is no summit by himself."""
    if side not in SIDES:
        return False
    other = "kp" if side == "ru" else "ru"
    abroad = any(m.is_name and m.side == other for m in a.mentions)
    home = any(
        (m.kind == "place" and m.side == side) or (m.kind == "org" and m.venue == side)
        for m in a.mentions
    )
    return abroad and not home


def _nearest_side(a: Analysis, start: int, end: int) -> str | None:
    best, best_d = None, 10**9
    for m in a.mentions:
        if m.side not in ("ru", "kp", "other") or m.kind == "role":
            continue
        d = m.start - end if m.start >= end else start - m.end
        if 0 <= d <= 40 and d < best_d:
            best, best_d = m.side, d
    return best


@dataclass(slots=True)
class Context:
    """What earlier sentences and the headline tell a sentence."""

    retro: bool = False
    #: the headline frames the item as Russia with a third country ("Seoul and Moscow
    #: discuss North Korea"): a DPRK named only as a country is then the topic
    third_frame: bool = False
    #: the parties most recently named together: "both" (Russia and the DPRK), "third"
    #: (one of them with a third country) or None; "the two sides" refers to them
    last_pair: str | None = None


def analyse(
    a: Analysis, prev: Analysis | None, status_retro: bool, ctx: Context | None = None
) -> None:
    """Decide whether a sentence links the two sides and what it contributes."""
    ctx = ctx or Context(retro=status_retro)
    if not a.mentions and not a.cues:
        return  # every pass below reads mentions or cues: nothing to decide or note
    _nationality_over_guess(a)  # before the roles take the side of the names next to them
    _attribute_roles(a)
    _attribution(a)
    _cited_sources(a)
    _third_party_services(a)
    _negation(a)
    _message_parties(a)
    invited = _invitation(a)
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
        elif m.side == "other" and m.kind in ("person", "country", "org", "place", "role"):
            third.append(m.name or m.role or "?")
    _update_pair(a, ctx, sides, third)
    live = [c for c in a.cues if not c.negated]
    if not live:
        if a.cues and len(sides) == 2:
            a.why_not = "an invitation: the visit offered is no contact" if invited else "negated"
        return
    carried = False
    # a sentence naming no party at all ("The leaders then signed a treaty") right after
    # a linked one in the headline or lead goes on about the same parties: a completed
    # signing, the outcome of the talks just reported
    unnamed = (
        not sides
        and not third
        and prev is not None
        and prev.linked
        and a.sentence.index - prev.sentence.index == 1
        and a.sentence.region in (HEAD_REGION, LEAD_REGION)
        and any(c.group == "agreement" for c in live)
        and bool(markers(a, "signed"))
    )
    if (
        len(sides) < 2
        and prev is not None
        and prev.linked
        and (prev.sentence.paragraph == a.sentence.paragraph or unnamed)
        and (sides or unnamed)
    ):
        for s in SIDES:
            if s not in sides:
                sides[s] = False
                carried = True
    two_sides = bool(markers(a, "two_sides"))
    if len(sides) < 2 and two_sides and ctx.last_pair == "both" and not third:
        # "the two leaders / sides / countries": the parties last named together
        for s in SIDES:
            if s not in sides:
                sides[s] = False
                carried = True
        a.notes.append("'the two sides' resolved to the last named parties")
    if len(sides) < 2:
        return
    if ctx.third_frame and not any(
        m.side == "kp" and m.kind in ("person", "org", "role") and not m.attributed
        for m in a.mentions
    ):
        # the DPRK named only as a country or its capital ("talks also touched on
        # Pyongyang") is the topic of Russia's talks with the third country
        a.why_not = "third-country frame in the headline; the DPRK only as topic"
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
    bg = bool(markers(a, "status") and any(m[1] == "background" for m in a.markers))
    if invited:
        a.notes.append("invitation: the visit it offers is background")
    a.background = (bg or reaction or invited) and not status_retro
    w = a.sentence.weight * a.link * (BACKGROUND if a.background else 1.0)
    if reaction:
        w *= REACTION

    groups: dict[str, float] = {}
    for c in live:
        # a domain word inside a job title ("defence minister", "Security Council
        # secretary") sets the rank; as a type it counts as a weak cue
        titled = c.in_title and c.group in DOMAIN_TYPES and c.group not in TITLE_TYPES
        weight = c.weight * (TITLE_CUE if titled else 1.0)
        groups[c.group] = max(groups.get(c.group, 0.0), weight)
    if "agreement" in groups and _object_of_signing(a, live):
        a.focal.add("agreement")  # the document is the object of the signing verb
    for m in a.mentions:
        if m.attributed or m.cited or m.kind != "org" or m.side not in SIDES:
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
            and (
                not _leader_abroad(a, next(iter(best), None))
                # "during Putin's visit to Pyongyang" further down is a recalled visit,
                # unless recalling visits is what the item does (a timeline)
                or (a.sentence.region not in (HEAD_REGION, LEAD_REGION) and not status_retro)
                or a.background
            )
        ):
            rank = 0
        a.rank_note = note or "no ranked party"
        dele = [c for c in live if c.group == "delegation"]
        a.troupe_only = bool(dele) and all(c.troupe for c in dele)
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


#: A visit cue this close after an invitation word (or, in Korean and Japanese, just
#: before it: "방러를 초청") is the visit offered, not one that takes place.
INVITED_AFTER, INVITED_BEFORE = 60, 15


def _invitation(a: Analysis) -> bool:
    """Invitations are background: "Putin invited Kim to visit Russia" below the
    headline reports the invitation, not a visit. The visit cues the invitation governs
    are dropped (the rest of the sentence still counts); True when that leaves the
    sentence only the invitation. In the headline an invitation is the news itself."""
    if a.sentence.index == 0:
        return False
    invs = [(s, e) for tag, val, s, e in a.markers if tag == "status" and val == "invitation"]
    if not invs:
        return False
    text, base = a.sentence.text, a.sentence.start
    governed = []
    for c in a.cues:
        if c.negated or c.group not in ("visit", "summit", "delegation", "receive"):
            continue
        for s, e in invs:
            after = e <= c.start <= e + INVITED_AFTER and not clause_between(
                text, e - base, c.start - base
            )
            before = c.end <= s <= c.end + INVITED_BEFORE
            if after or before or (s <= c.start < e):
                governed.append(c)
                break
    for c in governed:
        c.negated = True  # not a visit that takes place
    return bool(governed) and all(c.negated for c in a.cues)


def _object_of_signing(a: Analysis, live: list[Cue]) -> bool:
    """A document cue next to a completed-signing word in the same clause: after it
    ("signed a treaty", "a signé un accord", "подписали договор") or before it (the
    passive "a protocol was signed", SOV "議定書に署名した", "의정서에 서명했다")."""
    text, base = a.sentence.text, a.sentence.start
    for _, _, s, e in markers(a, "signed"):
        for c in live:
            if c.group != "agreement" or (c.start, c.end) == (s, e):
                continue
            if e <= c.start <= e + 40 and not clause_between(text, e - base, c.start - base):
                return True  # "signed a treaty", "подписали договор"
            if s - 40 <= c.end <= s and not clause_between(text, c.end - base, s - base):
                return True  # "a protocol was signed", "議定書に署名した"
    return False


def _update_pair(a: Analysis, ctx: Context, sides: dict[str, bool], third: list[str]) -> None:
    named = {m.side for m in a.mentions if not m.attributed and m.side in SIDES}
    if len(named) == 2 and not third:
        ctx.last_pair = "both"
    elif named and third:
        ctx.last_pair = "third"


def _cited_sources(a: Analysis) -> None:
    """An organisation of either side quoted as a source ("according to the SVR") still
    names its side, but its kind (intelligence, military) gives no type."""
    attrs = markers(a, "attr")
    for m in a.mentions:
        near = any(m.start - 50 <= s <= m.end + 30 for _, _, s, _e in attrs)
        if m.kind == "org" and m.side in SIDES and not m.attributed and near:
            m.cited = True


#: How close a third country's name stands to an intelligence word it owns ("South
#: Korea's spy agency", "l'intelligence di Seul", "Güney Kore istihbaratı").
OWNER_SPAN = 25


def _third_party_services(a: Analysis) -> None:
    """A third country's intelligence or security service is a source, not a contact:
    a security word whose nearest name, in the same clause, is a third country's
    belongs to that country ("according to South Korean intelligence, ..."), and gives
    no security type to the news it reports."""
    text, base = a.sentence.text, a.sentence.start
    named = [m for m in a.mentions if m.kind in ("country", "org", "place", "person")]
    if not any(m.side == "other" for m in named):
        return
    kept = []
    for c in a.cues:
        if c.group == "security":
            near = []
            for m in named:
                lo, hi = (m.end, c.start) if m.end <= c.start else (c.end, m.start)
                gap = max(hi - lo, 0)
                if gap <= OWNER_SPAN and not clause_between(text, lo - base, hi - base):
                    near.append((gap, m))
            if near and min(near, key=lambda x: x[0])[1].side == "other":
                continue
        kept.append(c)
    a.cues = kept


def _nationality_over_guess(a: Analysis) -> None:
    """Title + nationality beats name guessing: a person found only by a Russian-looking
    given name, right after a third country's name or demonym ("South Korean Deputy
    Minister Ivan ..."), belongs to that country."""
    for i, m in enumerate(a.mentions):
        if not m.guessed:
            continue
        for o in reversed(a.mentions[:i]):
            if m.start - o.end > NATIONALITY_WINDOW:
                break
            if o.kind in ("country", "place") and o.side == "other":
                m.side = "other"
                break
            if o.kind in ("country", "place") and o.side in SIDES:
                break


_MEETING = frozenset({"visit", "summit", "delegation", "phone", "receive"})


def third_country_frame(head: list[Analysis]) -> bool:
    """Whether a headline sentence reports a meeting of Russia with a third country and
    names the DPRK at most as a country word ("Seoul and Moscow discuss North Korea"),
    or a meeting of two third countries that names neither side's people: the item is
    then about those dealings. Sources ("..., Seoul says") are no parties."""
    for a in head:
        _attribute_roles(a)
        _attribution(a)
        if not any(c.group in _MEETING for c in a.cues):
            continue
        live = [m for m in a.mentions if not m.attributed]
        ru = any(m.side == "ru" for m in live)
        kp_strong = any(
            (m.side == "kp" and m.kind in ("person", "org", "role")) or m.kind == "pair"
            for m in live
        )
        third = any(
            m.side == "other"
            and m.kind in ("country", "person", "org")
            and m.org_kind != "media"  # a news agency reports, it meets no one
            for m in live
        )
        if ru and third and not kp_strong:
            return True
        # two third countries meeting about the ties ("한미 정상회담… 북러 군사협력 공동
        # 대응"): neither side takes part, the DPRK and Russia are their topic
        thirds = {
            m.name for m in live if m.side == "other" and m.kind in ("country", "person") and m.name
        }
        sides_named = any(m.side in SIDES and m.kind in ("person", "org") for m in live)
        if len(thirds) >= 2 and not sides_named:
            return True
    return False


#: A linked sentence whose own date lies this many days or more before the reference
#: date recounts earlier contacts: background.
STALE_DAYS = 60
#: A photo caption ("Photo: ...", "(Фото: ТАСС)", "사진=", "写真："): background.
_CAPTION = re.compile(
    r"^\W{0,3}(?:photo|foto|фото|сурет|사진|写真|图|圖|zdj[eę]cie|fotografie|عکس|صورة|फोटो|ảnh)"
    r"\s*[:=：/|]|[(\[](?:photo|foto|фото|사진|写真|图)\s*[:=：]",
    re.I,
)


def background_by_date(
    k: Knowledge,
    analyses: list[Analysis],
    ref: date | None,
    year: int | None,
    retro: bool,
    norm: Normalized | None = None,
    text: str = "",
) -> None:
    """Sentences dated well before publication and photo captions are background."""
    if retro:
        return
    for a in analyses:
        if not a.linked or a.background:
            continue
        why = None
        if _CAPTION.search(a.sentence.text[:40]):
            why = "photo caption"
        elif ref is not None:
            why = _stale_date(k, a, ref, year, norm, text)
        if why:
            a.background = True
            a.relevance *= BACKGROUND
            a.types = {t: v * BACKGROUND for t, v in a.types.items()}
            a.notes.append(f"background: {why}")


def _stale_date(
    k: Knowledge,
    a: Analysis,
    ref: date,
    year: int | None,
    norm: Normalized | None,
    text: str,
) -> str | None:
    """Why a sentence is dated well before the reference, or None. A sentence that
    also dates something now ("arrived on Friday, his first visit since last year's
    treaty", "a reconnu lundi 28 avril ... occupée depuis août 2024") reports the news
    and compares it with the past: it is no background."""
    if any(m[0] in ("weekday", "reldate") for m in a.markers):
        return None  # a weekday or "yesterday" is this week's news
    sent = a.sentence
    own = span_text(norm, text, sent.start, sent.end) if text else None
    stale: str | None = None
    for m in dt.find(k, own if own is not None else normalize(sent.text).text):
        got: date | None
        if m.kind == "monthyear":
            if m.year is None or m.month is None:
                continue
            # "in June 2024": stale when the whole month lies well before
            nxt = date(m.year + m.month // 12, m.month % 12 + 1, 1)
            got = nxt - timedelta(days=1)
        else:
            got = dt.resolve(m, ref, year)
        if got is None:
            continue
        if (ref - got).days < STALE_DAYS:
            return None
        stale = stale or f"dated {got}, {(ref - got).days} days before {ref}"
    return stale


def link_all(analyses: list[Analysis], retro: bool) -> None:
    """Analyse every sentence in order; a sentence with one side may lean on the last
    sentence that named something (same paragraph), "the two sides" on the parties last
    named together."""
    head = [a for a in analyses if a.sentence.region == HEAD_REGION]
    ctx = Context(retro=retro, third_frame=third_country_frame(head))
    prev = None
    for a in analyses:
        analyse(a, prev, retro, ctx)
        if a.mentions or a.cues:
            prev = a
