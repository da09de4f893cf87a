"""Schedules written in the config: digest cron lines and quiet hours.

Parsing lives apart from the config models and the routes that use them, so that the
config can validate a schedule without importing the alerting code.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

SCHEDULE_ALIASES = {
    "hourly": "0 * * * *",
    "daily": "0 8 * * *",
    "midnight": "0 0 * * *",
    "weekly": "0 8 * * mon",
    "monthly": "0 8 1 * *",
}


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


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


def _hm(value: str) -> time:
    hours, minutes = value.strip().split(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m <= 59) or (h == 24 and m):
        raise ValueError(value)
    return time(h % 24, m)
