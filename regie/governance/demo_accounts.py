"""Accounts of the demo: an admin, an operator for the commune, a few members, one grant and one request.

Passwords are drawn at random each time the demo is built and returned to the caller (``regie demo``
prints them once); the store keeps only their argon2 hashes, and no password is ever written in the
repository. The grant and the request make the governance visible at first login: member ``membre1`` has
given the commune daily access to their consumption, and the commune has asked ``membre2`` for the same.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime

from argon2 import PasswordHasher
from sqlalchemy import select

from regie.governance import accounts, consent
from regie.governance.accounts import CLI_ADMIN, Role
from regie.store import Store
from regie.store.schema import membership

OPERATOR_OF = "commune"
PURPOSE = "dpv:CombatClimateChange"  # territorial energy planning: what a commune does with daily data


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    role: str
    password: str
    holder_id: str | None = None
    operator_of: str | None = None


def _password() -> str:
    # 16 URL-safe characters: 96 random bits, above ANSSI's 12-character floor.
    return secrets.token_urlsafe(12)


def _prms(store: Store, holder: str) -> list[str]:
    with store.engine.connect() as conn:
        q = select(membership.c.prm).where(membership.c.holder_id == holder, membership.c.until.is_(None))
        return sorted({r.prm for r in conn.execute(q)})


def create_demo_accounts(
    store: Store,
    members: tuple[str, ...] = ("p0001", "p0002", "p0003"),
    *,
    data_start: date | None = None,
    hasher: PasswordHasher | None = None,
    now: int | None = None,
) -> list[DemoAccount]:
    """Create the demo's accounts, one grant (membre1 → the commune, P1D) and one pending request (membre2).

    ``members`` are holder ids of the inventory (persons ``p0001``…). Returns the accounts with their clear
    passwords, for the caller to show once.
    """
    at = int(time.time()) if now is None else int(now)
    zone = store.load_inventory().territory.zone
    made = [DemoAccount("admin", Role.ADMIN.value, _password())]
    made.append(DemoAccount("commune", Role.OPERATOR.value, _password(), operator_of=OPERATOR_OF))
    made += [DemoAccount(f"membre{i + 1}", Role.MEMBER.value, _password(), holder_id=h) for i, h in enumerate(members)]
    for a in made:
        accounts.create_account(
            store, a.username, a.password, a.role, holder_id=a.holder_id, operator_of=a.operator_of,
            display_name=None, hasher=hasher, now=at,
        )  # fmt: skip
    period = store.data_period()
    first = data_start or (period[0].astimezone(zone).date() if period else date.fromtimestamp(at))
    start = int(datetime(first.year, first.month, first.day, tzinfo=zone).timestamp())
    expires = consent.add_years(at, 1)
    if members:
        consent.grant(
            store, CLI_ADMIN, subject_id=members[0], recipient_kind="organisation", recipient_id=OPERATOR_OF,
            categories=["consumption"], prms=_prms(store, members[0]), granularity="P1D", data_start=start,
            data_end=None, purpose=PURPOSE, expires_at=expires, now=at,
        )  # fmt: skip
    if len(members) > 1:
        operator = accounts.get_account(store, "commune")
        assert operator is not None
        consent.request(
            store, operator, subject_id=members[1], categories=["consumption"], prms=_prms(store, members[1]),
            granularity="P1D", data_start=start, data_end=None, purpose=PURPOSE, expires_at=expires, now=at,
        )  # fmt: skip
    return made
