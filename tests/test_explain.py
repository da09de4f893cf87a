"""Why an item alerted or not: `route_reasons` (pure, the same conditions as
`route_matches`), `monitor explain URL|ITEM_ID` over a store the real pipeline filled
from a local feed server, and the decision trace each processed item logs."""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.alerts.reasons import route_reasons, timing
from monitor.alerts.routes import route_matches
from monitor.cli import main
from monitor.config import Config, RouteConfig
from monitor.models import Classification
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer
from monitor.testing.kit import NotifierCapture, make_item
from monitor.web.testing import run_world, world_config


def classification(**kw: object) -> Classification:
    base: dict[str, object] = {
        "relevant": True, "score": 0.8, "types": {"military": 0.9, "summit": 0.3},
        "primary": "military", "actors": ("Kim Jong Un",), "language": "en",
    }  # fmt: skip
    return Classification(**{**base, **kw})  # type: ignore[arg-type]


def route(**kw: object) -> RouteConfig:
    return RouteConfig.model_validate({"name": "r", "notifiers": ["console"], **kw})


@pytest.mark.parametrize(
    ("rule", "c", "reason"),
    [
        ({"min_score": 0.9}, {}, "score 0.80 < 0.9"),
        ({}, {"relevant": False, "score": 0.1}, "not relevant (score 0.10)"),
        ({"types": ["summit"]}, {}, "type military not in route (summit)"),
        ({"languages": ["ru"]}, {}, "language en not in route (ru)"),
        ({"feeds": ["kcna"]}, {}, "feed wire not in route (kcna)"),
        ({"actors": ["Vladimir Putin"]}, {}, "no actor of the route (Vladimir Putin) named"),
        ({"exclude_words": ["drill"]}, {}, "mentions excluded word(s) 'drill'"),
    ],
)
def test_each_failing_condition_is_named(
    rule: dict[str, object], c: dict[str, object], reason: str
) -> None:
    item = make_item("Navies hold a drill.", title="Drill", feed="wire", language="en")
    assert route_reasons(route(**rule), item, classification(**c), 0.5) == [reason]


def test_reasons_are_empty_exactly_when_the_route_matches() -> None:
    rules = [{}, {"min_score": 0.9}, {"types": ["military"]}, {"types": ["summit"]},
             {"languages": ["en"]}, {"actors": ["kim jong un"]},
             {"exclude_words": ["rain"]}]  # fmt: skip
    cs = [classification(), classification(score=0.95), classification(relevant=False),
          classification(actors=()), classification(language="ru")]  # fmt: skip
    item = make_item("Rain and a drill.", title="t", feed="wire")
    for rule, c in itertools.product(rules, cs):
        r = route(**rule)
        assert (not route_reasons(r, item, c, 0.5)) == route_matches(r, item, c, 0.5), (rule, c)
    assert route_reasons(route(), item, None, 0.5) == ["no classifier answered"]


def test_timing_names_quiet_hours_and_digests() -> None:
    night = datetime(2025, 6, 4, 23, 0, tzinfo=UTC)
    assert timing(route(), night) is None
    held = timing(route(quiet_hours="22:00-07:00"), night)
    assert held == "quiet hours (22:00-07:00): held until 2025-06-05 07:00 UTC"
    digest = timing(route(mode="digest", schedule="0 8 * * *"), night)
    assert digest == "digest: sent with the next digest at 2025-06-05 08:00 UTC"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Config]]:
    tmp = tmp_path_factory.mktemp("explain")
    with FeedServer() as server:
        config = world_config(tmp, server)
        run_world(config, NotifierCapture())
    path = tmp / "monitor.toml"
    path.write_text(
        f"""
[store]
path = "{config.store.path}"

[[routes]]
name = "analysts"
notifiers = ["console"]

[[routes]]
name = "military-desk"
notifiers = ["console"]
types = ["military"]
min_score = 0.6
""",
        encoding="utf-8",
    )
    yield path, config


def test_explain_by_url_prints_the_classification_and_each_route(
    stored: tuple[Path, Config], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = stored
    assert main(["explain", "https://kcna-watch.example/shoigu", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert "classification: relevant, score 0.99, primary high_level_visit" in out
    assert "actors: Sergei Shoigu, Kim Jong Un" in out
    # the story's first report (whichever feed was read first) is "new", the others follow up
    assert re.search(r"  analysts: (new|followup) alert #\d+ \(inbox sent\)", out)
    assert "  military-desk: no alert: type high_level_visit not in route (military)" in out
    assert "classifier explanation (current plugins):" in out and "relevance score" in out


def test_explain_by_id_as_json_and_unknown_items(
    stored: tuple[Path, Config], capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = stored
    store = SqlStore(config.store.sqlalchemy_url())
    weather = store.find_item("https://kcna-watch.example/weather")
    store.close()
    assert main(["explain", str(weather), "-c", str(path), "--json", "--stored"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["classification"]["relevant"] is False and doc["explanation"] == []
    assert {r["route"]: r["reasons"] for r in doc["routes"]} == {
        "analysts": ["not relevant (score 0.00)"],
        "military-desk": ["not relevant (score 0.00)", "type none not in route (military)"],
    }
    assert main(["explain", "https://nowhere.example/x", "-c", str(path)]) == 1
    assert "no stored item" in capsys.readouterr().err


def test_each_processed_item_logs_one_decision_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FeedServer() as server, caplog.at_level(logging.INFO, logger="monitor.alerts.reasons"):
        config = world_config(tmp_path, server, only=["drills", "weather"])
        run_world(config, NotifierCapture())
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.alerts.reasons"]
    assert len(lines) == 2, lines
    drills = next(line for line in lines if "primary=military" in line)
    assert "relevant=true" in drills and "story=new" in drills
    assert "analysts=new" in drills and "military-desk=new" in drills
    weather = next(line for line in lines if "relevant=false" in line)
    assert "analysts=skip(not relevant (score 0.00))" in weather
    record = next(r for r in caplog.records if r.getMessage() == drills)
    assert isinstance(getattr(record, "item", None), int)
