"""Stories: many outlets, one contact, one story."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts.stories import alert_kind, find_story, route_kind
from monitor.config import Config
from monitor.hookspecs import hookimpl
from monitor.host.loader import build_host
from monitor.models import Classification, Item
from monitor.service.runtime import CycleReport, Runtime
from monitor.store.base import StoryRow
from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.slackserver import SlackServer

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


def test_a_ministers_talks_during_a_summit_join_the_summits_story() -> None:
    # one visit at two ranks: the summit's story takes the minister's report
    actors = ("Vladimir Putin", "Kim Jong Un", "Alexander Kozlov")
    minister = c({"high_level_visit": 0.9}, actors)
    assert find_story([STORY], Item(id="k"), minister, WINDOW, 0.5, NOW) is STORY
    assert find_story([STORY], Item(id="e"), c({"economic": 0.9}, actors), WINDOW, 0.5, NOW) is None


def test_alert_kinds() -> None:
    summit = c({"summit": 0.9}, ())
    assert alert_kind(None, [], 1, summit, 0.5) == ("new", [])
    assert alert_kind(STORY, [1], 2, summit, 0.5) == ("followup", [])
    assert alert_kind(STORY, [1, 2], 2, summit, 0.5) == (None, [])
    gained = c({"summit": 0.9, "agreement": 0.7}, ())
    assert alert_kind(STORY, [1, 2], 2, gained, 0.5) == ("update", ["agreement"])


def test_actors_match_whatever_their_case() -> None:
    item = Item(id="z")
    found = find_story(
        [STORY], item, c({"summit": 0.9}, ("KIM JONG UN", "vladimir putin")), WINDOW, 0.5, NOW
    )
    assert found is STORY


def test_without_event_dates_reports_compare_by_publication() -> None:
    undated = dataclasses.replace(
        STORY, event_date=None, first_published=datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
    )
    cl = dataclasses.replace(c({"summit": 0.9}, ("Vladimir Putin", "Kim Jong Un")), event_date=None)
    close = Item(id="a", published=datetime(2024, 6, 2, 9, 0, tzinfo=UTC))
    late = Item(id="b", published=datetime(2024, 6, 10, 9, 0, tzinfo=UTC))
    # processed much later (NOW): what counts is when the reports were published
    assert find_story([undated], close, cl, WINDOW, 0.5, NOW) is undated
    assert find_story([undated], late, cl, WINDOW, 0.5, NOW) is None


def test_most_shared_actors_wins() -> None:
    other = dataclasses.replace(STORY, id=8, actors=("Kim Jong Un", "Vladimir Putin", "Lavrov"))
    cl = c({"summit": 0.9}, ("Sergei Lavrov", "Lavrov", "Kim Jong Un", "Vladimir Putin"))
    assert find_story([STORY, other], Item(id="l"), cl, WINDOW, 0.5, NOW) is other


def test_each_route_hears_of_a_story_first_as_new() -> None:
    assert route_kind("new", route_alerted=False) == "new"
    assert route_kind("followup", route_alerted=False) == "new"
    assert route_kind(None, route_alerted=False) == "new"
    assert route_kind("followup", route_alerted=True) == "followup"
    assert route_kind("update", route_alerted=True) == "update"
    assert route_kind(None, route_alerted=True) is None


# --- through the pipeline, the store and a local Slack server -----------------------
#
# A stand-in classifier reads what it should find from a tag in the text, so these
# tests pin the story logic independently of the real classifier's wording rules.

TAG = re.compile(r"\[\[(.*?)\]\]")


class TaggedClassifier:
    """`[[types=summit:0.9,agreement:0.8; actors=A|B; date=2025-06-04; lang=ru]]`."""

    @hookimpl
    def monitor_classify(self, item: Item) -> Classification | None:
        m = TAG.search(item.full_text)
        if not m:
            return Classification(relevant=False, score=0.0)
        fields = dict(part.strip().split("=", 1) for part in m.group(1).split(";"))
        types = {t: float(s) for t, s in (p.split(":") for p in fields["types"].split(","))}
        return Classification(
            relevant=True,
            score=max(types.values()),
            types=types,
            primary=max(types, key=lambda t: types[t]),
            actors=tuple(fields.get("actors", "").split("|")),
            event_date=date.fromisoformat(fields["date"]) if "date" in fields else None,
            language=fields.get("lang", "en"),
            plugin="tagged",
        )


SHOIGU = "actors=Sergei Shoigu|Kim Jong Un; date=2025-06-04"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    tmp: Path
    feeds: FeedServer
    slack: SlackServer
    clock: Clock = field(default_factory=Clock)
    articles: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def publish(self, feed: str, key: str, title: str, text: str) -> None:
        link = f"https://{feed}.example/news/{key}"
        entry = {"title": title, "link": link, "guid": link, "summary": text, "content": text}
        entry["published"] = "2025-06-04T12:00:00Z"
        self.articles.setdefault(feed, [])
        self.articles[feed] = [a for a in self.articles[feed] if a["guid"] != link] + [entry]
        self.feeds.route(f"/{feed}.xml", rss(self.articles[feed], title=feed))

    def config(self, routes: list[dict[str, object]] | None = None) -> Config:
        return Config.model_validate(
            {
                "store": {"path": str(self.tmp / "monitor.db")},
                "plugins": {"disabled": ["rudprk", "fulltext", "language"]},
                "notifiers": {
                    "slack": {
                        "kind": "slack",
                        "token": self.slack.token,
                        "channel": self.slack.channel,
                        "api_url": self.slack.api_url,
                    }
                },
                "feeds": [
                    {"name": name, "url": self.feeds.url(f"/{name}.xml"), "fulltext": False}
                    for name in ("tass", "yonhap", "kcna")
                ],
                "routes": routes or [],
            }
        )

    def cycle(self, routes: list[dict[str, object]] | None = None) -> CycleReport:
        config = self.config(routes)
        host = build_host(config, entry_points=False)
        host.register(TaggedClassifier(), "tagged", "test")

        async def run() -> CycleReport:
            async with Runtime(config, host=host, clock=self.clock) as runtime:
                return await runtime.cycle(flush_digests=True)

        return asyncio.run(run())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with FeedServer() as feeds, SlackServer() as slack:
        w = World(tmp_path, feeds, slack)
        for name in ("tass", "yonhap", "kcna"):
            feeds.route(f"/{name}.xml", rss([], title=name))
        yield w


def test_one_contact_from_three_feeds_in_two_languages_is_one_thread(world: World) -> None:
    world.publish(
        "tass",
        "1",
        "Шойгу встретился с Ким Чен Ыном",
        f"В Пхеньяне. [[types=high_level_visit:0.9; {SHOIGU}; lang=ru]]",
    )
    world.publish(
        "yonhap",
        "2",
        "Shoigu meets Kim in Pyongyang",
        f"Talks. [[types=high_level_visit:0.85; {SHOIGU}]]",
    )
    world.publish(
        "kcna",
        "3",
        "Kim Jong Un receives Shoigu",
        f"Warm talks. [[types=high_level_visit:0.8; {SHOIGU}]]",
    )
    world.cycle()
    first, *replies = world.slack.messages
    assert first.thread_ts is None and first.payload["text"].startswith("New")
    assert [r.thread_ts for r in replies] == [first.ts, first.ts]
    assert all("Also reported by" in r.text for r in replies)
    texts = "\n".join(m.text for m in world.slack.messages)
    assert all(h in texts for h in ("Шойгу встретился", "Shoigu meets Kim", "receives Shoigu"))
    world.cycle()
    assert len(world.slack.messages) == 3  # nothing twice


def test_followups_wait_for_their_story_first_message(world: World) -> None:
    world.publish("tass", "1", "Shoigu in Pyongyang", f"[[types=high_level_visit:0.9; {SHOIGU}]]")
    world.publish("yonhap", "2", "Shoigu meets Kim", f"[[types=high_level_visit:0.9; {SHOIGU}]]")
    world.slack.fail_next(500)  # the first message fails; its follow-up must not go alone
    report = world.cycle()
    assert report.delivery.retried == 1 and world.slack.messages == []
    world.clock.now += timedelta(hours=2)
    world.cycle()
    first, reply = world.slack.messages
    assert reply.thread_ts == first.ts and first.thread_ts is None


def test_followups_of_a_dead_first_message_still_go_out(world: World) -> None:
    world.publish("tass", "1", "Shoigu in Pyongyang", f"[[types=high_level_visit:0.9; {SHOIGU}]]")
    world.publish("yonhap", "2", "Shoigu meets Kim", f"[[types=high_level_visit:0.9; {SHOIGU}]]")
    world.slack.fail_next(error="invalid_blocks")  # permanent: dead-lettered at once
    report = world.cycle()
    assert report.delivery.dead == 1 and report.delivery.sent == 1
    (alone,) = world.slack.messages
    assert alone.thread_ts is None and "Also reported by" in alone.text


def test_a_story_gaining_a_type_alerts_as_an_update_in_its_thread(world: World) -> None:
    world.publish(
        "tass", "1", "Shoigu to visit Pyongyang", f"[[types=high_level_visit:0.9; {SHOIGU}]]"
    )
    world.cycle()
    world.publish(
        "yonhap",
        "2",
        "Shoigu and Kim sign a security deal",
        f"[[types=high_level_visit:0.8,agreement:0.9; {SHOIGU}]]",
    )
    world.publish(
        "kcna",
        "3",
        "Agreement signed in Pyongyang",
        f"[[types=agreement:0.9,high_level_visit:0.7; {SHOIGU}]]",
    )
    world.cycle()
    first, update, followup = world.slack.messages
    assert update.thread_ts == first.ts and update.payload.get("reply_broadcast") is True
    assert update.payload["text"].startswith("Update") and "agreement" in update.text
    assert followup.thread_ts == first.ts and "Also reported by" in followup.text


def test_an_edited_item_keeps_its_story(world: World) -> None:
    world.publish("tass", "1", "Shoigu in Pyongyang", f"[[types=high_level_visit:0.9; {SHOIGU}]]")
    world.cycle()
    # Edited: the classifier now sees other actors and another date; it stays in its story
    edited = "[[types=high_level_visit:0.9; actors=Sergei Lavrov; date=2025-07-30]]"
    world.publish("tass", "1", "Shoigu in Pyongyang (updated)", edited)
    world.cycle()
    assert len(world.slack.messages) == 1
    world.publish(
        "tass",
        "1",
        "Shoigu in Pyongyang: treaty signed",
        f"[[types=high_level_visit:0.9,agreement:0.8; {SHOIGU}]]",
    )
    world.cycle()
    first, update = world.slack.messages
    assert update.thread_ts == first.ts and update.payload["text"].startswith("Update")


def test_a_route_that_missed_the_first_report_gets_its_own_first_alert(world: World) -> None:
    routes = [
        {"name": "all", "notifiers": ["slack"]},
        {"name": "yonhap-only", "notifiers": ["slack"], "feeds": ["yonhap"]},
    ]
    world.publish("tass", "1", "Shoigu in Pyongyang", f"[[types=high_level_visit:0.9; {SHOIGU}]]")
    world.cycle(routes)
    world.publish("yonhap", "2", "Shoigu meets Kim", f"[[types=high_level_visit:0.9; {SHOIGU}]]")
    world.cycle(routes)
    first, reply, yonhap_first = world.slack.messages
    assert reply.thread_ts == first.ts
    assert yonhap_first.thread_ts is None and yonhap_first.payload["text"].startswith("New")


def test_different_contacts_stay_apart(world: World) -> None:
    world.publish("tass", "1", "Shoigu in Pyongyang", f"[[types=high_level_visit:0.9; {SHOIGU}]]")
    world.publish(
        "yonhap",
        "2",
        "Bridge works begin",
        "[[types=economic:0.9; actors=Mikhail Mishustin|Pak Thae Song; date=2025-06-04]]",
    )
    world.publish(
        "kcna",
        "3",
        "Shoigu visits again",
        "[[types=high_level_visit:0.9; actors=Sergei Shoigu|Kim Jong Un; date=2025-07-20]]",
    )
    world.cycle()
    assert [m.thread_ts for m in world.slack.messages] == [None, None, None]
