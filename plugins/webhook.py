"""Notifier kind "webhook": alerts as a signed, versioned JSON POST to any URL.

Payload (version 1; fields are only ever added within a version):

    {"version": 1, "digest": false, "timestamp": 1718790000,
     "alerts": [{"id", "story_id", "route", "kind", "title", "url", "feed", "feed_title",
                 "language", "published", "created", "sources", "thread_ref",
                 "classification": <Classification.to_contract(item id)>,
                 "feed_health": {...}  # kinds "feed_down" and "feed_recovered" only
                 }]}

`feed` is the feed's config name, `feed_title` its configured title (null without one).
A feed-health alert has story_id 0, the feed's URL as `url`, the headline as `title`, an
empty classification, and `feed_health`: feed, url, since, at, failures, error, summary.

With a `secret`, the request carries `X-Monitor-Signature: sha256=<hex HMAC-SHA256 of
the raw body>` and `X-Monitor-Timestamp` (equal to the body's `timestamp`, which the
signature covers, so a receiver can refuse replays). 2xx is success; 408, 425, 429
and 5xx are temporary (Retry-After honoured); any other answer is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from monitor import __version__
from monitor.config import Timeout
from monitor.errors import DeliveryError
from monitor.hookspecs import NotifierFactory, hookimpl
from monitor.models import Alert, Delivery
from monitor.notify import RedactFilter, parse_options, retry_after, scrub, url_secrets
from monitor.notify.feedhealth import LABELS as FEED_LABELS
from monitor.notify.render import clean_line, feed_titles

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Monitor-Signature"
TIMESTAMP_HEADER = "X-Monitor-Timestamp"
TEMPORARY_STATUSES = frozenset({408, 425, 429})
_RESERVED = {"content-type", "content-length", "host", SIGNATURE_HEADER.lower(),
             TIMESTAMP_HEADER.lower()}  # fmt: skip
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class WebhookOptions(BaseModel):
    """Where to POST, how to sign, and extra headers (values treated as secrets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: SecretStr
    secret: SecretStr | None = None
    headers: dict[str, SecretStr] = {}
    timeout: Timeout = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        if not re.match(r"^https?://[^/\s]+", value.get_secret_value()):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("expected a secret of at least 16 characters")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key, header in value.items():
            if not _TOKEN.match(key) or key.lower() in _RESERVED:
                raise ValueError(f"header name {key!r} is not allowed")
            if clean_line(header.get_secret_value()) != header.get_secret_value():
                raise ValueError(f"header {key!r} must be one line without control characters")
        return value


def alert_json(alert: Alert) -> dict[str, Any]:
    """One alert in payload version 1."""
    item = alert.item
    out: dict[str, Any] = {
        "id": alert.id,
        "story_id": alert.story_id,
        "route": alert.route,
        "kind": alert.kind,
        "title": item.title,
        "url": item.url,
        "feed": item.feed,
        "feed_title": feed_titles(alert).get(item.feed or ""),
        "language": item.language,
        "published": item.published.isoformat() if item.published else None,
        "created": alert.created.isoformat(),
        "sources": list(alert.sources),
        "thread_ref": alert.thread_ref,
        "classification": alert.classification.to_contract(item.id),
    }
    health = item.meta.get("feed_health")
    if alert.kind in FEED_LABELS and isinstance(health, Mapping):
        out["feed_health"] = {k: v for k, v in health.items() if isinstance(k, str)}
    return out


def payload(alerts: Sequence[Alert], *, digest: bool, timestamp: int) -> dict[str, Any]:
    return {
        "version": PAYLOAD_VERSION,
        "digest": digest,
        "timestamp": timestamp,
        "alerts": [alert_json(a) for a in alerts],
    }


def sign(secret: bytes, body: bytes) -> str:
    """The X-Monitor-Signature value for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, signature: str) -> bool:
    """What a receiver does: compare in constant time (shown in docs/notifiers.md)."""
    return hmac.compare_digest(sign(secret, body), signature)


class WebhookNotifier:
    """POSTs alerts as JSON; one request per send (a digest is one request too)."""

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.options = parse_options(WebhookOptions, name, options)
        opts = self.options
        self._secrets = url_secrets(opts.url.get_secret_value())
        self._secrets += [v.get_secret_value() for v in opts.headers.values()]
        if opts.secret:
            self._secrets.append(opts.secret.get_secret_value())
        self._redact = RedactFilter(self._secrets)
        logging.getLogger("httpx").addFilter(self._redact)
        headers = {k: v.get_secret_value() for k, v in opts.headers.items()}
        headers["User-Agent"] = f"monitor/{__version__}"
        self._client = httpx.Client(timeout=opts.timeout, headers=headers)

    def __repr__(self) -> str:
        signed = "signed" if self.options.secret else "unsigned"
        return f"WebhookNotifier(name={self.name!r}, {signed})"

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> Delivery:
        if not alerts:
            return Delivery(detail="nothing to send")
        timestamp = int(time.time())
        body = json.dumps(
            payload(alerts, digest=digest, timestamp=timestamp),
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.options.secret:
            headers[SIGNATURE_HEADER] = sign(self.options.secret.get_secret_value().encode(), body)
            headers[TIMESTAMP_HEADER] = str(timestamp)
        where = f"webhook {self.name}"
        try:
            response = self._client.post(
                self.options.url.get_secret_value(), content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            text = scrub(f"{type(exc).__name__}: {exc}", self._secrets)
            raise DeliveryError(f"{where}: network error: {text}") from None
        status = response.status_code
        reason = scrub(clean_line(response.text)[:200], self._secrets)
        if 200 <= status < 300:
            return Delivery(detail=f"HTTP {status}")
        if status in TEMPORARY_STATUSES or status >= 500:
            wait = retry_after(response.headers.get("Retry-After"))
            raise DeliveryError(f"{where}: HTTP {status} {reason}".rstrip(), retry_after=wait)
        raise DeliveryError(f"{where}: refused: HTTP {status} {reason}".rstrip(), permanent=True)

    def close(self) -> None:
        self._client.close()
        logging.getLogger("httpx").removeFilter(self._redact)


@hookimpl
def monitor_notifier_kinds() -> dict[str, NotifierFactory]:
    return {"webhook": WebhookNotifier}
