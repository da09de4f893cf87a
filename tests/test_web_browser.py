"""The web UI in a real browser: Debian's headless Chromium driven by selenium through
chromium-driver, over a store the real pipeline filled from a local feed server.

The timeline shows the stories, a filter narrows them, the story page highlights the
evidence, a silence created in the UI stops the next alert, and a feedback click
appears in `monitor feedback export`. With MONITOR_SCREENSHOTS=DIR the main pages are
saved there as PNG (docs/screenshots/ holds the ones in the docs).

Skipped only where no browser is installed (.ci/run installs chromium and
chromium-driver when missing).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import Config
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer
from monitor.testing.kit import NotifierCapture, host_with
from monitor.web.app import build_app
from monitor.web.server import host_classifier
from monitor.web.testing import ARTICLES, ServedApp, run_world, serve, world_config

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
TOKEN = "browser-token"
AGREEMENT = (
    "agreement",
    "Shoigu and Kim Jong Un sign agreement in Pyongyang",
    "Russian Security Council Secretary Sergei Shoigu and North Korean leader Kim Jong Un "
    "signed an agreement on cooperation during Shoigu's visit to Pyongyang on June 4, 2025, "
    "North Korean state media reported on Thursday.",
    "2025-06-05T08:00:00Z",
)

if CHROMIUM is None or DRIVER is None:
    pytest.skip(
        "no headless browser: install Debian's chromium and chromium-driver "
        "(apt-get install -y chromium chromium-driver; .ci/run does when missing)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402 - only with a browser to drive
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.expected_conditions import staleness_of  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@dataclass
class Session:
    browser: WebDriver
    app: ServedApp
    server: FeedServer
    config: Config
    config_file: Path
    shots: Path | None

    def open(self, path: str) -> None:
        """Load `path` and wait until its document is complete: a look taken while the
        previous page's nodes are being replaced fails ("Node ... does not belong to
        the document")."""
        self.browser.get(self.app.url(path))
        WebDriverWait(self.browser, 10).until(
            lambda b: b.execute_script("return document.readyState") == "complete"
        )

    def find(self, css: str) -> Any:
        return self.browser.find_element(By.CSS_SELECTOR, css)

    def follow(self, css: str) -> None:
        """Click what `css` finds (a link, a submit button) and wait until the browser
        has left the page, so the next look is at the page that answered, never at the
        old one going stale under it."""
        old = self.browser.find_element(By.TAG_NAME, "html")
        self.find(css).click()
        WebDriverWait(self.browser, 20).until(staleness_of(old))

    def all(self, css: str) -> list[Any]:
        return list(self.browser.find_elements(By.CSS_SELECTOR, css))

    def shot(self, name: str) -> None:
        if self.shots is not None:
            self.browser.save_screenshot(str(self.shots / f"{name}.png"))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    tmp = tmp_path_factory.mktemp("browser")
    shots = os.environ.get("MONITOR_SCREENSHOTS")
    shots_dir = Path(shots) if shots else None
    if shots_dir is not None:
        shots_dir.mkdir(parents=True, exist_ok=True)
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1280,1000", f"--user-data-dir={tmp / 'profile'}",
    ):  # fmt: skip
        options.add_argument(arg)
    with FeedServer() as server:
        config = world_config(tmp, server, only=["shoigu", "weather", "drills"],
                              web={"token": TOKEN})  # fmt: skip
        run_world(config, NotifierCapture())
        config_file = tmp / "monitor.toml"
        config_file.write_text(f'[store]\npath = "{config.store.path}"\n', encoding="utf-8")
        store = SqlStore(config.store.sqlalchemy_url())
        host = host_with(config=config, builtins=True)
        browser = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
        browser.set_page_load_timeout(20)
        try:
            served = ServedApp(build_app(store, config, classifier=host_classifier(host)))
            with served as app:
                yield Session(browser, app, server, config, config_file, shots_dir)
        finally:
            browser.quit()
            host.shutdown()
            store.close()


def test_the_timeline_shows_the_stories_and_a_filter_narrows_them(session: Session) -> None:
    session.open("/")
    rows = session.all("tr.story")
    assert len(rows) == 2
    assert any("Sergei Shoigu" in r.text for r in rows)
    assert session.all("figure.chart svg rect")
    session.shot("timeline")
    Select(session.find("#f-type")).select_by_value("military")
    session.follow("#apply")
    rows = session.all("tr.story")
    assert len(rows) == 1 and "military" in rows[0].text
    assert "type=military" in session.browser.current_url
    session.find("#f-q").send_keys("Пхеньян")
    session.follow("#apply")
    assert session.all("tr.story") == []  # the drills are not in Pyongyang


def test_the_story_page_highlights_the_evidence(session: Session) -> None:
    session.open("/")
    session.follow("tr.story[data-story='1'] a.story-link")
    assert "/story/1" in session.browser.current_url
    reports = session.all("article.report")
    assert len(reports) == 3
    marks = session.all("mark.evidence")
    assert marks and all(m.is_displayed() for m in marks)
    background = marks[0].value_of_css_property("background-color")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    assert any("Pyongyang" in m.text or "Пхеньян" in m.text for m in marks)
    session.shot("story")


def test_escaped_feed_markup_stays_text(session: Session) -> None:
    session.open("/?type=military")
    link = session.find("a.story-link")
    assert link.text.startswith("<script>alert('x')</script>")  # shown, not run
    session.follow("a.story-link")
    assert session.browser.execute_script("return document.scripts.length") == 0


def test_a_silence_created_in_the_ui_stops_the_next_alert(session: Session) -> None:
    session.open("/story/1")
    assert session.all("#silence-story") == []  # read-only until logged in
    session.open("/login")
    session.find("#token").send_keys(TOKEN)
    session.follow("#login")
    assert "actions enabled" in session.find("header").text
    session.open("/story/1")
    Select(session.find("#silence-route")).select_by_value("analysts")
    session.find("#silence-comment").send_keys("flooding the channel")
    session.follow("#silence-submit")
    session.open("/silences")
    assert "story #1" in session.find("#silences").text
    assert "flooding the channel" in session.find("#silences").text

    articles = {**ARTICLES, "kcna-watch": [*ARTICLES["kcna-watch"], AGREEMENT]}
    serve(session.server, articles)  # story 1 gains a type: an update would go out
    capture = NotifierCapture()
    run_world(session.config, capture)
    assert [a.route for a in capture.alerts if a.story_id == 1] == []
    session.open("/silences")
    silenced = session.all("tr.silenced")
    assert silenced and "update" in silenced[0].text
    session.shot("silences")


def test_a_feedback_click_appears_in_the_export(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session.open("/?type=military")
    session.follow("a.story-link")
    session.follow("article.report h3 a")
    assert "/item/" in session.browser.current_url
    assert "alerted" in session.find("#routes").text
    assert "relevance score" in session.find("pre.explanation").text
    session.shot("item")
    Select(session.find("#right-type")).select_by_value("security")
    session.follow("#wrong-type")
    assert "security" in session.find("#feedback ~ p.feedback-row").text
    corpus = tmp_path / "corpus.jsonl"
    assert main(["feedback", "export", "-c", str(session.config_file), "-o", str(corpus)]) == 0
    (line,) = [json.loads(x) for x in corpus.read_text(encoding="utf-8").splitlines()]
    assert line["url"] == "https://asia-wire.example/drills" and line["types"] == ["security"]


def test_the_feeds_and_outbox_pages(session: Session) -> None:
    session.open("/feeds")
    assert len(session.all("tr.feed")) == 3
    session.shot("feeds")
    session.open("/outbox")
    assert "sent" in session.find("main").text
    session.shot("outbox")
