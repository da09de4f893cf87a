"""Stories: one real-world contact reported by many outlets is one story.

An item joins a story with the same canonical URL, or one of the same contact type
with overlapping canonical actors and event dates within the window. The first item
of a story alerts; later items follow up; a story that gains a type alerts as an update.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from monitor.models import Classification, Item
from monitor.store.base import StoryRow


def event_window(c: Classification, window: timedelta) -> tuple[date, date] | None:
    if c.event_date is None:
        return None
    return c.event_date - window, c.event_date + window


def find_story(
    candidates: list[StoryRow],
    item: Item,
    c: Classification,
    window: timedelta,
    type_threshold: float,
    now: datetime,
) -> StoryRow | None:
    """The story this item reports, or None when it starts a new one."""
    url = item.meta.get("canonical_url")
    for story in candidates:
        if url and story.canonical_url == url:
            return story
    types = set(c.reported_types(type_threshold))
    if c.primary:
        types.add(c.primary)
    actors = set(c.actors)
    best: tuple[int, StoryRow] | None = None
    for story in candidates:
        if not types & (set(story.types) | {story.primary_type}):
            continue
        shared = len(actors & set(story.actors))
        if shared < min(2, len(actors), len(story.actors)) or shared == 0:
            continue
        if not _dates_close(story, c, item, window, now):
            continue
        if best is None or shared > best[0]:
            best = (shared, story)
    return best[1] if best else None


def _dates_close(
    story: StoryRow, c: Classification, item: Item, window: timedelta, now: datetime
) -> bool:
    if story.event_date and c.event_date:
        return abs(story.event_date - c.event_date) <= window
    reported = item.published or now
    return abs(reported - story.created_at) <= window


def alert_kind(
    story: StoryRow | None,
    item_ids_in_story: list[int],
    item_id: int,
    c: Classification,
    type_threshold: float,
) -> tuple[str | None, list[str]]:
    """("new" | "update" | "followup" | None, gained types) for this item and story."""
    if story is None:
        return "new", []
    gained = sorted(set(c.reported_types(type_threshold)) - set(story.types))
    if gained:
        return "update", gained
    if item_id in item_ids_in_story:
        return None, []
    return "followup", []
