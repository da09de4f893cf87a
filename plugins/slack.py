"""Notifier kind "slack": Block Kit messages by incoming webhook or bot token.

With a bot token (`chat.postMessage`, scope `chat:write`) a story's first message
returns its `ts`, and later updates and follow-ups reply in that thread. An incoming
webhook returns no `ts`, so nothing can thread under it: there, updates are posted as
full messages and follow-ups as one compact context line in the channel.

All feed text is escaped for mrkdwn (no `<!channel>` or `<@U…>` from a feed can ping
anyone) and every message stays within Slack's Block Kit limits.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from monitor import __version__
from monitor.config import Timeout
from monitor.errors import DeliveryError
from monitor.hookspecs import NotifierFactory, hookimpl
from monitor.models import Alert, Delivery
from monitor.notify import RedactFilter, parse_options, retry_after, scrub, url_secrets
from monitor.notify.render import (
    AlertView,
    clean_line,
    fit,
    slack_escape,
    stories,
    truncate,
    type_label,
    view,
)
from monitor.web.slack_blocks import feedback_block

# Slack's limits (api.slack.com/reference/block-kit).
MAX_BLOCKS = 50
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
CONTEXT_ELEMENTS = 10
TEXT_LIMIT = 40000
# Our own budgets inside those limits, so a section never needs a blind cut.
HEADLINE_LIMIT = 300
VALUE_LIMIT = 400
QUOTE_LIMIT = 1000
URL_LIMIT = 2000
DIGEST_FOLLOWUPS = 5

#: `ok: false` errors that retrying cannot fix: the alert is dead-lettered.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_payload", "channel_not_found", "invalid_auth", "not_authed",
        "account_inactive", "no_text", "too_many_attachments", "invalid_blocks",
        "invalid_blocks_format", "msg_too_long", "is_archived", "channel_is_archived",
        "action_prohibited", "no_service", "no_service_id", "no_team", "no_permission",
        "not_in_channel", "token_revoked", "token_expired", "missing_scope",
        "restricted_action", "invalid_arguments", "invalid_token", "team_disabled",
        "posting_to_general_channel_denied", "ekm_access_denied", "invalid_auth_type",
        "team_access_not_granted", "user_not_found", "invalid_metadata_format",
        "duplicate_channel_not_found", "invalid_charset", "invalid_form_data",
        "invalid_post_type", "missing_post_type", "deprecated_endpoint",
    }
)  # fmt: skip
#: Anything else (`ratelimited`, `internal_error`, `fatal_error`, an unknown code) is
#: temporary: the host retries it with backoff and dead-letters it after max_attempts.

log = logging.getLogger(__name__)


class SlackOptions(BaseModel):
    """`webhook_url`, or `token` + `channel`; the rest is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook_url: SecretStr | None = None
    token: SecretStr | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api"
    username: str | None = None
    icon_emoji: str | None = None
    timeout: Timeout = 10.0
    #: Add "Not relevant" / "Wrong type…" controls to alerts (a Slack app with
    #: interactivity pointing at the daemon's /slack/actions; docs/notifiers.md).
    interactive: bool = False

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _is_secure_url(value.get_secret_value()):
            raise ValueError(
                "expected an https:// incoming-webhook URL (http:// only to this machine)"
            )
        return value

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        if not _is_secure_url(value):
            raise ValueError(
                'expected an https:// URL like "https://slack.com/api" (http:// only to this '
                "machine)"
            )
        return value.rstrip("/")

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[\x21-\x7e]+", value.get_secret_value()):
            raise ValueError('expected a bot token like "xoxb-…"')
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"#?[\w.-]{1,80}", value):
            raise ValueError('expected a channel ID like "C0123456789" or a name like "#alerts"')
        return value

    @field_validator("icon_emoji")
    @classmethod
    def _emoji(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r":[\w+-]+:", value):
            raise ValueError('expected an emoji code like ":satellite:"')
        return value


def _is_secure_url(value: str) -> bool:
    """https, or plain http to a loopback address (a local relay or test server): the
    URL or the token it is sent with is the secret, and must not cross a network bare."""
    if re.search(r"\s", value):
        return False
    parts = urlsplit(value)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and _is_loopback(parts.hostname)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cross_check(options: Mapping[str, Any]) -> list[str]:
    webhook, token = options.get("webhook_url"), options.get("token")
    if webhook and token:
        return ["token: expected either webhook_url or token + channel, not both"]
    if not webhook and not token:
        return ["webhook_url: expected an incoming webhook URL, or token and channel"]
    if token and not options.get("channel"):
        return ["channel: required with token (the channel to post in)"]
    return []


class SlackNotifier:
    """One Slack destination. Thread-safe enough for the host: one send at a time."""

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.options = parse_options(SlackOptions, name, options, _cross_check)
        opts = self.options
        self._secrets = [opts.token.get_secret_value()] if opts.token else []
        if opts.webhook_url:
            self._secrets += url_secrets(opts.webhook_url.get_secret_value())
        self._redact = RedactFilter(self._secrets)
        logging.getLogger("httpx").addFilter(self._redact)
        headers = {"User-Agent": f"monitor/{__version__}"}
        if opts.token:
            headers["Authorization"] = f"Bearer {opts.token.get_secret_value()}"
        self._client = httpx.Client(timeout=opts.timeout, headers=headers)

    @property
    def threads(self) -> bool:
        """True with a bot token: messages get a `ts` that replies can thread under."""
        return self.options.token is not None

    def __repr__(self) -> str:
        mode = f"channel={self.options.channel!r}" if self.threads else "webhook"
        return f"SlackNotifier(name={self.name!r}, {mode})"

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> Delivery:
        if not alerts:
            return Delivery(detail="nothing to send")
        if digest:
            answer = self._post(digest_message(alerts))
            return Delivery(external_id=answer.get("ts"), detail=_detail(answer))
        receipts = [self._send_one(alert) for alert in alerts]
        return receipts[0]

    def close(self) -> None:
        self._client.close()
        logging.getLogger("httpx").removeFilter(self._redact)

    def _send_one(self, alert: Alert) -> Delivery:
        v = view(alert)
        if v.kind == "followup":
            message = followup_message(v)
        else:
            message = alert_message(v, alert.item.id if self.options.interactive else None)
        thread = alert.thread_ref if self.threads and v.kind != "new" else None
        if thread:
            message["thread_ts"] = thread
            if v.kind == "update":
                message["reply_broadcast"] = True  # a new contact type matters channel-wide
        answer = self._post(message)
        # A reply returns the thread's root, so whatever the host records still threads.
        return Delivery(external_id=thread or answer.get("ts"), detail=_detail(answer))

    def _post(self, message: dict[str, Any]) -> dict[str, Any]:
        opts = self.options
        payload = {**message, "unfurl_links": False, "unfurl_media": False}
        if opts.username:
            payload["username"] = opts.username
        if opts.icon_emoji:
            payload["icon_emoji"] = opts.icon_emoji
        if opts.token:
            url = f"{opts.api_url}/chat.postMessage"
            payload["channel"] = opts.channel
        else:
            assert opts.webhook_url is not None
            url = opts.webhook_url.get_secret_value()
        try:
            response = self._client.post(url, json=payload)
        except httpx.HTTPError as exc:
            message_text = scrub(f"{type(exc).__name__}: {exc}", self._secrets)
            raise DeliveryError(f"slack {self.name}: network error: {message_text}") from None
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        """Turn Slack's answer into a dict, or raise the DeliveryError it calls for."""
        status, body = response.status_code, clean_line(response.text)[:200]
        where = f"slack {self.name}"
        if status == 429:
            wait = retry_after(response.headers.get("Retry-After"), 30.0)
            raise DeliveryError(f"{where}: rate limited (HTTP 429)", retry_after=wait)
        if status >= 500:
            raise DeliveryError(f"{where}: server error HTTP {status} {body}".rstrip())
        if self.options.webhook_url is not None:
            if status == 200:
                return {"ok": True, "detail": body or "ok"}
            # Webhooks answer errors as text: 400 invalid_payload, 404 no_service, ...
            permanent = status in (400, 401, 403, 404, 410) or body in PERMANENT_ERRORS
            raise DeliveryError(
                f"{where}: rejected: HTTP {status} {body or '(no reason)'}", permanent=permanent
            )
        if status != 200:
            raise DeliveryError(f"{where}: HTTP {status} {body}".rstrip(), permanent=status < 500)
        try:
            data = response.json()
        except ValueError:
            raise DeliveryError(f"{where}: answer is not JSON: {body}") from None
        if not isinstance(data, dict):
            raise DeliveryError(f"{where}: unexpected answer: {body}")
        if not data.get("ok"):
            error = clean_line(str(data.get("error") or "unknown_error"))[:100]
            if error in ("ratelimited", "rate_limited"):
                wait = retry_after(response.headers.get("Retry-After"), 30.0)
                raise DeliveryError(f"{where}: rate limited ({error})", retry_after=wait)
            raise DeliveryError(f"{where}: {error}", permanent=error in PERMANENT_ERRORS)
        for warning in data.get("response_metadata", {}).get("warnings", []) or []:
            log.warning("slack %s: %s", self.name, clean_line(str(warning))[:200])
        return data


def _detail(answer: Mapping[str, Any]) -> str:
    if "ts" in answer:
        return f"posted ts={answer['ts']} in {answer.get('channel', '?')}"
    return str(answer.get("detail", "ok"))


# --- message building (pure) -------------------------------------------------------


def esc(text: str, limit: int) -> str:
    """Feed text made safe for mrkdwn and cut on a word to `limit` characters."""
    return fit(text, limit, slack_escape)


def link(url: str | None, label: str) -> str:
    """`<url|label>` for an http(s) URL (label already escaped), else just the label."""
    if not url or len(url) > URL_LIMIT:
        return label
    safe = slack_escape(url).replace("|", "%7C")
    return f"<{safe}|{label}>"


def _lines(parts: Sequence[str], limit: int = SECTION_LIMIT) -> str:
    """Join whole lines while they fit: a blind cut could split a link or an entity."""
    out: list[str] = []
    size = 0
    for part in parts:
        if size + len(part) + 1 > limit:
            break
        out.append(part)
        size += len(part) + 1
    return "\n".join(out)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(*texts: str) -> dict[str, Any]:
    elements = [{"type": "mrkdwn", "text": t} for t in texts if t]
    return {"type": "context", "elements": elements[:CONTEXT_ELEMENTS]}


def _headline(v: AlertView) -> str:
    return f"*{link(v.url, esc(v.headline, HEADLINE_LIMIT))}*"


def alert_message(v: AlertView, feedback_ref: str | None = None) -> dict[str, Any]:
    """A new or updated story: linked headline, details, strongest evidence, source;
    with `feedback_ref` (the item's key), the feedback controls below them."""
    blocks: list[dict[str, Any]] = [_section(f"*{v.kind_label}:* {_headline(v)}")]
    details = [
        f"*{label}:* {esc(value, VALUE_LIMIT)}" for label, value in v.details() if label != "Source"
    ]
    if details:
        blocks.append(_section(_lines(details)))
    if v.quote:
        quote = esc(v.quote.text, QUOTE_LIMIT)
        blocks.append(_section(f"> {quote}\n_evidence for {type_label(v.quote.type)}_"))
    story = f"story {v.story_id}" if v.story_id else ""  # a feed-health alert has none
    blocks.append(_context(esc(v.source_text, VALUE_LIMIT), story))
    if feedback_ref and not v.is_feed_health and (controls := feedback_block(feedback_ref)):
        blocks.append(controls)
    text = f"{v.kind_label}: {esc(v.headline, HEADLINE_LIMIT)}"
    if v.kind == "update" and v.new_types:
        text += f" (now also {esc(v.new_types_text, VALUE_LIMIT)})"
    elif v.types:
        text += f" ({esc(v.types_text, VALUE_LIMIT)})"
    return {"text": truncate(text, TEXT_LIMIT), "blocks": blocks}


def _followup_line(v: AlertView) -> str:
    return f"Also reported by *{esc(v.outlets_text, 200)}*: {link(v.url, esc(v.headline, 300))}"


def followup_message(v: AlertView) -> dict[str, Any]:
    """Another outlet reported the story: one short context line (a thread reply when
    the notifier threads, a standalone line otherwise)."""
    line = _followup_line(v)
    return {"text": line, "blocks": [_context(line)]}


def digest_message(alerts: Sequence[Alert]) -> dict[str, Any]:
    """Several stories in one message: a section per story, "and N more" past the limit."""
    grouped = stories(alerts)
    header_text = truncate(
        f"Russia–DPRK contacts: {len(grouped)} stories, {len(alerts)} reports", HEADER_LIMIT
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header_text}}
    ]
    room = MAX_BLOCKS - len(blocks)
    shown = grouped if len(grouped) <= room else grouped[: room - 1]
    lines = [header_text]
    for lead, followups in shown:
        parts = [_headline(lead)]
        parts += [esc(x, VALUE_LIMIT) for x in (lead.types_text, lead.where_when_text) if x]
        parts.append(f"_{esc(lead.source_text, VALUE_LIMIT)}_")
        parts += [_followup_line(f) for f in followups[:DIGEST_FOLLOWUPS]]
        if len(followups) > DIGEST_FOLLOWUPS:
            parts.append(f"_and {len(followups) - DIGEST_FOLLOWUPS} more reports_")
        blocks.append(_section(_lines(parts)))
        lines.append(f"• {esc(lead.headline, HEADLINE_LIMIT)}")
    if len(shown) < len(grouped):
        more = f"and {len(grouped) - len(shown)} more stories"
        blocks.append(_context(f"_{more}_"))
        lines.append(more)
    return {"text": truncate("\n".join(lines), TEXT_LIMIT), "blocks": blocks}


@hookimpl
def monitor_notifier_kinds() -> dict[str, NotifierFactory]:
    return {"slack": SlackNotifier}
