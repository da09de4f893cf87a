"""The Teams notifier against a real local HTTP endpoint (`webhook_receiver` fixture)."""

from __future__ import annotations

import monitor_teams as teams
import pytest

from monitor.errors import ConfigError, DeliveryError
from monitor.notify import sample_alert, sample_alerts
from monitor.testing.feedserver import rss
from monitor.testing.kit import feed_config, run_once


def test_kind_is_provided(register_plugin) -> None:
    host = register_plugin(teams, "teams")
    assert host.notifier_kinds() == {"teams": teams.TeamsNotifier}


def test_one_alert_is_one_card(webhook_receiver) -> None:
    notifier = teams.TeamsNotifier("analysts", {"url": webhook_receiver.url("/webhook/x")})
    alert = sample_alert()
    receipt = notifier.send([alert])
    notifier.close()
    assert receipt.detail == "HTTP 200 1"
    (request,) = webhook_receiver.requests
    assert request.path == "/webhook/x"
    body = request.json()
    assert body["@type"] == "MessageCard" and body["title"] == f"New: {alert.item.title}"
    facts = {f["name"]: f["value"] for f in body["sections"][0]["facts"]}
    assert "summit" in facts["Types"] and "Vladimir Putin" in facts["Actors"]
    assert body["potentialAction"][0]["targets"][0]["uri"] == alert.item.url


def test_digest_is_one_card_with_a_section_per_alert(webhook_receiver) -> None:
    notifier = teams.TeamsNotifier("analysts", {"url": webhook_receiver.url()})
    notifier.send(sample_alerts(3), digest=True)
    body = webhook_receiver.requests[0].json()
    assert body["title"] == "monitor digest: 3 alerts" and len(body["sections"]) == 3


def test_throttling_is_temporary_and_bad_url_permanent(webhook_receiver) -> None:
    notifier = teams.TeamsNotifier("analysts", {"url": webhook_receiver.url()})
    webhook_receiver.respond(429, headers={"Retry-After": "7"})
    with pytest.raises(DeliveryError) as throttled:
        notifier.send([sample_alert()])
    assert not throttled.value.permanent and throttled.value.retry_after == 7
    webhook_receiver.respond(400, "Bad payload")
    with pytest.raises(DeliveryError) as refused:
        notifier.send([sample_alert()])
    assert refused.value.permanent
    assert notifier.send([sample_alert()]).detail.startswith("HTTP 200")


def test_options_are_checked_and_the_url_stays_secret() -> None:
    with pytest.raises(ConfigError) as error:
        teams.TeamsNotifier("analysts", {"url": "teams.example", "colour": "red"})
    assert "notifiers.analysts.colour: unknown key" in error.value.problems
    assert any(p.startswith("notifiers.analysts.url") for p in error.value.problems)
    secret = "https://example.webhook.office.com/webhookb2/SECRET"
    assert "SECRET" not in repr(teams.TeamsNotifier("analysts", {"url": secret}))


def test_end_to_end_through_a_route(feed_server, webhook_receiver, tmp_path) -> None:
    from monitor.hookspecs import hookimpl
    from monitor.models import Classification

    class Flags:  # a stand-in classifier: everything about "Pyongyang" is a summit
        @hookimpl
        def monitor_classify(self, item):
            if "Pyongyang" in item.full_text:
                return Classification(relevant=True, score=0.9, types={"summit": 0.9})
            return None

    feed_server.route(
        "/feed.xml",
        rss([{"title": "Talks in Pyongyang", "link": "https://news.example/1",
              "summary": "Leaders met in Pyongyang."}]),
    )  # fmt: skip
    config = feed_config(
        tmp_path / "monitor.db",
        [feed_server.url("/feed.xml")],
        notifiers={"analysts": {"kind": "teams", "url": webhook_receiver.url()}},
    )
    report = run_once(config, Flags(), teams)
    assert report.delivery.sent == 1
    assert webhook_receiver.requests[0].json()["title"] == "New: Talks in Pyongyang"
