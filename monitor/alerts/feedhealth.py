"""Feed health as alerts: a feed failing for longer than `[daemon] failing_after` owes
the `[health] notifiers` one "feed down" alert, and one "feed recovered" alert when a
poll next succeeds.

The alert rides on the poll's record (`PollRecord.feed_alert`) and the store writes
it to the outbox in the poll's own transaction, with the streak it reports kept on the
feed (`down_since`): a crash loses neither, a restart does not repeat the "down" (the
stored feed says it was sent), and every path that records a poll (the daemon, `monitor
once`, a cluster node) alerts the same way. A feed is judged when it is polled: a
failing feed backs off, so its "down" comes at the first failed poll past the threshold.

Pure: the feed's stored state before the poll in, the alert it owes out. The kinds,
and what notifiers show of these alerts, are in `monitor.notify.feedhealth`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.notify.feedhealth import FEED_DOWN, FEED_RECOVERED, summary
from monitor.store.base import FeedAlert, FeedRow

#: The route feed-health alerts are recorded on (shown by `monitor status`, the outbox).
HEALTH_ROUTE = "health"


def owed(
    row: FeedRow,
    *,
    error: str | None,
    at: datetime,
    failing_after: float,
    notifiers: Sequence[str],
) -> FeedAlert | None:
    """The feed-health alert a poll at `at` that ended with `error` (None: success)
    owes, given the feed's state before it; None when it owes none."""
    if not notifiers:
        return None
    if error is None:
        if row.down_since is None:
            return None
        meta = _meta(row, FEED_RECOVERED, row.down_since, at, row.last_error)
        return FeedAlert(FEED_RECOVERED, row.down_since, tuple(notifiers), HEALTH_ROUTE, at, meta)
    if row.down_since is not None:
        return None  # this streak was alerted already
    since = row.failing_since or at
    if (at - since).total_seconds() <= failing_after:
        return None
    meta = _meta(row, FEED_DOWN, since, at, error, failures=row.consecutive_failures + 1)
    return FeedAlert(FEED_DOWN, since, tuple(notifiers), HEALTH_ROUTE, at, meta)


def _meta(
    row: FeedRow,
    kind: str,
    since: datetime,
    at: datetime,
    error: str | None,
    failures: int | None = None,
) -> dict[str, Any]:
    """What the alert keeps (JSON): enough to render it without the feed's later state."""
    meta: dict[str, Any] = {
        "feed": row.name,
        "url": row.url,
        "since": since.isoformat(),
        "at": at.isoformat(),
        "failures": row.consecutive_failures if failures is None else failures,
        "error": error,
    }
    meta["summary"] = summary(kind, row.name, meta)
    return meta
