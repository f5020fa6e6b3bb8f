"""Inviting people by e-mail and resetting forgotten passwords, with one-time links.

An admin invites a member (bound to a Person or Organisation of the inventory), an operator (of an
organisation or an ACC operation) or another admin by e-mail: :func:`invite` creates the account *without a
usable password* (nobody can log in to it) and a one-time link ``/invite/<token>`` valid 7 days, where the
person chooses their password (the policy of :mod:`regie.governance.accounts`) and sees the consents asked
of them (:mod:`regie.governance.consent`, grants in status ``requested``), which they can accept or refuse
there or later from ``/me``. Inviting the same address again, before the link was used, gives a new link and
spends the old one.

A forgotten password: :func:`request_reset` finds the accounts of an e-mail address and makes a one-time link
``/reset/<token>`` valid 1 hour (OWASP Forgot Password Cheat Sheet); whoever calls it answers the same
whether or not the address is known (no account enumeration) and throttles the requests. Using the link
(:func:`reset_password`) sets the new password and ends every session of the account. An admin can make the
link for an account (:func:`reset_link`) to hand it over when the régie sends no mail.

:func:`deliver` mails a link through the SMTP server of the settings (:mod:`regie.mail`) in French or
English; without SMTP the caller shows :attr:`Delivery.link` to the admin, who hands it over. Tokens are 256
random bits, stored as SHA-256 only (:mod:`regie.governance.one_time`). Every invitation, password set and
reset is appended to the access log (never the link).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from regie.governance import audit, consent, territories
from regie.governance.acc_access import held_participant_prms, runs_operation
from regie.governance.accounts import (
    NO_PASSWORD,
    Account,
    AccountError,
    Role,
    _from_row,
    check_password,
    create_account,
    hash_password,
)
from regie.governance.one_time import LinkProblem, Token, TokenError, check, issue, now_s, spend
from regie.mail import server_from_settings, text_message
from regie.store import Store
from regie.store.operations import load_operation, operation_ids
from regie.store.schema import account, account_token, organisation, person, web_session

log = logging.getLogger(__name__)

__all__ = [
    "INVITE_TTL",
    "RESET_TTL",
    "Delivery",
    "Invitation",
    "InvitationError",
    "LinkProblem",
    "Reset",
    "TokenError",
    "accept_invitation",
    "check_invitation",
    "check_reset",
    "deliver",
    "deliver_reset",
    "invite",
    "pending_invitations",
    "request_reset",
    "requested_grants",
    "reset_link",
    "reset_password",
]  # fmt: skip

#: An invitation link lasts 7 days; a reset link 1 hour (OWASP Forgot Password Cheat Sheet: short-lived).
INVITE_TTL = 7 * 86400
RESET_TTL = 3600
#: RFC 5321 §4.5.3.1.3: a path (hence an address) is at most 256 octets with its angle brackets.
MAX_EMAIL = 254
# A pragmatic check, not RFC 5322's grammar: one "@", no spaces, a dot in the domain. The SMTP server is the
# judge of the rest; this only catches a name typed in the wrong field.
_EMAIL = re.compile(r"^[^@\s<>,;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")  # noqa: E501
_USERNAME_CHARS = re.compile(r"[^a-z0-9._-]+")


class InvitationError(AccountError):
    """A refused invitation, with a message that says what, where and why; ``reason`` and ``params`` let a page
    say it in the visitor's language (``email``, ``holder``, ``operator_of``, ``no_holder``, ``pending``,
    ``active``, or ``other``)."""

    def __init__(self, message: str, reason: str = "other", **params: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params


@dataclass(frozen=True, slots=True)
class OneTimeLink:
    """An account and its one-time link (the token is only shown once, never in a repr)."""

    account: Account
    token: str = field(repr=False)
    expires_at: int
    prefix: ClassVar[str] = "/"

    @property
    def path(self) -> str:
        return self.prefix + self.token


@dataclass(frozen=True, slots=True)
class Invitation(OneTimeLink):
    """A new invitation: the account has no usable password until the link is used."""

    prefix: ClassVar[str] = "/invite/"


@dataclass(frozen=True, slots=True)
class Reset(OneTimeLink):
    """A password-reset link for an account (only shown once)."""

    prefix: ClassVar[str] = "/reset/"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to a link: ``mailed`` to the address, or not (``link`` to hand over; ``problem`` why not)."""

    mailed: bool
    link: str = field(repr=False)
    problem: str | None = None


def normalise_email(email: str) -> str:
    """The address as stored and compared: trimmed and lower-cased (domains are case-insensitive, RFC 5321
    §2.4; local parts are in practice too). Raises :class:`InvitationError` when it cannot be an address."""
    value = (email or "").strip().lower()
    if len(value) > MAX_EMAIL or not _EMAIL.match(value):
        raise InvitationError(f"{email!r} is not an e-mail address (name@example.org)", "email", email=str(email))
    return value


def _free_username(conn, email: str) -> str:
    base = _USERNAME_CHARS.sub(".", email.split("@", 1)[0]).strip("._-")[:56] or "user"
    if len(base) < 2:
        base = f"{base}.user"
    taken = {r.username for r in conn.execute(select(account.c.username).where(account.c.username.like(f"{base}%")))}
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _holder_known(store: Store, holder_id: str) -> bool:
    with store.engine.connect() as conn:
        return any(conn.execute(select(t.c.id).where(t.c.id == holder_id)).first() for t in (person, organisation))


def _pending_account(conn, email: str):
    """The account of this address that has not chosen its password yet (an earlier invitation), if any."""
    return conn.execute(
        select(account).where(func.lower(account.c.email) == email, account.c.password_hash == NO_PASSWORD,
                              account.c.disabled_at.is_(None))
    ).first()  # fmt: skip


def pmo_may_invite(store: Store, actor: Account, holder_id: str) -> bool:
    """Whether ``actor`` runs an ACC operation (:func:`regie.governance.acc_access.runs_operation`) one of
    whose delivery points ``holder_id`` holds now: the PMO may then invite them, to give or refuse its
    consent request on their own page."""
    if actor.role is not Role.OPERATOR or not actor.operator_of:
        return False
    for operation_id in operation_ids(store):
        stored = load_operation(store, operation_id)
        if runs_operation(actor, stored.operation) and held_participant_prms(
            store.load_inventory(stored.territory_id), holder_id, stored.operation
        ):
            return True
    return False


def _territory_of_ref(store: Store, ref: str) -> str:
    """The territory of a holder, an organisation or an ACC operation ("?" when none is known)."""
    found = territories.of_holder(store, ref)
    if found is None and ref in operation_ids(store):
        found = load_operation(store, ref).territory_id
    return found or "?"


def _of_territory(store: Store, ref: str, territory_id: str) -> bool:
    return _territory_of_ref(store, ref) == territory_id


def invite(
    store: Store,
    actor: Account,
    *,
    email: str,
    role: Role | str,
    username: str | None = None,
    holder_id: str | None = None,
    operator_of: str | None = None,
    territory_id: str | None = None,
    display_name: str | None = None,
    now: int | None = None,
) -> Invitation:
    """Invite someone by e-mail: an account without a usable password and a one-time link valid 7 days.

    A member needs ``holder_id`` (a Person or Organisation of the inventory), an operator ``operator_of``.
    An admin invites anyone; the PMO of an ACC operation (:func:`pmo_may_invite`) invites the holder of one of
    its participants as a member (the access log names the PMO's account as who invited).
    Inviting an address whose earlier invitation was not used yet (same role and links) gives a new link and
    spends the old one; an address that already has an active account is refused (send a reset instead)."""
    role = Role(role)
    if actor.role is not Role.ADMIN and not (role is Role.MEMBER and operator_of is None and holder_id is not None
                                             and pmo_may_invite(store, actor, holder_id)):  # fmt: skip
        raise InvitationError("only an admin invites people (a PMO: the holder of a participant of its operation,"
                              " as a member)")
    address = normalise_email(email)
    if role is Role.MEMBER and not holder_id:
        raise InvitationError("a member account needs --holder (a person or organisation of the inventory)", "holder")
    if role is Role.OPERATOR and not operator_of:
        raise InvitationError("an operator account needs --operator-of (an organisation or an operation)",
                              "operator_of")  # fmt: skip
    if holder_id is not None and not _holder_known(store, holder_id):
        raise InvitationError(f"no person or organisation {holder_id!r} in this store", "no_holder", holder=holder_id)
    if territories.scoped(actor):  # an admin of one territory invites for that territory only
        for ref in (holder_id, operator_of):
            if ref is not None and not _of_territory(store, ref, actor.territory_id or ""):
                raise InvitationError(territories.refuse(store, actor, _territory_of_ref(store, ref), f"invite {ref}"),
                                      "territory")  # fmt: skip
        territory_id = actor.territory_id  # and never makes an account of every territory
    at = now_s(now)
    with store.engine.connect() as conn:
        pending = _pending_account(conn, address)
        active = conn.execute(
            select(account.c.username).where(func.lower(account.c.email) == address,
                                              account.c.password_hash != NO_PASSWORD)
        ).first()  # fmt: skip
        if pending is None and username is None:
            username = _free_username(conn, address)
    if active is not None:
        raise InvitationError(f"{address} already has the account {active.username!r}: send a password reset instead",
                              "active", email=address, username=active.username)  # fmt: skip
    if pending is not None:
        same = (pending.role, pending.holder_id, pending.operator_of) == (role.value, holder_id, operator_of)
        if not same or (username is not None and username != pending.username):
            raise InvitationError(
                f"{address} was already invited as {pending.username!r} ({pending.role}) and has not answered: "
                "invite again with the same role, holder and operator, or disable that account first",
                "pending", email=address, username=pending.username,
            )  # fmt: skip
        acct = _from_row(pending)
    else:
        assert username is not None
        acct = create_account(
            store, username, None, role, holder_id=holder_id, operator_of=operator_of, display_name=display_name,
            territory_id=territory_id, email=address, actor=actor, now=at, invited_by_pmo=actor.role is not Role.ADMIN,
        )  # fmt: skip
    with store.engine.execution_options(writer=True).begin() as conn:
        token, expires = issue(conn, acct.id, "invite", INVITE_TTL, created_by=actor.label, now=at)
    audit.append(store, audit.AccountEvent("invited", acct.username, actor.label, acct.holder_id), now=at)
    return Invitation(acct, token, expires)


def _account_by_id(store: Store, account_id: int) -> Account:
    with store.engine.connect() as conn:
        return _from_row(conn.execute(select(account).where(account.c.id == account_id)).one())


def check_invitation(store: Store, token: str, *, now: int | None = None) -> tuple[Account, Token]:
    """The invited account of a link that can be used now, or :class:`TokenError` (unknown, used, expired,
    disabled)."""
    found = check(store, token, "invite", now=now)
    return _account_by_id(store, found.account_id), found


def requested_grants(store: Store, acct: Account) -> list[consent.Grant]:
    """The consents asked of this account's holder and not answered yet (status ``requested``)."""
    if acct.role is not Role.MEMBER or not acct.holder_id:
        return []
    return [g for g in consent.list_grants(store, subject_id=acct.holder_id) if g.status is consent.Status.REQUESTED]


def _set_password_with(
    store: Store, token: str, purpose: str, password: str, hasher: PasswordHasher | None, at: int
) -> Account:
    """Spend the link and set the password in one transaction (the policy is checked before anything changes);
    every session of the account ends, and every other link of it."""
    found = check(store, token, purpose, now=at)
    acct = _account_by_id(store, found.account_id)
    check_password(password, acct.role, (acct.username, acct.display_name, acct.email))
    new_hash = hash_password(password, hasher)
    with store.engine.execution_options(writer=True).begin() as conn:
        account_id = spend(conn, token, purpose, at)
        conn.execute(update(account).where(account.c.id == account_id).values(password_hash=new_hash))
        # the account's other links (an older invitation, a reset asked meanwhile) stop working too
        conn.execute(
            update(account_token)
            .where(account_token.c.account_id == account_id, account_token.c.purpose.in_(("invite", "reset")),
                   account_token.c.used_at.is_(None))
            .values(used_at=at)
        )  # fmt: skip
        conn.execute(update(web_session).where(web_session.c.account_id == account_id).values(revoked_at=at))
    return acct


def accept_invitation(
    store: Store,
    token: str,
    password: str,
    *,
    choices: dict[str, str] | None = None,
    hasher: PasswordHasher | None = None,
    now: int | None = None,
) -> Account:
    """Use an invitation: set the password (policy applied, :class:`regie.governance.accounts.PasswordRejected`
    otherwise), spend the link, then answer the consents asked (``choices``: consent id → ``accept`` or
    ``refuse``; any other answer, or none, leaves the request for later, on ``/me``)."""
    at = now_s(now)
    acct = _set_password_with(store, token, "invite", password, hasher, at)
    audit.append(store, audit.AccountEvent("invitation_accepted", acct.username, acct.label, acct.holder_id), now=at)
    asked = {g.id for g in requested_grants(store, acct)}
    for consent_id, choice in (choices or {}).items():
        if consent_id not in asked:
            continue
        if choice == "accept":
            consent.accept(store, consent_id, acct, now=at)
        elif choice == "refuse":
            consent.refuse(store, consent_id, acct, now=at)
    return acct


def pending_invitations(store: Store, *, now: int | None = None) -> list[tuple[Account, int]]:
    """Accounts invited and not activated yet, with the expiry of their newest link (past: expired; 0: its
    link was deleted long after it expired)."""
    newest = (
        select(account_token.c.account_id, func.max(account_token.c.expires_at).label("until"))
        .where(account_token.c.purpose == "invite")
        .group_by(account_token.c.account_id)
        .subquery()
    )
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(account, newest.c.until)
            .outerjoin(newest, newest.c.account_id == account.c.id)
            .where(account.c.password_hash == NO_PASSWORD)
            .order_by(account.c.username)
        ).all()  # fmt: skip
    return [(_from_row(r), int(r.until or 0)) for r in rows]


# ---------------------------------------------------------------- password reset


def reset_link(store: Store, actor: Account, username: str, *, now: int | None = None) -> Reset:
    """An admin makes a reset link for an account, to hand it over (the régie sends no mail, or the member
    has no e-mail address)."""
    if actor.role is not Role.ADMIN:
        raise InvitationError("only an admin makes a reset link for another account")
    at = now_s(now)
    with store.engine.connect() as conn:
        r = conn.execute(select(account).where(account.c.username == username)).one_or_none()
    if r is None:
        raise InvitationError(f"no account {username!r}")
    if r.disabled_at is not None:
        raise InvitationError(f"account {username!r} is disabled: enable it before resetting its password")
    if not territories.may_manage(store, actor, _from_row(r)):
        raise InvitationError(f"no account {username!r}"
                              f" ({territories.refuse(store, actor, r.territory_id or '?', f'reset link {username}')})")
    with store.engine.execution_options(writer=True).begin() as conn:
        token, expires = issue(conn, int(r.id), "reset", RESET_TTL, created_by=actor.label, now=at)
    audit.append(store, audit.AccountEvent("reset_link", username, actor.label, r.holder_id), now=at)
    return Reset(_from_row(r), token, expires)


def request_reset(store: Store, email: str, *, now: int | None = None) -> list[Reset]:
    """The reset links for the active accounts of this address (none when it is unknown or not an address).
    The caller answers the same whatever this returns, and mails the links (:func:`deliver_reset`)."""
    try:
        address = normalise_email(email)
    except InvitationError:
        return []
    at = now_s(now)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(account).where(func.lower(account.c.email) == address, account.c.disabled_at.is_(None))
        ).all()  # fmt: skip
    out = []
    for r in rows:
        with store.engine.execution_options(writer=True).begin() as conn:
            token, expires = issue(conn, int(r.id), "reset", RESET_TTL, created_by="self", now=at)
        audit.append(store, audit.AccountEvent("reset_requested", r.username, r.username, r.holder_id), now=at)
        out.append(Reset(_from_row(r), token, expires))
    return out


def check_reset(store: Store, token: str, *, now: int | None = None) -> Account:
    """The account of a reset link that can be used now, or :class:`TokenError`."""
    return _account_by_id(store, check(store, token, "reset", now=now).account_id)


def reset_password(
    store: Store, token: str, password: str, *, hasher: PasswordHasher | None = None, now: int | None = None
) -> Account:
    """Use a reset link: the new password (policy applied), the link spent, every session of the account ended.
    The second factor, if any, stays: a reset by e-mail never lowers the login to one factor."""
    at = now_s(now)
    acct = _set_password_with(store, token, "reset", password, hasher, at)
    audit.append(store, audit.AccountEvent("password_reset", acct.username, acct.label, acct.holder_id), now=at)
    return acct


# ---------------------------------------------------------------- mail

#: The messages, in French and English. Placeholders: the link, its expiry, the username and the role.
MESSAGES: dict[str, dict[str, str]] = {
    "invite_subject": {
        "fr": "Votre compte sur la régie de données",
        "en": "Your account on the energy-data trust",
    },
    "invite_body": {
        "fr": (
            "Bonjour,\n\n"
            "Un compte « {username} » ({role}) vous attend sur la régie de données de votre territoire.\n"
            "Pour choisir votre mot de passe, ouvrez ce lien (valable jusqu'au {until}, une seule fois) :\n\n"
            "{link}\n\n"
            "Vous y verrez aussi les accès à vos données qui vous sont demandés : vous les acceptez ou les "
            "refusez, maintenant ou plus tard.\n\n"
            "Si vous n'attendiez pas ce message, ignorez-le : sans ce lien, personne ne peut utiliser ce compte.\n"
        ),
        "en": (
            "Hello,\n\n"
            "An account \"{username}\" ({role}) is waiting for you on your territory's energy-data trust.\n"
            "To choose your password, open this link (valid until {until}, once):\n\n"
            "{link}\n\n"
            "You will also see the accesses to your data that are asked of you: accept or refuse them, now or "
            "later.\n\n"
            "If you did not expect this message, ignore it: without this link nobody can use the account.\n"
        ),
    },
    "reset_subject": {
        "fr": "Nouveau mot de passe pour la régie de données",
        "en": "New password for the energy-data trust",
    },
    "reset_body": {
        "fr": (
            "Bonjour,\n\n"
            "Quelqu'un (vous, sans doute) a demandé un nouveau mot de passe pour le compte « {username} ».\n"
            "Pour le choisir, ouvrez ce lien (valable jusqu'au {until}, une seule fois) :\n\n"
            "{link}\n\n"
            "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe actuel reste valable.\n"
        ),
        "en": (
            "Hello,\n\n"
            "Someone (probably you) asked for a new password for the account \"{username}\".\n"
            "To choose it, open this link (valid until {until}, once):\n\n"
            "{link}\n\n"
            "If you asked for nothing, ignore this message: your current password stays valid.\n"
        ),
    },
    "role_admin": {"fr": "administrateur", "en": "administrator"},
    "role_operator": {"fr": "opérateur", "en": "operator"},
    "role_member": {"fr": "membre", "en": "member"},
}


def message(key: str, locale: str, **values: Any) -> str:
    """One message in ``fr`` or ``en`` (French for any other language: the régie's default)."""
    texts = MESSAGES[key]
    return texts.get(locale, texts["fr"]).format(**values)


def _until(t: int, locale: str) -> str:
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%d/%m/%Y %H:%M UTC") if locale != "en" else d.strftime("%Y-%m-%d %H:%M UTC")


def _send(settings: Any, to: str | None, subject: str, body_of, link: str) -> Delivery:
    server = server_from_settings(settings)
    if server is None:
        return Delivery(False, link, "no SMTP server is configured (smtp_host)")
    if not to:
        return Delivery(False, link, "the account has no e-mail address")
    try:
        server.send(text_message(to, subject, body_of(link)))
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors; a refused address, a server down...
        log.warning("could not mail a link to an account: %s: %s", type(exc).__name__, exc)
        return Delivery(False, link, f"{type(exc).__name__}: {exc}")
    return Delivery(True, link)


def _link(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def deliver(settings: Any, invitation: Invitation, base_url: str, locale: str) -> Delivery:
    """Mail the invitation when SMTP is configured (``smtp_host``); otherwise (or when sending fails) the
    caller shows :attr:`Delivery.link` to the admin, who hands it over."""
    acct = invitation.account
    link = _link(base_url, invitation.path)
    values = {"username": acct.username, "role": message(f"role_{acct.role.value}", locale),
              "until": _until(invitation.expires_at, locale)}  # fmt: skip
    return _send(settings, acct.email, message("invite_subject", locale),
                 lambda ln: message("invite_body", locale, link=ln, **values), link)  # fmt: skip


def deliver_reset(settings: Any, reset: Reset, base_url: str, locale: str) -> Delivery:
    """Mail a reset link (same rules as :func:`deliver`)."""
    link = _link(base_url, reset.path)
    values = {"username": reset.account.username, "until": _until(reset.expires_at, locale)}
    return _send(settings, reset.account.email, message("reset_subject", locale),
                 lambda ln: message("reset_body", locale, link=ln, **values), link)  # fmt: skip


def set_email(store: Store, actor: Account, username: str, email: str, *, now: int | None = None) -> None:
    """Set an account's e-mail address (where reset links go): the account itself or an admin."""
    if actor.role is not Role.ADMIN and actor.username != username:
        raise InvitationError("only the account itself or an admin sets its e-mail address")
    address = normalise_email(email)
    with store.engine.execution_options(writer=True).begin() as conn:
        done = conn.execute(update(account).where(account.c.username == username).values(email=address)).rowcount
    if not done:
        raise InvitationError(f"no account {username!r}")
    audit.append(store, audit.AccountEvent("email_changed", username, actor.label), now=now)


def person_emails(store: Store) -> dict[str, str]:
    """The e-mail of each person of the inventory that has one (to pre-fill an invitation)."""
    with store.engine.connect() as conn:
        return {r.id: r.email for r in conn.execute(select(person.c.id, person.c.email)) if r.email}
