"""The decision about one item is a pure function of the store's context and the config."""

from __future__ import annotations

from datetime import UTC, date, datetime

from monitor.alerts.decide import decide
from monitor.config import Config
from monitor.models import Classification, Item
from monitor.store.base import StoryContext, StoryRow

NOW = datetime(2025, 11, 10, 9, 0, tzinfo=UTC)
CONFIG = Config.model_validate(
    {
        "notifiers": {"slack": {"kind": "console"}, "mail": {"kind": "console"}},
        "routes": [
            {"name": "urgent", "notifiers": ["slack"], "types": ["summit"]},
            {"name": "all", "notifiers": ["mail"], "mode": "digest", "schedule": "daily"},
        ],
    }
)
ITEM = Item(id="x", title="Putin and Kim meet", text="...", published=NOW)
SUMMIT = Classification(
    relevant=True,
    score=0.9,
    primary="summit",
    types={"summit": 0.9},
    actors=("Vladimir Putin", "Kim Jong Un"),
    event_date=date(2025, 11, 9),
)
STORY = StoryRow(
    id=7,
    first_item_id=1,
    canonical_url=None,
    primary_type="summit",
    types=("summit",),
    actors=("Vladimir Putin", "Kim Jong Un"),
    event_date=date(2025, 11, 9),
    created_at=NOW,
)


def test_a_first_report_starts_a_story_and_alerts_every_matching_route() -> None:
    decision = decide(5, ITEM, SUMMIT, StoryContext(), CONFIG, NOW)
    assert decision.story is None
    assert [(a.route, a.kind, a.digest) for a in decision.alerts] == [
        ("urgent", "new", False),
        ("all", "new", True),
    ]


def test_a_second_outlet_joins_the_story_and_follows_up() -> None:
    context = StoryContext(
        candidates=(STORY,),
        members={7: frozenset({1})},
        alerted={7: frozenset({"urgent", "all"})},
    )
    decision = decide(5, ITEM, SUMMIT, context, CONFIG, NOW)
    assert decision.story == STORY
    assert {a.kind for a in decision.alerts} == {"followup"}


def test_a_report_that_adds_a_type_is_an_update_naming_it() -> None:
    richer = Classification(
        relevant=True,
        score=0.9,
        primary="summit",
        types={"summit": 0.9, "agreement": 0.8},
        actors=SUMMIT.actors,
        event_date=SUMMIT.event_date,
    )
    context = StoryContext(
        candidates=(STORY,), members={7: frozenset({1})}, alerted={7: frozenset({"urgent"})}
    )
    alerts = {a.route: a for a in decide(5, ITEM, richer, context, CONFIG, NOW).alerts}
    assert alerts["urgent"].kind == "update"
    assert alerts["urgent"].meta["gained_types"] == ["agreement"]
    assert alerts["all"].kind == "new"  # that route never heard of the story


def test_an_item_processed_again_in_its_own_story_owes_nothing() -> None:
    context = StoryContext(
        own=STORY, members={7: frozenset({5})}, alerted={7: frozenset({"urgent", "all"})}
    )
    assert decide(5, ITEM, SUMMIT, context, CONFIG, NOW).alerts == ()
