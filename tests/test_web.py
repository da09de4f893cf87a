"""The web UI over a store filled by the real pipeline from a local feed server, served
by uvicorn on 127.0.0.1 and read with httpx: pages, filters, full-text search,
escaping, the CSP, the token, /healthz and /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from monitor.config import Config
from monitor.service.health import Health
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer
from monitor.testing.kit import NotifierCapture
from monitor.web.app import CSP, build_app, highlight
from monitor.web.testing import ServedApp, run_world, world_config

TOKEN = "correct horse battery staple"


@dataclass
class World:
    config: Config
    store: SqlStore
    app: ServedApp
    capture: NotifierCapture

    def get(self, path: str, **kw: object) -> httpx.Response:
        return httpx.get(self.app.url(path), **kw)  # type: ignore[arg-type]

    def ids(self, title_part: str) -> int:
        for record in self.store.items_since(None):
            if title_part in record.item.title:
                return record.id
        raise AssertionError(f"no item titled like {title_part!r}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("web")
    with FeedServer() as server:
        config = world_config(tmp, server, web={"token": TOKEN})
        capture = NotifierCapture()
        run_world(config, capture)
    store = SqlStore(config.store.sqlalchemy_url())

    async def health() -> Health:
        return Health({"store": True})

    app = build_app(store, config, health=health, metrics=lambda: (b"monitor_up 1\n", "text/plain"))
    with ServedApp(app) as served:
        yield World(config, store, served, capture)
    store.close()


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="story" data-story="(\d+)">', html)


def test_the_timeline_lists_stories_newest_first_with_reports_and_languages(
    world: World,
) -> None:
    page = world.get("/")
    assert page.status_code == 200
    assert len(rows(page.text)) == 2  # the visit (3 outlets, 2 languages) and the drills
    assert "2 stories" in page.text
    visit = page.text.split('data-story="1"', 1)[1].split("</tr>", 1)[0]
    assert "high_level_visit" in visit and "Sergei Shoigu" in visit
    assert ">3 <" in visit and "3 outlets" in visit and "en, ru" in visit
    assert "<svg" in page.text and page.text.count("<rect ") >= 2  # contacts per week


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=military", 1),
        ("type=summit", 0),
        ("language=ru", 1),
        ("feed=ria-ru", 1),
        ("feed=asia-wire", 2),
        ("actor=shoigu", 1),
        ("min_score=0.95", 1),
        ("since=2025-06-01", 1),
        ("until=2025-05-31", 1),
        ("q=Vladivostok", 1),
        ("q=Пхеньян", 1),
        ("q=rain", 0),  # the weather report is stored, but is no contact
        ("q=%22unbalanced", 0),  # FTS5 syntax in the input is plain text
        ("type=military&language=ru", 0),
    ],
)
def test_filters_and_full_text_search_narrow_the_timeline(
    world: World, query: str, expected: int
) -> None:
    page = world.get(f"/?{query}")
    assert page.status_code == 200
    assert len(rows(page.text)) == expected, query


def test_everything_from_a_feed_is_escaped_and_every_page_has_the_csp(world: World) -> None:
    drills = world.ids("navies hold joint drills")
    for path in ("/", "/story/2", f"/item/{drills}", "/feeds", "/outbox", "/silences", "/login"):
        page = world.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CSP
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script" not in page.text.lower(), path
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in world.get(f"/item/{drills}").text


def test_the_story_page_shows_every_report_its_evidence_and_its_alerts(world: World) -> None:
    page = world.get("/story/1").text
    assert page.count('<article class="report"') == 3
    assert "Шойгу прибыл в Пхеньян" in page and "Kim Jong Un receives Russia" in page
    marks = re.findall(r'<mark class="evidence t-high_level_visit"[^>]*>(.*?)</mark>', page, re.S)
    assert marks and any("Pyongyang" in m for m in marks)
    assert "inbox: sent" in page  # the alert sent for it, with its delivery status
    assert "analysts" in page and "followup" in page


def test_the_item_page_says_why_each_route_alerted_or_not(world: World) -> None:
    weather = world.get(f"/item/{world.ids('Rain expected')}").text
    assert "not relevant (score 0.00)" in weather
    visit = world.get(f"/item/{world.ids('Shoigu meets Kim')}").text
    assert "type high_level_visit not in route (military)" in visit
    assert re.search(r"(new|followup) alert #\d+ \(inbox sent\)", visit)
    drills = world.get(f"/item/{world.ids('joint drills')}").text
    routes = drills.split('id="routes"', 1)[1].split("</table>", 1)[0]
    assert routes.count("alerted") >= 2 and "military-desk" in routes


def test_highlight_cuts_text_at_evidence_and_merges_overlaps() -> None:
    from monitor.models import Evidence

    text = "One. Two three. Four."
    evidence = (Evidence("summit", "Two three.", 5, 15), Evidence("visit", "three. Four", 9, 20))
    assert highlight(text, evidence, {"summit", "visit"}) == [
        ("One. ", ""),
        ("Two three.", "summit"),
        (" Four", "visit"),
        (".", ""),
    ]
    assert highlight(text, evidence, set()) == [(text, "")]
    assert highlight(text, (Evidence("summit", "x", 5, 999),), {"summit"}) == [(text, "")]


def test_actions_need_the_token_and_the_same_origin(world: World) -> None:
    url = world.app.url("/silences")
    form = {"what": "type", "value": "economic", "for": "1h"}
    assert httpx.post(url, data=form).status_code == 403
    assert httpx.post(url, data=form, cookies={"monitor_token": "wrong"}).status_code == 403
    bearer = {"authorization": f"Bearer {TOKEN}"}
    assert httpx.post(url, data=form, headers=bearer).status_code == 303
    foreign = {**bearer, "origin": "https://evil.example"}
    assert httpx.post(url, data=form, headers=foreign).status_code == 403
    assert "type economic" in world.get("/silences").text
    bad = httpx.post(url, data={"what": "type", "value": "picnic"}, headers=bearer)
    assert bad.status_code == 400

    with httpx.Client(base_url=world.app.base) as browser:
        assert browser.post("/login", data={"token": "nope"}).status_code == 403
        login = browser.post("/login", data={"token": TOKEN})
        assert login.status_code == 303
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert "actions enabled" in browser.get("/").text
        (silence,) = [s for s in world.store.silences(datetime.now(UTC)) if s.type == "economic"]
        assert browser.post(f"/silences/{silence.id}/expire").status_code == 303
    assert not [s for s in world.store.silences(datetime.now(UTC)) if s.type == "economic"]


def test_the_feeds_and_outbox_pages_and_retrying_a_dead_letter(world: World) -> None:
    feeds = world.get("/feeds").text
    for name in ("kcna-watch", "ria-ru", "asia-wire"):
        assert name in feeds
    assert feeds.count('<span class="status sent">ok</span>') == 3
    (sent, *_) = world.store.outbox(["sent"])
    world.store.record_delivery(
        [sent["id"]], ok=False, now=datetime.now(UTC), detail="HTTP 500 from <b>x</b>", dead=True
    )
    outbox = world.get("/outbox").text
    assert "1 dead-lettered" in outbox and "HTTP 500 from &lt;b&gt;x&lt;/b&gt;" in outbox
    retry = world.app.url("/outbox/retry")
    assert httpx.post(retry, data={"id": str(sent["id"])}).status_code == 403
    ok = httpx.post(
        retry, data={"id": str(sent["id"])}, headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert ok.status_code == 303
    assert world.store.delivery_counts()["dead"] == 0


def test_healthz_metrics_and_missing_pages(world: World) -> None:
    health = world.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert world.get("/metrics").text == "monitor_up 1\n"
    assert world.get("/story/999").status_code == 404
    assert world.get("/item/999").status_code == 404
    assert world.get("/static/style.css").status_code == 200


def test_without_pages_only_health_and_metrics_are_served(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")

    async def unhealthy() -> Health:
        return Health({"store": "store is not writable"})

    app = build_app(store, Config(), health=unhealthy, pages=False)
    with ServedApp(app) as served:
        assert httpx.get(served.url("/")).status_code == 404
        assert httpx.get(served.url("/healthz")).status_code == 503
        assert httpx.get(served.url("/metrics")).status_code == 404
    store.close()


def test_the_daemon_server_runs_on_the_callers_loop_and_stops(tmp_path: Path) -> None:
    import asyncio

    from monitor.web.server import daemon_server

    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")

    async def health() -> Health:
        return Health({"scheduler": True, "store": True})

    def metrics() -> tuple[bytes, str]:
        return b"monitor_up 1\n", "text/plain; version=0.0.4"

    async def main() -> None:
        server = daemon_server("127.0.0.1:0", store, Config, health, metrics)
        assert server is not None
        host, port = await server.start()
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            assert (await client.get("/healthz")).json()["status"] == "ok"
            assert (await client.get("/metrics")).text == "monitor_up 1\n"
            assert "No stories" in (await client.get("/")).text
        await server.stop()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{host}:{port}/healthz")

    asyncio.run(main())
    assert daemon_server("", store, Config, health, metrics) is None
    store.close()


def test_schema_3_adds_the_workbench_tables_and_indexes_existing_items(tmp_path: Path) -> None:
    import sqlite3

    from monitor.store.base import EntryRecord
    from monitor.store.migrations import SCHEMA_VERSION
    from monitor.store.web import TimelineFilter

    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = SqlStore(url)
    feed = store.sync_feeds([("wire", "https://wire.example/rss")])["wire"]
    now = datetime.now(UTC)
    entry = EntryRecord("k1", None, "https://wire.example/1", "Lavrov in Wonsan", "",
                        "Sergei Lavrov arrived in Wonsan.", now, "h1")  # fmt: skip
    store.store_entries(feed.id, [entry], now)
    ((item_id, item),) = store.pending_items(10, now)
    store.commit_classification(item_id, item, None, None, [], now)  # processed
    store.close()
    db = sqlite3.connect(tmp_path / "m.db")  # as a schema-2 database left it
    for name in ("items_fts_ai", "items_fts_ad", "items_fts_au"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE items_fts")
    db.execute("DROP TABLE silences")
    db.execute("DROP TABLE feedback")
    db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    db.commit()
    db.close()
    store = SqlStore(url)
    try:
        assert [r.item.title for r in store.search_items("wonsan")] == ["Lavrov in Wonsan"]
        assert store.silences(now) == [] and store.feedback_records() == []
        assert store.timeline(TimelineFilter(q="wonsan")) == ([], 0)  # stored, no story
    finally:
        store.close()
    db = sqlite3.connect(tmp_path / "m.db")
    version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    db.close()
    assert version == str(SCHEMA_VERSION)
