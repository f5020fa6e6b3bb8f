"""A member's choices for their dashboard and digest (tariff option, monthly digest, its language) and the log of
digests sent (tables ``member_preference`` and ``digest_log``, revision 0011)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from regie.store import Store
from regie.store.schema import digest_log, member_preference


@dataclass(frozen=True, slots=True)
class Preferences:
    tariff_option: str = "base"
    digest: bool = False
    language: str = "fr"


def get(store: Store, account_id: int) -> Preferences:
    """The account's choices (the defaults when it never changed any)."""
    with store.engine.connect() as conn:
        r = conn.execute(select(member_preference).where(member_preference.c.account_id == account_id)).one_or_none()
    if r is None:
        return Preferences()
    return Preferences(r.tariff_option, bool(r.digest), r.language)


def put(store: Store, account_id: int, prefs: Preferences, *, now: int | None = None) -> None:
    """Record the account's choices (all three at once)."""
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
    with store.engine.connect() as conn:
        rows = conn.execute(select(member_preference).where(member_preference.c.digest.is_(True))).all()
    return [(int(r.account_id), Preferences(r.tariff_option, True, r.language)) for r in rows]


def log_digest(store: Store, account_id: int, month: str, outcome: str, detail: str | None = None,
               *, now: int | None = None) -> None:  # fmt: skip
    at = int(time.time()) if now is None else int(now)
    with store.engine.begin() as conn:
        conn.execute(insert(digest_log).values(account_id=account_id, month=month, sent_at=at, outcome=outcome,
                                               detail=(detail or "")[:300] or None))  # fmt: skip


def digests_sent(store: Store, month: str) -> set[int]:
    """The accounts whose digest of ``month`` was sent."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(digest_log.c.account_id).where(digest_log.c.month == month, digest_log.c.outcome == "sent")
        ).all()
    return {int(r[0]) for r in rows}


def digest_history(store: Store, account_id: int | None = None) -> list[tuple[int, str, int, str, str | None]]:
    """(account, month, when, outcome, detail) of the digests tried, oldest first."""
    q = select(digest_log).order_by(digest_log.c.id)
    if account_id is not None:
        q = q.where(digest_log.c.account_id == account_id)
    with store.engine.connect() as conn:
        return [(int(r.account_id), r.month, int(r.sent_at), r.outcome, r.detail) for r in conn.execute(q)]
