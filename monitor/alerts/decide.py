"""Deciding about one classified item: its story and the alerts each route owes.

A pure function of what the store returned (`StoryContext`) and the config: read once,
decide here with no I/O, then write once (`Store.commit_classification`). The decision
is testable without a store, and stays correct when several processes share one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.alerts.inhibit import apply_inhibitions
from monitor.alerts.routes import due_at, route_matches
from monitor.alerts.stories import alert_kind, find_story, route_kind
from monitor.config import Config
from monitor.models import Classification, Item
from monitor.store.base import NewAlert, StoryContext, StoryRow


@dataclass(frozen=True, slots=True)
class Decision:
    story: StoryRow | None
    alerts: tuple[NewAlert, ...]


def decide(
    item_id: int,
    item: Item,
    c: Classification,
    context: StoryContext,
    config: Config,
    now: datetime,
) -> Decision:
    """The story a relevant item joins (None: it starts one) and its alerts per route,
    those an inhibition rule mutes recorded as "inhibited"."""
    threshold = config.classifier.type_threshold
    window = timedelta(seconds=config.stories.window)
    story = context.own or find_story(list(context.candidates), item, c, window, threshold, now)
    in_story = sorted(context.members.get(story.id, frozenset())) if story else []
    kind, gained = alert_kind(story, in_story, item_id, c, threshold)
    alerted = context.alerted.get(story.id, frozenset()) if story else frozenset()
    alerts: list[NewAlert] = []
    for route in config.effective_routes():
        per_route = route_kind(kind, route.name in alerted)
        if per_route is None or not route_matches(route, item, c, threshold):
            continue
        meta: dict[str, object] = {}
        if per_route == "update" and story is not None:
            meta = {"gained_types": gained, "previous_types": list(story.types)}
        alerts.append(
            NewAlert(
                route=route.name,
                kind=per_route,
                notifiers=tuple(route.notifiers),
                due_at=due_at(route, now),
                digest=route.mode == "digest",
                meta=meta,
            )
        )
    reports = context.reports.get(story.id, ()) if story else ()
    return Decision(story, apply_inhibitions(alerts, config.inhibit, reports, c, threshold))
