"""Scores: sentence contributions combined into relevance and type scores (noisy-OR)."""

from __future__ import annotations

from collections import defaultdict

from monitor.taxonomy import CONTACT_TYPES, VISIT_TYPES

from .mentions import CJK_CHAR, DOMAIN_TYPES, Analysis
from .sentences import HEAD, LEAD

#: How strongly one linked sentence counts toward an item score (noisy-OR factor).
TYPE_GAIN = 0.85
#: Broad domains (trade, culture, documents) are often named in passing: one word in one
#: sentence is not enough for them, so their gain is lower. Letters, intelligence contacts
#: and visits are specific: one clear sentence reports them.
DOMAIN_GAIN = {"military": 0.7, "agreement": 0.55, "economic": 0.55, "media_culture": 0.45}
#: Gains of headline and lead sentences: there a broad domain word is the item's news.
HEAD_GAIN = {"military": 0.7, "agreement": 0.55, "economic": 0.55, "media_culture": 0.45}
#: A type with no evidence in the headline or lead is scaled by this.
FOCUS_BODY_ONLY = 0.7
#: Visit types found only below the lead are mostly recalled visits ("signed during
#: Putin's visit in June 2024"): scaled like the broad domains.
VISIT_SCALED = frozenset(VISIT_TYPES)
#: Contact types that make a headline's news; broad domains named beside them only in
#: other sentences count CONTEXT times.
_CONTACT_TYPES = frozenset({"summit", "high_level_visit", "delegation", "message", "agreement"})
CONTEXT_DOMAINS = frozenset({"military", "economic", "media_culture", "security"})
CONTEXT = 0.7
#: What a contact named only as part of another counts: a document named as the basis
#: of it ("under the treaty"), greetings conveyed at the meeting the title reports, a
#: broad domain named only beside the visit the title reports (television showing it).
RECALLED = 0.4
REL_GAIN = 0.8
#: An item whose linked sentences hold only generic cooperation words stays below this.
GENERIC_ONLY_CAP = 0.45


def noisy_or(values: list[float], gain: float) -> float:
    p = 1.0
    for v in values:
        p *= 1.0 - gain * min(v, 1.0)
    return 1.0 - p


def type_scores(linked: list[Analysis], score: float, retro: bool = False) -> dict[str, float]:
    """Noisy-OR of each type over its sentences, the headline and lead counting most.

    A broad domain (military, documents, trade, culture) named in the headline or lead
    is the item's own news; found only further down it is mostly background or context
    (a treaty recalled, troops mentioned in passing), so its score is then scaled by
    FOCUS_BODY_ONLY. Visits, messages and security contacts are specific: one clear
    sentence anywhere reports them. In a retrospective (a timeline) the body is the list
    of contacts the item recounts, so it counts as much as the headline.
    """
    head: dict[str, list[float]] = defaultdict(list)
    body: dict[str, list[float]] = defaultdict(list)
    focal: set[str] = set()
    # "the delegation" of a minister's or a leader's visit: a sentence whose rank comes
    # only from that word is part of the higher visit, not a delegation of its own
    higher = any(
        a.types.keys() & {"summit", "high_level_visit"} and a.sentence.region in (HEAD, LEAD)
        for a in linked
    )
    # the item's headline contact (a visit, a message, a document): a broad domain named
    # in a sentence without that contact ("amid reports of troops at the front") is its
    # context, not its news; in a sentence with it ("talks on military cooperation") or
    # in the headline itself it is the news
    main = {t for a in linked if a.sentence.region == HEAD for t in a.types if t in _CONTACT_TYPES}
    # good wishes conveyed at a meeting are part of it (taxonomy convention 5): in an
    # item whose title reports a visit and no message, a message below is the meeting's
    title = {t for a in linked if a.sentence.index == 0 for t in a.types}
    meeting = bool(title & VISIT_SCALED) and "message" not in title
    for a in linked:
        if not a.background:  # a signing recalled from last year is not the event
            focal |= a.focal
        bucket = head if retro or a.sentence.region in (HEAD, LEAD) else body
        context = bool(main) and a.sentence.index > 0 and not (a.types.keys() & _CONTACT_TYPES)
        for t, v in a.types.items():
            if t == "delegation" and higher and a.bare_delegation:
                continue
            if context and t in CONTEXT_DOMAINS and t not in a.focal:
                v *= RECALLED if meeting and t not in title else CONTEXT
            elif _aside(t, a, main, meeting):
                v *= RECALLED
            bucket[t].append(v)
    out = {}
    for t in CONTACT_TYPES:
        h, b = head.get(t, []), body.get(t, [])
        miss_h = 1.0 - noisy_or(h, HEAD_GAIN.get(t, TYPE_GAIN))
        miss_b = 1.0 - noisy_or(b, DOMAIN_GAIN.get(t, TYPE_GAIN))
        value = 1.0 - miss_h * miss_b
        if t in focal:  # the object of the contact verb ("signed ... a treaty"): the event
            value = 1.0 - (1.0 - noisy_or(h, TYPE_GAIN)) * (1.0 - noisy_or(b, TYPE_GAIN))
        elif not h and (t in DOMAIN_GAIN or t in VISIT_SCALED):
            value *= FOCUS_BODY_ONLY
        out[t] = round(min(value, score), 4)
    return out


def _aside(t: str, a: Analysis, main: set[str], meeting: bool) -> bool:
    """A document named as the basis of another contact, or greetings conveyed at the
    meeting the title reports: part of that contact, not news of their own."""
    if t == "agreement":
        return _recalled_document(a, main)
    return t == "message" and meeting and a.sentence.index > 0


def _recalled_document(a: Analysis, main: set[str]) -> bool:
    """A treaty named as the basis of something else ("under the treaty", "the
    obligations of the treaty") in an item whose headline reports another contact: no
    signing, ratification or entry into force in the sentence, and the document is not
    the object of a contact verb."""
    return (
        bool(main)
        and "agreement" not in main
        # a signing dated well before the news ("the treaty signed last June") is
        # recalled as much as a treaty named without one
        and (
            a.background
            or ("agreement" not in a.focal and not any(m[0] == "signed" for m in a.markers))
        )
    )


def headline_denial(analyses: list[Analysis]) -> bool:
    """Whether the headline denies or negates the contact ("Kremlin says no plans for a
    visit", "nega ter enviado tropas"): the item's news is then the denial."""
    for a in analyses:
        if a.sentence.index > 0:
            break
        if any(m[0] == "denial" for m in a.markers):
            return True
        if a.cues and all(c.negated for c in a.cues) and a.why_not == "negated":
            return True
    return False


#: A headline that is a third party's reaction, a stance or a sanction is no contact.
_CONTACT_CUES = frozenset({"visit", "summit", "delegation", "message", "phone", "agreement"})
#: An opinion piece or analysis (headline marker) counts this much.
OPINION = 0.6


def headline_frame(analyses: list[Analysis]) -> str | None:
    """What the headline (the title or first sentence) makes of the item, if it is not a
    contact report: "reaction" (sanctions, condemnation, a protest, a UN veto: the item
    reports a reaction to the ties, not a contact, unless the headline also has a live
    visit, message or document word of its own) or "opinion" (an analysis, editorial,
    column: the marker opens the headline, and the headline names no concrete domain
    of the contact)."""
    for a in analyses:
        if a.sentence.index > 0:
            break
        tags = {(m[0], m[1]) for m in a.markers}
        live = [c for c in a.cues if not c.negated]
        third = any(m.side == "other" for m in a.mentions)
        if (
            ("reaction", None) in tags
            and not any(c.group in _CONTACT_CUES for c in live)
            # someone else reacts, or nothing but the reaction is named ("Russia vetoes
            # UN panel"); "workers sent despite sanctions" is a contact
            and (third or not any(c.group in DOMAIN_TYPES for c in live))
        ):
            return "reaction"
        if any(
            m[0] == "status" and m[1] == "opinion" and m[2] - a.sentence.start <= 25
            for m in a.markers
        ):
            # an analysis whose headline itself states a concrete contact ("Analysis: how
            # Russian oil reaches North Korea") reports it (taxonomy convention 1)
            if a.linked and any(t in DOMAIN_TYPES for t in a.types):
                return None
            return "opinion"
    return None


#: Cue groups that report a contact rather than a topic: a stance remark has none.
_EVENT_CUES = frozenset(
    {"visit", "summit", "delegation", "receive", "message", "phone", "agreement", "economic"}
)


def _russian_speaker(a: Analysis, start: int, end: int) -> bool:
    """Whether a Russian party is named right by the remark word ("Kremlin spokesman",
    "официальный представитель МИД России Мария Захарова"): a third party's spokesman
    reporting troops or arms is a source, not a stance."""
    text = a.sentence.text[start - a.sentence.start : end - a.sentence.start]
    after = 0 if CJK_CHAR.search(text) else 40  # in CJK the speaker comes first
    before = [(start - m.end, m.side) for m in a.mentions if start - 40 <= m.end <= start]
    after_ = [(m.start - end, m.side) for m in a.mentions if end <= m.start <= end + after]
    # the speaker is the party named nearest before the remark word ("Pentagon
    # spokesman said Russia..." is no Russian remark), else nearest after it
    # ("spokesman for the Kremlin")
    near = [x for x in before if x[1] is not None] or [x for x in after_ if x[1] is not None]
    return bool(near) and min(near)[1] == "ru"


def stance_only(linked: list[Analysis]) -> bool:
    """A spokesperson's remark, a briefing answer, a "sovereign right" comment (a
    `[status] remark` word in a headline or lead sentence that links, the party named
    nearest to it Russian) with no contact word in any linked sentence: one side's
    stance on the other side's doings (a missile test), not a contact."""
    remark = any(
        a.sentence.region in (HEAD, LEAD)
        and any(_russian_speaker(a, s, e) for tag, val, s, e in a.markers if val == "remark")
        for a in linked
    )
    if not remark:
        return False
    return not any(c.group in _EVENT_CUES and not c.negated for a in linked for c in a.cues)


def relevance_score(
    linked: list[Analysis], denied: bool = False, frame: str | None = None
) -> tuple[float, str]:
    """Noisy-OR of the linked sentences; x0.75 when neither headline nor lead links;
    capped below the threshold when only generic ties link, the headline denies or is a
    reaction; x0.6 for an opinion piece."""
    score = noisy_or([a.relevance for a in linked], REL_GAIN)
    note = ""
    if denied:
        score = min(score, GENERIC_ONLY_CAP)
        note = f"the headline denies the contact: capped at {GENERIC_ONLY_CAP}"
    elif frame == "reaction":
        score = min(score, GENERIC_ONLY_CAP)
        note = f"the headline is a reaction (protest, sanctions): capped at {GENERIC_ONLY_CAP}"
    elif stance_only(linked):
        score = min(score, GENERIC_ONLY_CAP)
        note = f"a stance remark with no contact word: capped at {GENERIC_ONLY_CAP}"
    elif frame == "opinion":
        score *= OPINION
        note = f"the headline marks an opinion or analysis: x{OPINION}"
    if linked and not any(a.types for a in linked):
        # only generic ties ("cooperation", "relations"): no reported contact
        score = min(score, GENERIC_ONLY_CAP)
        note = f"only generic cooperation words: capped at {GENERIC_ONLY_CAP}"
    if linked and not any(a.sentence.region in (HEAD, LEAD) for a in linked):
        score *= 0.75
        note = (note + "; " if note else "") + "no contact in headline or lead: x0.75"
    return round(min(max(score, 0.0), 1.0), 4), note
