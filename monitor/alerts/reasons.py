"""Why a route did or did not alert on an item, in words: the explanation behind
`monitor explain`, the item page and the decision trace each processed item logs.

Pure, like `routes.py` beside it: `route_reasons` lists every condition of
`route_matches` that fails (empty when the route matches, and then only then), and
`timing` says when a matching route's delivery falls due (quiet hours, digests).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.alerts.routes import _mentions_any, _word_pattern, due_at, quiet_until
from monitor.config import Config, RouteConfig
from monitor.models import Classification, Item

if TYPE_CHECKING:  # the store imports this module
    from monitor.store.base import NewAlert, StoryRow
from monitor.textsafe import inert_line

log = logging.getLogger("monitor.alerts.reasons")


def route_reasons(
    route: RouteConfig, item: Item, c: Classification | None, type_threshold: float
) -> list[str]:
    """Every reason `route_matches` says no, in the words an analyst reads
    ("score 0.42 < 0.6", "type military not in route"); [] when it says yes."""
    if c is None:
        return ["no classifier answered"]
    reasons: list[str] = []
    if not c.relevant:
        reasons.append(f"not relevant (score {c.score:.2f})")
    elif c.score < route.min_score:
        reasons.append(f"score {c.score:.2f} < {route.min_score:g}")
    reported = list(c.reported_types(type_threshold))
    if route.types and not set(reported) & set(route.types):
        shown = ", ".join(reported) or "none"
        word = "type" if len(reported) <= 1 else "types"
        reasons.append(f"{word} {shown} not in route ({', '.join(route.types)})")
    language = c.language or item.language
    if route.languages and language not in route.languages:
        reasons.append(
            f"language {language or 'unknown'} not in route ({', '.join(route.languages)})"
        )
    if route.feeds and item.feed not in route.feeds:
        reasons.append(f"feed {item.feed or 'unknown'} not in route ({', '.join(route.feeds)})")
    if route.actors and not {a.casefold() for a in c.actors} & {a.casefold() for a in route.actors}:
        reasons.append(f"no actor of the route ({', '.join(route.actors)}) named")
    if route.exclude_words and _mentions_any(item, route.exclude_words):
        text = f"{item.title}\n{item.text}"
        found = [w for w in route.exclude_words if w.strip() and _word_pattern(w).search(text)]
        reasons.append(f"mentions excluded word(s) {', '.join(repr(w) for w in found)}")
    return reasons


def timing(route: RouteConfig, now: datetime) -> str | None:
    """When a delivery decided `now` on this route goes out, when that is not now."""
    held = quiet_until(route, now)
    if route.mode == "digest":
        return f"digest: sent with the next digest at {due_at(route, now):%Y-%m-%d %H:%M} UTC"
    if held != now:
        return f"quiet hours ({route.quiet_hours}): held until {held:%Y-%m-%d %H:%M} UTC"
    return None


def decision_summary(
    item_id: int,
    item: Item,
    c: Classification | None,
    story: StoryRow | None,
    alerts: Sequence[NewAlert],
    config: Config,
    alerted: Mapping[str, bool] | None = None,
) -> str:
    """The one line the decision trace logs for a processed item: its classification
    and, per route, the alert it owes or why not."""
    threshold = config.classifier.type_threshold
    if c is None:
        head = f"decision item={item_id} classified=none"
    else:
        types = ",".join(c.reported_types(threshold)) or "-"
        head = (
            f"decision item={item_id} relevant={str(c.relevant).lower()} score={c.score:.2f} "
            f"primary={c.primary or '-'} types={types} "
            f"actors={','.join(c.actors) or '-'} lang={c.language or item.language or '-'}"
        )
    if c is not None and c.relevant:
        head += f" story={story.id if story else 'new'}"
    owed = {a.route: a for a in alerts}
    parts = []
    for route in config.effective_routes():
        alert = owed.get(route.name)
        if alert is not None:
            parts.append(f"{route.name}={owed_text(alert)}")
            continue
        reasons = route_reasons(route, item, c, threshold)
        if not reasons:
            reasons = ["story already alerted, nothing new"]
        parts.append(f"{route.name}=skip({'; '.join(reasons)})")
    return inert_line(f"{head} routes: {' '.join(parts)}")


def owed_text(alert: NewAlert) -> str:
    """What the trace says a route owes: the kind, or why it is recorded unsent."""
    if alert.meta.get("silenced_by") is not None:
        return f"silenced(#{alert.meta['silenced_by']})"
    if alert.meta.get("inhibited_by") is not None:
        return f"inhibited(inhibit[{alert.meta['inhibited_by']}] by #{alert.meta['source_alert']})"
    return alert.kind


def trace(
    item_id: int,
    item: Item,
    c: Classification | None,
    story: StoryRow | None,
    alerts: Sequence[NewAlert],
    config: Config,
) -> None:
    """Log the decision trace line of one processed item (INFO, logger
    `monitor.alerts.reasons`, with the item and story as context fields)."""
    if not log.isEnabledFor(logging.INFO):
        return
    log.info(
        "%s",
        decision_summary(item_id, item, c, story, alerts, config),
        extra={"item": item_id, "story": story.id if story else None, "feed": item.feed},
    )
