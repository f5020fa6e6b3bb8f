"""Accounts and roles, argon2 passwords, login throttling, web sessions and CSRF tokens.

Roles: ``admin`` runs the régie; ``operator`` runs a community or an ACC operation (``operator_of``) and
sees members' data only as their grants allow; ``member`` holds delivery points (``holder_id`` is the
Person or Organisation of the inventory) and owns their data; ``public`` has no account and sees only
published aggregates.

Passwords are hashed with argon2id (RFC 9106) through argon2-cffi's ``PasswordHasher``, whose defaults
follow the RFC's second recommended profile; a hash made with older parameters is replaced at the next
successful login. Login throttling is kept in the database (so a restart does not lift a lockout), per
account and per client address: after ``max_failures`` failures within ``window`` seconds the key is
locked for ``base_lock`` seconds, doubling with each further failure up to ``max_lock`` (OWASP
Authentication Cheat Sheet, "Login throttling"; NIST SP 800-63B §5.2.2 "rate limiting").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, delete, insert, select, update

from regie.governance import audit
from regie.store import Store
from regie.store.erasure import erased_holders
from regie.store.schema import account, login_throttle, organisation, person, web_session

#: ANSSI recommends at least 12 characters for a password protecting personal data (ANSSI, "Recommandations
#: relatives à l'authentification multifacteur et aux mots de passe", 2021, R21); an upper bound keeps a
#: single login from costing unbounded hashing time.
MIN_PASSWORD, MAX_PASSWORD = 12, 1024
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
SESSION_TTL = 8 * 3600
#: What the web layer should set on the session cookie: the ``__Host-`` prefix pins it to this host and
#: path and requires Secure (RFC 6265bis §4.1.3.2); HttpOnly keeps it from scripts; Lax blocks cross-site
#: POSTs while keeping links working.
SESSION_COOKIE = {"key": "__Host-regie_session", "httponly": True, "secure": True, "samesite": "lax", "path": "/"}

_HASHER = PasswordHasher()


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    MEMBER = "member"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Account:
    """Who is asking. ``PUBLIC`` (id 0) stands for an anonymous visitor; :data:`CLI_ADMIN` for the shell."""

    id: int
    username: str
    role: Role
    holder_id: str | None = None
    operator_of: str | None = None
    display_name: str | None = None
    created_at: int = 0
    disabled_at: int | None = None
    #: The territory an admin or operator runs; None: every territory of the store (the first admin, the CLI).
    territory_id: str | None = None
    email: str | None = None
    #: Whether a TOTP second factor was confirmed (the secret itself never leaves the store's row).
    two_factor: bool = False

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def label(self) -> str:
        return self.username


#: The régie's other system accounts (ids < 0, never stored) are in :mod:`regie.governance.system_accounts`.
PUBLIC = Account(0, "public", Role.PUBLIC)
#: Whoever runs ``regie`` on the server: they can read the database anyway, so they act as an admin — and
#: still have to give a reason for every read of personal data, which is logged.
CLI_ADMIN = Account(-1, "cli", Role.ADMIN)


class AccountError(ValueError):
    """A refused account operation, with a message that says why (never containing a password)."""


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else int(now)


def _from_row(r) -> Account:
    return Account(
        int(r.id), r.username, Role(r.role), r.holder_id, r.operator_of, r.display_name, int(r.created_at),
        int(r.disabled_at) if r.disabled_at is not None else None,
        r.territory_id, r.email, r.totp_enabled_at is not None,
    )  # fmt: skip


# ---------------------------------------------------------------- password policy
#
# NIST SP 800-63B §5.1.1.2 (memorized secrets): a minimum length, no composition rules ("at least one digit"
# makes passwords weaker, not stronger), and a check against "values known to be commonly-used, expected, or
# compromised": passwords from breach corpuses, dictionary words, repetitive or sequential characters
# ("aaaaaa", "1234abcd"), context-specific words (the service, the username). The list and the estimate come
# from zxcvbn (Dropbox's estimator, the Python port on PyPI: ``zxcvbn``), whose ``passwords`` frequency list
# holds the 30,000 most common passwords of a 10-million-password breach corpus (French ones such as
# "motdepasse" and "azerty" included). Admins and operators, whose account opens other people's data, also
# need a zxcvbn score of :data:`STRONG_SCORE`.

#: zxcvbn score asked of admins and operators: 3 is "safely unguessable: moderate protection from an offline
#: slow-hash scenario" (at least 10^8 guesses), which argon2id is.
STRONG_SCORE = 3
#: zxcvbn's estimate is quadratic in the length; its first 72 characters say enough about a long password.
_ESTIMATED_CHARS = 72
#: Predictable pieces (common passwords, repeats, sequences, keyboard walks, dates, context words) may be
#: joined by at most this many other characters before a password stops counting as "common".
_FREE_CHARS = 3
_PREDICTABLE = frozenset({"repeat", "sequence", "spatial", "date", "regex"})
_BLOCKLISTS = frozenset({"passwords", "user_inputs"})
_ZXCVBN_LOCK = threading.Lock()  # zxcvbn keeps the context words of a call in a module global


class PasswordRejected(AccountError):
    """A password the policy refuses. ``reason`` (``length``, ``common``, ``weak``) and ``params`` let a page
    say it in the visitor's language; ``str()`` is the English message the CLI prints."""

    def __init__(self, reason: str, message: str, **params: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params


def _estimate(password: str, context: list[str]) -> dict:
    from zxcvbn import zxcvbn  # imported when first needed: it loads its word lists

    with _ZXCVBN_LOCK:
        return zxcvbn(password[:_ESTIMATED_CHARS], user_inputs=context)


def _only_predictable(estimate: dict) -> bool:
    """Whether the password is nothing but common passwords, context words, repeats, sequences, keyboard
    walks or dates (with at most :data:`_FREE_CHARS` other characters)."""
    free = 0
    for match in estimate["sequence"]:
        if match["pattern"] in _PREDICTABLE or match.get("dictionary_name") in _BLOCKLISTS:
            continue
        free += len(match["token"])
    return free <= _FREE_CHARS


def _check_password(password: str, role: Role | str = Role.MEMBER, context: tuple[str | None, ...] = ()) -> None:
    """Refuse a password that is too short or long, common, or (for admins and operators) guessable.

    ``context`` holds the words an attacker would try first for this account (its username, display name)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise PasswordRejected(
            "length", f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", min=MIN_PASSWORD, max=MAX_PASSWORD
        )
    words = ["regie", "régie", *(w for w in context if w)]
    estimate = _estimate(password, words)
    if _only_predictable(estimate):
        raise PasswordRejected(
            "common",
            "this password is too common or too predictable (a known password, the username, a repeat or a "
            "sequence of characters): choose a few unrelated words",
        )
    if Role(role) in (Role.ADMIN, Role.OPERATOR) and estimate["score"] < STRONG_SCORE:
        raise PasswordRejected(
            "weak",
            f"an {Role(role).value} account opens other people's data: its password must be harder to guess "
            f"(zxcvbn score {STRONG_SCORE} of 4, this one has {estimate['score']}); add words or length",
            score=int(estimate["score"]),
            needed=STRONG_SCORE,
        )


def check_password(password: str, role: Role | str, context: tuple[str | None, ...] = ()) -> None:
    """The password policy (raises :class:`PasswordRejected`), for callers that store the hash themselves
    (an invitation or a reset link spent in the same transaction: :mod:`regie.governance.invitations`)."""
    _check_password(password, role, context)


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """An argon2id PHC string (salt and parameters included)."""
    return (hasher or _HASHER).hash(password)


def _holder_exists(conn: Connection, holder_id: str) -> bool:
    for table in (person, organisation):
        if conn.execute(select(table.c.id).where(table.c.id == holder_id)).first() is not None:
            return True
    return False


#: The password hash of an invited account that has not chosen its password yet: not a PHC string, so argon2
#: refuses it (``InvalidHashError``) and no password ever matches it (as ``!`` in /etc/shadow).
NO_PASSWORD = "!invited"


def create_account(
    store: Store,
    username: str,
    password: str | None,
    role: Role | str,
    *,
    holder_id: str | None = None,
    operator_of: str | None = None,
    display_name: str | None = None,
    territory_id: str | None = None,
    email: str | None = None,
    actor: Account = CLI_ADMIN,
    hasher: PasswordHasher | None = None,
    now: int | None = None,
    invited_by_pmo: bool = False,
) -> Account:
    """Create an account. A member must be linked to a Person or Organisation of the inventory; an admin or
    operator with a ``territory_id`` runs that territory only. ``password=None``: no usable password yet (an
    invitation, :mod:`regie.governance.invitations`): nobody can log in until the invitation link is used.
    Only an admin creates accounts, save a member invited by an ACC operation's PMO (``invited_by_pmo``: set by
    :func:`regie.governance.invitations.invite` once it checked the PMO may invite that holder)."""
    role = Role(role)
    if actor.role is not Role.ADMIN and not (invited_by_pmo and role is Role.MEMBER and password is None):
        raise AccountError("only an admin creates accounts")
    if not _USERNAME.match(username):
        raise AccountError("a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    if role is Role.PUBLIC:
        raise AccountError("the public has no account")
    if role is Role.MEMBER and not holder_id:
        raise AccountError("a member account needs --holder (a person or organisation of the inventory)")
    if role is Role.OPERATOR and not operator_of:
        raise AccountError("an operator account needs --operator-of (an organisation or an operation)")
    if password is not None:
        _check_password(password, role, (username, display_name))
    at = _now(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        if holder_id is not None and erased_holders(conn, [holder_id]):
            raise AccountError(f"holder {holder_id!r} was erased at their request (GDPR art. 17): an erased id "
                               "is never bound again, it would show the new account the old person's access log")
        if holder_id is not None and not _holder_exists(conn, holder_id):
            raise AccountError(f"no person or organisation {holder_id!r} in this store")
        if conn.execute(select(account.c.id).where(account.c.username == username)).first() is not None:
            raise AccountError(f"account {username!r} already exists")
        row_id = conn.execute(
            insert(account).values(
                username=username, role=role.value,
                password_hash=NO_PASSWORD if password is None else hash_password(password, hasher),
                holder_id=holder_id, operator_of=operator_of, display_name=display_name, created_at=at,
                territory_id=territory_id, email=email,
            )
        ).inserted_primary_key[0]  # fmt: skip
    audit.append(store, audit.AccountEvent("created", username, actor.label, holder_id), now=at)
    return Account(int(row_id), username, role, holder_id, operator_of, display_name, at, None, territory_id, email)


def get_account(store: Store, username: str) -> Account | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(account).where(account.c.username == username)).one_or_none()
    return None if r is None else _from_row(r)


def list_accounts(store: Store) -> list[Account]:
    with store.engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(select(account).order_by(account.c.username))]


def accounts_of_holder(store: Store, holder_id: str) -> list[Account]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(account).where(account.c.holder_id == holder_id).order_by(account.c.id))
        return [_from_row(r) for r in rows]


def set_password(
    store: Store,
    username: str,
    password: str,
    *,
    actor: Account = CLI_ADMIN,
    hasher: PasswordHasher | None = None,
    now: int | None = None,
) -> None:
    """Change a password (the account itself or an admin); every open session of the account ends."""
    if actor.role is not Role.ADMIN and actor.username != username:
        raise AccountError("only the account itself or an admin changes a password")
    with store.engine.execution_options(writer=True).begin() as conn:
        r = conn.execute(
            select(account.c.id, account.c.role, account.c.display_name).where(account.c.username == username)
        ).one_or_none()
        if r is None:
            raise AccountError(f"no account {username!r}")
        _check_password(password, r.role, (username, r.display_name))
        conn.execute(update(account).where(account.c.id == r.id).values(password_hash=hash_password(password, hasher)))
        conn.execute(update(web_session).where(web_session.c.account_id == r.id).values(revoked_at=_now(now)))
    audit.append(store, audit.AccountEvent("password_changed", username, actor.label), now=now)


def disable_account(store: Store, username: str, *, actor: Account = CLI_ADMIN, now: int | None = None) -> None:
    """Disable an account at once: it cannot log in, its sessions end, the gate refuses it."""
    if actor.role is not Role.ADMIN:
        raise AccountError("only an admin disables accounts")
    at = _now(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        r = conn.execute(select(account.c.id).where(account.c.username == username)).one_or_none()
        if r is None:
            raise AccountError(f"no account {username!r}")
        conn.execute(update(account).where(account.c.id == r.id).values(disabled_at=at))
        conn.execute(update(web_session).where(web_session.c.account_id == r.id).values(revoked_at=at))
    audit.append(store, audit.AccountEvent("disabled", username, actor.label), now=at)


def is_active(store: Store, caller: Account) -> bool:
    """Whether the caller may act now: the anonymous public and the shell always; accounts unless disabled."""
    if caller.id <= 0:
        return True
    with store.engine.connect() as conn:
        r = conn.execute(select(account.c.disabled_at).where(account.c.id == caller.id)).one_or_none()
    return r is not None and r.disabled_at is None


# ---------------------------------------------------------------- login and throttling


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 5  # per account within the window
    max_failures_addr: int = 20  # per client address within the window (many accounts tried)
    window: int = 15 * 60
    base_lock: int = 60
    max_lock: int = 3600


@dataclass(frozen=True, slots=True)
class Login:
    """The outcome of a login: ``account`` when it succeeded; else ``reason`` and ``retry_after`` [s]."""

    account: Account | None
    reason: str  # ok, invalid, locked, disabled
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return self.account is not None


def _locked_for(conn: Connection, key: str, now: int) -> int:
    r = conn.execute(select(login_throttle.c.locked_until).where(login_throttle.c.key == key)).one_or_none()
    if r is None or r.locked_until is None or r.locked_until <= now:
        return 0
    return int(r.locked_until - now)


def _fail(conn: Connection, key: str, limit: int, policy: ThrottlePolicy, now: int) -> None:
    r = conn.execute(select(login_throttle).where(login_throttle.c.key == key)).one_or_none()
    if r is None:
        conn.execute(insert(login_throttle).values(key=key, failures=1, window_start=now, locked_until=None))
        failures = 1
    else:
        failures = 1 if now - r.window_start > policy.window and not _locked_for(conn, key, now) else r.failures + 1
        start = now if failures == 1 else r.window_start
        conn.execute(
            update(login_throttle).where(login_throttle.c.key == key).values(failures=failures, window_start=start)
        )
    if failures >= limit:
        lock = min(policy.max_lock, policy.base_lock * 2 ** (failures - limit))
        conn.execute(update(login_throttle).where(login_throttle.c.key == key).values(locked_until=now + lock))


def locked_for(store: Store, *keys: str, now: int | None = None) -> int:
    """Seconds the most locked of these throttling keys stays locked (0: none is)."""
    at = _now(now)
    with store.engine.connect() as conn:
        return max((_locked_for(conn, key, at) for key in keys), default=0)


def count_failures(store: Store, keys: dict[str, int], *, policy: ThrottlePolicy = ThrottlePolicy(),
                   now: int | None = None) -> None:
    """Count one failure on each throttling key (``key -> limit`` within ``policy.window``), as a wrong password
    does: for attempts that are not password checks but must be rate-limited the same way (a second-factor
    code, a password-reset request)."""
    at = _now(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        for key, limit in keys.items():
            _fail(conn, key, limit, policy, at)


def clear_throttle(store: Store, key: str) -> None:
    """Forget the failures counted on a key (after a success)."""
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(delete(login_throttle).where(login_throttle.c.key == key))


def authenticate(
    store: Store,
    username: str,
    password: str,
    client_addr: str,
    *,
    policy: ThrottlePolicy = ThrottlePolicy(),
    hasher: PasswordHasher | None = None,
    now: int | None = None,
) -> Login:
    """Check a password under throttling. A locked key is refused before the password is even checked;
    an unknown user costs the same hashing time as a known one (no user enumeration by timing)."""
    hasher = hasher or _HASHER
    at = _now(now)
    akey, ckey = f"account:{username.lower()[:100]}", f"addr:{client_addr[:100]}"
    with store.engine.execution_options(writer=True).begin() as conn:
        wait = max(_locked_for(conn, akey, at), _locked_for(conn, ckey, at))
        if wait:
            return Login(None, "locked", wait)
        r = conn.execute(select(account).where(account.c.username == username)).one_or_none()
        stored = r.password_hash if r is not None else unmatchable_hash(hasher)
        try:
            good = hasher.verify(stored, password) and r is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            good = False
        if not good:
            _fail(conn, akey, policy.max_failures, policy, at)
            _fail(conn, ckey, policy.max_failures_addr, policy, at)
            return Login(None, "invalid")
        if r.disabled_at is not None:
            return Login(None, "disabled")
        conn.execute(delete(login_throttle).where(login_throttle.c.key == akey))
        if hasher.check_needs_rehash(stored):
            conn.execute(update(account).where(account.c.id == r.id).values(password_hash=hasher.hash(password)))
        return Login(_from_row(r), "ok")


def unmatchable_hash(hasher: PasswordHasher) -> str:
    """An argon2id PHC string with ``hasher``'s parameters, a random salt and a random digest: checking a
    password against it costs what checking a real hash costs (an unknown user is not told apart by timing), and
    no password matches it (a random 256-bit digest). Nothing is hashed to make it: hashing one at import, as
    before, took argon2's 64 MiB and 0.3 s in every process that imports this module."""

    def b64(n: int) -> str:  # PHC strings: standard base64 without padding
        return base64.b64encode(secrets.token_bytes(n)).decode().rstrip("=")

    params = f"m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
    return f"$argon2id$v=19${params}${b64(hasher.salt_len)}${b64(hasher.hash_len)}"


# ---------------------------------------------------------------- sessions and CSRF


def _token_hash(token: str) -> str:
    # SHA-256 suffices: a session token carries 256 random bits, so no slow hash is needed (as for API keys).
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


def create_session(store: Store, acct: Account, *, ttl: int = SESSION_TTL, now: int | None = None) -> str:
    """A new random session token for the cookie; only its hash is stored."""
    if acct.id <= 0:
        raise AccountError("sessions are for accounts")
    token = secrets.token_urlsafe(32)
    at = _now(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(
            insert(web_session).values(
                token_hash=_token_hash(token), account_id=acct.id, created_at=at, expires_at=at + ttl
            )
        )
    return token


def resolve_session(store: Store, token: str | None, *, now: int | None = None) -> Account | None:
    """The account behind a cookie, or None if the token is unknown, expired, revoked or its account disabled."""
    if not token:
        return None
    at = _now(now)
    q = (
        select(account, web_session.c.expires_at, web_session.c.revoked_at)
        .join(account, account.c.id == web_session.c.account_id)
        .where(web_session.c.token_hash == _token_hash(token))
    )
    with store.engine.connect() as conn:
        r = conn.execute(q).one_or_none()
    if r is None or r.revoked_at is not None or r.expires_at <= at or r.disabled_at is not None:
        return None
    return _from_row(r)


def revoke_session(store: Store, token: str, *, now: int | None = None) -> None:
    """Log out: the token is never valid again."""
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(
            update(web_session).where(web_session.c.token_hash == _token_hash(token)).values(revoked_at=_now(now))
        )


def csrf_token(session_token: str, secret: bytes) -> str:
    """A synchroniser token bound to the session (OWASP CSRF Prevention Cheat Sheet, "signed double-submit
    cookie"): HMAC-SHA256 of the session token under the régie's secret. Put it in forms and headers."""
    mac = hmac.new(secret, b"csrf\x00" + session_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_ok(candidate: str | None, session_token: str | None, secret: bytes) -> bool:
    """Whether a submitted CSRF token belongs to this session (constant-time comparison)."""
    if not candidate or not session_token:
        return False
    return hmac.compare_digest(candidate, csrf_token(session_token, secret))
