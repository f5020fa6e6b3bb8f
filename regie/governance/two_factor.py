"""Two-factor authentication: TOTP codes (RFC 6238) and one-time recovery codes.

TOTP (RFC 6238 over HOTP, RFC 4226): HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch — the profile
every authenticator app reads from an ``otpauth://`` URI (Google Authenticator's "Key Uri Format"). A code of
the current step or of the step just before or after is accepted (RFC 6238 §5.2 recommends "at most one time
step" of network delay and clock drift), and never twice: each accepted step is recorded
(:mod:`regie.governance.one_time`, purpose ``totp``) and a code of that step or an earlier one is refused
afterwards ("the verifier MUST NOT accept the second attempt of the same OTP after the successful validation
has been issued for the first OTP").

The shared secret: 160 random bits (RFC 4226 §4 R6 recommends 160), shown once as Base32 (RFC 4648) and as
a QR code of the URI (segno). It is stored *encrypted* in ``account.totp_secret``: AES-256-GCM (NIST SP
800-38D) under a key derived by HKDF-SHA-256 (RFC 5869) from the régie's secret file
(``<data_dir>/keys/secret.key``, :func:`regie.governance.keys.load_or_create_secret`), with the account id
as associated data, so a copy of the database alone (a backup, a dump) does not give the second factor, and
a sealed secret moved to another account does not open. Losing the secret file loses every enrolment: the
admin then turns two-factor off for the accounts (``regie user two-factor-off``) and they enrol again.

Recovery codes: 10 codes of 80 random bits (16 Base32 characters, typed in groups of four), shown once; only
their SHA-256 is kept (80 random bits need no slow hash); each works once. Enrolment, disabling, new codes
and every use of a recovery code are appended to the access log.

Wrong codes are throttled as failed logins are (the ``login_*`` settings, :mod:`regie.governance.accounts`), per
client address and per account — on a key of their own (``second-factor:<username>``), which only a right code
clears: six digits cannot be guessed by trying, even by someone who knows the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from regie.governance import audit, territories
from regie.governance.accounts import (
    Account,
    AccountError,
    Role,
    ThrottlePolicy,
    _from_row,
    clear_throttle,
    count_failures,
    locked_for,
)
from regie.governance.one_time import TokenError, check, issue, now_s, spend, token_hash
from regie.store import Store
from regie.store.schema import account, account_token, recovery_code

STEP = 30  # seconds (RFC 6238 §5.2: "We RECOMMEND a default time-step size of 30 seconds")
DIGITS = 6
DRIFT = 1  # steps accepted on each side of the current one
SECRET_BYTES = 20  # 160 bits (RFC 4226 §4 R6)
RECOVERY_CODES = 10
RECOVERY_CHARS = 16  # Base32 characters: 80 bits
ISSUER = "regie"
_SEALED = "v1:"
_HKDF_INFO = b"regie totp secret v1"


class TwoFactorError(AccountError):
    """A refused two-factor operation, saying why."""


class Requirement(StrEnum):
    """The ``require_two_factor`` setting: which accounts must use a second factor."""

    NONE = "none"
    ADMINS_OPERATORS = "admins_operators"
    ALL = "all"


def required(requirement: str, role: Role) -> bool:
    """Whether an account of this role must use a second factor under the setting."""
    req = Requirement(requirement)
    if req is Requirement.ALL:
        return True
    return req is Requirement.ADMINS_OPERATORS and role in (Role.ADMIN, Role.OPERATOR)


#: How long the step between the password and the second factor (or a forced enrolment) may last.
LOGIN_STEP_TTL = 10 * 60


def login_step(acct: Account, requirement: str) -> str | None:
    """What a login needs after the right password: ``code`` (the account has a second factor), ``enrol`` (the
    setting requires one and the account has none yet: it enrols before its session opens) or None."""
    if acct.two_factor:
        return "code"
    if required(requirement, acct.role):
        return "enrol"
    return None


def begin_login(store: Store, acct: Account, step: str, *, now: int | None = None) -> str:
    """A one-time token for the pending login (kept in a cookie until the second step is done)."""
    with store.engine.execution_options(writer=True).begin() as conn:
        token, _ = issue(conn, acct.id, f"login-{step}", LOGIN_STEP_TTL, created_by=None, now=now_s(now))
    return token


def pending_login(store: Store, token: str | None, step: str, *, now: int | None = None) -> Account | None:
    """The account of a pending login's token of this step, if it can still be used."""
    if not token:
        return None
    try:
        found = check(store, token, f"login-{step}", now=now)
    except TokenError:
        return None
    with store.engine.connect() as conn:
        r = conn.execute(select(account).where(account.c.id == found.account_id)).one_or_none()
    return None if r is None else _from_row(r)


def finish_login(store: Store, token: str, step: str, *, now: int | None = None) -> bool:
    """Spend a pending login's token once its second step is done; False when it was spent meanwhile."""
    try:
        with store.engine.execution_options(writer=True).begin() as conn:
            spend(conn, token, f"login-{step}", now_s(now))
    except TokenError:
        return False
    return True


# ---------------------------------------------------------------- RFC 4226 / RFC 6238


def hotp(key: bytes, counter: int, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    """HOTP (RFC 4226 §5.3): HMAC of the 8-byte big-endian counter, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), algorithm).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def totp(key: bytes, t: int, *, step: int = STEP, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    """TOTP (RFC 6238 §4): HOTP of T = floor(t / step) (T0 = 0)."""
    return hotp(key, int(t) // step, digits, algorithm)


def matching_step(key: bytes, code: str, t: int, *, drift: int = DRIFT) -> int | None:
    """The time step (within ``drift`` steps of ``t``'s) whose code is ``code``, or None. Every candidate is
    compared in constant time, so the answer's timing says nothing about which step matched."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now_step = int(t) // STEP
    found = None
    for s in range(now_step - drift, now_step + drift + 1):
        if hmac.compare_digest(hotp(key, s), code) and found is None:
            found = s
    return found


def b32(key: bytes) -> str:
    """The secret as authenticator apps take it: Base32 (RFC 4648 §6) without padding."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def otpauth_uri(key: bytes, account_name: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://totp/`` URI (Google Authenticator "Key Uri Format") apps read from the QR code."""
    label = quote(f"{issuer}:{account_name}", safe=":@")
    params = urlencode({"secret": b32(key), "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP})
    return f"otpauth://totp/{label}?{params}"


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (segno; error correction M), for the enrolment page."""
    import segno

    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", omitsize=False)


# ---------------------------------------------------------------- the secret, sealed


def _aead(app_secret: bytes) -> AESGCM:
    if len(app_secret) < 16:
        raise TwoFactorError("the régie's secret is too short to key two-factor secrets")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(app_secret)
    return AESGCM(key)


def seal(app_secret: bytes, account_id: int, key: bytes) -> str:
    """The secret encrypted for the ``account.totp_secret`` column: ``v1:`` + Base64url(nonce ‖ ciphertext)."""
    nonce = os.urandom(12)
    ct = _aead(app_secret).encrypt(nonce, key, f"account:{account_id}".encode())
    return _SEALED + base64.urlsafe_b64encode(nonce + ct).decode("ascii")


def unseal(app_secret: bytes, account_id: int, sealed: str) -> bytes:
    """The secret back; :class:`TwoFactorError` when it was sealed under another secret file or account."""
    if not sealed.startswith(_SEALED):
        raise TwoFactorError("unknown format of a stored two-factor secret")
    raw = base64.urlsafe_b64decode(sealed[len(_SEALED) :])
    try:
        return _aead(app_secret).decrypt(raw[:12], raw[12:], f"account:{account_id}".encode())
    except InvalidTag:
        raise TwoFactorError(
            "the two-factor secret of this account does not open with this régie's secret file (keys/secret.key "
            "changed?): an admin turns two-factor off for the account (regie user two-factor-off) and it enrols again"
        ) from None


# ---------------------------------------------------------------- enrolment


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the enrolment page shows: the secret in Base32, the otpauth URI and its QR code."""

    secret: str
    uri: str
    qr: str


def _row(store: Store, account_id: int):
    with store.engine.connect() as conn:
        r = conn.execute(
            select(account.c.id, account.c.username, account.c.totp_secret, account.c.totp_enabled_at)
            .where(account.c.id == account_id)
        ).one_or_none()  # fmt: skip
    if r is None:
        raise TwoFactorError("no such account")
    return r


def begin_enrolment(store: Store, acct: Account, app_secret: bytes) -> Enrolment:
    """A new secret for the account, kept (sealed) until a first code confirms it; an account already enrolled
    must turn two-factor off first. A secret started earlier and not confirmed is shown again (a reload of the
    page keeps the QR code the person may have scanned)."""
    r = _row(store, acct.id)
    if r.totp_enabled_at is not None:
        raise TwoFactorError("two-factor authentication is already on for this account")
    key = None
    if r.totp_secret:
        try:
            key = unseal(app_secret, acct.id, r.totp_secret)
        except TwoFactorError:
            key = None
    if key is None:
        key = secrets.token_bytes(SECRET_BYTES)
        with store.engine.execution_options(writer=True).begin() as conn:
            sealed = seal(app_secret, acct.id, key)
            conn.execute(update(account).where(account.c.id == acct.id).values(totp_secret=sealed))
    uri = otpauth_uri(key, acct.username)
    return Enrolment(b32(key), uri, qr_svg(uri))


class _Replay(Exception):
    """A TOTP step already accepted (or an earlier one): the code must not be accepted again."""


def _record_step(conn, account_id: int, step: int, at: int) -> None:
    """Record an accepted time step in the caller's transaction; :class:`_Replay` when that step or a later one
    was already accepted. Two requests racing with the same code both insert the same primary key: one of
    the transactions fails with an ``IntegrityError`` (the callers treat it as a replay)."""
    kept = conn.execute(
        select(func.max(account_token.c.expires_at))
        .where(account_token.c.account_id == account_id, account_token.c.purpose == "totp")
    ).scalar()  # fmt: skip
    until = (step + DRIFT + 1) * STEP  # the step can be accepted until then: keep it that long
    if kept is not None and int(kept) >= until:
        raise _Replay
    conn.execute(
        delete(account_token).where(account_token.c.account_id == account_id, account_token.c.purpose == "totp")
    )
    conn.execute(
        insert(account_token).values(
            token_hash=token_hash(f"totp:{account_id}:{step}"), account_id=account_id, purpose="totp",
            created_at=at, expires_at=until, used_at=at, created_by=None,
        )
    )  # fmt: skip


def _hash_code(code: str) -> str:
    return hashlib.sha256(b"regie-recovery\x00" + normalise_recovery(code).encode()).hexdigest()


def normalise_recovery(code: str) -> str:
    """A recovery code as compared: Base32 letters and digits only, upper case (spaces and dashes dropped)."""
    return "".join(c for c in code.upper() if c.isalnum())


def _new_codes(conn, account_id: int) -> list[str]:
    conn.execute(delete(recovery_code).where(recovery_code.c.account_id == account_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(RECOVERY_CHARS * 5 // 8)).decode("ascii")[:RECOVERY_CHARS]
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CHARS, 4)))
    conn.execute(insert(recovery_code), [{"account_id": account_id, "code_hash": _hash_code(c)} for c in codes])
    return codes


def confirm_enrolment(
    store: Store, acct: Account, app_secret: bytes, code: str, *, now: int | None = None
) -> list[str] | None:
    """Turn two-factor on when ``code`` is right for the pending secret; returns the 10 recovery codes (shown
    once), or None when the code is wrong."""
    at = now_s(now)
    r = _row(store, acct.id)
    if r.totp_enabled_at is not None:
        raise TwoFactorError("two-factor authentication is already on for this account")
    if not r.totp_secret:
        raise TwoFactorError("start the enrolment first")
    step = matching_step(unseal(app_secret, acct.id, r.totp_secret), code, at)
    if step is None:
        return None
    try:
        with store.engine.execution_options(writer=True).begin() as conn:
            _record_step(conn, acct.id, step, at)
            conn.execute(update(account).where(account.c.id == acct.id).values(totp_enabled_at=at))
            codes = _new_codes(conn, acct.id)
    except (_Replay, IntegrityError):
        return None
    audit.append(store, audit.AccountEvent("two_factor_enabled", acct.username, acct.label, acct.holder_id), now=at)
    return codes


def disable(store: Store, acct: Account, actor: Account, *, now: int | None = None) -> None:
    """Turn two-factor off (the account itself, or an admin for someone who lost both phone and codes): the
    secret and the recovery codes are deleted."""
    if actor.role is not Role.ADMIN and actor.id != acct.id:
        raise TwoFactorError("only the account itself or an admin turns two-factor off")
    if actor.id != acct.id and not territories.may_manage(store, actor, acct):
        what = f"two-factor off {acct.username}"
        raise TwoFactorError(territories.refuse(store, actor, acct.territory_id or "?", what))
    at = now_s(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(update(account).where(account.c.id == acct.id).values(totp_secret=None, totp_enabled_at=None))
        conn.execute(delete(recovery_code).where(recovery_code.c.account_id == acct.id))
    audit.append(store, audit.AccountEvent("two_factor_disabled", acct.username, actor.label, acct.holder_id), now=at)


def new_recovery_codes(store: Store, acct: Account, *, now: int | None = None) -> list[str]:
    """Ten new recovery codes (the old ones stop working)."""
    if _row(store, acct.id).totp_enabled_at is None:
        raise TwoFactorError("two-factor authentication is off for this account")
    with store.engine.execution_options(writer=True).begin() as conn:
        codes = _new_codes(conn, acct.id)
    audit.append(store, audit.AccountEvent("recovery_codes_renewed", acct.username, acct.label, acct.holder_id),
                 now=now)  # fmt: skip
    return codes


def recovery_left(store: Store, acct: Account) -> int:
    """How many recovery codes the account has not used."""
    with store.engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(recovery_code)
            .where(recovery_code.c.account_id == acct.id, recovery_code.c.used_at.is_(None))
        ).scalar_one())  # fmt: skip


# ---------------------------------------------------------------- login's second step


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of a second-factor code: ``ok`` with ``how`` (``totp`` or ``recovery``), else ``reason``
    (``invalid`` or ``locked``, then ``retry_after`` seconds)."""

    ok: bool
    how: str = ""
    reason: str = ""
    retry_after: int = 0


def _use_recovery(store: Store, account_id: int, code: str, at: int) -> bool:
    with store.engine.execution_options(writer=True).begin() as conn:
        done = conn.execute(
            update(recovery_code)
            .where(recovery_code.c.account_id == account_id, recovery_code.c.code_hash == _hash_code(code),
                   recovery_code.c.used_at.is_(None))
            .values(used_at=at)
        ).rowcount  # fmt: skip
    return done == 1


def throttle_key(username: str) -> str:
    """The throttling key of an account's second-factor failures."""
    return f"second-factor:{username.lower()[:100]}"


def check_code(
    store: Store,
    acct: Account,
    app_secret: bytes,
    code: str,
    client_addr: str,
    *,
    policy: ThrottlePolicy | None = None,
    now: int | None = None,
) -> Check:
    """Check a second-factor code of an enrolled account: a TOTP code (never the same step twice) or an unused
    recovery code (then spent, and logged). Throttled like passwords, on the account and the address."""
    at = now_s(now)
    policy = policy or ThrottlePolicy()
    # Counted apart from the password's failures, which a right password clears: knowing the password must not
    # buy a fresh set of guesses at the code with every login.
    akey, ckey = throttle_key(acct.username), f"addr:{client_addr[:100]}"
    wait = locked_for(store, akey, ckey, now=at)
    if wait:
        return Check(False, reason="locked", retry_after=wait)
    r = _row(store, acct.id)
    if r.totp_enabled_at is None or not r.totp_secret:
        raise TwoFactorError("two-factor authentication is off for this account")
    digits = "".join(code.split())
    how = ""
    if digits.isdigit():
        step = matching_step(unseal(app_secret, acct.id, r.totp_secret), digits, at)
        if step is not None:
            try:
                with store.engine.execution_options(writer=True).begin() as conn:
                    _record_step(conn, acct.id, step, at)
                how = "totp"
            except (_Replay, IntegrityError):
                how = ""
    elif len(normalise_recovery(code)) == RECOVERY_CHARS and _use_recovery(store, acct.id, code, at):
        how = "recovery"
        audit.append(store, audit.AccountEvent("recovery_code_used", acct.username, acct.label, acct.holder_id),
                     now=at)  # fmt: skip
    if not how:
        count_failures(store, {akey: policy.max_failures, ckey: policy.max_failures_addr}, policy=policy, now=at)
        return Check(False, reason="invalid")
    clear_throttle(store, akey)
    return Check(True, how=how)
