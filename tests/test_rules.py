"""Routes: which classifications alert, and when deliveries fall due."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.config import RouteConfig
from monitor.models import Classification, Item
from monitor.rules import due_at, quiet_until, route_matches

ITEM = Item(
    id="1",
    title="Shoigu meets Kim Jong Un",
    text="Talks on military cooperation.",
    feed="tass",
    language="en",
)
C = Classification(
    relevant=True,
    score=0.8,
    types={"high_level_visit": 0.9, "military": 0.7, "summit": 0.2},
    primary="high_level_visit",
    actors=("Sergei Shoigu", "Kim Jong Un"),
    language="en",
    event_date=date(2024, 9, 13),
)


def route(**kw: object) -> RouteConfig:
    return RouteConfig.model_validate({"name": "r", "notifiers": ["console"], **kw})


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, True),
        ({"min_score": 0.9}, False),
        ({"types": ["military"]}, True),
        ({"types": ["summit"]}, False),
        ({"languages": ["ru"]}, False),
        ({"languages": ["en", "ru"]}, True),
        ({"feeds": ["tass"]}, True),
        ({"feeds": ["kcna"]}, False),
        ({"actors": ["sergei shoigu"]}, True),
        ({"actors": ["Sergei Lavrov"]}, False),
        ({"exclude_words": ["MILITARY cooperation"]}, False),
        ({"exclude_words": ["sport"]}, True),
    ],
)
def test_route_filters(options: dict[str, object], expected: bool) -> None:
    assert route_matches(route(**options), ITEM, C, 0.5) is expected


def test_irrelevant_never_alerts() -> None:
    assert not route_matches(
        route(min_score=0), ITEM, Classification(relevant=False, score=0.9), 0.5
    )


def test_immediate_route_is_due_now() -> None:
    now = datetime(2024, 6, 18, 12, 0, tzinfo=UTC)
    assert due_at(route(), now) == now


def test_daily_digest_in_a_time_zone() -> None:
    now = datetime(2024, 6, 18, 12, 0, tzinfo=UTC)  # 14:00 in Paris
    r = route(mode="digest", schedule="0 8 * * *", timezone="Europe/Paris")
    assert due_at(r, now) == datetime(2024, 6, 19, 6, 0, tzinfo=UTC)


def test_hourly_alias() -> None:
    now = datetime(2024, 6, 18, 12, 10, tzinfo=UTC)
    assert due_at(route(mode="digest", schedule="hourly"), now) == datetime(
        2024, 6, 18, 13, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("hour", "expected_hour", "expected_day"),
    [(23, 7, 19), (3, 7, 18), (12, 12, 18), (7, 7, 18)],
)
def test_quiet_hours_across_midnight(hour: int, expected_hour: int, expected_day: int) -> None:
    r = route(quiet_hours="22:00-07:00")
    when = datetime(2024, 6, 18, hour, 0, tzinfo=UTC)
    assert quiet_until(r, when) == datetime(2024, 6, expected_day, expected_hour, 0, tzinfo=UTC)
