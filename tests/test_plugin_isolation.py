"""A broken plugin never stops the pipeline: through a real cycle (feed on 127.0.0.1 ->
store -> enrich -> classify -> route -> notifier), the item is still classified by the
good classifier and alerted, whatever the other plugin does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.hookspecs import hookimpl
from monitor.host.loader import build_host
from monitor.models import Classification, Item
from monitor.service.runtime import Runtime
from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.kit import NotifierCapture, feed_config

RELEASE = threading.Event()


class Good:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification | None:
        if "Pyongyang" not in item.full_text:
            return None
        return Classification(relevant=True, score=0.9, types={"summit": 0.9}, primary="summit")


class Raises:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        raise RuntimeError("boom")


class Exits:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        raise SystemExit(3)


class Hangs:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        RELEASE.wait(30)
        return Classification(relevant=False, score=0.0)


class BadOutput:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        return Classification(relevant=True, score=7.0, types={"picnic": 2.0})


class BadEnricher:
    @hookimpl
    def monitor_enrich(self, item: Item) -> object:
        return ["not", "a", "mapping"]


@pytest.fixture(scope="module")
def feed() -> FeedServer:
    server = FeedServer().start()
    items = [
        {"title": f"Talks in Pyongyang, day {i}", "link": f"https://news.example/{i}",
         "guid": f"https://news.example/{i}", "summary": "Delegations met in Pyongyang."}
        for i in range(1, 5)
    ]  # fmt: skip
    items.append({"title": "Weather", "link": "https://news.example/w", "summary": "Rain."})
    server.route("/feed.xml", rss(items))
    yield server
    server.stop()


def cycle(config: Config, *plugins: object) -> tuple[object, NotifierCapture, object]:
    capture = NotifierCapture()
    host = build_host(config, builtins=False, entry_points=False)
    for plugin in plugins:
        host.register(plugin, type(plugin).__name__.lower(), "test")
    host.register(capture, "capture", "test")

    async def run() -> object:
        async with Runtime(config, host=host) as runtime:
            return await runtime.cycle(flush_digests=True)

    return asyncio.run(run()), capture, host


def assert_all_alerted(report: object, capture: NotifierCapture) -> None:
    assert report.delivery.sent == 4  # type: ignore[attr-defined]
    assert sorted(capture.titles()) == [f"Talks in Pyongyang, day {i}" for i in range(1, 5)]
    assert all(a.classification.primary == "summit" for a in capture.alerts)


@pytest.mark.parametrize("broken", [Raises(), Exits(), BadOutput(), BadEnricher()])
def test_broken_plugin_is_skipped_item_still_alerted(
    broken: object, feed: FeedServer, tmp_path: Path
) -> None:
    config = feed_config(tmp_path / "m.db", [feed.url("/feed.xml")])
    report, capture, host = cycle(config, broken, Good())
    assert_all_alerted(report, capture)
    assert host.errors[type(broken).__name__.lower()] >= 4  # type: ignore[attr-defined]


def test_hanging_plugin_is_timed_out_then_suspended(feed: FeedServer, tmp_path: Path) -> None:
    config = feed_config(
        tmp_path / "m.db", [feed.url("/feed.xml")], classifier={"timeout": "100ms"}
    )
    started = time.monotonic()
    try:
        report, capture, host = cycle(config, Hangs(), Good())
    finally:
        RELEASE.set()
    assert time.monotonic() - started < 10
    assert_all_alerted(report, capture)
    info = host.infos["hangs"]  # type: ignore[attr-defined]
    assert host.errors["hangs"] >= 2  # type: ignore[attr-defined]
    assert host.skipped["hangs"] >= 1  # type: ignore[attr-defined]
    assert info.status in ("loaded", "suspended")


def test_import_error_is_reported_and_the_rest_runs(
    feed: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exploding_plugin.py").write_text("raise ImportError('no such library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = feed_config(
        tmp_path / "m.db", [feed.url("/feed.xml")], plugins={"modules": ["exploding_plugin"]}
    )
    report, capture, host = cycle(config, Good())
    assert host.infos["exploding_plugin"].status == "failed"  # type: ignore[attr-defined]
    assert_all_alerted(report, capture)


def test_a_hung_call_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import threading
        from monitor.config import ClassifierConfig, Config
        from monitor.hookspecs import hookimpl
        from monitor.models import Item
        from monitor.host.manager import PluginHost

        class Forever:
            @hookimpl
            def monitor_classify(self, item):
                threading.Event().wait()

        host = PluginHost(Config(classifier=ClassifierConfig(timeout=0.1)))
        host.register(Forever(), "forever", "test")
        assert host.classify(Item(id="1", text="x")) is None
        host.shutdown()
        print("done")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=20
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "done", proc.stderr
