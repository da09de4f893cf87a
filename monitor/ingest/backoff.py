"""Retry timing shared by feed polling and alert delivery.

Kept free of any HTTP or scheduling knowledge so both the poller and the delivery
worker can use it with their own base and cap.

Every delay that comes out of here is at most `MAX_DELAY` (24 hours), whatever the
configured cap or the server's Retry-After says: a server answering `Retry-After:
300000000000` waits a day, not ten thousand years (`now + timedelta(...)` past year
9999 raises OverflowError, which used to leave deliveries "sending" and polls failing).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_MAX_EXPONENT = 62  # 2**62 * any sane base is far beyond any cap; avoids float overflow

#: The documented maximum of any retry delay and of any Retry-After honoured (seconds).
MAX_DELAY = 24 * 3600.0


def clamp_delay(seconds: float | None) -> float:
    """`seconds` within 0..MAX_DELAY (NaN, None and negatives are 0; infinity is the max)."""
    if seconds is None or seconds != seconds or seconds <= 0:
        return 0.0
    return min(float(seconds), MAX_DELAY)


def backoff_delay(
    failures: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after `failures` consecutive failures.

    Exponential (`base`, `2*base`, `4*base`, ...) capped at `cap`, then jittered uniformly
    between half and the full value so that many clients failing together (one outage,
    many feeds) do not retry in lockstep. `failures <= 0` means no wait. The cap itself is
    at most `MAX_DELAY`.
    """
    if failures <= 0 or not base > 0 or not cap > 0:
        return 0.0
    cap = min(cap, MAX_DELAY)
    value = min(cap, base * 2.0 ** min(failures - 1, _MAX_EXPONENT))
    return (rng or random).uniform(value / 2, value)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After value: delta-seconds or an HTTP date.

    A date in the past (or a negative number) means "now": 0. Anything unparseable is
    None, so callers fall back to their own backoff rather than trusting garbage. A value
    beyond `MAX_DELAY` (a huge number, a date in year 9999) is `MAX_DELAY`.
    """
    if value is None:
        return None
    text = value.strip()[:100]
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return clamp_delay(seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        return clamp_delay((when - now).total_seconds())
    except OverflowError:
        return MAX_DELAY
