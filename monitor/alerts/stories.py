"""Stories: one real-world contact reported by many outlets is one story.

An item joins a story with the same canonical URL, or one of the same contact type
with overlapping canonical actors and event dates within the window (across feeds and
languages: classifiers report actors by canonical English name). An item processed
again keeps the story it already belongs to. The first item of a story alerts; later
items follow up; a story that gains a contact type alerts as an update. Routes decide
per route: a route that has not alerted on a story yet gets its first alert as "new".
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from monitor.models import Classification, Item
from monitor.store.base import StoryRow
from monitor.taxonomy import VISIT_TYPES


def event_window(c: Classification, window: timedelta) -> tuple[date, date] | None:
    """Event dates a matching story may have, or None when the item gives no date."""
    if c.event_date is None:
        return None
    return c.event_date - window, c.event_date + window


def story_types(c: Classification, type_threshold: float) -> set[str]:
    """The contact types an item contributes to its story (reported, plus the primary)."""
    types = set(c.reported_types(type_threshold))
    if c.primary:
        types.add(c.primary)
    return types


def find_story(
    candidates: list[StoryRow],
    item: Item,
    c: Classification,
    window: timedelta,
    type_threshold: float,
    now: datetime,
) -> StoryRow | None:
    """The story this item reports, or None when it starts a new one.

    Same canonical URL wins; otherwise the candidate sharing a contact type (a visit of
    any rank counts as one) and the most actors (at least two when both sides name two
    or more), with event dates within the window, and the oldest such story on ties.
    """
    url = item.meta.get("canonical_url")
    if url:
        for story in candidates:
            if story.canonical_url == url:
                return story
    kinds = _contact_kinds(story_types(c, type_threshold))
    actors = {a.casefold() for a in c.actors}
    best: tuple[int, StoryRow] | None = None
    for story in candidates:
        known = set(story.types) | ({story.primary_type} if story.primary_type else set())
        if not kinds & _contact_kinds(known):
            continue
        theirs = {a.casefold() for a in story.actors}
        shared = len(actors & theirs)
        if shared == 0 or shared < min(2, len(actors), len(theirs)):
            continue
        if not _dates_close(story, c, item, window, now):
            continue
        if best is None or shared > best[0]:
            best = (shared, story)
    return best[1] if best else None


#: The visit types name one visit at different ranks: the minister's talks held during
#: a summit, reported on their own, are part of the summit's story.
VISIT_RANK = {t: len(VISIT_TYPES) - i for i, t in enumerate(VISIT_TYPES)}


def _contact_kinds(types: set[str]) -> set[str]:
    return {"visit" if t in VISIT_RANK else t for t in types}


def _gained(types: set[str], known: set[str]) -> list[str]:
    """The types an item adds to its story. A visit type adds only when it outranks the
    story's visit (the leaders meeting after their ministers did); the delegation of a
    summit adds nothing."""
    top = max((VISIT_RANK.get(t, 0) for t in known), default=0)
    return sorted(t for t in types - known if VISIT_RANK.get(t, top + 1) > top)


def _dates_close(
    story: StoryRow, c: Classification, item: Item, window: timedelta, now: datetime
) -> bool:
    """Event dates when both have one; else when the reports were published."""
    if story.event_date and c.event_date:
        return abs(story.event_date - c.event_date) <= window
    theirs = story.first_published or story.created_at
    ours = item.published or now
    return abs(ours - theirs) <= window


def alert_kind(
    story: StoryRow | None,
    item_ids_in_story: list[int],
    item_id: int,
    c: Classification,
    type_threshold: float,
) -> tuple[str | None, list[str]]:
    """("new" | "update" | "followup" | None, gained types) for this item and story.

    None: the item is already part of the story and adds no type (e.g. processed
    again after an edit), so it owes no alert.
    """
    if story is None:
        return "new", []
    gained = _gained(set(c.reported_types(type_threshold)), set(story.types))
    if gained:
        return "update", gained
    if item_id in item_ids_in_story:
        return None, []
    return "followup", []


def route_kind(kind: str | None, route_alerted: bool) -> str | None:
    """The kind of alert one route gets: its first alert on a story is always "new"
    (a route that skipped the first report, e.g. by feed or type, still hears of the
    story once); after that, the story-level kind."""
    if not route_alerted:
        return "new"
    return None if kind == "new" else kind
