"""Sending e-mail through the SMTP server of the settings (``smtp_*``): one client for every message regie sends
(supervision alerts, invitations, password resets).

``security`` is ``starttls`` (RFC 3207, submission on 587), ``tls`` (implicit TLS, RFC 8314 §3.3, port 465) or
``none`` (a relay on this machine only when there is a login: :func:`regie.config.smtp_problem`, the same rule
as the settings, so a typo never falls through to a plain-text login). Certificates are checked with the
system's trust store (``ssl.create_default_context``). Nothing here logs a message body: an invitation or a
reset link in a log would open the account to whoever reads it.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from regie.config import smtp_problem


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to send: the ``smtp_*`` settings."""

    host: str
    port: int = 587
    sender: str = "regie@localhost"
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0

    def __post_init__(self) -> None:
        if problem := smtp_problem(self.host, self.security, self.username):
            raise ValueError(problem)

    def send(self, message: EmailMessage) -> None:
        """Deliver one message (its ``From`` is set to :attr:`sender` when missing) or raise."""
        if "From" not in message:
            message["From"] = self.sender
        context = ssl.create_default_context()
        cls = smtplib.SMTP_SSL if self.security == "tls" else smtplib.SMTP
        kwargs: dict[str, Any] = {"context": context} if self.security == "tls" else {}
        with cls(self.host, self.port, timeout=self.timeout, **kwargs) as smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def server_from_settings(settings: Any) -> SmtpServer | None:
    """The SMTP server the settings name, or None when ``smtp_host`` is unset (then nothing is mailed)."""
    host = getattr(settings, "smtp_host", None)
    if not host:
        return None
    return SmtpServer(host, settings.smtp_port, settings.smtp_sender, str(settings.smtp_security),
                      settings.smtp_user, settings.smtp_password)  # fmt: skip


def text_message(to: Sequence[str] | str, subject: str, body: str, *, sender: str | None = None) -> EmailMessage:
    """A plain-text UTF-8 message (RFC 6532 headers, so "Régie" and accents pass as they are)."""
    msg = EmailMessage()
    msg["Subject"] = subject
    if sender:
        msg["From"] = sender
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    msg.set_content(body if body.endswith("\n") else body + "\n")
    return msg
