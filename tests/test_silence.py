"""Silences: the pure check (`monitor.alerts.silences`), `monitor silence add | list |
expire`, and a real run in which a silenced story's update and a silenced type on one
route are recorded and shown but not sent, while everything else still alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts.silences import SILENCED, Silence, apply_silences, matches
from monitor.cli import main
from monitor.models import Classification
from monitor.store.base import NewAlert, StoryRow
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer
from monitor.testing.kit import NotifierCapture
from monitor.web.testing import ARTICLES, run_world, serve, world_config

NOW = datetime(2025, 6, 4, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
STORY = StoryRow(7, 1, None, "summit", ("summit",), ("Kim Jong Un",), None, NOW)
C = Classification(
    relevant=True, score=0.9, types={"summit": 0.9, "military": 0.6}, primary="summit",
    actors=("Kim Jong Un", "Vladimir Putin"),
)  # fmt: skip


@pytest.mark.parametrize(
    ("silence", "route", "muted"),
    [
        (Silence(1, LATER, story_id=7), "a", True),
        (Silence(1, LATER, story_id=8), "a", False),
        (Silence(1, LATER, actor="kim jong un"), "a", True),
        (Silence(1, LATER, actor="Sergei Shoigu"), "a", False),
        (Silence(1, LATER, type="military"), "a", True),  # reported, not primary
        (Silence(1, LATER, type="economic"), "a", False),
        (Silence(1, LATER, story_id=7, route="a"), "a", True),
        (Silence(1, LATER, story_id=7, route="b"), "a", False),
        (Silence(1, NOW, story_id=7), "a", False),  # ended
        (Silence(1, LATER, story_id=7, expired_at=NOW), "a", False),  # expired by hand
    ],
)
def test_what_a_silence_mutes(silence: Silence, route: str, muted: bool) -> None:
    assert matches(silence, route, STORY, C, 0.5, NOW) is muted


def test_a_silenced_alert_is_recorded_without_deliveries() -> None:
    alerts = (
        NewAlert("a", "update", ("slack",), NOW, meta={"gained_types": ["military"]}),
        NewAlert("b", "update", ("email",), NOW),
    )
    out = apply_silences(alerts, [Silence(3, LATER, story_id=7, route="a")], STORY, C, 0.5, NOW)
    assert out[1] == alerts[1]
    assert out[0].kind == SILENCED and out[0].notifiers == ()
    assert out[0].meta["silenced_by"] == 3 and out[0].meta["silenced_kind"] == "update"
    assert out[0].meta["gained_types"] == ["military"]
    assert apply_silences(alerts, [], None, C, 0.5, NOW) == alerts


def write_config(tmp: Path, store: str) -> Path:
    path = tmp / "monitor.toml"
    path.write_text(
        f'[store]\npath = "{store}"\n\n[[routes]]\nname = "analysts"\nnotifiers = ["console"]\n'
        '\n[[routes]]\nname = "military-desk"\nnotifiers = ["console"]\n',
        encoding="utf-8",
    )
    return path


def test_silence_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, str(tmp_path / "m.db"))
    args = ["-c", str(path)]
    assert main(["silence", "add", "--actor", "Kim Jong Un", "--for", "2h", "--comment",
                 "summit week", *args]) == 0  # fmt: skip
    assert "silence #1: actor Kim Jong Un until" in capsys.readouterr().out
    assert main(["silence", "add", "--type", "military", "--route", "military-desk", *args]) == 0
    assert main(["silence", "add", "--story", "3", "--route", "nope", *args]) == 2
    assert "no route named 'nope'" in capsys.readouterr().err
    assert main(["silence", "list", *args]) == 0
    out = capsys.readouterr().out
    assert "actor Kim Jong Un" in out and "— summit week" in out
    assert "type military on route military-desk" in out
    assert main(["silence", "expire", "1", *args]) == 0
    assert main(["silence", "expire", "1", *args]) == 1
    capsys.readouterr()
    assert main(["silence", "list", *args]) == 0
    assert "Kim Jong Un" not in capsys.readouterr().out
    assert main(["silence", "list", "--all", *args]) == 0
    listed = capsys.readouterr().out
    assert "actor Kim Jong Un until" in listed and "(expired)" in listed
    with pytest.raises(SystemExit):
        main(["silence", "add", "--story", "1", "--actor", "x", *args])


AGREEMENT = (
    "agreement",
    "Shoigu and Kim Jong Un sign agreement in Pyongyang",
    "Russian Security Council Secretary Sergei Shoigu and North Korean leader Kim Jong Un "
    "signed an agreement on cooperation during Shoigu's visit to Pyongyang on June 4, 2025, "
    "North Korean state media reported on Thursday.",
    "2025-06-05T08:00:00Z",
)


def test_silenced_alerts_are_recorded_and_shown_not_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        config = world_config(tmp_path, server, only=["shoigu", "weather"])
        first = NotifierCapture()
        run_world(config, first)
        assert [(a.route, a.kind) for a in first.alerts] == [
            ("analysts", "new"), ("analysts", "followup"), ("analysts", "followup"),
        ]  # fmt: skip
        story = first.alerts[0].story_id
        path = write_config(tmp_path, config.store.path)
        assert main(["silence", "add", "--story", str(story), "--route", "analysts",
                     "-c", str(path)]) == 0  # fmt: skip
        assert main(["silence", "add", "--type", "military", "--route", "military-desk",
                     "-c", str(path)]) == 0  # fmt: skip
        articles = {**ARTICLES, "kcna-watch": [*ARTICLES["kcna-watch"], AGREEMENT]}
        serve(server, articles)  # the story gains a type; the drills come in
        second = NotifierCapture()
        run_world(config, second)
    # only the drills on analysts went out: the story's update and the desk are silenced
    assert [(a.route, a.kind) for a in second.alerts] == [("analysts", "new")]
    assert "joint drills" in second.alerts[0].item.title
    store = SqlStore(config.store.sqlalchemy_url())
    silenced = store.silenced_alerts()
    store.close()
    assert sorted((a["route"], a["meta"]["silenced_kind"]) for a in silenced) == [
        ("analysts", "update"), ("military-desk", "new"),
    ]  # fmt: skip
    assert all("silence #" in a["meta"]["silence"] for a in silenced)
