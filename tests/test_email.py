"""Email notifier specifics, against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from monitor.errors import ConfigError, DeliveryError
from monitor.notify.samples import sample_alert, sample_alerts
from monitor.plugins.email import EmailNotifier, header_text
from monitor.testing.smtpserver import SMTPServer, free_port

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CVE_2024_6923 = "=?UTF-8?Q?=0D=0ABcc:_attacker@example.com?="


@pytest.fixture
def server() -> Iterator[SMTPServer]:
    with SMTPServer() as s:
        yield s


def _options(server: SMTPServer, **extra: Any) -> dict[str, Any]:
    return {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "sender": "monitor@example.org",
        "recipients": ["analysts@example.org", "desk@example.org"],
        "timeout": 5,
        **extra,
    }


@pytest.fixture
def mailer(server: SMTPServer) -> EmailNotifier:
    return EmailNotifier("mail", _options(server))


def test_multipart_alternative(server: SMTPServer, mailer: EmailNotifier) -> None:
    receipt = mailer.send([sample_alert()])
    (got,) = server.messages
    msg = got.message
    assert got.mail_from == "monitor@example.org"
    assert got.rcpt_tos == ("analysts@example.org", "desk@example.org")
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert str(msg["Subject"]).strip() == (
        "[monitor] summit: Putin and Kim Jong Un hold talks at the Vostochny Cosmodrome"
    )
    assert msg["Message-ID"] == receipt.external_id
    assert str(receipt.external_id).endswith("@example.org>")
    text = got.part("plain")
    assert "Types: summit 0.96 · military cooperation 0.62" in text
    assert "https://tass.com/politics/1673581" in text
    html = got.part("html")
    assert '<a href="https://tass.com/politics/1673581">' in html
    assert "<blockquote>Russian President Vladimir Putin" in html


def test_html_part_escapes_feed_text(server: SMTPServer, mailer: EmailNotifier) -> None:
    mailer.send(
        [
            sample_alert(
                title='<script>alert("x")</script> & <b>bold</b>',
                url='https://x.example/"><script>',
            )
        ]
    )
    html = server.messages[0].part("html")
    assert "<script>" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold" in html
    assert 'href="' not in html.split("<h2>")[1].split("</h2>")[0]  # not a web URL: no link


def test_cve_2024_6923_encoded_word_cannot_add_a_header(
    server: SMTPServer, mailer: EmailNotifier
) -> None:
    mailer.send([sample_alert(title=f"Summit {CVE_2024_6923} news")])
    (got,) = server.messages
    names = [k.lower() for k in got.message]
    assert "bcc" not in names
    assert sorted(names) == sorted(
        ["subject", "from", "to", "date", "message-id", "x-mailer", "mime-version", "content-type"]
    )
    head = got.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc" not in head and b"\rBcc" not in head and b"\nbcc" not in head.lower()
    assert got.rcpt_tos == ("analysts@example.org", "desk@example.org")  # envelope unchanged
    subject = str(got.message["Subject"])
    assert "\r" not in subject and "\n" not in subject and "attacker@example.com" in subject


def test_control_characters_and_newlines_are_stripped_from_subjects() -> None:
    assert header_text("a\r\nBcc: x@y\x00\x1b[2J\u2028z") == "a Bcc: x@y [2J z"
    assert header_text(CVE_2024_6923).startswith("= ?UTF-8?Q?")
    assert len(header_text("word " * 100)) <= 180


def test_threading_headers_and_re_subject(server: SMTPServer, mailer: EmailNotifier) -> None:
    first = mailer.send([sample_alert()])
    second = mailer.send([sample_alert("update", thread_ref=first.external_id, alert_id=2)])
    third = mailer.send([sample_alert("followup", thread_ref=first.external_id, alert_id=3)])
    new, update, followup = (m.message for m in server.messages)
    assert "In-Reply-To" not in new and "References" not in new
    for reply, receipt in ((update, second), (followup, third)):
        assert reply["In-Reply-To"] == first.external_id
        assert reply["References"] == first.external_id
        assert str(reply["Subject"]).strip().startswith("Re: [monitor]")
        assert reply["Message-ID"] == receipt.external_id != first.external_id
    assert "New types: military cooperation" in server.messages[1].part("plain")
    assert "Also reported by Yonhap (sample)" in server.messages[2].part("plain")


def test_bogus_thread_ref_is_ignored(server: SMTPServer, mailer: EmailNotifier) -> None:
    mailer.send([sample_alert("update", thread_ref="<=?utf-8?q?x?=@evil>\r\nBcc: a@b")])
    msg = server.messages[0].message
    assert "In-Reply-To" not in msg and "bcc" not in [k.lower() for k in msg]


def test_digest_lists_stories_and_followups(server: SMTPServer, mailer: EmailNotifier) -> None:
    mailer.send(sample_alerts(4), digest=True)
    (got,) = server.messages
    assert str(got.message["Subject"]).strip() == "[monitor] digest: 3 stories, 4 reports"
    text = got.part("plain")
    assert text.count("New: ") == 3
    assert "Also reported by Yonhap (sample): Kim Jong Un meets Putin" in text
    assert "<li>Also reported by <b>Yonhap (sample)</b>" in got.part("html")


def test_refused_then_accepted(server: SMTPServer, mailer: EmailNotifier) -> None:
    server.refuse_next(1, 451)
    with pytest.raises(DeliveryError) as info:
        mailer.send([sample_alert()])
    assert not info.value.permanent and "451" in str(info.value)
    mailer.send([sample_alert()])
    assert server.attempts == 2 and len(server.messages) == 1


def test_5xx_is_permanent_with_the_reply(server: SMTPServer, mailer: EmailNotifier) -> None:
    server.refuse_next(1, 554, "5.7.1 Spam suspected")
    with pytest.raises(DeliveryError) as info:
        mailer.send([sample_alert()])
    assert info.value.permanent and "554 5.7.1 Spam suspected" in str(info.value)


def test_auth() -> None:
    with SMTPServer(auth=("monitor", "s3cret-pw")) as server:
        EmailNotifier("m", _options(server, username="monitor", password="s3cret-pw")).send(
            [sample_alert()]
        )
        assert server.logins == ["monitor"] and len(server.messages) == 1
        bad = EmailNotifier("m", _options(server, username="monitor", password="wrong-pw"))
        with pytest.raises(DeliveryError) as info:
            bad.send([sample_alert()])
        assert info.value.permanent and "authentication failed" in str(info.value)
        assert "wrong-pw" not in str(info.value) and "wrong-pw" not in repr(bad)
        anonymous = EmailNotifier("m", _options(server))
        with pytest.raises(DeliveryError) as info:
            anonymous.send([sample_alert()])
        assert info.value.permanent  # 530 authentication required


def test_starttls_not_offered_is_permanent(server: SMTPServer) -> None:
    with pytest.raises(DeliveryError) as info:
        EmailNotifier("m", _options(server, security="starttls")).send([sample_alert()])
    assert info.value.permanent and "STARTTLS" in str(info.value)


def test_connection_refused_is_temporary() -> None:
    port = free_port()
    notifier = EmailNotifier(
        "m",
        {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "sender": "m@example.org",
            "recipients": ["a@example.org"],
            "timeout": 2,
        },
    )
    with pytest.raises(DeliveryError) as info:
        notifier.send([sample_alert()])
    assert not info.value.permanent


def test_options_problems_named() -> None:
    with pytest.raises(ConfigError) as info:
        EmailNotifier(
            "m",
            {
                "host": "smtp.example.org",
                "security": "ssl",
                "sender": "nobody",
                "recipients": ["a@example.org", "not an address"],
                "username": "u",
            },
        )
    keys = sorted(p.split(":")[0] for p in info.value.problems)
    assert keys == [
        "notifiers.m.password",
        "notifiers.m.recipients",
        "notifiers.m.security",
        "notifiers.m.sender",
    ]
