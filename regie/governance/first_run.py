"""The first run: a one-time setup token that only the person at the server's console can read.

``regie serve`` on a store without an admin account makes a :class:`SetupToken` and prints it (as Jupyter
and Grafana do); the setup page (:mod:`regie.web.setup_pages`) asks for it before it creates the first
admin and the territory. The token is 256 random bits (``secrets.token_urlsafe(32)``); the process keeps
only its SHA-256, **in memory only**: a token written in the data directory would stay usable by whoever
can read that directory, for as long as nobody finishes the setup, whereas one kept in memory dies with the
process — restarting ``regie serve`` prints a new one, and the console is where it is read anyway. Once an
admin exists (made here, or by ``regie user add`` meanwhile) the token is void.

Wrong tokens are throttled the way logins are (OWASP Authentication Cheat Sheet, "Login throttling";
:class:`regie.governance.accounts.ThrottlePolicy`): per client address, after ``max_failures`` failures
within ``window`` seconds the address is locked for ``base_lock`` seconds, doubling with each further
failure up to ``max_lock``; and for everyone at once after ``max_failures_addr`` failures in the window (a
guess spread over many addresses). The counters live in memory like the token they protect. Every attempt,
refused or accepted, is appended to the access log (:class:`SetupEvent`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar

from regie.governance import audit
from regie.governance.accounts import ThrottlePolicy
from regie.store import Store

EVERYONE = "*"


@dataclass(frozen=True, slots=True)
class SetupEvent:
    """An attempt at the first-run setup: ``token_refused``, ``token_locked``, ``token_accepted``, ``done``."""

    kind: ClassVar[str] = "setup"
    action: str
    address: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of a token check: ``ok``, else ``reason`` (``invalid``, ``locked``, ``used``) and the wait [s]."""

    ok: bool
    reason: str
    retry_after: int = 0


@dataclass
class _Counter:
    failures: int = 0
    window_start: int = 0
    locked_until: int = 0


@dataclass
class SetupToken:
    """The one-time token of one ``regie serve`` process (only its hash is kept; see the module docstring)."""

    digest: bytes
    policy: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    used: bool = False
    _counters: dict[str, _Counter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def issue(cls, policy: ThrottlePolicy | None = None) -> tuple[SetupToken, str]:
        """A new token: the holder of its hash, and the token itself (to print once, then forget)."""
        token = secrets.token_urlsafe(32)
        return cls(_digest(token), policy or ThrottlePolicy()), token

    def _locked_for(self, key: str, now: int) -> int:
        c = self._counters.get(key)
        return max(0, c.locked_until - now) if c else 0

    def _fail(self, key: str, limit: int, now: int) -> None:
        c = self._counters.setdefault(key, _Counter(0, now, 0))
        if now - c.window_start > self.policy.window and c.locked_until <= now:
            c.failures, c.window_start = 0, now
        c.failures += 1
        if c.failures >= limit:
            c.locked_until = now + min(self.policy.max_lock, self.policy.base_lock * 2 ** (c.failures - limit))

    def check(self, store: Store, candidate: str | None, address: str, *, now: int | None = None) -> Check:
        """Whether ``candidate`` is the token, under throttling; every attempt is logged."""
        at = int(time.time()) if now is None else int(now)
        address = (address or "unknown")[:100]
        with self._lock:
            if self.used:
                result = Check(False, "used")
            elif wait := max(self._locked_for(address, at), self._locked_for(EVERYONE, at)):
                result = Check(False, "locked", wait)
            elif candidate and hmac.compare_digest(_digest(candidate), self.digest):
                self._counters.pop(address, None)
                result = Check(True, "ok")
            else:
                self._fail(address, self.policy.max_failures, at)
                self._fail(EVERYONE, self.policy.max_failures_addr, at)
                result = Check(False, "invalid")
        action = {"ok": "token_accepted", "locked": "token_locked"}.get(result.reason, "token_refused")
        audit.append(store, SetupEvent(action, address, result.reason), now=at)
        return result

    def spend(self, store: Store, address: str, detail: str, *, now: int | None = None) -> None:
        """The setup is done: the token is void from now on (logged)."""
        with self._lock:
            self.used = True
        audit.append(store, SetupEvent("done", (address or "unknown")[:100], detail), now=now)


def _digest(token: str) -> bytes:
    # SHA-256 suffices: the token carries 256 random bits (as for sessions and API keys), no slow hash needed.
    return hashlib.sha256(token.encode("utf-8", errors="replace")).digest()
