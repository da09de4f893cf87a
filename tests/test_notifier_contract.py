"""One contract for every notifier kind, each run against a real local endpoint.

console: captured stdout; slack: SlackServer (bot token, so it threads); email:
SMTPServer with AUTH; webhook: a local HTTP receiver. A kind joins the suite by adding
a `Rig` below.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from monitor.errors import ConfigError, DeliveryError
from monitor.hookspecs import Notifier
from monitor.models import Delivery
from monitor.notify.samples import sample_alert, sample_alerts
from monitor.plugins import console, email, slack, webhook
from monitor.testing.receiver import WebhookReceiver
from monitor.testing.slackserver import SlackServer
from monitor.testing.smtpserver import SMTPServer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

HOSTILE = (
    "Hostile <!channel> <@U123> <script>alert(1)</script>\r\nBcc: evil@example.com"
    " =?UTF-8?Q?=0D=0ABcc:_x@example.com?= <https://evil.example|click> \x1b[31mred"
)
SMTP_PASSWORD = "smtp-pa55word-secret"
HOOK_SECRET = "hook-signing-secret-0042"
HOOK_PATH = "/hooks/rcv-7f3a9c-token"


@dataclass
class Rig:
    """A notifier wired to its endpoint, with the knobs the contract needs."""

    kind: str
    name: str
    factory: Callable[[str, dict[str, Any]], Notifier]  # the kind's factory, bare
    make: Callable[[dict[str, Any]], Notifier]  # extra options -> notifier on the endpoint
    messages: Callable[[], list[str]]  # every delivered message, as searchable text
    fail_temporarily: Callable[[], None]
    fail_permanently: Callable[[], None]
    assert_safe: Callable[[str], None]  # hostile title, as delivered
    thread_of: Callable[[], str | None]  # what the last message threads under
    secrets: list[str] = field(default_factory=list)
    bad_options: dict[str, Any] = field(default_factory=dict)
    bad_keys: set[str] = field(default_factory=set)


def _console_rig(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Rig:
    printed: list[str] = []

    class PerSend:
        """Reads the captured output after each send, so each send is one message."""

        def __init__(self, inner: console.ConsoleNotifier) -> None:
            self.inner = inner
            self.name = inner.name

        def __repr__(self) -> str:
            return repr(self.inner)

        def send(self, alerts: Any, *, digest: bool = False) -> Delivery:
            try:
                return self.inner.send(alerts, digest=digest)
            finally:
                if out := capsys.readouterr().out:
                    printed.append(out)

        def close(self) -> None:
            self.inner.close()

    def full_pipe() -> None:  # a real non-blocking pipe nobody reads: writes would block
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        try:
            while True:
                os.write(write_end, b"x" * 65536)
        except BlockingIOError:
            pass
        stream = open(write_end, "w", buffering=1)  # noqa: SIM115
        monkeypatch.setattr(sys, "stdout", stream)

        def release() -> None:
            os.set_blocking(write_end, True)
            os.close(read_end)
            with contextlib.suppress(OSError):
                stream.close()

        request.addfinalizer(release)

    def closed_stdout() -> None:
        stream = io.StringIO()
        stream.close()
        monkeypatch.setattr(sys, "stdout", stream)

    def assert_safe(text: str) -> None:
        assert "\x1b" not in text and "\r" not in text
        title_line = next(line for line in text.splitlines() if "Hostile" in line)
        assert "Bcc: evil@example.com" in title_line  # kept, but on the title's own line

    return Rig(
        kind="console",
        factory=console.ConsoleNotifier,
        name="con",
        make=lambda extra: PerSend(console.ConsoleNotifier("con", extra)),
        messages=lambda: list(printed),
        fail_temporarily=full_pipe,
        fail_permanently=closed_stdout,
        assert_safe=assert_safe,
        thread_of=lambda: "printed",
        bad_options={"width": "wide", "colour": True},
        bad_keys={"width", "colour"},
    )


def _slack_rig(server: SlackServer) -> Rig:
    base = {"token": server.token, "channel": server.channel, "api_url": server.api_url}

    def assert_safe(text: str) -> None:
        assert server.mentions == []
        assert "&lt;!channel&gt;" in text and "&lt;@U123&gt;" in text
        assert "&lt;https://evil.example|click&gt;" in text
        assert "\x1b" not in text

    return Rig(
        kind="slack",
        factory=slack.SlackNotifier,
        name="sl",
        make=lambda extra: slack.SlackNotifier("sl", {**base, **extra}),
        messages=lambda: [m.text for m in server.messages],
        fail_temporarily=lambda: server.fail_next(500),
        fail_permanently=lambda: server.fail_next(error="channel_not_found"),
        assert_safe=assert_safe,
        thread_of=lambda: server.messages[-1].thread_ts,
        secrets=[server.token],
        bad_options={"token": server.token, "timeout": -1, "icon_emoji": "rocket", "bogus": 1},
        bad_keys={"timeout", "icon_emoji", "bogus", "channel"},
    )


def _email_rig(server: SMTPServer) -> Rig:
    base = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": "monitor",
        "password": SMTP_PASSWORD,
        "sender": "monitor@example.org",
        "recipients": ["analysts@example.org"],
        "timeout": 5,
    }

    def text_of(i: int) -> str:
        m = server.messages[i]
        return "\n".join([str(m.message["Subject"]), m.part("plain"), m.part("html")])

    def assert_safe(text: str) -> None:
        received = server.messages[-1]
        names = [k.lower() for k in received.message]
        assert "bcc" not in names and names.count("subject") == 1
        assert b"\nBcc:" not in received.raw and b"\r\nBcc:" not in received.raw
        assert "<script>" not in received.part("html")
        assert "&lt;script&gt;" in received.part("html")
        assert "\x1b" not in text

    return Rig(
        kind="email",
        factory=email.EmailNotifier,
        name="mail",
        make=lambda extra: email.EmailNotifier("mail", {**base, **extra}),
        messages=lambda: [text_of(i) for i in range(len(server.messages))],
        fail_temporarily=lambda: server.refuse_next(1, 451),
        fail_permanently=lambda: server.refuse_next(1, 554),
        assert_safe=assert_safe,
        thread_of=lambda: server.messages[-1].message["In-Reply-To"],
        secrets=[SMTP_PASSWORD],
        bad_options={"host": "", "port": 70000, "recipients": [], "password": SMTP_PASSWORD},
        bad_keys={"host", "port", "recipients", "sender", "username"},
    )


def _webhook_rig(receiver: WebhookReceiver) -> Rig:
    base = {"url": receiver.url(HOOK_PATH), "secret": HOOK_SECRET, "timeout": 5}

    def assert_safe(text: str) -> None:
        assert json.loads(text)["alerts"][0]["title"] == HOSTILE  # data kept, JSON-escaped

    return Rig(
        kind="webhook",
        factory=webhook.WebhookNotifier,
        name="hook",
        make=lambda extra: webhook.WebhookNotifier("hook", {**base, **extra}),
        messages=lambda: [r.body.decode() for r in receiver.requests],
        fail_temporarily=lambda: receiver.respond(503),
        fail_permanently=lambda: receiver.respond(404),
        assert_safe=assert_safe,
        thread_of=lambda: json.loads(receiver.requests[-1].body)["alerts"][0]["thread_ref"],
        secrets=[HOOK_SECRET, HOOK_PATH.strip("/")],
        bad_options={"url": "not a url", "secret": "", "timeout": "soon"},
        bad_keys={"url", "secret", "timeout"},
    )


@pytest.fixture(params=["console", "slack", "email", "webhook"])
def rig(
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Rig]:
    kind = request.param
    if kind == "console":
        yield _console_rig(capsys, monkeypatch, request)
    elif kind == "slack":
        with SlackServer() as server:
            yield _slack_rig(server)
    elif kind == "email":
        with SMTPServer(auth=("monitor", SMTP_PASSWORD)) as server:
            yield _email_rig(server)
    else:
        with WebhookReceiver() as receiver:
            yield _webhook_rig(receiver)


@pytest.fixture
def notifier(rig: Rig) -> Iterator[Notifier]:
    n = rig.make({})
    yield n
    n.close()


def test_kind_is_provided_by_its_hook(rig: Rig) -> None:
    modules = {"console": console, "slack": slack, "email": email, "webhook": webhook}
    kinds = modules[rig.kind].monitor_notifier_kinds()
    assert list(kinds) == [rig.kind]
    assert callable(kinds[rig.kind])


def test_single_alert(rig: Rig, notifier: Notifier) -> None:
    receipt = notifier.send([sample_alert()])
    assert isinstance(receipt, Delivery) and receipt.detail
    (text,) = rig.messages()
    assert "Putin and Kim Jong Un hold talks at the Vostochny Cosmodrome" in text
    assert "summit" in text
    assert "held talks at the Vostochny Cosmodrome" in text  # the evidence quote


def test_digest_is_one_message_with_every_story(rig: Rig, notifier: Notifier) -> None:
    notifier.send(sample_alerts(5), digest=True)
    (text,) = rig.messages()
    for headline in (
        "Vostochny Cosmodrome",
        "strategic partnership treaty",
        "Shoigu arrives in Pyongyang",
        "Tumen River road bridge",
    ):
        assert headline in text
    assert "Yonhap" in text  # the follow-up is listed under its story


def test_followup_threads_under_the_first_message(rig: Rig, notifier: Notifier) -> None:
    first = notifier.send([sample_alert()])
    ref = first.external_id or "printed"
    notifier.send([sample_alert("followup", thread_ref=ref, alert_id=2)])
    texts = rig.messages()
    assert len(texts) == 2
    assert "Also reported by" in texts[1] or '"kind":"followup"' in texts[1]
    assert "Kim Jong Un meets Putin at Russian space centre" in texts[1]
    assert rig.thread_of() == ref


def test_hostile_feed_text_is_neutralised(rig: Rig, notifier: Notifier) -> None:
    notifier.send([sample_alert(title=HOSTILE, feed="Evil <!here> feed")])
    (text,) = rig.messages()
    rig.assert_safe(text)


def test_temporary_failure(rig: Rig, notifier: Notifier) -> None:
    rig.fail_temporarily()
    with pytest.raises(DeliveryError) as info:
        notifier.send([sample_alert()])
    assert info.value.permanent is False


def test_permanent_failure(rig: Rig, notifier: Notifier) -> None:
    rig.fail_permanently()
    with pytest.raises(DeliveryError) as info:
        notifier.send([sample_alert()])
    assert info.value.permanent is True


def test_secrets_never_leak(rig: Rig, notifier: Notifier, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shown = [repr(notifier), str(notifier), repr(getattr(notifier, "options", ""))]
    notifier.send([sample_alert()])
    for fail in (rig.fail_temporarily, rig.fail_permanently):
        fail()
        with pytest.raises(DeliveryError) as info:
            notifier.send([sample_alert()])
        shown += [str(info.value), repr(info.value)]
    with pytest.raises(ConfigError) as bad:
        rig.factory(rig.name, rig.bad_options)
    shown.append(str(bad.value))
    shown += [r.getMessage() for r in caplog.records]
    for secret in rig.secrets:
        assert not [s for s in shown if secret in s], secret


def test_options_report_every_problem(rig: Rig) -> None:
    with pytest.raises(ConfigError) as info:
        rig.factory(rig.name, rig.bad_options)
    problems = info.value.problems
    assert all(p.startswith(f"notifiers.{rig.name}.") for p in problems), problems
    named = {p.split(":")[0].split(".")[2] for p in problems}
    assert rig.bad_keys <= named, problems


def test_empty_send_is_a_no_op(rig: Rig, notifier: Notifier) -> None:
    assert notifier.send([]).detail == "nothing to send"
    assert rig.messages() == []
