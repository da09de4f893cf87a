"""Silences: Alertmanager's semantics for news. A silence mutes the alerts of one story,
one actor or one contact type (on every route, or one) until it expires.

A silenced alert is still recorded, as an alert of kind "silenced" with no delivery
(the alert's meta names the silence and the kind it would have had), so pages show
it and nothing sends it. The route has then not alerted on the story: once the
silence ends, the story's next report alerts as new.

Pure: the silences in force are read by the caller (`Store.active_silences`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.alerts.inhibit import INHIBITED
from monitor.models import Classification

if TYPE_CHECKING:  # the store imports this module
    from monitor.store.base import NewAlert, StoryRow

SILENCED = "silenced"


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    until: datetime
    story_id: int | None = None
    actor: str | None = None
    type: str | None = None
    route: str | None = None
    comment: str = ""
    created_at: datetime | None = None
    expired_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expired_at is None and self.until > now

    def describe(self) -> str:
        what = (
            f"story #{self.story_id}"
            if self.story_id is not None
            else f"actor {self.actor}"
            if self.actor
            else f"type {self.type}"
        )
        where = f" on route {self.route}" if self.route else ""
        return f"silence #{self.id}: {what}{where} until {self.until:%Y-%m-%d %H:%M} UTC"


def matches(
    silence: Silence,
    route: str,
    story: StoryRow | None,
    c: Classification,
    type_threshold: float,
    now: datetime,
) -> bool:
    """Whether `silence` mutes an alert on `route` for this classified item."""
    if not silence.active(now) or (silence.route and silence.route != route):
        return False
    if silence.story_id is not None:
        return story is not None and story.id == silence.story_id
    if silence.actor:
        return silence.actor.casefold() in {a.casefold() for a in c.actors}
    if silence.type:
        types = set(c.reported_types(type_threshold)) | ({c.primary} if c.primary else set())
        return silence.type in types
    return False


def apply_silences(
    alerts: Sequence[NewAlert],
    silences: Sequence[Silence],
    story: StoryRow | None,
    c: Classification,
    type_threshold: float,
    now: datetime,
) -> tuple[NewAlert, ...]:
    """`alerts` with each one a silence mutes turned into a recorded, undelivered
    "silenced" alert (no notifiers; meta: silenced_by, silenced_kind, silence). An
    alert an inhibition rule muted already stays as it is: it is not sent either."""
    out: list[NewAlert] = []
    for alert in alerts:
        if alert.kind == INHIBITED:
            out.append(alert)
            continue
        found = next(
            (s for s in silences if matches(s, alert.route, story, c, type_threshold, now)),
            None,
        )
        if found is None:
            out.append(alert)
            continue
        meta = {
            **alert.meta,
            "silenced_by": found.id,
            "silenced_kind": alert.kind,
            "silence": found.describe(),
        }
        out.append(dataclasses.replace(alert, kind=SILENCED, notifiers=(), meta=meta))
    return tuple(out)
