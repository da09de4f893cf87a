"""Notifier kind "email": multipart (text + HTML) messages over SMTP.

One alert per message, or one digest listing several stories. Every message gets a
Message-ID (the receipt's `external_id`); updates and follow-ups of a story carry
In-Reply-To/References to its first message and a "Re: " subject, so mail clients
thread them.

Feed text never reaches a header unneutralised: control characters and line breaks are
removed, and RFC 2047 encoded words (`=?utf-8?q?...?=`) are broken up before the email
package sees them, since Python 3.11.7 and older decode them into raw CR/LF when folding
(CVE-2024-6923). The built message is then re-parsed and refused if it grew a header.
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from monitor import __version__
from monitor.config import Timeout
from monitor.errors import DeliveryError
from monitor.hookspecs import NotifierFactory, hookimpl
from monitor.models import Alert, Delivery
from monitor.notify import parse_options
from monitor.notify.render import AlertView, clean_line, stories, truncate, type_label, view

SUBJECT_LIMIT = 180
_ENCODED_WORD = re.compile(r"=\?")
_MSGID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>$")
_ADDRESS = re.compile(r"^[^\s<>@\"',;]+@[^\s<>@\"',;]+$")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class EmailOptions(BaseModel):
    """SMTP server, optional login, and who the alerts go to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)
    subject_prefix: str = "[monitor]"
    timeout: Timeout = 30.0

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError('expected one plain address like "monitor@example.org"')
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        if any(not _ADDRESS.match(v) for v in value):
            raise ValueError('expected plain addresses like ["analysts@example.org"]')
        return value

    @field_validator("subject_prefix", "host", "username")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and clean_line(value) != value.strip():
            raise ValueError("expected a single line without control characters")
        return value

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


def _cross_check(options: Mapping[str, Any]) -> list[str]:
    if bool(options.get("username")) != bool(options.get("password")):
        key = "password" if options.get("username") else "username"
        return [f"{key}: username and password go together (both, or neither)"]
    return []


def header_text(text: str | None, limit: int = SUBJECT_LIMIT) -> str:
    """Feed text made safe for a header: one line, no control characters, and no RFC 2047
    encoded word (`=?` becomes `= ?`) that the email package would decode (CVE-2024-6923)."""
    return truncate(_ENCODED_WORD.sub("= ?", clean_line(text)), limit)


class EmailNotifier:
    """One SMTP destination; connects per send (alerts are rare, connections go stale)."""

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.options = parse_options(EmailOptions, name, options, _cross_check)
        self._domain = self.options.sender.rsplit("@", 1)[1]

    def __repr__(self) -> str:
        o = self.options
        return (
            f"EmailNotifier(name={self.name!r}, host={o.host!r}, port={o.effective_port}, "
            f"security={o.security!r}, recipients={len(o.recipients)})"
        )

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> Delivery:
        if not alerts:
            return Delivery(detail="nothing to send")
        if digest:
            messages = [self.digest_message(alerts)]
        else:
            messages = [self.alert_message(a) for a in alerts]
        details = self._deliver(messages)
        return Delivery(external_id=messages[0]["Message-ID"], detail=details[0])

    def close(self) -> None:
        """Nothing held between sends."""

    # -- building --

    def _envelope(self, subject: str, thread_ref: str | None = None) -> EmailMessage:
        o = self.options
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = subject
        msg["From"] = Address(addr_spec=o.sender)
        msg["To"] = ", ".join(o.recipients)
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid("monitor", domain=self._domain)
        msg["X-Mailer"] = f"monitor/{__version__}"
        if _is_msgid(thread_ref):
            msg["In-Reply-To"] = thread_ref
            msg["References"] = thread_ref
        return msg

    def alert_message(self, alert: Alert) -> EmailMessage:
        """One alert: "[monitor] summit: Putin and Kim …", replies as "Re: …"; a feed's
        health: "[monitor] Feed TASS is down: failing for 1 d 2 h"."""
        v = view(alert)
        prefix = header_text(self.options.subject_prefix, 40)
        if v.is_feed_health:
            subject = f"{prefix} {header_text(v.headline)}".strip()
        else:
            topic = type_label(v.types[0][0]) if v.types else "contact"
            subject = f"{prefix} {topic}: {header_text(v.headline)}".strip()
        if alert.kind != "new" and _is_msgid(alert.thread_ref):
            subject = f"Re: {subject}"
        msg = self._envelope(subject, alert.thread_ref if alert.kind != "new" else None)
        msg.set_content(_text_block(v))
        msg.add_alternative(_html_page(v.headline, [_html_block(v)]), subtype="html")
        return _checked(msg)

    def digest_message(self, alerts: Sequence[Alert]) -> EmailMessage:
        """Several stories: one section each, a line per follow-up ("also reported by …")."""
        grouped = stories(alerts)
        prefix = header_text(self.options.subject_prefix, 40)
        subject = f"{prefix} digest: {len(grouped)} stories, {len(alerts)} reports".strip()
        msg = self._envelope(subject)
        msg.set_content("\n".join(_text_block(lead, fups) for lead, fups in grouped))
        blocks = [_html_block(lead, fups) for lead, fups in grouped]
        msg.add_alternative(_html_page(subject, blocks), subtype="html")
        return _checked(msg)

    # -- sending --

    def _deliver(self, messages: list[EmailMessage]) -> list[str]:
        o = self.options
        where = f"email {self.name} ({o.host}:{o.effective_port})"
        try:
            with self._connect() as smtp:
                if o.username and o.password:
                    smtp.login(o.username, o.password.get_secret_value())
                details = []
                for msg in messages:
                    refused = smtp.send_message(msg, from_addr=o.sender, to_addrs=o.recipients)
                    details.append(_accepted(refused, len(o.recipients)))
                return details
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{where}: authentication failed: {_reply(exc)}", permanent=True
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            first = next(iter(exc.recipients.values()))
            reply = f"{first[0]} {first[1].decode(errors='replace')}"
            raise DeliveryError(
                f"{where}: all recipients refused: {clean_line(reply)}",
                permanent=all(c >= 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
            raise DeliveryError(
                f"{where}: server said {_reply(exc)}", permanent=exc.smtp_code >= 500
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"{where}: not supported by the server: {exc}", permanent=True
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{where}: TLS certificate rejected: {exc.verify_message}", permanent=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, time-outs, refusals
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None

    def _connect(self) -> smtplib.SMTP:
        o = self.options
        context = ssl.create_default_context()
        if o.security == "tls":
            return smtplib.SMTP_SSL(o.host, o.effective_port, timeout=o.timeout, context=context)
        smtp = smtplib.SMTP(o.host, o.effective_port, timeout=o.timeout)
        try:
            if o.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=context)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp


def _is_msgid(ref: str | None) -> bool:
    """A thread reference fit for In-Reply-To: one msg-id, and no encoded word in it."""
    return bool(ref and _MSGID.match(ref) and "=?" not in ref)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return clean_line(f"{exc.smtp_code} {text}")[:300]


def _accepted(refused: Mapping[str, Any], total: int) -> str:
    """Some recipients refused but not all: delivered (retrying would duplicate)."""
    if not refused:
        return f"accepted for {total} recipient(s)"
    return f"accepted for {total - len(refused)} of {total} recipient(s); refused: " + ", ".join(
        sorted(refused)
    )


def _checked(msg: EmailMessage) -> EmailMessage:
    """Re-parse what will be sent: the same headers must come back, no more, no fewer."""
    sent = message_from_bytes(msg.as_bytes(), policy=policy.default)
    expected = sorted(k.lower() for k in msg)
    got = sorted(k.lower() for k in sent)
    if got != expected or "\n" in str(sent["Subject"]) or "\r" in str(sent["Subject"]):
        raise DeliveryError(
            f"email: refusing a message whose headers changed when serialised ({got})",
            permanent=True,
        )
    return msg


# --- bodies ------------------------------------------------------------------------


def _text_block(v: AlertView, followups: Sequence[AlertView] = ()) -> str:
    if v.kind == "followup" and not followups:
        lines = [f"Also reported by {v.outlets_text}: {v.headline}"]
    else:
        lines = [f"{v.kind_label}: {v.headline}"]
    if v.url:
        lines.append(v.url)
    lines.append("")
    lines += [f"{label}: {value}" for label, value in v.details()]
    if v.quote:
        quote = truncate(v.quote.text, 1000)
        lines += ["", f"Evidence ({type_label(v.quote.type)}):", f"  “{quote}”"]
    for f in followups:
        link = f" <{f.url}>" if f.url else ""
        lines.append(f"Also reported by {f.outlets_text}: {f.headline}{link}")
    return "\n".join(lines) + "\n"


def _a(url: str | None, label: str) -> str:
    escaped = html.escape(label)
    if not url:
        return escaped
    return f'<a href="{html.escape(url, quote=True)}">{escaped}</a>'


def _html_block(v: AlertView, followups: Sequence[AlertView] = ()) -> str:
    e = html.escape
    if v.kind == "followup" and not followups:
        head = f"<p>Also reported by <b>{e(v.outlets_text)}</b>: {_a(v.url, v.headline)}</p>"
        return f"<div>{head}</div>"
    parts = [f"<h2>{e(v.kind_label)}: {_a(v.url, v.headline)}</h2>", "<table>"]
    parts += [
        f'<tr><th align="left">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in v.details()
    ]
    parts.append("</table>")
    if v.quote:
        parts.append(
            f"<blockquote>{e(truncate(v.quote.text, 1000))}"
            f"<br><small>evidence for {e(type_label(v.quote.type))}</small></blockquote>"
        )
    if followups:
        items = "".join(
            f"<li>Also reported by <b>{e(f.outlets_text)}</b>: {_a(f.url, f.headline)}</li>"
            for f in followups
        )
        parts.append(f"<ul>{items}</ul>")
    return "<div>" + "\n".join(parts) + "</div>"


def _html_page(title: str, blocks: Sequence[str]) -> str:
    body = "\n<hr>\n".join(blocks)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


@hookimpl
def monitor_notifier_kinds() -> dict[str, NotifierFactory]:
    return {"email": EmailNotifier}
