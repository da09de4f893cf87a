"""Notifier kind "teams": alerts as MessageCards POSTed to a Teams incoming webhook.

    [notifiers.analysts]
    kind = "teams"
    url = "${TEAMS_WEBHOOK_URL}"     # the webhook URL is a secret: keep it in the environment
    timeout = 10                     # seconds

One alert is one card (title, facts, the evidence sentence, a button to the article); a
digest is one card with a section per alert. 2xx is success; 408, 425, 429 and 5xx are
temporary (Retry-After honoured); any other answer is permanent.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from monitor.errors import ConfigError, DeliveryError
from monitor.hookspecs import hookimpl
from monitor.models import Alert, Delivery

KIND = "teams"
TEMPORARY = frozenset({408, 425, 429})
THEME = {"new": "B22222", "update": "E67E22", "followup": "7F8C8D"}
LABEL = {"new": "New", "update": "Update", "followup": "Also reported"}


class TeamsNotifier:
    """One Teams channel (`[notifiers.NAME] kind = "teams"`)."""

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        problems = [f"notifiers.{name}.{key}: unknown key" for key in sorted(
            set(options) - {"url", "timeout"})]  # fmt: skip
        url = options.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            problems.append(f"notifiers.{name}.url: expected the webhook's https:// URL")
        timeout = options.get("timeout", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            problems.append(f"notifiers.{name}.timeout: expected a positive number of seconds")
        if problems:
            raise ConfigError(f"notifiers.{name}", problems)
        self.name = name
        self._url = str(url)
        self._client = httpx.Client(timeout=float(timeout))

    def __repr__(self) -> str:  # the URL is a secret: never in a repr or a log line
        return f"TeamsNotifier(name={self.name!r})"

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> Delivery:
        """POST one card; a Delivery once Teams answered 2xx, else DeliveryError."""
        if not alerts:
            return Delivery(detail="nothing to send")
        try:
            response = self._client.post(self._url, json=card(alerts, digest=digest))
        except httpx.HTTPError as exc:  # connection refused, time-out: try again later
            raise DeliveryError(f"{self.name}: {type(exc).__name__}") from None
        status = response.status_code
        if status < 300:
            return Delivery(detail=f"HTTP {status} {response.text[:100]}".strip())
        message = f"{self.name}: Teams answered HTTP {status}"
        if status in TEMPORARY or status >= 500:
            raise DeliveryError(message, retry_after=retry_after(response.headers))
        raise DeliveryError(message, permanent=True)

    def close(self) -> None:
        self._client.close()


def card(alerts: Sequence[Alert], *, digest: bool = False) -> dict[str, Any]:
    """The MessageCard for `alerts` (one alert, or several as a digest)."""
    first = alerts[0]
    title = (
        f"monitor digest: {len(alerts)} alerts"
        if digest
        else f"{LABEL.get(first.kind, first.kind)}: {first.item.title}"
    )
    body: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title[:150],
        "themeColor": THEME.get(first.kind, "B22222"),
        "title": title,
        "sections": [section(a) for a in alerts],
    }
    if not digest and first.item.url:
        body["potentialAction"] = [
            {
                "@type": "OpenUri",
                "name": "Open the article",
                "targets": [{"os": "default", "uri": first.item.url}],
            }
        ]
    return body


def section(alert: Alert) -> dict[str, Any]:
    """One alert as a card section: headline, facts, evidence."""
    c = alert.classification
    facts = [
        {"name": "Types", "value": ", ".join(c.reported_types()) or "-"},
        {"name": "Score", "value": f"{c.score:.2f}"},
    ]
    if c.actors:
        facts.append({"name": "Actors", "value": ", ".join(c.actors)})
    if c.places:
        facts.append({"name": "Places", "value": ", ".join(c.places)})
    if c.event_date:
        facts.append({"name": "Date", "value": c.event_date.isoformat()})
    if alert.item.feed:
        facts.append({"name": "Source", "value": alert.item.feed})
    out: dict[str, Any] = {"activityTitle": alert.item.title, "facts": facts}
    if alert.item.url:
        out["activitySubtitle"] = alert.item.url
    reported = c.reported_types()
    quote = next((e.text for e in c.evidence if e.type in reported), None)
    if quote:
        out["text"] = f"“{quote[:400]}”"
    return out


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), if any."""
    value = headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@hookimpl
def monitor_notifier_kinds() -> dict[str, Any]:
    return {KIND: TeamsNotifier}
