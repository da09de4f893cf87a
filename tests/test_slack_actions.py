"""Slack's interactive buttons on alerts, end to end: the Slack notifier posts an alert
with feedback controls to the local Slack look-alike, a click on them is signed as
Slack signs it and posted to the real app's `/slack/actions` under uvicorn, and the
verdict shows in `monitor feedback export`. Unsigned, stale and malformed requests
are refused; without a signing secret there is no endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from monitor.cli import main
from monitor.config import Config
from monitor.models import Alert
from monitor.notify.samples import sample_alert
from monitor.plugins.slack import SlackNotifier
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer
from monitor.testing.kit import NotifierCapture
from monitor.testing.slackserver import SlackServer
from monitor.web.app import build_app
from monitor.web.slack_actions import signature_ok
from monitor.web.slack_blocks import NOT_RELEVANT, WRONG_TYPE
from monitor.web.testing import ServedApp, run_world, world_config

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USER = {"id": "U0ANALYST", "username": "analyst", "name": "analyst", "team_id": "T0000"}


@dataclass
class World:
    config: Config
    store: SqlStore
    app: ServedApp
    slack: SlackServer
    alerts: list[Alert]
    tmp: Path

    def alert(self, story: str) -> Alert:
        """The "new" alert of a story ("drills", "shoigu"), whichever outlet came first."""
        return next(
            a for a in self.alerts if a.kind == "new" and (a.item.url or "").endswith(story)
        )

    def feedback_count(self) -> int:
        return len(self.store.feedback_records())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("slack-actions")
    with FeedServer() as server:
        config = world_config(tmp, server, web={"slack_signing_secret": SECRET})
        capture = NotifierCapture()
        run_world(config, capture)
    store = SqlStore(config.store.sqlalchemy_url())
    with SlackServer() as slack, ServedApp(build_app(store, config)) as app:
        yield World(config, store, app, slack, capture.alerts, tmp)
    store.close()


def posted_blocks(world: World, alert: Alert) -> list[dict[str, Any]]:
    """Send `alert` through an interactive Slack notifier; the message Slack accepted."""
    slack = world.slack
    notifier = SlackNotifier(
        "slack",
        {"token": slack.token, "channel": slack.channel, "api_url": slack.api_url,
         "interactive": True},
    )  # fmt: skip
    try:
        notifier.send([alert])
    finally:
        notifier.close()
    assert slack.rejected == []
    blocks: list[dict[str, Any]] = slack.messages[-1].payload["blocks"]
    return blocks


def click(blocks: list[dict[str, Any]], action_id: str, option: str | None = None) -> bytes:
    """The form body Slack posts when the element `action_id` of the message's actions
    block is clicked (or, for the select, `option` is chosen)."""
    block = next(b for b in blocks if b["type"] == "actions")
    element = next(e for e in block["elements"] if e["action_id"] == action_id)
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": action_id,
        "block_id": block.get("block_id", "generated="),
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "button":
        action.update(text=element["text"], value=element["value"])
    else:
        chosen = next(o for o in element["options"] if o["value"] == option)
        action.update(selected_option=chosen, placeholder=element["placeholder"])
    return form({"type": "block_actions", "user": USER, "api_app_id": "A0MONITOR",
                 "container": {"type": "message"}, "trigger_id": "1.2.3",
                 "actions": [action]})  # fmt: skip


def form(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes, *, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's headers for `body`: v0 HMAC-SHA256 of `v0:TIMESTAMP:BODY`."""
    timestamp = str(int(time.time() if at is None else at))
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": f"v0={digest}",
    }


def post(world: World, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(world.app.url("/slack/actions"), content=body, headers=headers)


def export(world: World) -> dict[str, dict[str, Any]]:
    """`monitor feedback export`, by item URL."""
    path = world.tmp / "monitor.toml"
    path.write_text(f'[store]\npath = "{world.config.store.path}"\n', encoding="utf-8")
    corpus = world.tmp / "corpus.jsonl"
    assert main(["feedback", "export", "-o", str(corpus), "-c", str(path)]) == 0
    lines = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    return {line["url"]: line for line in lines}


def test_slacks_documented_example_signature_verifies() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert signature_ok(SECRET, "1531420618", body, signature, now=1531420618 + 60)
    assert not signature_ok(SECRET, "1531420618", body, signature, now=1531420618 + 301)
    assert not signature_ok(SECRET, "1531420618", body + b"x", signature, now=1531420618)
    assert not signature_ok(SECRET, "1531420618", body, signature.upper(), now=1531420618)
    assert not signature_ok(SECRET, "+1531420618", body, signature, now=1531420618)
    assert not signature_ok(SECRET, "1531420618", body, "v0=é", now=1531420618)


def test_a_not_relevant_click_is_recorded_and_exported(world: World) -> None:
    drills = world.alert("/drills")
    body = click(posted_blocks(world, drills), NOT_RELEVANT)
    answer = post(world, body, signed(body))
    assert answer.status_code == 200 and "recorded as not relevant" in answer.text
    line = export(world)["https://asia-wire.example/drills"]
    assert line["relevant"] is False and line["types"] == [] and line["primary"] is None
    assert line["feedback"] == "not_relevant" and line["comment"] == "from Slack by analyst"
    assert line["classified_as"]["types"] == ["military"]


def test_a_wrong_type_choice_is_recorded_with_the_chosen_type(world: World) -> None:
    visit = world.alert("/shoigu")
    body = click(posted_blocks(world, visit), WRONG_TYPE, option="security")
    answer = post(world, body, signed(body))
    assert answer.status_code == 200 and "wrong type: security" in answer.text
    item_id = world.store.find_item(visit.item.id)
    assert item_id is not None
    record = world.store.item_record(item_id)
    assert record is not None
    (feedback,) = record.feedback
    assert feedback["verdict"] == "wrong_type" and feedback["type"] == "security"
    line = export(world)[visit.item.url or ""]
    assert line["relevant"] is True and line["types"] == ["security"]
    assert line["primary"] == "security" and line["feedback"] == "wrong_type"


def test_an_unknown_item_answers_200_and_records_nothing(world: World) -> None:
    body = click(posted_blocks(world, sample_alert()), NOT_RELEVANT)  # not in the store
    before = world.feedback_count()
    answer = post(world, body, signed(body))
    assert answer.status_code == 200 and "nothing was recorded" in answer.text
    assert world.feedback_count() == before


def test_a_bad_signature_is_refused(world: World) -> None:
    drills = world.alert("/drills")
    body = click(posted_blocks(world, drills), NOT_RELEVANT)
    before = world.feedback_count()
    wrong_secret = signed(body, secret="not-the-signing-secret")
    assert post(world, body, wrong_secret).status_code == 401
    tampered = body.replace(b"analyst", b"mallory")
    assert post(world, tampered, signed(body)).status_code == 401
    bare = signed(body)
    bare["x-slack-signature"] = bare["x-slack-signature"].removeprefix("v0=")
    assert post(world, body, bare).status_code == 401
    assert world.feedback_count() == before


@pytest.mark.parametrize("skew", [-360, 360, -86400])
def test_a_stale_timestamp_is_refused(world: World, skew: int) -> None:
    # Clear of the 300 s edge: Slack's timestamps are whole seconds, so a skew of
    # 301 truncates to within the window; the edge itself is tested with a fixed now.
    drills = world.alert("/drills")
    body = click(posted_blocks(world, drills), NOT_RELEVANT)
    before = world.feedback_count()
    answer = post(world, body, signed(body, at=time.time() + skew))
    assert answer.status_code == 401
    assert world.feedback_count() == before


@pytest.mark.parametrize("missing", ["x-slack-signature", "x-slack-request-timestamp", "both"])
def test_missing_headers_are_refused(world: World, missing: str) -> None:
    body = form({"type": "block_actions", "user": USER, "actions": []})
    headers = signed(body)
    for name in ("x-slack-signature", "x-slack-request-timestamp"):
        if missing in (name, "both"):
            del headers[name]
    assert post(world, body, headers).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"token=abc&team_id=T0",  # no payload field
        urlencode({"payload": "{not json"}).encode(),
        form(["block_actions"]),
        form({"user": USER}),  # no type
        form({"type": "block_actions", "actions": "click"}),
        form({"type": "block_actions", "actions": [{"action_id": NOT_RELEVANT}]}),
        form(
            {
                "type": "block_actions",
                "actions": [
                    {
                        "action_id": WRONG_TYPE,
                        "block_id": "monitor_feedback:x",
                        "selected_option": {"value": "picnic"},
                    }
                ],
            }
        ),
        form({"type": "block_actions", "actions": [{"action_id": WRONG_TYPE, "block_id": "x"}]}),
        b"payload=%FF%FE",  # not UTF-8
    ],
)
def test_a_malformed_payload_is_refused(world: World, body: bytes) -> None:
    before = world.feedback_count()
    assert post(world, body, signed(body)).status_code == 400
    assert world.feedback_count() == before


def test_other_interactions_are_acknowledged_and_ignored(world: World) -> None:
    before = world.feedback_count()
    for payload in (
        {"type": "shortcut", "callback_id": "x", "user": USER},
        {"type": "block_actions", "user": USER, "actions": [{"action_id": "someone_else"}]},
    ):
        body = form(payload)
        answer = post(world, body, signed(body))
        assert answer.status_code == 200 and answer.text == ""
    assert world.feedback_count() == before


def test_a_huge_body_is_refused_before_it_is_read(world: World) -> None:
    body = b"payload=" + b"x" * (1 << 21)
    assert post(world, body, signed(body)).status_code == 413


@pytest.mark.parametrize("secret", [None, ""])
def test_no_endpoint_without_a_signing_secret(world: World, secret: str | None) -> None:
    # "" is what `monitor web` reads for an unset ${SLACK_SIGNING_SECRET}: no secret
    config = world.config.model_copy(
        update={"web": world.config.web.model_copy(update={"slack_signing_secret": secret})}
    )
    drills = world.alert("/drills")
    body = click(posted_blocks(world, drills), NOT_RELEVANT)
    before = world.feedback_count()
    with ServedApp(build_app(world.store, config)) as app:
        headers = signed(body, secret=secret or "")
        answer = httpx.post(app.url("/slack/actions"), content=body, headers=headers)
        assert answer.status_code == 404
    assert world.feedback_count() == before


def test_the_secret_stays_out_of_reprs(world: World) -> None:
    assert SECRET not in repr(world.config) and SECRET not in repr(world.config.web)
