"""A member's choices for their dashboard and digest (tariff option, monthly digest, its language) and the log of
digests sent.

The two tables are NOT in the Alembic migrations yet (revision 0010 is written by the lead for every branch):
until then they live on their own ``MetaData`` and are created on first use (``CREATE TABLE IF NOT
EXISTS``). Their definitions here are the ones the migration copies.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, insert, select, update

from regie.store import Store

metadata = MetaData()

member_preference = Table(
    "member_preference",
    metadata,
    # One row per member account that changed a default: the tariff option its dashboard estimates the cost
    # with (base, hphc, tempo), whether it asked for the monthly digest, and the digest's language (fr, en).
    Column("account_id", Integer, primary_key=True),  # account.id (no FK: see the module docstring)
    Column("tariff_option", String(16), nullable=False, server_default="base"),
    Column("digest", Boolean, nullable=False, server_default="0"),
    Column("language", String(8), nullable=False, server_default="fr"),
    Column("updated_at", BigInteger, nullable=False),
)

digest_log = Table(
    "digest_log",
    metadata,
    # Every monthly digest regie tried to send: to which account, for which month, when, and how it went
    # (sent, or failed and why — never the message itself, which holds personal figures and a link).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("sent_at", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),  # sent, failed
    Column("detail", String(300)),
    Index("ix_digest_log_account_month", "account_id", "month"),
)

_READY: weakref.WeakSet = weakref.WeakSet()


def ensure_tables(store: Store) -> None:
    """Create the tables if this store lacks them (until migration 0010 does it)."""
    if store.engine in _READY:
        return
    metadata.create_all(store.engine, checkfirst=True)
    _READY.add(store.engine)


@dataclass(frozen=True, slots=True)
class Preferences:
    tariff_option: str = "base"
    digest: bool = False
    language: str = "fr"


def get(store: Store, account_id: int) -> Preferences:
    """The account's choices (the defaults when it never changed any)."""
    ensure_tables(store)
    with store.engine.connect() as conn:
        r = conn.execute(select(member_preference).where(member_preference.c.account_id == account_id)).one_or_none()
    if r is None:
        return Preferences()
    return Preferences(r.tariff_option, bool(r.digest), r.language)


def put(store: Store, account_id: int, prefs: Preferences, *, now: int | None = None) -> None:
    """Record the account's choices (all three at once)."""
    ensure_tables(store)
    at = int(time.time()) if now is None else int(now)
    values = {"tariff_option": prefs.tariff_option, "digest": prefs.digest, "language": prefs.language,
              "updated_at": at}  # fmt: skip
    with store.engine.begin() as conn:
        done = conn.execute(
            update(member_preference).where(member_preference.c.account_id == account_id).values(**values)
        ).rowcount
        if not done:
            conn.execute(insert(member_preference).values(account_id=account_id, **values))


def subscribers(store: Store) -> list[tuple[int, Preferences]]:
    """The accounts that asked for the monthly digest."""
    ensure_tables(store)
    with store.engine.connect() as conn:
        rows = conn.execute(select(member_preference).where(member_preference.c.digest.is_(True))).all()
    return [(int(r.account_id), Preferences(r.tariff_option, True, r.language)) for r in rows]


def log_digest(store: Store, account_id: int, month: str, outcome: str, detail: str | None = None,
               *, now: int | None = None) -> None:  # fmt: skip
    ensure_tables(store)
    at = int(time.time()) if now is None else int(now)
    with store.engine.begin() as conn:
        conn.execute(insert(digest_log).values(account_id=account_id, month=month, sent_at=at, outcome=outcome,
                                               detail=(detail or "")[:300] or None))  # fmt: skip


def digests_sent(store: Store, month: str) -> set[int]:
    """The accounts whose digest of ``month`` was sent."""
    ensure_tables(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(digest_log.c.account_id).where(digest_log.c.month == month, digest_log.c.outcome == "sent")
        ).all()
    return {int(r[0]) for r in rows}


def digest_history(store: Store, account_id: int | None = None) -> list[tuple[int, str, int, str, str | None]]:
    """(account, month, when, outcome, detail) of the digests tried, oldest first."""
    ensure_tables(store)
    q = select(digest_log).order_by(digest_log.c.id)
    if account_id is not None:
        q = q.where(digest_log.c.account_id == account_id)
    with store.engine.connect() as conn:
        return [(int(r.account_id), r.month, int(r.sent_at), r.outcome, r.detail) for r in conn.execute(q)]
