"""The passes of the classifier, in order: from an item to a `Classification`.

1. prefilter (`prefilter.py`): one Aho–Corasick pass; an item naming neither side stops.
2. text analysis (`analysis.py`, `sentences.py`): language, kept text and sentences,
   reference date, whether both sides are named at all.
3. mentions (`mentions.py`): the language's matcher once over the text, every match
   filed under its sentence as a mention, a cue or a marker.
4. linking and roles (`linking.py`): per sentence, whether it links a Russian and a
   DPRK party with a live contact cue, and the types and ranks it gives.
5. scoring (`scoring.py`): noisy-OR of the sentences into relevance and type scores.
6. verdict (`verdict.py`): status, primary type, event date, direction, entities.
7. explanation (`explain.py`).
"""

from __future__ import annotations

from datetime import timedelta

from monitor.models import Classification, Item
from monitor.taxonomy import CONTACT_TYPES, DEFAULT_RELEVANCE_THRESHOLD, DEFAULT_TYPE_THRESHOLD

from .analysis import both_sides_possible, item_language, partial_year, reference_date
from .explain import Trace, explain
from .lexicon import Knowledge, knowledge, shared_data
from .linking import background_by_date, link_all
from .matcher import Match
from .mentions import mentions_and_cues
from .normalize import Normalized, normalize
from .prefilter import prefilter
from .scoring import headline_denial, headline_frame, relevance_score, type_scores
from .sentences import HEAD, Layout, layout
from .verdict import (
    direction_of,
    entities,
    event_date_of,
    evidence_of,
    one_visit_type,
    primary_of,
    status_of,
)

#: Characters read to identify the language of an item that names neither side.
QUICK_SAMPLE = 200


def _nothing(item: Item, text: str, plugin_version: str) -> Classification:
    """The verdict on an item naming neither side (its language from a short sample:
    nothing else is read)."""
    language, _declared = item_language(item, text[:QUICK_SAMPLE])
    return Classification(
        relevant=False,
        score=0.0,
        types={t: 0.0 for t in CONTACT_TYPES},
        language=language,
        plugin="rudprk",
        plugin_version=plugin_version,
        explanation=(
            f"language: {language}"
            + ("" if item.language else " (identified from script and text)"),
            "not relevant: no name of Russia or the DPRK (the prefilter found none)",
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
    analyses = mentions_and_cues(k, text, norm, lay.sentences, None, matches)
    actors, orgs, places = entities(analyses)
    explanation = (
        f"language: {language}" + ("" if item.language else " (identified from script and text)"),
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


def classify(item: Item, plugin_version: str) -> Classification:
    """Classify one item: the passes in order (see the module docstring)."""
    text = item.full_text
    norm = normalize(text)
    sh = shared_data()
    if not prefilter(sh).sides(norm.text):
        # the common case of a feed: neither side named at all
        return _nothing(item, text, plugin_version)
    language, _declared = item_language(item, text)
    k = knowledge(language)
    matches = k.matcher.find(norm.text)
    title_len = len(item.title) if item.title and text.startswith(item.title) else 0
    lay: Layout = layout(k, text, title_len, norm)
    if not both_sides_possible(k, text, norm, lay, matches):
        return _one_sided(k, item, text, norm, lay, matches, language, plugin_version)
    ref, ref_source = reference_date(k, item, norm, matches)
    year = partial_year(k, item, ref, lay)
    # mentions, then linking and roles, sentence by sentence
    analyses = mentions_and_cues(k, text, norm, lay.sentences, year, matches)
    retro = any(
        m[0] == "status" and m[1] == "retrospective"
        for a in analyses
        if a.sentence.region == HEAD
        for m in a.markers
    )
    link_all(analyses, retro)
    background_by_date(k, analyses, ref, year, retro, norm, text)
    # scoring
    t = Trace(item=item, language=language, lay=lay, analyses=analyses, linked=[])
    t.ref, t.ref_source, t.year = ref, ref_source, year
    t.linked = linked = [a for a in analyses if a.linked and a.relevance > 0]
    frame = headline_frame(analyses)
    if frame == "opinion" and retro:
        frame = None  # a retrospective list of contacts is no opinion piece
    t.score, t.focus_note = relevance_score(linked, headline_denial(analyses), frame)
    relevant = t.score >= DEFAULT_RELEVANCE_THRESHOLD
    t.types = types = type_scores(linked, t.score, retro)
    reported = {ty: s for ty, s in types.items() if s >= DEFAULT_TYPE_THRESHOLD}
    # verdict
    t.status, t.status_note = status_of(analyses, retro)
    t.primary, t.primary_note = primary_of(linked, types, reported, t.status, relevant)
    types, t.visit_note = one_visit_type(types, t.primary, t.status, DEFAULT_TYPE_THRESHOLD)
    t.types = types
    reported = {ty: s for ty, s in types.items() if s >= DEFAULT_TYPE_THRESHOLD}
    t.event_date, t.date_note = event_date_of(k, analyses, linked, ref, year, t.status, norm, text)
    if (
        t.status == "reported"
        and ref is not None
        and t.event_date
        and t.event_date > ref + timedelta(days=1)  # a dateline a few hours ahead
    ):
        t.status, t.status_note = "announced", f"event date {t.event_date} after reference {ref}"
    t.direction, t.direction_note = direction_of(k, norm, linked, t.primary, t.status)
    actors, orgs, places = entities(analyses)
    t.actors, t.orgs, t.places = tuple(actors), tuple(orgs), tuple(places)
    return Classification(
        relevant=relevant,
        score=t.score,
        types=types,
        primary=t.primary if relevant else None,
        actors=t.actors,
        organisations=t.orgs,
        places=t.places,
        event_date=t.event_date if relevant else None,
        direction=t.direction if relevant else None,
        status=t.status if relevant else None,
        language=language,
        evidence=tuple(evidence_of(text, linked, reported)),
        plugin="rudprk",
        plugin_version=plugin_version,
        explanation=tuple(explain(t)),
    )
