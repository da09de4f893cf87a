"""POST /slack/actions: clicks on the feedback controls of Slack alerts, recorded as the
item page's buttons record them (so `monitor feedback export` has them).

Slack signs every request with the app's signing secret (`[web] slack_signing_secret`):
`v0=` + hex HMAC-SHA256 of `v0:TIMESTAMP:RAW_BODY`. That signature, checked over the
raw bytes before anything is parsed, is what stands in for the web UI's token and
same-origin checks here; a timestamp more than five minutes away is refused, so a
captured request cannot be replayed. With no secret configured the endpoint answers
404 and accepts nothing. Slack wants its answer within three seconds: recording a
verdict is one lookup and one INSERT.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from monitor.web.slack_blocks import Click, read_clicks

if TYPE_CHECKING:
    from monitor.web.app import Context

log = logging.getLogger("monitor.web")

#: Slack's replay window: requests older (or newer) than this are refused.
MAX_AGE = 300
#: Interaction payloads carry the message they came from; a few hundred KB at most.
MAX_BODY = 1 << 20
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str, now: float) -> bool:
    """Whether `signature` is Slack's v0 signature of `body` sent at `timestamp`, and
    `timestamp` is within MAX_AGE seconds of `now`."""
    if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    try:
        given = signature.encode("latin-1")  # how Starlette decoded the header
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given)


def _text(text: str, status: int = 200) -> Response:
    return PlainTextResponse(text + "\n", status_code=status)


async def _body(request: Request) -> bytes | None:
    """The raw body, or None past MAX_BODY (read no further: nobody is verified yet)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            return None
    return b"".join(chunks)


def _clicks(body: bytes) -> list[Click]:
    """The verdicts of a form-encoded interaction; ValueError when it is malformed."""
    # UnicodeDecodeError, like json's errors, is a ValueError
    form = parse_qs(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    payload = form.get("payload", [])
    if len(payload) != 1:
        raise ValueError("expected one payload field")
    return read_clicks(json.loads(payload[0]))


async def slack_actions(request: Request) -> Response:
    """Verify, parse, record; 401 unsigned or stale, 400 malformed, 200 otherwise (with
    a short text Slack may show, also when the item is unknown and nothing is kept)."""
    ctx: Context = request.app.state.ctx
    secret = ctx.config().web.slack_signing_secret
    if not secret or not secret.strip():
        return _text("not found", 404)
    body = await _body(request)
    if body is None:
        return _text("request too large", 413)
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    now = ctx.clock().timestamp()
    if not signature_ok(secret, timestamp, body, signature, now):
        log.info("slack action refused: missing, bad or stale signature")
        return _text("invalid or stale Slack signature", 401)
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return _text("expected application/x-www-form-urlencoded", 400)
    try:
        clicks = _clicks(body)
    except ValueError as exc:
        return _text(f"malformed interaction payload: {exc}", 400)
    if not clicks:
        return Response(status_code=200)
    recorded = await run_in_threadpool(_record, ctx, clicks)
    if not recorded:
        return _text("This item is not in the monitor's store: nothing was recorded.")
    return _text(f"Thanks: recorded as {recorded}.")


def _record(ctx: Context, clicks: list[Click]) -> str:
    """Record every click through the store (as the item page does); "" when an item is
    unknown, and then nothing is recorded. Else what was recorded, for the answer."""
    found = [ctx.store.find_item(c.item_ref) for c in clicks]
    if None in found:
        return ""
    said = ""
    for click, item_id in zip(clicks, found, strict=True):
        assert item_id is not None
        comment = f"from Slack by {click.user}" if click.user else "from Slack"
        ctx.store.add_feedback(
            item_id, click.verdict, ctx.clock(), type=click.type, comment=comment
        )
        log.info("slack feedback on item #%d: %s %s", item_id, click.verdict, click.type or "")
        said = "not relevant" if click.verdict == "not_relevant" else f"wrong type: {click.type}"
    return said
