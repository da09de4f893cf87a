"""Which classifications alert, on which routes, and when their deliveries fall due.

Everything here is pure: a route, an item and a clock reading in, a decision out.
Times are computed in the route's time zone and returned in UTC, so quiet hours and
digest schedules keep their wall-clock meaning across daylight-saving changes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from monitor.config import RouteConfig
from monitor.models import Classification, Item
from monitor.schedules import digest_trigger, parse_quiet_hours

#: Schedule names accepted besides a crontab line ("@daily" works as well as "daily").
_DEFAULT_SCHEDULE = "hourly"


def route_matches(route: RouteConfig, item: Item, c: Classification, type_threshold: float) -> bool:
    """True when this route wants an alert for this classified item."""
    if not c.relevant or c.score < route.min_score:
        return False
    reported = set(c.reported_types(type_threshold))
    if route.types and not reported & set(route.types):
        return False
    language = c.language or item.language
    if route.languages and language not in route.languages:
        return False
    if route.feeds and item.feed not in route.feeds:
        return False
    if route.actors and not {a.casefold() for a in c.actors} & {a.casefold() for a in route.actors}:
        return False
    return not (route.exclude_words and _mentions_any(item, route.exclude_words))


def _mentions_any(item: Item, words: list[str]) -> bool:
    """Whole-word, case-insensitive: excluding "war" must not drop "Warsaw" or "award"."""
    text = f"{item.title}\n{item.text}"
    return any(_word_pattern(w).search(text) for w in words if w.strip())


@lru_cache(maxsize=256)
def _word_pattern(word: str) -> re.Pattern[str]:
    phrase = r"\s+".join(re.escape(part) for part in word.split())
    return re.compile(rf"(?<!\w){phrase}(?!\w)", re.IGNORECASE)


# --- when deliveries fall due ------------------------------------------------------


def due_at(route: RouteConfig, now: datetime) -> datetime:
    """When a new delivery on this route falls due: now, or the next digest, moved past
    the quiet hours when it would fall inside them."""
    due = next_digest(route, now) if route.mode == "digest" else now
    return quiet_until(route, due)


def next_digest(route: RouteConfig, now: datetime) -> datetime:
    """The next firing of the route's digest schedule, in UTC."""
    trigger = digest_trigger(route.schedule or _DEFAULT_SCHEDULE, route.timezone)
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    assert fire is not None, "a cron trigger always fires again"
    return fire.astimezone(UTC)


def quiet_until(route: RouteConfig, when: datetime) -> datetime:
    """`when`, or the end of the route's quiet hours when `when` falls inside them.

    Quiet hours are wall-clock times in the route's zone; a range whose start is after
    its end ("22:00-07:00") crosses midnight; equal ends mean no quiet hours.
    """
    if not route.quiet_hours:
        return when
    start, end = parse_quiet_hours(route.quiet_hours)
    if start == end:
        return when
    zone = ZoneInfo(route.timezone)
    local = when.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    crosses_midnight = start > end
    inside = (t >= start or t < end) if crosses_midnight else (start <= t < end)
    if not inside:
        return when
    end_day = local.date()
    if crosses_midnight and t >= start:
        end_day += timedelta(days=1)
    return _first_instant_at(end_day, end, zone, not_before=when)


def _first_instant_at(day: date, wall: time, zone: ZoneInfo, not_before: datetime) -> datetime:
    """The first UTC instant, not before `not_before`, at which the clock in `zone` reads
    `wall` on `day`. A wall time skipped by a DST jump resolves to the jump itself;
    one repeated by a DST fall-back resolves to its first occurrence still ahead."""
    naive = datetime.combine(day, wall)
    for fold in (0, 1):
        candidate = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        exists = candidate.astimezone(zone).replace(tzinfo=None) == naive
        if exists and candidate >= not_before:
            return candidate
    # Skipped by a spring-forward jump: the offsets before and after bracket the jump.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if lo >= hi:  # repeated time already past both occurrences: no later occurrence today
        return max(not_before, hi)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
            lo = mid
        else:
            hi = mid
    return max(not_before, hi.replace(microsecond=0))
