"""Retry timing: exponential, jittered, capped; Retry-After in both forms."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.ingest.backoff import backoff_delay, parse_retry_after

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("failures", [0, -1])
def test_no_failures_means_no_wait(failures: int) -> None:
    assert backoff_delay(failures, base=60, cap=3600) == 0.0


@pytest.mark.parametrize("failures", range(1, 8))
def test_delay_doubles_and_is_jittered_between_half_and_full(failures: int) -> None:
    rng = random.Random(failures)
    full = 10 * 2 ** (failures - 1)
    delays = [backoff_delay(failures, base=10, cap=10_000, rng=rng) for _ in range(200)]
    assert all(full / 2 <= d <= full for d in delays)
    assert max(delays) - min(delays) > full / 4, "jitter should spread retries"


def test_delay_is_capped_even_for_absurd_failure_counts() -> None:
    rng = random.Random(1)
    for failures in (20, 1000, 10**9):
        delay = backoff_delay(failures, base=60, cap=6 * 3600, rng=rng)
        assert 3 * 3600 <= delay <= 6 * 3600


def test_seeded_rng_gives_reproducible_delays() -> None:
    a = [backoff_delay(n, 5, 500, random.Random(42)) for n in range(1, 6)]
    b = [backoff_delay(n, 5, 500, random.Random(42)) for n in range(1, 6)]
    assert a == b


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("-5", 0.0), ("1.5", 1.5)],
)
def test_retry_after_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_http_date_in_the_future() -> None:
    value = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(value, NOW) == pytest.approx(90.0)


def test_retry_after_http_date_in_the_past_means_now() -> None:
    value = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(value, NOW) == 0.0


def test_retry_after_accepts_naive_now_as_utc() -> None:
    value = "Sun, 01 Jun 2025 12:01:00 GMT"
    assert parse_retry_after(value, NOW.replace(tzinfo=None)) == pytest.approx(60.0)


@pytest.mark.parametrize("value", [None, "", "soon", "NaN", "inf", "Mon, 99 Foo 2025"])
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None
