"""The generic webhook notifier against a real local HTTP receiver that verifies the HMAC."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import pytest

from monitor.errors import ConfigError, DeliveryError
from monitor.models import Classification
from monitor.notify.samples import sample_alert, sample_alerts
from monitor.plugins.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookNotifier, verify
from monitor.testing.receiver import WebhookReceiver

SECRET = "whsec-0123456789abcdef"
HOOK_PATH = "/hooks/rcv-7f3a9c-token"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as rcv:
        yield rcv


@pytest.fixture
def notifier(receiver: WebhookReceiver) -> Iterator[WebhookNotifier]:
    n = WebhookNotifier("hook", {"url": receiver.url(HOOK_PATH), "secret": SECRET, "timeout": 5})
    yield n
    n.close()


def test_signature_verifies_on_the_receiving_side(
    receiver: WebhookReceiver, notifier: WebhookNotifier
) -> None:
    notifier.send([sample_alert()])
    (got,) = receiver.requests
    signature = got.headers[SIGNATURE_HEADER]
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert verify(SECRET.encode(), got.body, signature)
    assert not verify(b"another-secret-of-16+", got.body, signature)
    assert not verify(SECRET.encode(), got.body + b" ", signature)
    # The timestamp header repeats the signed body's timestamp: replays can be refused.
    assert int(got.headers[TIMESTAMP_HEADER]) == got.json()["timestamp"]
    assert abs(time.time() - got.json()["timestamp"]) < 60


def test_payload_shape(receiver: WebhookReceiver, notifier: WebhookNotifier) -> None:
    alert = sample_alert("update", thread_ref="ref-1", alert_id=7, story_id=3)
    notifier.send([alert])
    data = receiver.requests[0].json()
    assert receiver.requests[0].headers["Content-Type"].startswith("application/json")
    assert set(data) == {"version", "digest", "timestamp", "alerts"}
    assert data["version"] == 1 and data["digest"] is False
    (one,) = data["alerts"]
    assert {
        "id",
        "story_id",
        "route",
        "kind",
        "title",
        "url",
        "feed",
        "language",
        "published",
        "classification",
    } <= set(one)
    assert (one["id"], one["story_id"], one["kind"], one["thread_ref"]) == (7, 3, "update", "ref-1")
    assert one["published"] == "2023-09-13T09:00:00+00:00"
    cls: Classification = alert.classification
    assert one["classification"] == cls.to_contract(alert.item.id)
    assert one["classification"]["types"]["military"] == 0.81
    assert one["classification"]["evidence"][0]["type"] == "summit"


def test_digest_is_one_request(receiver: WebhookReceiver, notifier: WebhookNotifier) -> None:
    notifier.send(sample_alerts(4), digest=True)
    (got,) = receiver.requests
    assert got.json()["digest"] is True
    assert [a["kind"] for a in got.json()["alerts"]] == ["new", "followup", "new", "new"]


def test_unsigned_without_secret_and_extra_headers(receiver: WebhookReceiver) -> None:
    n = WebhookNotifier(
        "h", {"url": receiver.url(HOOK_PATH), "headers": {"Authorization": "Bearer abc123"}}
    )
    n.send([sample_alert()])
    n.close()
    headers = receiver.requests[0].headers
    assert SIGNATURE_HEADER not in headers and TIMESTAMP_HEADER not in headers
    assert headers["Authorization"] == "Bearer abc123"
    assert "abc123" not in repr(n)


@pytest.mark.parametrize(
    ("status", "permanent", "retry"),
    [
        (429, False, 7.0),
        (503, False, None),
        (408, False, None),
        (400, True, None),
        (401, True, None),
        (404, True, None),
        (410, True, None),
    ],
)
def test_status_mapping(
    receiver: WebhookReceiver,
    notifier: WebhookNotifier,
    status: int,
    permanent: bool,
    retry: float | None,
) -> None:
    receiver.respond(status, "nope", headers={"Retry-After": "7"} if status == 429 else None)
    with pytest.raises(DeliveryError) as info:
        notifier.send([sample_alert()])
    assert info.value.permanent is permanent
    assert info.value.retry_after == retry
    assert str(status) in str(info.value)
    assert receiver.url(HOOK_PATH) not in str(info.value)


def test_network_error_is_temporary_and_hides_the_url() -> None:
    with WebhookReceiver() as rcv:
        url = rcv.url(HOOK_PATH)
    n = WebhookNotifier("h", {"url": url, "timeout": 2})
    with pytest.raises(DeliveryError) as info:
        n.send([sample_alert()])
    n.close()
    assert not info.value.permanent
    assert "rcv-7f3a9c-token" not in str(info.value)


def test_options_reject_reserved_headers_and_short_secrets() -> None:
    with pytest.raises(ConfigError) as info:
        WebhookNotifier(
            "h", {"url": "ftp://x", "secret": "short", "headers": {"X-Monitor-Signature": "x"}}
        )
    keys = sorted(p.split(":")[0] for p in info.value.problems)
    assert keys == ["notifiers.h.headers", "notifiers.h.secret", "notifiers.h.url"]
    assert "short" not in str(info.value)
