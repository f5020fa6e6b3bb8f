"""A real SMTP server on loopback for the tests that follow a mail (invitations, password resets): the
``smtp`` fixture of tests/conftest.py starts aiosmtpd on a free port and keeps what it receives here."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message

from regie.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    """The messages an aiosmtpd server on 127.0.0.1 received (see ``conftest.smtp``)."""

    port: int
    messages: list[Message] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def keep(self, message: Message) -> None:
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()

    def wait_for(self, to: str, timeout: float = 60.0) -> Message:
        """The first message to ``to`` (waiting for it: some are sent after the page answered; a generous
        ``timeout``, as a loaded CI machine may take seconds to send one)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                found = [m for m in self.messages if to in (m["To"] or "")]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail to {to} within {timeout} s (got {len(self.messages)} others)")
                self.arrived.wait(left)

    def settings(self, **more: object) -> Settings:
        return Settings.defaults(smtp_host="127.0.0.1", smtp_port=self.port, smtp_security="none",
                                 smtp_sender="regie@vallee.example", **more)  # fmt: skip


def subject(message: Message) -> str:
    """The Subject header decoded (RFC 2047 encoded words, as a non-ASCII subject travels)."""
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def link_in(message: Message, kind: str) -> str:
    """The one-time link (``invite`` or ``reset``) a mail holds."""
    found = re.findall(rf"https?://\S+/{kind}/[A-Za-z0-9_-]+", body(message))
    assert len(found) == 1, body(message)
    return found[0]
