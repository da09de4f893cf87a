"""Slack notifier specifics, against the local Slack look-alike (no mocks)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from monitor.errors import ConfigError, DeliveryError
from monitor.notify.render import view
from monitor.notify.samples import sample_alert, sample_alerts
from monitor.plugins.slack import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    SECTION_LIMIT,
    TEXT_LIMIT,
    SlackNotifier,
    alert_message,
)
from monitor.taxonomy import CONTACT_TYPES
from monitor.testing.slackserver import SlackServer, validate
from monitor.web.slack_blocks import NOT_RELEVANT, WRONG_TYPE


@pytest.fixture
def server() -> Iterator[SlackServer]:
    with SlackServer() as s:
        yield s


@pytest.fixture
def bot(server: SlackServer) -> Iterator[SlackNotifier]:
    n = SlackNotifier(
        "bot",
        {
            "token": server.token,
            "channel": server.channel,
            "api_url": server.api_url,
            "username": "monitor",
            "icon_emoji": ":satellite:",
            "timeout": 5,
        },
    )
    yield n
    n.close()


@pytest.fixture
def hook(server: SlackServer) -> Iterator[SlackNotifier]:
    n = SlackNotifier("hook", {"webhook_url": server.webhook_url, "timeout": 5})
    yield n
    n.close()


def _texts(blocks: list[dict]) -> list[tuple[str, str]]:
    out = []
    for b in blocks:
        if "text" in b:
            out.append((b["type"], b["text"]["text"]))
        for e in b.get("elements", []):
            out.append((b["type"], e["text"]))
    return out


def test_block_kit_shape(server: SlackServer, bot: SlackNotifier) -> None:
    receipt = bot.send([sample_alert()])
    (msg,) = server.messages
    assert receipt.external_id == msg.ts
    payload = msg.payload
    assert payload["channel"] == server.channel and payload["username"] == "monitor"
    assert payload["icon_emoji"] == ":satellite:"
    assert payload["text"].startswith("New: Putin and Kim")  # plain fallback for notifications
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds == ["section", "section", "section", "context"]
    headline, details, quote = (b["text"]["text"] for b in payload["blocks"][:3])
    assert headline == (
        "*New:* *<https://tass.com/politics/1673581|"
        "Putin and Kim Jong Un hold talks at the Vostochny Cosmodrome>*"
    )
    assert "*Types:* summit 0.96 · military cooperation 0.62" in details
    assert "*Actors:* Vladimir Putin, Kim Jong Un, Sergei Shoigu" in details
    assert "*Where / when:* Vostochny Cosmodrome, Amur Region · 2023-09-13" in details
    assert quote.startswith("> Russian President Vladimir Putin")
    assert "TASS (sample) · en" in payload["blocks"][3]["elements"][0]["text"]


def test_update_names_the_new_type_and_broadcasts_in_thread(
    server: SlackServer, bot: SlackNotifier
) -> None:
    first = bot.send([sample_alert()])
    again = bot.send([sample_alert("update", thread_ref=first.external_id, alert_id=2)])
    reply = server.messages[-1]
    assert reply.thread_ts == first.external_id and reply.payload["reply_broadcast"] is True
    assert again.external_id == first.external_id  # the thread root stays the reference
    assert "*New types:* military cooperation" in reply.text
    assert "now also military cooperation" in reply.payload["text"]


def test_followup_is_a_thread_reply(server: SlackServer, bot: SlackNotifier) -> None:
    first = bot.send([sample_alert()])
    bot.send([sample_alert("followup", thread_ref=first.external_id, alert_id=2)])
    (reply,) = server.replies(first.external_id or "")
    assert "reply_broadcast" not in reply.payload
    assert [b["type"] for b in reply.payload["blocks"]] == ["context"]
    assert reply.payload["blocks"][0]["elements"][0]["text"] == (
        "Also reported by *Yonhap (sample)*: <https://www.yna.co.kr/view/AEN20230913006351315"
        "|Kim Jong Un meets Putin at Russian space centre>"
    )


def test_webhook_cannot_thread(server: SlackServer, hook: SlackNotifier) -> None:
    first = hook.send([sample_alert()])
    assert first.external_id is None
    hook.send([sample_alert("followup", thread_ref="1700000000.000001", alert_id=2)])
    followup = server.messages[-1]
    assert followup.via == "webhook" and followup.thread_ts is None
    assert "thread_ts" not in followup.payload
    assert [b["type"] for b in followup.payload["blocks"]] == ["context"]


def test_limits_with_huge_title_and_evidence(server: SlackServer, bot: SlackNotifier) -> None:
    huge = ("Kim <!channel> & Putin " * 500)[:10_000]
    alert = sample_alert(title=huge, feed="F " * 3000)
    evidence = alert.classification.evidence[0]
    cls = replace(
        alert.classification,
        evidence=(replace(evidence, text=huge),),
        actors=tuple(f"Person {i} " * 20 for i in range(200)),
    )
    alert = replace(alert, classification=cls)
    bot.send([alert])
    (msg,) = server.messages
    assert server.rejected == [] and server.mentions == []
    for kind, text in _texts(msg.payload["blocks"]):
        assert len(text) <= SECTION_LIMIT, kind
    assert len(msg.payload["text"]) <= TEXT_LIMIT
    headline = msg.payload["blocks"][0]["text"]["text"]
    assert "…|" in headline or "…>" in headline  # cut on a word, with an ellipsis
    assert "&amp;" in headline and "&lt;!channel&gt;" in headline


def test_digest_respects_the_block_limit(server: SlackServer, bot: SlackNotifier) -> None:
    receipt = bot.send(sample_alerts(80), digest=True)
    (msg,) = server.messages
    blocks = msg.payload["blocks"]
    assert receipt.external_id == msg.ts
    assert len(blocks) == MAX_BLOCKS and server.rejected == []
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    assert blocks[-1]["elements"][0]["text"] == "_and 31 more stories_"  # 79 stories, 48 shown
    assert "Also reported by *Yonhap (sample)*" in blocks[1]["text"]["text"]


def test_rate_limit_carries_retry_after(server: SlackServer, bot: SlackNotifier) -> None:
    server.fail_next(429, retry_after=17)
    with pytest.raises(DeliveryError) as info:
        bot.send([sample_alert()])
    assert info.value.retry_after == 17.0 and not info.value.permanent
    bot.send([sample_alert()])  # and the next attempt goes through
    assert len(server.messages) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_temporary(server: SlackServer, hook: SlackNotifier, status: int) -> None:
    server.fail_next(status)
    with pytest.raises(DeliveryError) as info:
        hook.send([sample_alert()])
    assert not info.value.permanent


@pytest.mark.parametrize(
    "error",
    [
        "invalid_payload",
        "channel_not_found",
        "invalid_auth",
        "not_authed",
        "is_archived",
        "msg_too_long",
    ],
)
def test_slack_errors_dead_letter_with_the_reason(
    server: SlackServer, bot: SlackNotifier, error: str
) -> None:
    server.fail_next(error=error)
    with pytest.raises(DeliveryError) as info:
        bot.send([sample_alert()])
    assert info.value.permanent and error in str(info.value)


def test_ratelimited_error_code_is_temporary(server: SlackServer, bot: SlackNotifier) -> None:
    server.fail_next(error="ratelimited")
    with pytest.raises(DeliveryError) as info:
        bot.send([sample_alert()])
    assert not info.value.permanent


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("invalid_payload", 400),
        ("no_service", 404),
        ("channel_not_found", 404),
        ("is_archived", 410),
    ],
)
def test_webhook_rejections_are_permanent(
    server: SlackServer, hook: SlackNotifier, error: str, status: int
) -> None:
    server.fail_next(error=error)
    with pytest.raises(DeliveryError) as info:
        hook.send([sample_alert()])
    assert info.value.permanent and error in str(info.value) and str(status) in str(info.value)
    assert server.webhook_path not in str(info.value)


def test_real_token_and_channel_checks(server: SlackServer) -> None:
    wrong = SlackNotifier(
        "x", {"token": "xoxb-wrong", "channel": server.channel, "api_url": server.api_url}
    )
    with pytest.raises(DeliveryError, match="invalid_auth") as info:
        wrong.send([sample_alert()])
    assert info.value.permanent
    lost = SlackNotifier(
        "x", {"token": server.token, "channel": "C0NOWHERE", "api_url": server.api_url}
    )
    with pytest.raises(DeliveryError, match="channel_not_found"):
        lost.send([sample_alert()])


def test_webhook_url_is_redacted_from_http_logs(
    server: SlackServer, hook: SlackNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook.send([sample_alert()])
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in logged and server.webhook_path not in logged


def test_options_need_webhook_or_token_and_channel() -> None:
    with pytest.raises(ConfigError) as info:
        SlackNotifier("s", {})
    assert info.value.problems == [
        "notifiers.s.webhook_url: expected an incoming webhook URL, or token and channel"
    ]
    with pytest.raises(ConfigError, match="not both"):
        SlackNotifier(
            "s",
            {
                "webhook_url": "https://hooks.slack.com/services/T/B/x",
                "token": "xoxb-1",
                "channel": "C1",
            },
        )


def test_test_server_flags_what_slack_would_refuse() -> None:
    assert validate({})[0] == "no_text"
    assert validate(
        {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}
    )[0]
    assert validate({"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]})[0]
    assert validate({"blocks": [{"type": "divider"}] * 51})[0] == "invalid_blocks"
    message = alert_message(view(sample_alert()))
    assert validate(message) == (None, [])


def test_interactive_alerts_carry_feedback_controls_slack_accepts(server: SlackServer) -> None:
    options = {"token": server.token, "channel": server.channel, "api_url": server.api_url}
    n = SlackNotifier("i", {**options, "interactive": True})
    try:
        first = n.send([sample_alert()])
        n.send([sample_alert("update", thread_ref=first.external_id, alert_id=2)])
        n.send([sample_alert("followup", thread_ref=first.external_id, alert_id=3)])
        n.send(sample_alerts(5), digest=True)
    finally:
        n.close()
    assert server.rejected == [] and server.mentions == []
    new, update, followup, digest = (m.payload["blocks"] for m in server.messages)
    for key, blocks in (("sample-1", new), ("sample-2", update)):
        actions = blocks[-1]
        assert actions["type"] == "actions" and actions["block_id"] == f"monitor_feedback:{key}"
        button, select = actions["elements"]
        assert button == {
            "type": "button",
            "action_id": NOT_RELEVANT,
            "text": {"type": "plain_text", "text": "Not relevant"},
            "value": key,
        }
        assert select["type"] == "static_select" and select["action_id"] == WRONG_TYPE
        assert [o["value"] for o in select["options"]] == list(CONTACT_TYPES)
        assert {"type": "plain_text", "text": "high-level visit"} in [
            o["text"] for o in select["options"]
        ]
    assert "actions" not in [b["type"] for b in followup + digest]
    plain = SlackNotifier("p", options)
    try:
        plain.send([sample_alert()])
    finally:
        plain.close()
    assert "actions" not in [b["type"] for b in server.messages[-1].payload["blocks"]]


def test_feedback_controls_stay_within_slacks_limits_for_long_item_keys() -> None:
    v = view(sample_alert())
    for key, kinds in (
        ("k" * 238, ["button", "static_select"]),  # "monitor_feedback:" + key: 255
        ("k" * 239, ["button"]),  # no room in a block_id: the button only
        ("k" * 2000, ["button"]),
        ("k" * 2001, []),  # no room in a button's value: no controls
    ):
        message = alert_message(v, key)
        assert validate(message) == (None, []), len(key)
        actions = [b for b in message["blocks"] if b["type"] == "actions"]
        assert [e["type"] for b in actions for e in b["elements"]] == kinds, len(key)


def test_test_server_flags_actions_blocks_slack_would_refuse() -> None:
    def problems(*elements: dict[str, Any], **block: Any) -> list[str]:
        actions = {"type": "actions", "elements": list(elements), **block}
        error, found = validate({"text": "x", "blocks": [actions]})
        assert (error == "invalid_blocks") == bool(found)
        return found

    def button(action_id: str = "a", text: str = "Go", **kw: Any) -> dict[str, Any]:
        return {"type": "button", "action_id": action_id,
                "text": {"type": "plain_text", "text": text}, **kw}  # fmt: skip

    def select(n: int = 3, text: str = "t", value: str = "v") -> dict[str, Any]:
        options = [
            {"text": {"type": "plain_text", "text": text}, "value": f"{value}{i}"} for i in range(n)
        ]
        return {"type": "static_select", "action_id": "s", "options": options}

    assert problems(button(value="x" * 2000), select(100, "t" * 75, "v" * 147)) == []
    assert problems(button("a"), button("a"))  # action_id unique within the block
    assert problems(button("a" * 256))
    assert problems(button(text="t" * 76))
    assert problems(button() | {"text": {"type": "mrkdwn", "text": "*Go*"}})  # plain_text only
    assert problems(button(value="x" * 2001))
    assert problems(select(101))
    assert problems(select(text="t" * 76))
    assert problems(select(value="v" * 150))  # "v" * 150 + index: over 150
    assert problems()  # no elements
    assert problems(button(), block_id="b" * 256)
    assert validate({"text": "x", "blocks": [{"type": "divider", "block_id": "b"}] * 2}) == (
        "invalid_blocks",
        ["blocks[1]: duplicate block_id 'b'"],
    )
