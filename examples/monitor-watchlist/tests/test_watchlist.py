"""Tests of the watch-list classifier with monitor's testing kit (`monitor.testing`)."""

from __future__ import annotations

import monitor_watchlist as watchlist

from monitor.host import validate_classification
from monitor.testing.feedserver import rss
from monitor.testing.kit import feed_config, run_once

SEED_003 = "003_25654647b5be0694"


def test_flags_a_name_on_the_default_list(register_plugin, make_item) -> None:
    host = register_plugin(watchlist, "watchlist")
    result = host.classify(make_item("Choe Son-hui arrived in Moscow on Monday."))
    assert result is not None and result.relevant
    assert result.actors == ("Choe Son Hui",)
    assert host.errors == {}


def test_abstains_when_nobody_is_named(register_plugin, make_item) -> None:
    host = register_plugin(watchlist, "watchlist")
    assert host.classify(make_item("Grain prices rose in Rostov.")) is None


def test_names_and_aliases_come_from_the_config(register_plugin, make_item) -> None:
    host = register_plugin(
        watchlist,
        "watchlist",
        options={"names": ["Jane Analyst"], "aliases": {"Jane Analyst": ["J. Analyst"]}},
    )
    result = host.classify(make_item("A note by J. Analyst; Shoigu was not mentioned."))
    assert result is not None and result.actors == ("Jane Analyst",)


def test_bad_options_fail_the_plugin_with_the_reason(register_plugin) -> None:
    host = register_plugin(watchlist, "watchlist", options={"score": 2, "colour": "red"})
    info = host.infos["watchlist"]
    assert info.status == "failed"
    assert "plugins.options.watchlist.score" in (info.error or "")
    assert "plugins.options.watchlist.colour: unknown key" in (info.error or "")


def test_output_is_well_formed_and_input_unchanged(make_item) -> None:
    item = make_item("Сергей Шойгу и Ким Ё Чжон", title="Visite")
    result = watchlist.monitor_classify(item)
    assert result is not None and validate_classification(result) is None
    assert result.actors == ("Sergei Shoigu", "Kim Yo Jong")
    assert item.text == "Сергей Шойгу и Ким Ё Чжон"


def test_seeds(register_plugin, run_seeds) -> None:
    host = register_plugin(
        watchlist,
        "watchlist",
        options={"names": ["Kim Jong Un", "Sergei Shoigu", "Vladimir Putin"]},
    )
    report = run_seeds(host.classify)
    assert report.met(SEED_003, "actors")  # a failure names each check: expected, got
    assert not report.failed("relevant"), report.explain("relevant")  # each names one


def test_alerts_from_a_live_feed(feed_server, notifier_capture, tmp_path) -> None:
    feed_server.route(
        "/feed.xml",
        rss(
            [
                {"title": "Choe Son Hui meets Lavrov", "link": "https://news.example/1",
                 "summary": "Choe Son Hui met Sergei Lavrov in Moscow."},
                {"title": "Weather", "link": "https://news.example/2",
                 "summary": "Rain in Vladivostok."},
            ]
        ),
    )  # fmt: skip
    config = feed_config(tmp_path / "monitor.db", [feed_server.url("/feed.xml")])
    report = run_once(config, watchlist, capture=notifier_capture)
    assert report.delivery.sent == 1
    (alert,) = notifier_capture.alerts
    assert alert.item.title == "Choe Son Hui meets Lavrov"
    assert alert.classification.actors == ("Choe Son Hui", "Sergei Lavrov")
