"""Which classifications alert, on which routes, and when their deliveries fall due."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from monitor.config import RouteConfig
from monitor.models import Classification, Item

_SCHEDULE_ALIASES = {
    "hourly": "0 * * * *",
    "daily": "0 8 * * *",
    "weekly": "0 8 * * mon",
}


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
    if route.exclude_words:
        text = f"{item.title}\n{item.text}".casefold()
        if any(word.casefold() in text for word in route.exclude_words):
            return False
    return True


def due_at(route: RouteConfig, now: datetime) -> datetime:
    """When a new delivery on this route falls due: now, the next digest, or the end
    of quiet hours, whichever is latest."""
    due = next_digest(route, now) if route.mode == "digest" else now
    return quiet_until(route, due)


def next_digest(route: RouteConfig, now: datetime) -> datetime:
    """The next firing of the route's digest schedule (cron or hourly/daily/weekly)."""
    trigger = digest_trigger(route)
    fire = trigger.get_next_fire_time(None, now)
    assert fire is not None, "a cron trigger always fires again"
    return fire.astimezone(UTC)


def digest_trigger(route: RouteConfig) -> CronTrigger:
    expr = _SCHEDULE_ALIASES.get(route.schedule or "", route.schedule or "0 * * * *")
    return CronTrigger.from_crontab(expr, timezone=ZoneInfo(route.timezone))


def quiet_until(route: RouteConfig, when: datetime) -> datetime:
    """`when`, moved to the end of the route's quiet hours if it falls inside them."""
    if not route.quiet_hours:
        return when
    zone = ZoneInfo(route.timezone)
    start_s, end_s = route.quiet_hours.split("-")
    start, end = _hm(start_s), _hm(end_s)
    local = when.astimezone(zone)
    t = local.time()
    inside = (start <= t < end) if start <= end else (t >= start or t < end)
    if not inside:
        return when
    end_day = local.date()
    if start > end and t >= start:
        end_day += timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def _hm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours) % 24, int(minutes))
