"""Retry timing shared by feed polling and alert delivery.

Kept free of any HTTP or scheduling knowledge so both the poller and the delivery
worker can use it with their own base and cap.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_MAX_EXPONENT = 62  # 2**62 * any sane base is far beyond any cap; avoids float overflow


def backoff_delay(
    failures: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after `failures` consecutive failures.

    Exponential (`base`, `2*base`, `4*base`, ...) capped at `cap`, then jittered uniformly
    between half and the full value so that many clients failing together (one outage,
    many feeds) do not retry in lockstep. `failures <= 0` means no wait.
    """
    if failures <= 0 or base <= 0 or cap <= 0:
        return 0.0
    value = min(cap, base * 2.0 ** min(failures - 1, _MAX_EXPONENT))
    return (rng or random).uniform(value / 2, value)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After value: delta-seconds or an HTTP date.

    A date in the past (or a negative number) means "now": 0. Anything unparseable is
    None, so callers fall back to their own backoff rather than trusting garbage.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)
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
    return max(0.0, (when - now).total_seconds())
