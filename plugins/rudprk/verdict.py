"""The item's verdict: status, primary type, event date, direction, entities, evidence."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from monitor.models import Evidence
from monitor.taxonomy import VISIT_TYPES

from . import dates as dt
from .lexicon import Knowledge
from .mentions import SIDES, Analysis
from .normalize import Normalized, normalize, span_text
from .sentences import HEAD, LEAD


def status_of(analyses: list[Analysis], retro: bool) -> tuple[str, str]:
    """Status follows the headline (taxonomy convention 8): planned/future words in the
    title decide "announced" unless it also has a past-event word; without either in
    the title, "announced" needs the future words of the headline and lead to outweigh
    the past ones twice over (a report mentions what comes next: "the bridge will open
    next year")."""
    if retro:
        return "retrospective", "retrospective cue in the headline"
    ann = rep = 0.0
    title_ann = title_rep = 0
    for a in analyses:
        if a.sentence.region not in (HEAD, LEAD):
            continue
        if not any(m.side in SIDES or m.kind == "pair" for m in a.mentions):
            continue
        w = 2.0 if a.sentence.region == HEAD else 1.0
        for m in a.markers:
            if m[0] == "status" and m[1] == "announced":
                ann += w
                title_ann += a.sentence.index == 0
            elif m[0] == "status" and m[1] == "reported":
                rep += w
                title_rep += a.sentence.index == 0
    if title_ann and not title_rep:
        return "announced", f"planned/future cue in the title ({title_ann})"
    if title_rep:
        return "reported", f"past-event cue in the title ({title_rep})"
    if ann > 2 * rep and ann >= 2:
        return (
            "announced",
            f"planned/future cues {ann:g} > 2 x past cues {rep:g} in headline and lead",
        )
    return "reported", f"past cues {rep:g}, planned/future cues {ann:g} in headline and lead"


def primary_of(
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
    # a troupe's performance or a team's match is news of its domain (media, sports):
    # the visiting group is a delegation beside it, not the primary
    troupe = all(a.troupe_only for a in linked if "delegation" in a.types)
    head_visits = [t for t in visits if top[t] > 0 and not (t == "delegation" and troupe)]
    if head_visits:
        best = max(head_visits, key=lambda t: (top[t], mass[t]))
        return best, f"visit or meeting in headline/lead (weight {top[best]:.2f})"
    if "message" in cands and top["message"] > 0:
        return "message", "a message leads the headline"
    head_domains = [t for t in cands if top[t] > 0 and not (t == "delegation" and troupe)]
    if head_domains:
        best = max(head_domains, key=lambda t: (top[t], mass[t]))
        return best, f"strongest in headline/lead (weight {top[best]:.2f})"
    best = max(cands, key=lambda t: (t in VISIT_TYPES, mass[t], types[t]))
    return best, f"most evidence ({mass[best]:.2f})"


#: What a visit type the one visit outranks keeps of its score: below the reporting
#: threshold, still visible in `types` for anyone who lowers it.
OUTRANKED = 0.5


def one_visit_type(
    types: dict[str, float], primary: str | None, status: str, threshold: float
) -> tuple[dict[str, float], str]:
    """One story, one visit type: the rank line types a visit by its highest party, so a
    minister's trip is not also a delegation because a delegation travelled with him, nor
    a summit because "the leaders' agreements" are recalled. The primary visit type (else
    the strongest) is kept; only a retrospective list reports several visits."""
    visits = [t for t in VISIT_TYPES if types.get(t, 0.0) >= threshold]
    if status == "retrospective" or len(visits) < 2:
        return types, ""
    keep = primary if primary in visits else max(visits, key=lambda t: types[t])
    out = dict(types)
    for t in visits:
        if t != keep:
            out[t] = types[t] * OUTRANKED
    dropped = ", ".join(t for t in visits if t != keep)
    return out, f"one visit, typed by its rank: {keep} outranks {dropped}"


def event_date_of(
    k: Knowledge,
    analyses: list[Analysis],
    linked: list[Analysis],
    ref: date | None,
    year: int | None,
    status: str,
    page: Normalized | None = None,
    text: str = "",
) -> tuple[date | None, str]:
    order = sorted(
        linked, key=lambda a: ({HEAD: 0, LEAD: 1}.get(a.sentence.region, 2), a.sentence.index)
    )
    for a in order:
        weekdays = [m for m in a.markers if m[0] == "weekday"]
        rel = [m for m in a.markers if m[0] == "reldate"]
        if a.background and status != "retrospective" and not (weekdays or rel):
            # a background sentence still dates the news when it names this week's
            # day: "arrived on Friday, his first visit since last year's treaty"
            continue
        sent = a.sentence
        norm = span_text(page, text, sent.start, sent.end) if text else normalize(sent.text).text
        mentions = dt.find(k, norm)
        future = _future_tense(a, (weekdays + rel)[0][2] if weekdays + rel else None)
        wd = weekdays[0][1] if weekdays else None
        for m in mentions:
            if m.kind == "monthyear":
                continue
            got = dt.resolve(m, ref, year, future=future, weekday=wd)
            if got is not None and a.background and ref is not None and (ref - got).days > 7:
                continue  # the sentence's old date is what made it background
            if got is not None:
                return got, f"«{a.sentence.text[:80]}»"
        if ref is not None:
            for tag, val, _s, _e in weekdays + rel:
                kind = "weekday" if tag == "weekday" else "relative"
                got = dt.resolve(dt.DateMention(kind, 0, delta=val), ref, year, future=future)
                if got is not None:
                    return got, f"«{a.sentence.text[:80]}» relative to {ref}"
    if status == "reported" and ref is not None:
        filed = _dateline_date(k, text, ref, year)
        if filed is not None:
            return filed, "the dateline's date (the day it was reported)"
    return None, "no resolvable date in the contact sentences"


#: A dateline's date comes within this many characters of the sentence start
#: ("ПХЕНЬЯН, 4 июня. /ТАСС/.", "SEOUL, Nov. 20 (Yonhap) --").
DATELINE_SPAN = 30
#: "新华社莫斯科11月9日电", "【ソウル共同】": agency and place in Han characters, no comma.
_AGENCY_PLACE = re.compile(r"^\W{0,3}[\u3400-\u9fff]{2,12}$")
_PLACE_COMMA = re.compile(r"^\W{0,3}[^\W\d][^\W\d\s.]*(?:[ -][^\W\d][^\W\d\s.]*){0,2},\s*$")


def _dateline_date(k: Knowledge, text: str, ref: date, year: int | None) -> date | None:
    """The date of the dateline opening the text ("PLACE, 4 June (Agency) -"): the day
    the contact was reported, which reports of a same-day contact give as its date
    (taxonomy: the day state media announced it). The layout drops a dateline standing
    on its own line as furniture, so the text's first lines are read. Only a date within
    a few days of the reference counts: a dateline is never weeks old."""
    lines = [line for line in text[:600].splitlines() if line.strip()][:4]
    for line in lines:
        head = normalize(line[: DATELINE_SPAN + 20]).text
        for m in dt.find(k, head):
            if m.kind not in ("daymonth", "full") or m.pos > DATELINE_SPAN:
                continue
            if not (_PLACE_COMMA.match(head[: m.pos]) or _AGENCY_PLACE.match(head[: m.pos])):
                continue
            got = dt.resolve(m, ref, year)
            if got is not None and abs((ref - got).days) <= 2:
                return got
    return None


def _future_tense(a: Analysis, at: int | None) -> bool:
    """Whether a sentence speaks of the future: an announced word, and when it also has a
    past-event word ("took off on Wednesday and is scheduled to..."), the one nearest the
    day named decides."""
    tensed: list[tuple[int, bool]] = [
        (abs(int(m[2]) - at) if at is not None else 0, m[1] == "announced")
        for m in a.markers
        if m[0] == "status" and m[1] in ("announced", "reported")
    ]
    if not any(f for _d, f in tensed):
        return False
    if at is None or all(f for _d, f in tensed):
        return True
    return bool(min(tensed)[1])


#: Primary types that never carry a direction (taxonomy convention 7): shipments,
#: troops, trade flows, messages and intelligence contacts have no venue of their own.
NO_DIRECTION = frozenset({"economic", "military", "message", "security"})
#: Primary types that carry a direction only when the headline or lead names a venue
#: with a preposition of place ("signed ... in Pyongyang", "performs in Moscow").
VENUE_TYPES = frozenset({"agreement", "media_culture"})
_VISIT_CUES = frozenset({"visit", "summit", "delegation", "receive", "phone"})
#: Votes of a mention by how it names the place: after a preposition of place (or before
#: a postposition), a bare place or capital, a bare country name (mostly the subject:
#: "Russia and North Korea signed"), after "from".
LOCATIVE, BARE_PLACE, BARE_COUNTRY, FROM = 2.0, 0.7, 0.3, 0.2
#: A venue within CUE_NEAR characters of the sentence's visit cue counts 1.5 times, one
#: further than CUE_FAR half (the destination of troops or goods named in passing).
CUE_NEAR, CUE_FAR = 40, 90


def _region_weight(a: Analysis) -> float:
    if a.sentence.index == 0:
        return 3.0  # the headline says where it happened
    return {HEAD: 2.0, LEAD: 1.0}.get(a.sentence.region, 0.5)


def _host_side(a: Analysis) -> str | None:
    """The side of the party that *receives* ("Kim Jong Un received Shoigu", "Путин
    принял Чхве Сон Хи", "김정은 … 접견"): the first person or role of a side named
    before the receive cue; the meeting took place on the host's ground."""
    recv = [c.start for c in a.cues if c.group == "receive" and not c.negated]
    recv += [s for tag, side, s, _e in a.markers if tag == "venue" and side == "host"]
    if not recv or any(c.group == "message" for c in a.cues):
        return None
    first = min(recv)
    for m in a.mentions:
        if m.start >= first:
            break
        if m.kind in ("person", "role") and m.side in SIDES and not m.attributed:
            return m.side
    return None


def direction_of(
    k: Knowledge,
    norm: Normalized,
    linked: list[Analysis],
    primary: str | None,
    status: str = "reported",
) -> tuple[str | None, str]:
    """Where the visit or meeting took place (taxonomy convention 7).

    Places and country names in the contact sentences vote for the venue, the headline
    most; a preposition of place (or a Korean/Japanese postposition), a "방북/訪朝"
    venue word and closeness to the visit cue count more, a bare country name (mostly
    the subject) and "from" much less; the host who "receives" votes for his side.
    Shipments, troops, trade, messages: no direction. Documents and performances get
    one only when the headline or lead names the venue with a preposition of place.
    """
    if primary is None or primary in NO_DIRECTION:
        return None, f"no direction for primary {primary}"
    visit = primary in VISIT_TYPES
    votes: dict[str, float] = defaultdict(float)
    located = False
    for a in linked:
        is_visit = bool(a.types.keys() & set(VISIT_TYPES))
        if visit and not is_visit and a.sentence.index > 0:
            continue  # the headline names the venue even without the visit word
        if not visit and a.sentence.index > 1:
            continue
        w = _region_weight(a) * (max(a.types.values()) if a.types else 0.5)
        cues = [c for c in a.cues if not c.negated and (c.group in _VISIT_CUES or not visit)]
        for m in a.mentions:
            venue = m.venue if m.kind == "org" else (m.side if m.is_name else None)
            if venue not in ("ru", "kp", "other") or m.attributed or m.dateline:
                continue
            before = norm.text[max(0, m.nstart - 24) : m.nstart]
            after = norm.text[m.nend : m.nend + 12]
            if k.loc_from.search(before):
                factor = FROM
            elif k.loc_before.search(before) or k.loc_after.search(after):
                factor = LOCATIVE
                located = located or m.kind != "country"
            elif m.kind == "org":
                continue
            elif m.kind == "country":
                factor = BARE_COUNTRY
            else:
                factor = BARE_PLACE
            if cues:
                gap = min(max(m.start - c.end, c.start - m.end, 0) for c in cues)
                factor *= 1.5 if gap <= CUE_NEAR else 0.5 if gap > CUE_FAR else 1.0
            votes[venue] += w * factor
        for tag, side, _s, _e in a.markers:
            if tag == "venue" and side in ("ru", "kp", "other"):  # 방북, 訪朝
                votes[side] += w * LOCATIVE * 1.5
                located = True
        host = _host_side(a) if is_visit else None
        if host is not None:
            votes[host] += w * LOCATIVE
    total = sum(votes.values())
    if not total:
        return None, "no venue named"
    note = ", ".join(f"{s}={v:.2f}" for s, v in sorted(votes.items()))
    if not visit and not located:
        return None, f"{primary}: no venue with a preposition of place in headline/lead ({note})"
    side, best = max(votes.items(), key=lambda kv: kv[1])
    need = 0.75 if status == "retrospective" else 0.6
    if best / total < need:
        return None, f"no dominant venue ({note})"
    return {"kp": "ru_to_kp", "ru": "kp_to_ru", "other": "third"}[side], f"venue votes {note}"


def entities(analyses: list[Analysis]) -> tuple[list[str], list[str], list[str]]:
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


def evidence_of(text: str, linked: list[Analysis], reported: dict[str, float]) -> list[Evidence]:
    out = []
    for t in reported:
        best = sorted((a for a in linked if t in a.types), key=lambda a: -a.types[t])[:3]
        for a in sorted(best, key=lambda a: a.sentence.start):
            s = a.sentence
            out.append(Evidence(type=t, text=text[s.start : s.end], start=s.start, end=s.end))
    return out
