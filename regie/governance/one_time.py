"""One-time tokens of an account (table ``account_token``): invitation and password-reset links, the pending
second step of a login, and the TOTP time steps already used.

A token is 256 random bits (``secrets.token_urlsafe(32)``, 43 URL-safe characters); only its SHA-256 is kept,
so the table alone opens nothing (no slow hash is needed for 256 random bits, as for session tokens and API
keys). A token is spent by a single ``UPDATE ... WHERE used_at IS NULL AND expires_at > now``: of two
requests racing with the same link, exactly one wins (OWASP Forgot Password Cheat Sheet: "single use",
"expire after an appropriate period").

Purposes: ``invite`` (7 days), ``reset`` (1 hour), ``login-code`` and ``login-enrol`` (the few minutes between
the password and the second factor), ``totp`` (a used TOTP time step, kept until it can no longer be
accepted: RFC 6238 §5.2, "the verifier MUST NOT accept the second attempt of the same OTP").
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, delete, insert, select, update

from regie.store import Store
from regie.store.schema import account, account_token

PURPOSES = ("invite", "reset", "login-code", "login-enrol", "totp", "unsubscribe")
#: How long an expired token is kept before it is deleted [s].
KEEP = 30 * 86400


class LinkProblem(StrEnum):
    """Why a token was refused, as a page says it (translated there)."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    DISABLED = "disabled"


class TokenError(ValueError):
    """A token that cannot be used; ``problem`` says why."""

    def __init__(self, problem: LinkProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Token:
    """A stored token, as found by its value (never holding the value itself)."""

    account_id: int
    purpose: str
    created_at: int
    expires_at: int
    used_at: int | None
    created_by: str | None


def now_s(now: int | None) -> int:
    return int(time.time()) if now is None else int(now)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def issue(
    conn: Connection, account_id: int, purpose: str, ttl: int, *, created_by: str | None, now: int,
    replace: bool = True,
) -> tuple[str, int]:
    """Store a new token of ``purpose`` for the account (inside the caller's transaction); returns the token and
    its expiry. ``replace``: the account's unused tokens of the same purpose are spent first (the newest link
    is the only valid one)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    # tokens long expired go when new ones are made (kept KEEP seconds so a late click says "expired")
    conn.execute(delete(account_token).where(account_token.c.expires_at < now - KEEP))
    if replace:
        conn.execute(
            update(account_token)
            .where(account_token.c.account_id == account_id, account_token.c.purpose == purpose,
                   account_token.c.used_at.is_(None))
            .values(used_at=now)
        )  # fmt: skip
    token = new_token()
    conn.execute(
        insert(account_token).values(
            token_hash=token_hash(token), account_id=account_id, purpose=purpose, created_at=now,
            expires_at=now + ttl, created_by=created_by,
        )
    )  # fmt: skip
    return token, now + ttl


def find(store: Store, token: str, purpose: str) -> Token | None:
    """The stored token of this value and purpose (used or not), or None."""
    if not token or len(token) > 200:
        return None
    with store.engine.connect() as conn:
        r = conn.execute(
            select(account_token).where(account_token.c.token_hash == token_hash(token),
                                        account_token.c.purpose == purpose)
        ).one_or_none()  # fmt: skip
    if r is None:
        return None
    return Token(int(r.account_id), r.purpose, int(r.created_at), int(r.expires_at),
                 None if r.used_at is None else int(r.used_at), r.created_by)  # fmt: skip


def check(store: Store, token: str, purpose: str, *, now: int | None = None) -> Token:
    """The token if it can be used now; else :class:`TokenError` saying whether it is unknown, used, expired, or
    its account disabled."""
    found = find(store, token, purpose)
    if found is None:
        raise TokenError(LinkProblem.UNKNOWN, "this link is unknown: check that it was copied whole")
    if found.used_at is not None:
        raise TokenError(LinkProblem.USED, "this link was already used (or replaced by a newer one)")
    if found.expires_at <= now_s(now):
        raise TokenError(LinkProblem.EXPIRED, "this link has expired: ask for a new one")
    with store.engine.connect() as conn:
        disabled = conn.execute(select(account.c.disabled_at).where(account.c.id == found.account_id)).scalar()
    if disabled is not None:
        raise TokenError(LinkProblem.DISABLED, "this account is disabled")
    return found


def spend(conn: Connection, token: str, purpose: str, now: int) -> int:
    """Mark the token used inside the caller's transaction; returns its account id, or raises :class:`TokenError`
    when another request spent it first or it expired meanwhile."""
    h = token_hash(token)
    done = conn.execute(
        update(account_token)
        .where(account_token.c.token_hash == h, account_token.c.purpose == purpose,
               account_token.c.used_at.is_(None), account_token.c.expires_at > now)
        .values(used_at=now)
    ).rowcount  # fmt: skip
    if done != 1:
        raise TokenError(LinkProblem.USED, "this link was already used or has expired")
    return int(conn.execute(select(account_token.c.account_id).where(account_token.c.token_hash == h)).scalar_one())
