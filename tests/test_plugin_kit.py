"""The testing kit (`monitor.testing`): its fixtures, as plugin authors use them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from monitor.config import Config
from monitor.errors import DeliveryError
from monitor.hookspecs import hookimpl
from monitor.host.manager import PluginHost
from monitor.models import Classification, Item
from monitor.notify.samples import sample_alert
from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.kit import NotifierCapture, feed_config, run_once


class Counting:
    """A classifier that reads its options at startup and records shutdown."""

    def __init__(self) -> None:
        self.word = ""
        self.shut = False

    @hookimpl
    def monitor_startup(self, config: Config) -> None:
        self.word = config.plugins.options.get("counting", {}).get("word", "Pyongyang")

    @hookimpl
    def monitor_classify(self, item: Item) -> Classification | None:
        if self.word not in item.full_text:
            return None
        return Classification(relevant=True, score=0.8, types={"delegation": 0.8})

    @hookimpl
    def monitor_shutdown(self) -> None:
        self.shut = True
        SHUT.append(self.word)


SHUT: list[str] = []


def test_make_item_builds_frozen_items(make_item) -> None:
    a, b = make_item("text"), make_item("other", title="T", language="fr", meta={"k": 1})
    assert a.id != b.id and b.full_text == "T\n\nother" and b.language == "fr"
    with pytest.raises(TypeError):
        b.meta["k"] = 2


@pytest.fixture
def counting() -> Counting:
    return Counting()


def test_register_plugin_gives_a_fresh_host_with_options(
    register_plugin, make_item, counting: Counting
) -> None:
    host = register_plugin(counting, "counting", options={"word": "Vladivostok"})
    assert isinstance(host, PluginHost) and list(host.infos) == ["counting"]
    assert counting.word == "Vladivostok"  # monitor_startup ran
    assert host.classify(make_item("Talks in Vladivostok")).types["delegation"] == 0.8
    assert host.classify(make_item("Talks in Pyongyang")) is None


def test_register_plugin_shuts_the_host_down_after_the_test() -> None:
    assert "Vladivostok" in SHUT  # the previous test's host was shut down at its end


def test_run_seeds_reports_per_check(run_seeds) -> None:
    def always_summit(item: Item) -> Classification:
        return Classification(relevant=True, score=0.9, types={"summit": 0.9}, primary="summit")

    report = run_seeds(always_summit)
    assert len(report.seeds) == 5 and not report.ok
    assert not report.failed("relevant")  # every seed is relevant
    assert report.met("002_a8656912bc4093aa", "primary")
    assert not report.met("000_ec392fbef3080f6d", "primary")
    assert report.failed("actors") and "FAIL" in report.table()
    with pytest.raises(KeyError, match="its checks"):
        report.met("002_a8656912bc4093aa", "no-such-check")


SEED_003 = "003_25654647b5be0694"  # expects actors Kim Jong Un, Sergei Shoigu, Vladimir Putin
DOCUMENTED_FAILURE = (
    "<not met: seed 003_25654647b5be0694, check 'actors', 1 of 3 check(s) failed: "
    "actors-Vladimir Putin: expected Vladimir Putin, got Kim Jong Un, Sergei Shoigu>"
)


def two_of_three(item: Item) -> Classification:
    return Classification(relevant=True, score=0.9, actors=("Kim Jong Un", "Sergei Shoigu"))


def test_a_failing_seed_check_says_what_was_expected_and_what_came(run_seeds) -> None:
    report = run_seeds(two_of_three)
    with pytest.raises(AssertionError) as failed:
        assert report.met(SEED_003, "actors")
    message = str(failed.value)
    assert (
        "actors-Vladimir Putin: expected Vladimir Putin, got Kim Jong Un, Sergei Shoigu" in message
    )
    assert "SeedReport(checks=" not in message and "Check(" not in message
    with pytest.raises(AssertionError) as with_report:
        assert report.met(SEED_003, "actors"), report  # the older spelling reads well too
    assert "expected Vladimir Putin" in str(with_report.value)
    assert "Check(" not in str(with_report.value)
    # what the docs show is what comes
    assert repr(report.met(SEED_003, "actors")) == DOCUMENTED_FAILURE
    for page in ("testing.md", "tutorial.md"):
        doc = (Path(__file__).parent.parent / "docs" / "plugins" / page).read_text(encoding="utf-8")
        assert f"assert {DOCUMENTED_FAILURE}" in doc, page


def test_seed_report_text_lists_each_failing_check(run_seeds) -> None:
    report = run_seeds(two_of_three)
    assert report.met(SEED_003, "actors-Kim Jong Un") and report.met(SEED_003, "relevant")
    assert report.met(SEED_003, "relevant") == True  # noqa: E712 - compares like a bool
    text = str(report)
    assert text.splitlines()[0].endswith("fail:")
    assert f"  {SEED_003} actors-Vladimir Putin: expected Vladimir Putin, got" in text
    assert all("expected" in line for line in text.splitlines()[1:])
    assert report.explain("relevant") == "5 of 5 checks pass"
    assert repr(report).startswith("<SeedReport: ") and len(repr(report)) < 80


def test_notifier_capture_through_a_real_cycle(
    feed_server: FeedServer, notifier_capture: NotifierCapture, tmp_path: Path
) -> None:
    feed_server.route(
        "/feed.xml",
        rss([{"title": "Delegation in Pyongyang", "link": "https://news.example/1",
              "summary": "A delegation arrived in Pyongyang."}]),
    )  # fmt: skip
    config = feed_config(tmp_path / "m.db", {"news": feed_server.url("/feed.xml")})
    report = run_once(config, Counting(), capture=notifier_capture)
    assert report.delivery.sent == 1 and notifier_capture.titles() == ["Delegation in Pyongyang"]
    (sent,) = notifier_capture.sent
    assert sent.notifier == "inbox" and not sent.digest
    assert notifier_capture.closed == ["inbox"]


def test_notifier_capture_can_fail() -> None:
    capture = NotifierCapture()
    notifier = capture.notifier("x")
    capture.fail_next()
    with pytest.raises(DeliveryError):
        notifier.send([sample_alert()])
    assert notifier.send([sample_alert()]).external_id == "capture-1"
    assert len(capture.alerts) == 1


def test_webhook_receiver_records_and_answers(webhook_receiver) -> None:
    webhook_receiver.respond(503, "busy", headers={"Retry-After": "5"})
    first = httpx.post(webhook_receiver.url("/in"), json={"a": 1})
    second = httpx.post(webhook_receiver.url("/in"), content=b"plain")
    assert first.status_code == 503 and first.headers["Retry-After"] == "5"
    assert second.status_code == 200
    assert [r.path for r in webhook_receiver.requests] == ["/in", "/in"]
    assert webhook_receiver.requests[0].json() == {"a": 1}
    assert webhook_receiver.requests[1].text == "plain"


def test_loading_the_kit_imports_nothing_heavy() -> None:
    code = (
        "import sys, json, monitor.testing; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('monitor', 'aiosmtpd', "
        "'pydantic', 'pluggy', 'httpx')))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert json.loads(proc.stdout) == ["monitor", "monitor.testing"]
