"""Routes: which classifications alert, and when deliveries fall due."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.alerts.routes import due_at, quiet_until, route_matches
from monitor.config import Config, RouteConfig
from monitor.models import Classification, Item
from monitor.schedules import cron_expression, digest_trigger, parse_quiet_hours, schedule_problem

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


# --- filters: whole words ----------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "excluded"),
    [
        (["war"], False),  # "Warsaw" and "award" are not "war"
        (["Warsaw"], True),
        (["military   cooperation"], True),  # a phrase matches across any whitespace
        (["cooperation."], False),
        ([""], False),
    ],
)
def test_exclude_words_match_whole_words(words: list[str], excluded: bool) -> None:
    item = Item(
        id="w",
        title="Kim receives award in Warsaw",
        text="Talks on military\ncooperation continued.",
        feed="tass",
    )
    assert route_matches(route(exclude_words=words), item, C, 0.5) is not excluded


def test_type_filter_uses_the_configured_threshold() -> None:
    r = route(types=["military"])
    assert route_matches(r, ITEM, C, 0.5)
    assert not route_matches(r, ITEM, C, 0.75)  # military scored 0.7


def test_language_falls_back_to_the_item() -> None:
    c = Classification(relevant=True, score=0.8, types={"summit": 0.9}, language=None)
    ru = Item(id="ru", title="Шойгу в Пхеньяне", language="ru")
    assert route_matches(route(languages=["ru"]), ru, c, 0.5)
    assert not route_matches(route(languages=["en"]), ru, c, 0.5)


def test_default_route_sends_everything_now_to_every_notifier() -> None:
    config = Config.model_validate(
        {"notifiers": {"console": {"kind": "console"}, "slack": {"kind": "slack"}}}
    )
    (default,) = config.effective_routes()
    assert default.notifiers == ["console", "slack"] and default.mode == "immediate"
    assert route_matches(default, ITEM, C, 0.5)
    assert (default.types, default.languages, default.feeds, default.actors) == ([], [], [], [])
    assert Config().effective_routes()[0].notifiers == ["console"]


# --- digest schedules --------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("daily", "0 8 * * *"),
        ("@Daily", "0 8 * * *"),
        (" HOURLY ", "0 * * * *"),
        ("@weekly", "0 8 * * mon"),
        ("0 8 * * 0", "0 8 * * sun"),  # cron counts Sunday as 0 (APScheduler: Monday)
        ("0 8 * * 7", "0 8 * * sun"),
        ("0 8 * * 1-5", "0 8 * * mon,tue,wed,thu,fri"),
        ("0 8 * * fri-mon", "0 8 * * sun,mon,fri,sat"),
        ("0 8 * * */2", "0 8 * * sun,tue,thu,sat"),
        ("30 7 1 * *", "30 7 1 * *"),
    ],
)
def test_schedule_aliases_and_cron_weekdays(schedule: str, expected: str) -> None:
    assert cron_expression(schedule) == expected


def test_sunday_digest_fires_on_sunday() -> None:
    now = datetime(2024, 6, 18, 12, 0, tzinfo=UTC)  # a Tuesday
    r = route(mode="digest", schedule="0 9 * * 0")
    assert due_at(r, now) == datetime(2024, 6, 23, 9, 0, tzinfo=UTC)
    assert due_at(r, now).weekday() == 6


@pytest.mark.parametrize("schedule", ["sometimes", "61 * * * *", "0 8 * * funday", "0 8 * *"])
def test_bad_schedules_are_reported(schedule: str) -> None:
    problem = schedule_problem(schedule)
    assert problem and schedule in problem
    with pytest.raises(ValueError, match="invalid schedule"):
        digest_trigger(schedule)


def test_daily_digest_keeps_local_time_across_dst() -> None:
    r = route(mode="digest", schedule="daily", timezone="Europe/Paris")
    before = datetime(2024, 3, 30, 12, 0, tzinfo=UTC)  # CET: 08:00 is 07:00 UTC
    after = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)  # CEST: 08:00 is 06:00 UTC
    assert due_at(r, before) == datetime(2024, 3, 31, 6, 0, tzinfo=UTC)
    assert due_at(r, after) == datetime(2024, 4, 1, 6, 0, tzinfo=UTC)


def test_digest_falling_in_quiet_hours_waits_for_their_end() -> None:
    r = route(mode="digest", schedule="0 6 * * *", quiet_hours="22:00-07:30")
    now = datetime(2024, 6, 18, 12, 0, tzinfo=UTC)
    assert due_at(r, now) == datetime(2024, 6, 19, 7, 30, tzinfo=UTC)


# --- quiet hours -------------------------------------------------------------------


def test_quiet_hours_in_a_time_zone_across_midnight() -> None:
    r = route(quiet_hours="22:00-07:00", timezone="Asia/Seoul")  # UTC+9, no DST
    inside = datetime(2024, 6, 18, 14, 0, tzinfo=UTC)  # 23:00 in Seoul
    assert due_at(r, inside) == datetime(2024, 6, 18, 22, 0, tzinfo=UTC)  # 07:00 next day
    outside = datetime(2024, 6, 18, 3, 0, tzinfo=UTC)  # 12:00 in Seoul
    assert due_at(r, outside) == outside


def test_quiet_hours_within_a_day() -> None:
    r = route(quiet_hours="09:00-17:00")
    assert quiet_until(r, datetime(2024, 6, 18, 10, tzinfo=UTC)) == datetime(
        2024, 6, 18, 17, tzinfo=UTC
    )
    assert quiet_until(r, datetime(2024, 6, 18, 17, tzinfo=UTC)) == datetime(
        2024, 6, 18, 17, tzinfo=UTC
    )


def test_quiet_hours_ending_at_midnight_and_empty_range() -> None:
    late = datetime(2024, 6, 18, 23, 0, tzinfo=UTC)
    assert quiet_until(route(quiet_hours="22:00-24:00"), late) == datetime(
        2024, 6, 19, 0, 0, tzinfo=UTC
    )
    assert quiet_until(route(quiet_hours="08:00-08:00"), late) == late


def test_quiet_hours_across_the_spring_forward_night() -> None:
    # Paris, 31 March 2024: clocks jump from 02:00 to 03:00 (01:00 UTC).
    overnight = route(quiet_hours="22:00-07:00", timezone="Europe/Paris")
    evening = datetime(2024, 3, 30, 22, 0, tzinfo=UTC)  # 23:00 CET
    assert quiet_until(overnight, evening) == datetime(2024, 3, 31, 5, 0, tzinfo=UTC)  # 07:00
    # an end that never shows on the clock (02:30) ends the quiet hours at the jump
    gap = route(quiet_hours="01:00-02:30", timezone="Europe/Paris")
    assert quiet_until(gap, datetime(2024, 3, 31, 0, 15, tzinfo=UTC)) == datetime(
        2024, 3, 31, 1, 0, tzinfo=UTC
    )


def test_quiet_hours_across_the_fall_back_night() -> None:
    # Paris, 27 October 2024: 03:00 CEST becomes 02:00 CET (01:00 UTC), 02:xx happens twice.
    overnight = route(quiet_hours="22:00-07:00", timezone="Europe/Paris")
    evening = datetime(2024, 10, 26, 21, 0, tzinfo=UTC)  # 23:00 CEST
    assert quiet_until(overnight, evening) == datetime(2024, 10, 27, 6, 0, tzinfo=UTC)  # 07:00 CET
    early = route(quiet_hours="00:00-02:30", timezone="Europe/Paris")
    first_pass = datetime(2024, 10, 27, 0, 10, tzinfo=UTC)  # 02:10 CEST
    second_pass = datetime(2024, 10, 27, 1, 10, tzinfo=UTC)  # 02:10 CET, again inside
    assert quiet_until(early, first_pass) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    assert quiet_until(early, second_pass) == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", ["7-9", "25:00-07:00", "22:60-07:00", "24:30-01:00"])
def test_bad_quiet_hours_are_reported(value: str) -> None:
    with pytest.raises(ValueError, match="quiet hours"):
        parse_quiet_hours(value)
