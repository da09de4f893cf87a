"""Feed-health alerts ("feed down", "feed recovered") as notifiers receive them: the
`Alert` a stored one becomes, and the words every notifier shares (the headline, a
one-line summary for lists such as `monitor status` and the outbox, the labelled lines
rich notifiers show). Pure, from the alert's stored details (written by
`monitor.alerts.feedhealth`); nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from monitor.models import Alert, Classification, Item

FEED_DOWN = "feed_down"
FEED_RECOVERED = "feed_recovered"
#: Kind -> how notifiers label it.
LABELS: Mapping[str, str] = {FEED_DOWN: "Feed down", FEED_RECOVERED: "Feed recovered"}


def span(seconds: float) -> str:
    """A duration as people say it: "45 min", "3 h 20 min", "2 d 4 h"."""
    minutes = max(0, int(seconds // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _stamp(value: Any) -> str:
    moment = _time(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def _lasted(meta: Mapping[str, Any]) -> str:
    since, at = _time(meta.get("since")), _time(meta.get("at"))
    return span((at - since).total_seconds()) if since and at else "?"


def headline(kind: str, feed: str, meta: Mapping[str, Any]) -> str:
    """ "Feed TASS English is down: failing for 1 d 2 h" / "... has recovered after ..."."""
    if kind == FEED_RECOVERED:
        return f"Feed {feed} has recovered after {_lasted(meta)} down"
    return f"Feed {feed} is down: failing for {_lasted(meta)}"


def summary(kind: str, feed: str, meta: Mapping[str, Any]) -> str:
    """One line for lists: what happened, since when, the last error."""
    error = f": {meta['error']}" if meta.get("error") else ""
    if kind == FEED_RECOVERED:
        return (
            f"feed {feed} recovered at {_stamp(meta.get('at'))} after {_lasted(meta)} down "
            f"(since {_stamp(meta.get('since'))}){error}"
        )
    return f"feed {feed} down since {_stamp(meta.get('since'))} ({_lasted(meta)}){error}"


def notes(
    kind: str, name: str, title: str | None, meta: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    """The labelled lines of a feed-health alert, in the order rich notifiers show them."""
    feed = f"{title} ({name})" if title and title != name else name
    rows: list[tuple[str, str]] = [("Feed", feed)]
    if kind == FEED_RECOVERED:
        rows.append(
            (
                "Down",
                f"{_stamp(meta.get('since'))} – {_stamp(meta.get('at'))} ({_lasted(meta)})",
            )
        )
    else:
        rows.append(("Failing since", f"{_stamp(meta.get('since'))} ({_lasted(meta)})"))
    if meta.get("failures"):
        rows.append(("Failed polls", str(meta["failures"])))
    if meta.get("error"):
        rows.append(("Last error", str(meta["error"])))
    return tuple(rows)  # the feed's URL is the headline's link


def as_alert(
    alert_id: int,
    kind: str,
    route: str,
    created: datetime,
    meta: Mapping[str, Any],
    title: str | None,
) -> Alert:
    """A stored feed-health alert as notifiers receive it: no story (id 0), an item
    standing for the feed (its title the headline, its URL the feed's, its meta the
    alert's details under "feed_health") and an empty, irrelevant classification."""
    name = str(meta.get("feed") or "")
    item = Item(
        id=f"feed-health:{alert_id}",
        title=headline(kind, title or name, meta),
        text=str(meta.get("summary") or ""),
        url=meta.get("url"),
        published=_when(meta.get("at")),
        feed=name,
        meta={"feed_health": dict(meta), "feed_titles": {name: title} if title else {}},
    )
    return Alert(
        id=alert_id,
        story_id=0,
        route=route,
        kind=kind,
        item=item,
        classification=Classification(relevant=False, score=0.0),
        created=created,
    )


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
