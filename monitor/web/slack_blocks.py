"""The feedback controls on Slack alerts: the `actions` block the Slack notifier adds
(`interactive = true`) and how `/slack/actions` reads a click on it back.

Both directions live here so the ids written into a message and the ids read from
Slack's payload cannot drift apart. The item is named by its key (`Item.id`, which
`Store.find_item` resolves): the button's `value` carries it, and so does the block's
`block_id`, because a select sends only the chosen option, whose value has room for
150 characters — the type, not the key.

Importing this module imports no web framework: the notifier uses it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.notify.render import clean_line, truncate, type_label
from monitor.taxonomy import CONTACT_TYPES

# Slack's limits (docs.slack.dev/reference/block-kit).
BLOCK_ID_LIMIT = 255
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
OPTIONS_LIMIT = 100
OPTION_TEXT_LIMIT = 75
PLACEHOLDER_LIMIT = 150

BLOCK_PREFIX = "monitor_feedback:"
NOT_RELEVANT = "monitor_not_relevant"
WRONG_TYPE = "monitor_wrong_type"


@dataclass(frozen=True)
class Click:
    """One verdict given in Slack: on which item (its key), which, by whom."""

    item_ref: str
    verdict: str
    type: str | None = None
    user: str = ""


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit)}


def feedback_block(item_ref: str) -> dict[str, Any] | None:
    """The actions block for the item of key `item_ref`: a "Not relevant" button and a
    "Wrong type…" select of the taxonomy. A key too long for a `block_id` gets the
    button only, one too long for a button's value no block (None)."""
    if not item_ref or len(item_ref) > BUTTON_VALUE_LIMIT:
        return None
    button = {
        "type": "button",
        "action_id": NOT_RELEVANT,
        "text": _plain("Not relevant", BUTTON_TEXT_LIMIT),
        "value": item_ref,
    }
    block: dict[str, Any] = {"type": "actions", "elements": [button]}
    block_id = BLOCK_PREFIX + item_ref
    if len(block_id) <= BLOCK_ID_LIMIT:
        options = [
            {"text": _plain(type_label(t), OPTION_TEXT_LIMIT), "value": t}
            for t in CONTACT_TYPES[:OPTIONS_LIMIT]
        ]
        block["block_id"] = block_id
        block["elements"].append(
            {
                "type": "static_select",
                "action_id": WRONG_TYPE,
                "placeholder": _plain("Wrong type…", PLACEHOLDER_LIMIT),
                "options": options,
            }
        )
    return block


def read_clicks(payload: Any) -> list[Click]:
    """The verdicts in one interaction payload (Slack's JSON `payload` field); other
    interactions and other apps' actions give none. ValueError when it is malformed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise ValueError("payload: expected an object with a type")
    if payload["type"] != "block_actions":
        return []
    actions = payload.get("actions")
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise ValueError("actions: expected a list of objects")
    user = _user(payload.get("user"))
    return [click for a in actions if (click := _click(a, user)) is not None]


def _click(action: dict[str, Any], user: str) -> Click | None:
    kind = action.get("action_id")
    if kind == NOT_RELEVANT:
        ref = action.get("value")
        if not isinstance(ref, str) or not ref:
            raise ValueError("not relevant: the button carries no item")
        return Click(ref, "not_relevant", user=user)
    if kind == WRONG_TYPE:
        block = action.get("block_id")
        ref = block.removeprefix(BLOCK_PREFIX) if isinstance(block, str) else ""
        if not ref or ref == block:
            raise ValueError("wrong type: the block carries no item")
        option = action.get("selected_option")
        chosen = option.get("value") if isinstance(option, dict) else None
        if chosen not in CONTACT_TYPES:
            raise ValueError(f"wrong type: expected one of {', '.join(CONTACT_TYPES)}")
        return Click(ref, "wrong_type", str(chosen), user)
    return None


def _user(user: Any) -> str:
    """Who clicked, for the feedback's comment: Slack's user name, else its id."""
    if not isinstance(user, dict):
        return ""
    for key in ("username", "name", "id"):
        if isinstance(user.get(key), str) and user[key]:
            return truncate(clean_line(user[key]), 80)
    return ""
