"""A local HTTP server that answers like Slack, for testing Slack notifiers end to end.

    with SlackServer() as slack:
        notifier = SlackNotifier("t", {"token": slack.token, "channel": slack.channel,
                                       "api_url": slack.api_url})
        notifier.send([alert])
        assert slack.messages[0].payload["blocks"]
        assert slack.mentions == []

It serves an incoming webhook at `webhook_url` (answers "ok", or HTTP 400 with
`invalid_payload` / `no_text`) and `chat.postMessage` under `api_url` (checks the bearer
token and the channel, answers `{"ok": true, "ts": ...}` or `{"ok": false, "error": ...}`).
Payloads are checked against Slack's Block Kit rules (`actions` blocks with buttons and
static selects included: ids, texts, values and options within Slack's limits, ids
unique); any special mention found in a
text (`<!channel>`, `<!here>`, `<!everyone>`, `<@U…>`, `<#C…>`, `<!subteam^…>`) is
recorded in `mentions`, since a notifier never writes one of its own.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BLOCKS = 50
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
TEXT_LIMIT = 40000
BLOCK_ID = 255
ACTION_ID = 255
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
SELECT_OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
PLACEHOLDER_TEXT = 150
BLOCK_TYPES = frozenset(
    {"section", "context", "header", "divider", "actions", "image", "rich_text", "input",
     "file", "video", "markdown"}
)  # fmt: skip
MENTION = re.compile(r"<(?:!(?:channel|here|everyone|subteam\^)|@[UWB]|#C)[^>]*>")


@dataclass(frozen=True)
class SlackMessage:
    """One accepted message: how it came (`"webhook"` or `"api"`), and what it said."""

    via: str
    channel: str
    ts: str
    thread_ts: str | None
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        """Every text of the message (fallback and blocks) joined, for assertions."""
        return "\n".join(_texts(self.payload))


@dataclass
class _Failure:
    status: int = 200
    error: str | None = None
    retry_after: float | None = None


@dataclass
class _State:
    messages: list[SlackMessage] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    rejected: list[tuple[str, list[str]]] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class SlackServer:
    """Slack look-alike on 127.0.0.1 (a free port); use as a context manager."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-0000-secret",
        channel: str = "C0MONITOR",
        channels: tuple[str, ...] = (),
        webhook_path: str = "/services/T0000/B0000/s3cr3tWebhookKey",
    ) -> None:
        self.token = token
        self.channel = channel
        self.channels = frozenset({channel, *channels})
        self.webhook_path = webhook_path
        self._state = _State()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    def start(self) -> SlackServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SlackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses --

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_port}"

    @property
    def webhook_url(self) -> str:
        return self.url + self.webhook_path

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    # -- what happened --

    @property
    def messages(self) -> list[SlackMessage]:
        with self._state.lock:
            return list(self._state.messages)

    @property
    def mentions(self) -> list[str]:
        """Special mentions found in accepted or rejected payloads: should stay empty."""
        with self._state.lock:
            return list(self._state.mentions)

    @property
    def rejected(self) -> list[tuple[str, list[str]]]:
        """(error code, problems) of every payload refused by validation."""
        with self._state.lock:
            return list(self._state.rejected)

    @property
    def requests(self) -> int:
        with self._state.lock:
            return self._state.requests

    def replies(self, ts: str) -> list[SlackMessage]:
        """Messages posted in the thread of `ts`."""
        return [m for m in self.messages if m.thread_ts == ts]

    # -- knobs --

    def fail_next(
        self, status: int = 200, *, error: str | None = None, retry_after: float | None = None
    ) -> None:
        """Answer the next request with a failure: an HTTP status (429 with Retry-After,
        500), or a Slack error code (`ok: false` from the API, HTTP 400 from a webhook)."""
        if status == 200 and error is None:
            raise ValueError("fail_next needs a failing status or an error code")
        with self._state.lock:
            self._state.failures.append(_Failure(status, error, retry_after))

    # -- request handling (called from the handler thread) --

    def _handle(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        state = self._state
        with state.lock:
            state.requests += 1
            failure = state.failures.pop(0) if state.failures else None
        is_api = path.split("?")[0] == "/api/chat.postMessage"
        if not is_api and path != self.webhook_path:
            return _text(404, "no_service") if path.startswith("/services/") else _text(404, "")
        if failure is not None:
            return _failure(failure, is_api)
        if is_api:
            auth = headers.get("Authorization", "")
            if not auth:
                return _json({"ok": False, "error": "not_authed"})
            if auth != f"Bearer {self.token}":
                return _json({"ok": False, "error": "invalid_auth"})
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._reject(is_api, "invalid_json" if is_api else "invalid_payload", [])
        if not isinstance(payload, dict):
            return self._reject(is_api, "invalid_payload", ["payload is not an object"])
        self._scan_mentions(payload)
        error, problems = validate(payload)
        if error:
            return self._reject(is_api, error, problems)
        channel = str(payload.get("channel") or self.channel)
        if is_api and channel not in self.channels:
            return _json({"ok": False, "error": "channel_not_found"})
        thread_ts = payload.get("thread_ts") if is_api else None
        with state.lock:
            if thread_ts is not None and thread_ts not in {m.ts for m in state.messages}:
                return _json({"ok": False, "error": "thread_not_found"})
            ts = f"1700000000.{next(state.clock):06d}"
            state.messages.append(
                SlackMessage("api" if is_api else "webhook", channel, ts, thread_ts, payload)
            )
        if is_api:
            return _json({"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}})
        return _text(200, "ok")

    def _reject(
        self, is_api: bool, error: str, problems: list[str]
    ) -> tuple[int, dict[str, str], bytes]:
        with self._state.lock:
            self._state.rejected.append((error, problems))
        if is_api:
            return _json({"ok": False, "error": error, "response_metadata": {"messages": problems}})
        return _text(400, error)

    def _scan_mentions(self, payload: dict[str, Any]) -> None:
        found = [m for text in _texts(payload) for m in MENTION.findall(text)]
        if found:
            with self._state.lock:
                self._state.mentions.extend(found)


def validate(payload: dict[str, Any]) -> tuple[str | None, list[str]]:
    """Slack's rules for a message: (error code, problems), or (None, [])."""
    text, blocks = payload.get("text"), payload.get("blocks")
    if not (isinstance(text, str) and text.strip()) and not blocks:
        return "no_text", ["neither text nor blocks"]
    if isinstance(text, str) and len(text) > TEXT_LIMIT:
        return "msg_too_long", [f"text has {len(text)} characters (max {TEXT_LIMIT})"]
    if blocks is None:
        return None, []
    if not isinstance(blocks, list):
        return "invalid_blocks", ["blocks is not a list"]
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (max {MAX_BLOCKS})")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        problems += [f"blocks[{i}]: {p}" for p in _block_problems(block)]
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is None:
            continue
        if not isinstance(block_id, str) or not 1 <= len(block_id) <= BLOCK_ID:
            problems.append(f"blocks[{i}]: block_id must be 1 to {BLOCK_ID} characters")
        elif block_id in seen:
            problems.append(f"blocks[{i}]: duplicate block_id {block_id!r}")
        seen.add(str(block_id))
    return ("invalid_blocks", problems) if problems else (None, [])


def _block_problems(block: Any) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return [f"unknown block type {block.get('type') if isinstance(block, dict) else block!r}"]
    kind = block["type"]
    if kind == "header":
        return _text_problems(block.get("text"), HEADER_TEXT, plain_only=True)
    if kind == "section":
        problems = []
        if "text" not in block and "fields" not in block:
            problems.append("section needs text or fields")
        if "text" in block:
            problems += _text_problems(block["text"], SECTION_TEXT)
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > SECTION_FIELDS:
            problems.append(f"fields: at most {SECTION_FIELDS}")
        else:
            for field_ in fields:
                problems += _text_problems(field_, FIELD_TEXT)
        return problems
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS:
            return [f"context needs 1 to {CONTEXT_ELEMENTS} elements"]
        return [
            p for e in elements if e.get("type") != "image" for p in _text_problems(e, SECTION_TEXT)
        ]
    if kind == "actions":
        return _actions_problems(block.get("elements"))
    return []


def _actions_problems(elements: Any) -> list[str]:
    """An actions block: 1 to 25 interactive elements, action_ids unique in the block."""
    if not isinstance(elements, list) or not 1 <= len(elements) <= ACTIONS_ELEMENTS:
        return [f"actions needs 1 to {ACTIONS_ELEMENTS} elements"]
    problems: list[str] = []
    ids: set[str] = set()
    for j, element in enumerate(elements):
        where = f"elements[{j}]"
        if not isinstance(element, dict):
            problems.append(f"{where}: not an object")
            continue
        action_id = element.get("action_id")
        if action_id is not None:
            if not isinstance(action_id, str) or not 1 <= len(action_id) <= ACTION_ID:
                problems.append(f"{where}: action_id must be 1 to {ACTION_ID} characters")
            elif action_id in ids:
                problems.append(f"{where}: duplicate action_id {action_id!r} in the block")
            ids.add(str(action_id))
        kind = element.get("type")
        if kind == "button":
            problems += [f"{where}: {p}" for p in _button_problems(element)]
        elif kind == "static_select":
            problems += [f"{where}: {p}" for p in _select_problems(element)]
        else:
            problems.append(f"{where}: unsupported element type {kind!r}")
    return problems


def _button_problems(button: dict[str, Any]) -> list[str]:
    problems = _text_problems(button.get("text"), BUTTON_TEXT, plain_only=True)
    value = button.get("value")
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= BUTTON_VALUE):
        problems.append(f"value must be 1 to {BUTTON_VALUE} characters")
    url = button.get("url")
    if url is not None and (not isinstance(url, str) or not 1 <= len(url) <= BUTTON_URL):
        problems.append(f"url must be 1 to {BUTTON_URL} characters")
    if button.get("style") not in (None, "primary", "danger"):
        problems.append('style must be "primary" or "danger"')
    return problems


def _select_problems(select: dict[str, Any]) -> list[str]:
    problems = []
    if "placeholder" in select:
        problems += _text_problems(select["placeholder"], PLACEHOLDER_TEXT, plain_only=True)
    options = select.get("options")
    if options is None and isinstance(select.get("option_groups"), list):
        return problems  # groups of options: not checked further here
    if not isinstance(options, list) or not 1 <= len(options) <= SELECT_OPTIONS:
        return [*problems, f"options: 1 to {SELECT_OPTIONS} needed"]
    for k, option in enumerate(options):
        if not isinstance(option, dict):
            problems.append(f"options[{k}]: not an object")
            continue
        problems += [
            f"options[{k}]: {p}"
            for p in _text_problems(option.get("text"), OPTION_TEXT, plain_only=True)
        ]
        value = option.get("value")
        if not isinstance(value, str) or not 1 <= len(value) <= OPTION_VALUE:
            problems.append(f"options[{k}]: value must be 1 to {OPTION_VALUE} characters")
    return problems


def _text_problems(obj: Any, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return ["text must be a plain_text or mrkdwn text object"]
    if plain_only and obj["type"] != "plain_text":
        return ["text must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return ["text must be a non-empty string"]
    if len(text) > limit:
        return [f"text has {len(text)} characters (max {limit})"]
    return []


def _texts(payload: Any) -> Iterator[str]:
    """Every string under a "text" key, anywhere in the payload."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from _texts(value)


def _failure(failure: _Failure, is_api: bool) -> tuple[int, dict[str, str], bytes]:
    headers = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = str(int(failure.retry_after))
    if failure.status != 200:
        status, body, ctype = failure.status, (failure.error or "").encode(), "text/plain"
        if failure.status == 429 and not failure.error:
            body = b"rate_limited"
    elif is_api:
        status, ctype = 200, "application/json"
        body = json.dumps({"ok": False, "error": failure.error}).encode()
    else:
        webhook_status = {
            "channel_not_found": 404,
            "no_service": 404,
            "is_archived": 410,
            "channel_is_archived": 410,
            "action_prohibited": 403,
        }
        status = webhook_status.get(failure.error or "", 400)
        body, ctype = (failure.error or "").encode(), "text/plain"
    return status, {"Content-Type": ctype, **headers}, body


def _json(data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(data).encode()


def _text(status: int, body: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, body.encode()


class _Handler(BaseHTTPRequestHandler):
    server_state: SlackServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, headers, answer = self.server_state._handle(self.path, self.headers, body)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `messages`, not the access log."""
