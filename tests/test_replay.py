"""`monitor replay`: the stored items of a real run (local feed server, built-in
classifier) run again under other rules and thresholds; what would change is
reported per route, and nothing is written or sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from monitor.cli import main
from monitor.config import Config
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer
from monitor.testing.kit import NotifierCapture
from monitor.web.testing import ROUTES, run_world, world_config


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Config]]:
    tmp = tmp_path_factory.mktemp("replay")
    with FeedServer() as server:
        config = world_config(tmp, server)
        run_world(config, NotifierCapture())
    yield tmp, config


def write_config(tmp: Path, config: Config, name: str, **sections: object) -> Path:
    data: dict[str, object] = {
        "store": {"path": config.store.path},
        "notifiers": {"inbox": {"kind": "console"}},
        "routes": ROUTES,
        **sections,
    }
    path = tmp / name
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def replay_json(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:  # type: ignore[type-arg]
    assert main(["replay", "-c", str(path), "--since", "all", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_the_same_config_replays_without_a_change(
    stored: tuple[Path, Config], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, config = stored
    doc = replay_json(write_config(tmp, config, "same.toml"), capsys)
    assert doc["items"] == 5
    assert doc["classification_changes"] == []
    for name, route in doc["routes"].items():
        assert route["would_fire"] == route["would_not_fire"] == route["kind_changed"] == [], name
    assert doc["routes"]["analysts"]["unchanged"] == 4  # 2 new, 2 follow-ups
    assert doc["routes"]["military-desk"]["unchanged"] == 1


def test_changed_rules_show_alerts_that_would_and_would_not_fire(
    stored: tuple[Path, Config], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, config = stored
    store = SqlStore(config.store.sqlalchemy_url())
    alerts_before = store.delivery_counts()
    routes = [
        ROUTES[0],
        {**ROUTES[1], "min_score": 0.95},  # the drills (0.91) no longer reach the desk
        {"name": "visits", "notifiers": ["inbox"], "types": ["high_level_visit"]},
    ]
    path = write_config(tmp, config, "edited.toml", routes=routes)
    doc = replay_json(path, capsys)
    desk = doc["routes"]["military-desk"]
    assert [c["kind"] for c in desk["would_not_fire"]] == ["new"]
    assert "joint drills" in desk["would_not_fire"][0]["title"]
    visits = doc["routes"]["visits"]
    assert [c["kind"] for c in visits["would_fire"]] == ["new", "followup", "followup"]
    assert doc["routes"]["analysts"]["unchanged"] == 4
    assert store.delivery_counts() == alerts_before  # nothing written, nothing sent
    store.close()

    assert main(["replay", "-c", str(path), "--since", "all"]) == 0
    text = capsys.readouterr().out
    assert "route military-desk: +0 would fire, -1 would not fire" in text
    assert "route visits: +3 would fire" in text and "nothing was sent" in text


def test_a_stricter_classifier_threshold_shows_type_and_relevance_changes(
    stored: tuple[Path, Config], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, config = stored
    path = write_config(tmp, config, "strict.toml", classifier={"relevance_threshold": 0.95})
    doc = replay_json(path, capsys)
    changes = {c["title"][-30:]: c["changes"] for c in doc["classification_changes"]}
    (drills,) = [v for k, v in changes.items() if "drills" in k]
    assert "relevant True -> False" in drills
    assert [c["kind"] for c in doc["routes"]["analysts"]["would_not_fire"]] == ["new"]


def test_store_from_another_config_and_since(
    stored: tuple[Path, Config], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, config = stored
    elsewhere = write_config(tmp_path, config, "other.toml")
    empty = elsewhere.read_text().replace(config.store.path, str(tmp_path / "empty.db"))
    (tmp_path / "empty.toml").write_text(empty)
    SqlStore(f"sqlite:///{tmp_path / 'empty.db'}").close()
    doc = replay_json(tmp_path / "empty.toml", capsys, "--store-from", str(elsewhere))
    assert doc["items"] == 5
    doc = replay_json(tmp_path / "empty.toml", capsys)
    assert doc["items"] == 0
    assert main(["replay", "-c", str(elsewhere), "--since", "soon"]) == 2
    # the items were fetched moments ago: inside the last hour
    assert replay_json(elsewhere, capsys, "--since", "1h")["items"] == 5
