"""Conversions between store rows and the domain model, shared by every store area."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.engine import CursorResult

from monitor.models import Classification, Evidence, Item
from monitor.store import schema as t
from monitor.store.base import (
    FeedRow,
    NewAlert,
    StoryRow,
)


def jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | dict | type(None))


def dedupe_key(story_id: int, item_id: int, alert: NewAlert) -> str:
    """The idempotency key: one first alert per (story, route); one update per gained
    type set; one follow-up per item."""
    if alert.kind == "new":
        return f"{story_id}:{alert.route}:new"
    if alert.kind == "update":
        gained = "+".join(sorted(alert.meta.get("gained_types", [])))
        return f"{story_id}:{alert.route}:update:{gained}"
    return f"{story_id}:{alert.route}:{alert.kind}:{item_id}"


def feed_row(r: Any) -> FeedRow:
    return FeedRow(**{f.name: getattr(r, f.name) for f in dataclasses.fields(FeedRow)})


def stories_query() -> Any:
    """Stories with their first item's publication date."""
    return select(t.stories, t.items.c.published_at.label("first_published")).select_from(
        t.stories.outerjoin(t.items, t.stories.c.first_item_id == t.items.c.id)
    )


def story_row(r: Any) -> StoryRow:
    return StoryRow(
        id=r.id,
        first_item_id=r.first_item_id,
        canonical_url=r.canonical_url,
        primary_type=r.primary_type,
        types=tuple(r.types or ()),
        actors=tuple(r.actors or ()),
        event_date=r.event_date,
        created_at=r.created_at,
        first_published=getattr(r, "first_published", None),
    )


def item_row(r: Any) -> Item:
    meta = dict(r.meta or {})
    if r.canonical_url:
        meta.setdefault("canonical_url", r.canonical_url)
    return Item(
        id=r.key,
        title=r.title,
        text=r.text,
        summary=r.summary,
        url=r.url,
        language=r.language,
        published=r.published_at,
        fetched=r.fetched_at,
        feed=getattr(r, "feed_name", None),
        meta=meta,
    )


def classification_values(c: Classification) -> dict[str, Any]:
    return {
        "relevant": c.relevant,
        "score": c.score,
        "primary_type": c.primary,
        "types": dict(c.types),
        "actors": list(c.actors),
        "organisations": list(c.organisations),
        "places": list(c.places),
        "event_date": c.event_date,
        "direction": c.direction,
        "status": c.status,
        "language": c.language,
        "evidence": [dataclasses.asdict(e) for e in c.evidence],
        "plugins": {"plugin": c.plugin, "version": c.plugin_version},
    }


def classification_row(r: Any) -> Classification:
    plugins = r.plugins or {}
    return Classification(
        relevant=r.relevant,
        score=r.score,
        types=dict(r.types),
        primary=r.primary_type,
        actors=tuple(r.actors),
        organisations=tuple(r.organisations),
        places=tuple(r.places),
        event_date=r.event_date,
        direction=r.direction,
        status=r.status,
        language=r.language,
        evidence=tuple(Evidence(**e) for e in r.evidence),
        plugin=plugins.get("plugin", ""),
        plugin_version=plugins.get("version", ""),
    )


def new_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT always returns its primary key"
    return int(key[0])
