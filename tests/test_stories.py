"""Stories: many outlets, one contact, one story."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from monitor.models import Classification, Item
from monitor.store.base import StoryRow
from monitor.stories import alert_kind, find_story

NOW = datetime(2024, 6, 19, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=3)
STORY = StoryRow(
    id=7,
    first_item_id=1,
    canonical_url="https://tass.com/politics/1",
    primary_type="summit",
    types=("summit",),
    actors=("Kim Jong Un", "Vladimir Putin"),
    event_date=date(2024, 6, 19),
    created_at=NOW,
)


def c(types: dict[str, float], actors: tuple[str, ...], day: int = 19) -> Classification:
    return Classification(
        relevant=True,
        score=0.9,
        types=types,
        primary=next(iter(types)),
        actors=actors,
        event_date=date(2024, 6, day),
    )


def test_same_canonical_url_is_the_same_story() -> None:
    item = Item(id="x", meta={"canonical_url": "https://tass.com/politics/1"})
    assert find_story([STORY], item, c({"economic": 0.9}, ()), WINDOW, 0.5, NOW) is STORY


def test_same_type_overlapping_actors_close_dates_across_languages() -> None:
    item = Item(id="ko", language="ko")
    found = find_story(
        [STORY],
        item,
        c({"summit": 0.9, "agreement": 0.8}, ("Vladimir Putin", "Kim Jong Un"), 20),
        WINDOW,
        0.5,
        NOW,
    )
    assert found is STORY


def test_different_type_or_far_date_or_other_actors_is_new_story() -> None:
    item = Item(id="y")
    assert (
        find_story(
            [STORY], item, c({"economic": 0.9}, ("Vladimir Putin", "Kim Jong Un")), WINDOW, 0.5, NOW
        )
        is None
    )
    assert (
        find_story(
            [STORY],
            item,
            c({"summit": 0.9}, ("Vladimir Putin", "Kim Jong Un"), 30),
            WINDOW,
            0.5,
            NOW,
        )
        is None
    )
    assert (
        find_story(
            [STORY], item, c({"summit": 0.9}, ("Xi Jinping", "Kim Jong Un")), WINDOW, 0.5, NOW
        )
        is None
    )


def test_alert_kinds() -> None:
    summit = c({"summit": 0.9}, ())
    assert alert_kind(None, [], 1, summit, 0.5) == ("new", [])
    assert alert_kind(STORY, [1], 2, summit, 0.5) == ("followup", [])
    assert alert_kind(STORY, [1, 2], 2, summit, 0.5) == (None, [])
    gained = c({"summit": 0.9, "agreement": 0.7}, ())
    assert alert_kind(STORY, [1, 2], 2, gained, 0.5) == ("update", ["agreement"])
