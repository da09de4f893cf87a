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

from apscheduler.triggers.cron import CronTrigger

from monitor.config import RouteConfig
from monitor.models import Classification, Item

#: Schedule names accepted besides a crontab line ("@daily" works as well as "daily").
SCHEDULE_ALIASES = {
    "hourly": "0 * * * *",
    "daily": "0 8 * * *",
    "midnight": "0 0 * * *",
    "weekly": "0 8 * * mon",
    "monthly": "0 8 1 * *",
}
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
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
    fire = trigger.get_next_fire_time(None, now)
    assert fire is not None, "a cron trigger always fires again"
    return fire.astimezone(UTC)


def digest_trigger(schedule: str, timezone: str = "UTC") -> CronTrigger:
    """A trigger for an alias ("daily", "@hourly") or a standard 5-field crontab line.

    Day-of-week numbers follow cron (0 and 7 are Sunday); APScheduler counts from
    Monday, so numbers are rewritten as day names before it sees them.
    Raises ValueError naming the problem when the schedule is not understood.
    """
    expr = cron_expression(schedule)
    try:
        return CronTrigger.from_crontab(expr, timezone=ZoneInfo(timezone))
    except ValueError as exc:
        raise ValueError(f"invalid schedule {schedule!r}: {exc}") from None


def cron_expression(schedule: str) -> str:
    """The 5-field crontab line for a schedule, day-of-week numbers turned into names."""
    text = schedule.strip()
    alias = SCHEDULE_ALIASES.get(text.lower().removeprefix("@"))
    if alias:
        return alias
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"invalid schedule {schedule!r}: expected {', '.join(SCHEDULE_ALIASES)} "
            'or a crontab line like "0 8 * * 1-5"'
        )
    fields[4] = _weekdays(fields[4], schedule)
    return " ".join(fields)


def _weekdays(field: str, schedule: str) -> str:
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"invalid schedule {schedule!r}: bad step in {part!r}")
        if base in ("*", "?"):
            lo, hi = 0, 6
        elif "-" in base:
            first, last = base.split("-", 1)
            lo, hi = _day(first, schedule), _day(last, schedule)
            if hi < lo:  # "fri-mon" wraps past Saturday
                hi += 7
        else:
            lo = _day(base, schedule)
            hi = 6 if step else lo
        days.update(d % 7 for d in range(lo, hi + 1, step or 1))
    return ",".join(_DAYS[d] for d in sorted(days))


def _day(token: str, schedule: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    if token[:3] in _DAYS:
        return _DAYS.index(token[:3])
    raise ValueError(f"invalid schedule {schedule!r}: unknown day of week {token!r}")


def schedule_problem(schedule: str, timezone: str = "UTC") -> str | None:
    """Why a schedule would fail at run time, or None; for config validation."""
    try:
        digest_trigger(schedule, timezone)
    except ValueError as exc:
        return str(exc)
    return None


# --- quiet hours -------------------------------------------------------------------


def parse_quiet_hours(value: str) -> tuple[time, time]:
    """("22:00-07:00") -> (22:00, 07:00); "24:00" means midnight. ValueError if invalid."""
    try:
        start_s, end_s = value.split("-")
        return _hm(start_s), _hm(end_s)
    except ValueError:
        raise ValueError(f'invalid quiet hours {value!r}: expected "HH:MM-HH:MM"') from None


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


def _hm(value: str) -> time:
    hours, minutes = value.strip().split(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m <= 59) or (h == 24 and m):
        raise ValueError(value)
    return time(h % 24, m)
