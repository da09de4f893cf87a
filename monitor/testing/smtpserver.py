"""A local SMTP server (aiosmtpd) that records what it receives, for email notifier tests.

    with SMTPServer() as smtp:
        notifier = EmailNotifier("t", {"host": smtp.host, "port": smtp.port,
                                       "security": "none", ...})
        notifier.send([alert])
        assert smtp.messages[0].message["Subject"].startswith("[monitor]")

Each received message keeps its envelope and its raw bytes, and is parsed with the
stdlib parser (`policy.default`), so tests check exactly what a server got. Knobs:
`refuse_next(n, code)` answers DATA with a 4xx/5xx, and `auth=(user, password)`
requires AUTH (allowed without TLS, which this server does not offer).

aiosmtpd is a test dependency, so it is imported only when a server starts.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted: envelope, raw bytes, and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in self.message.items()]

    def part(self, subtype: str) -> str:
        """The decoded text of the text/`subtype` part ("plain" or "html")."""
        body = self.message.get_body(preferencelist=(subtype,))
        if body is None or body.get_content_subtype() != subtype:
            raise KeyError(f"no text/{subtype} part")
        return str(body.get_content())


@dataclass
class _State:
    messages: list[ReceivedMessage] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    attempts: int = 0
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler:
    def __init__(self, state: _State) -> None:
        self.state = state

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        state = self.state
        with state.lock:
            state.attempts += 1
            if state.refusals:
                return state.refusals.pop(0)
            raw = bytes(envelope.original_content or envelope.content)
            parsed = message_from_bytes(raw, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            state.messages.append(
                ReceivedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), raw, parsed)
            )
        return "250 2.0.0 Message accepted"


def free_port() -> int:
    """A port free on 127.0.0.1 right now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SMTPServer:
    """An SMTP server on 127.0.0.1 recording messages; use as a context manager."""

    host = "127.0.0.1"

    def __init__(self, *, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.port = 0
        self._state = _State()
        self._controller: Any = None

    def start(self) -> SMTPServer:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> Any:
            user = data.login.decode() if isinstance(data.login, bytes) else data.login
            password = data.password
            if isinstance(password, bytes):
                password = password.decode()
            ok = self.auth is not None and (user, password) == self.auth
            if ok:
                with self._state.lock:
                    self._state.logins.append(user)
            return AuthResult(success=ok, handled=False)

        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            kwargs = {
                "authenticator": authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self.port = free_port()
        self._controller = Controller(
            _Handler(self._state),
            hostname=self.host,
            port=self.port,
            server_hostname="mail.test",
            ready_timeout=5.0,
            **kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what happened --

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._state.lock:
            return list(self._state.messages)

    @property
    def attempts(self) -> int:
        """DATA commands seen, refused ones included."""
        with self._state.lock:
            return self._state.attempts

    @property
    def logins(self) -> list[str]:
        with self._state.lock:
            return list(self._state.logins)

    # -- knobs --

    def refuse_next(self, n: int = 1, code: int = 451, text: str | None = None) -> None:
        """Answer the next `n` messages' DATA with `code` (4xx temporary, 5xx permanent)."""
        if not 400 <= code <= 599:
            raise ValueError("expected a 4xx or 5xx reply code")
        default = "4.3.0 Try again later" if code < 500 else "5.7.1 Message rejected"
        reply = f"{code} {text or default}"
        with self._state.lock:
            self._state.refusals.extend([reply] * n)
