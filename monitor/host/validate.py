"""Validation at the plugin boundary: what plugins get and return is checked and
bounded, so a plugin's mistake costs its own result, never the item or the loop.

What plugins get is bounded (title, text, summary: `MAX_TITLE`, `MAX_TEXT`,
`MAX_SUMMARY` characters; a date outside `EARLIEST_DATE`..`LATEST_DATE` is dropped);
what they return is checked and bounded (enriched fields truncated, `published` made UTC
and range-checked, `meta` made JSON at every depth and at most `MAX_META_BYTES`;
evidence, explanations and names capped in number and length; an `event_date` out of
range is dropped).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from monitor.models import Classification, Evidence, Item
from monitor.taxonomy import CONTACT_TYPES, DIRECTIONS, STATUSES

log = logging.getLogger("monitor.plugins")


ENRICHABLE = {"title", "text", "summary", "language", "published", "meta"}
#: Bounds at the plugin boundary (characters unless said otherwise).
MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_TEXT = 200_000
MAX_HTML = 5_000_000
MAX_META_BYTES = 64 * 1024
MAX_META_DEPTH = 16
MAX_EVIDENCE = 50
MAX_EVIDENCE_TEXT = 1_000
MAX_NAMES = 50
MAX_NAME = 200
MAX_EXPLANATION = 50
MAX_EXPLANATION_LINE = 500
MAX_LANGUAGE = 16
#: Dates the store, the story windows and the scheduler can do arithmetic with.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)


def apply_enrichment(item: Item, changes: Any) -> Item:
    """`item` with `changes` applied; ValueError says why they are not acceptable."""
    if not isinstance(changes, Mapping):
        raise ValueError(f"expected a mapping of fields, got {type(changes).__name__}")
    unknown = set(changes) - ENRICHABLE
    if unknown:
        raise ValueError(
            f"unknown field(s) {sorted(unknown)}; expected some of {sorted(ENRICHABLE)}"
        )
    updates = dict(changes)
    if "meta" in updates:
        if not isinstance(updates["meta"], Mapping):
            raise ValueError("meta must be a mapping")
        meta = {**item.meta, **json_safe(updates["meta"], "meta")}
        size = len(json.dumps(meta, ensure_ascii=False, allow_nan=False).encode())
        if size > MAX_META_BYTES:
            raise ValueError(f"meta is {size} bytes as JSON; at most {MAX_META_BYTES}")
        updates["meta"] = MappingProxyType(meta)
    for key in ("title", "text", "summary"):
        if key in updates and not isinstance(updates[key], str):
            raise ValueError(f"{key} must be a string, got {type(updates[key]).__name__}")
    if updates.get("language") is not None and not isinstance(updates["language"], str):
        raise ValueError("language must be a string or None")
    if updates.get("published") is not None:
        published = updates["published"]
        if not isinstance(published, datetime):
            raise ValueError("published must be a datetime or None")
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)  # naive: taken as UTC, as feeds are
        try:
            published = published.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValueError(f"published {published!r} cannot be put in UTC: {exc}") from None
        if not EARLIEST_DATE <= published.date() <= LATEST_DATE:
            raise ValueError(
                f"published {published.isoformat()} is outside {EARLIEST_DATE}..{LATEST_DATE}"
            )
        updates["published"] = published
    return dataclasses.replace(item, **updates)


def json_safe(value: Any, where: str = "value", depth: int = 0) -> Any:
    """`value` as plain JSON data (dict with str keys, list, str, int, float, bool, None)
    at every depth: dates and datetimes become ISO strings, tuples and sets lists;
    ValueError names anything else (and non-finite numbers, or nesting too deep)."""
    if depth > MAX_META_DEPTH:
        raise ValueError(f"{where} is nested more than {MAX_META_DEPTH} levels deep")
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value!r}, which JSON cannot hold")
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if not isinstance(key, str):
                raise ValueError(
                    f"{where} has a key of type {type(key).__name__}; keys are strings"
                )
            out[key] = json_safe(inner, f"{where}.{key}", depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(items)]
    raise ValueError(f"{where} holds a {type(value).__name__}, which is not JSON")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sane_date(value: date | None) -> bool:
    if value is None:
        return True
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST_DATE <= day <= LATEST_DATE


def bound_item(item: Item) -> tuple[Item, list[str]]:
    """`item` within the boundary's bounds, and a note per field that was cut or dropped."""
    changes: dict[str, Any] = {}
    notes: list[str] = []
    for name, limit in (("title", MAX_TITLE), ("summary", MAX_SUMMARY), ("text", MAX_TEXT)):
        value = getattr(item, name)
        if isinstance(value, str) and len(value) > limit:
            changes[name] = _cut(value, limit)
            notes.append(f"{name} of {len(value)} characters cut to {limit}")
    if isinstance(item.html, str) and len(item.html) > MAX_HTML:
        changes["html"] = item.html[:MAX_HTML]
        notes.append(f"html of {len(item.html)} characters cut to {MAX_HTML}")
    for name in ("published", "fetched"):
        value = getattr(item, name)
        if isinstance(value, datetime) and not _sane_date(value):
            changes[name] = None
            notes.append(f"{name} {value!r} is outside {EARLIEST_DATE}..{LATEST_DATE}; dropped")
    return (dataclasses.replace(item, **changes) if changes else item), notes


def bound_classification(c: Classification) -> tuple[Classification, list[str], list[str]]:
    """A well-formed classification within bounds: (result, notes on what was cut,
    errors for what was dropped: an event date out of range)."""
    changes: dict[str, Any] = {}
    notes: list[str] = []
    errors: list[str] = []
    if c.event_date is not None:
        day = c.event_date.date() if isinstance(c.event_date, datetime) else c.event_date
        if not _sane_date(day):
            errors.append(f"event_date {day!r} is outside {EARLIEST_DATE}..{LATEST_DATE}; dropped")
            changes["event_date"] = None
        elif day is not c.event_date:
            changes["event_date"] = day
    evidence = c.evidence
    if len(evidence) > MAX_EVIDENCE or any(len(e.text) > MAX_EVIDENCE_TEXT for e in evidence):
        if len(evidence) > MAX_EVIDENCE:
            notes.append(f"{len(evidence)} evidence sentences cut to {MAX_EVIDENCE}")
        changes["evidence"] = tuple(
            dataclasses.replace(e, text=_cut(e.text, MAX_EVIDENCE_TEXT))
            if len(e.text) > MAX_EVIDENCE_TEXT
            else e
            for e in evidence[:MAX_EVIDENCE]
        )
        if any(len(e.text) > MAX_EVIDENCE_TEXT for e in evidence[:MAX_EVIDENCE]):
            notes.append(f"evidence sentences cut to {MAX_EVIDENCE_TEXT} characters")
    for name in ("actors", "organisations", "places"):
        values = getattr(c, name)
        if len(values) > MAX_NAMES or any(len(v) > MAX_NAME for v in values):
            changes[name] = tuple(_cut(v, MAX_NAME) for v in values[:MAX_NAMES])
            notes.append(f"{name} cut to {MAX_NAMES} of at most {MAX_NAME} characters")
    lines = c.explanation
    if len(lines) > MAX_EXPLANATION or any(len(v) > MAX_EXPLANATION_LINE for v in lines):
        changes["explanation"] = tuple(
            _cut(v, MAX_EXPLANATION_LINE) for v in lines[:MAX_EXPLANATION]
        )
        notes.append(f"explanation cut to {MAX_EXPLANATION} lines")
    if c.language is not None and (
        not isinstance(c.language, str) or len(c.language) > MAX_LANGUAGE
    ):
        changes["language"] = None
        notes.append("language is not a short language code; dropped")
    for name in ("plugin", "plugin_version"):
        value = getattr(c, name)
        if not isinstance(value, str):
            changes[name] = ""
        elif len(value) > MAX_NAME:
            changes[name] = value[:MAX_NAME]
    return (dataclasses.replace(c, **changes) if changes else c), notes, errors


def validate_classification(c: Any) -> str | None:
    """Why `c` is not a well-formed Classification, or None when it is."""
    if not isinstance(c, Classification):
        return f"expected a Classification, got {type(c).__name__}"
    if not isinstance(c.relevant, bool):
        return f"relevant must be True or False, got {c.relevant!r}"
    if not _unit(c.score):
        return f"score {c.score!r} is outside 0..1"
    if not isinstance(c.types, Mapping):
        return "types must be a mapping of type to score"
    for name, score in c.types.items():
        if name not in CONTACT_TYPES:
            return f"unknown contact type {name!r}"
        if not _unit(score):
            return f"score of {name} {score!r} is outside 0..1"
    if c.primary is not None and c.primary not in CONTACT_TYPES:
        return f"unknown primary type {c.primary!r}"
    if c.direction is not None and c.direction not in DIRECTIONS:
        return f"unknown direction {c.direction!r}"
    if c.status is not None and c.status not in STATUSES:
        return f"unknown status {c.status!r}"
    if isinstance(c.evidence, str) or not all(isinstance(e, Evidence) for e in c.evidence):
        return "evidence must hold Evidence values"
    for attribute in ("actors", "places", "organisations", "explanation"):
        values = getattr(c, attribute)
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            return f"{attribute} must be a tuple of strings"
    if c.event_date is not None and not isinstance(c.event_date, date):
        return f"event_date must be a date, got {type(c.event_date).__name__}"
    return None


def _unit(x: Any) -> bool:
    return (
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and 0 <= x <= 1
    )
