"""Whom an API key acts for: bound to an account by its id, never re-attachable by a username.

A key used to name its owner by username (``api_key.owner_id = "alice"``): erase or delete Alice's account,
let someone else sign up as ``alice``, and the old key read the new person's curve. A key is now bound to
the account's id (``owner_id = "#<id>"``; ids are never reused, and usernames cannot start with ``#``). A
key stored the old way still works only for an account that already existed when the key was made: a
key cannot predate its owner (OWASP ASVS v4 §3.5.2, tokens bound to the user they were issued to).
"""

from __future__ import annotations

from sqlalchemy import select

from regie.governance.accounts import PUBLIC, Account, get_account
from regie.governance.accounts import _from_row as account_from_row
from regie.ingest.apikeys import ApiKey
from regie.store import Store
from regie.store.schema import account

_ID = "#"


def owner_ref(owner: Account) -> str:
    """What ``api_key.owner_id`` holds for a key acting for ``owner``: its id, not its name."""
    if owner.id <= 0:
        raise ValueError("a key is owned by a stored account, not a system one")
    return f"{_ID}{owner.id}"


def account_by_id(store: Store, account_id: int) -> Account | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(account).where(account.c.id == account_id)).one_or_none()
    return None if r is None else account_from_row(r)


def owner_of(store: Store, key: ApiKey) -> Account | None:
    """The stored account a key is bound to (active or not), or None when it has none or it is gone."""
    ref = key.owner_id
    if not ref:
        return None
    if ref.startswith(_ID):
        return account_by_id(store, int(ref[1:])) if ref[1:].isdigit() else None
    legacy = get_account(store, ref)  # a key stored before keys were bound by id
    return legacy if legacy is not None and legacy.created_at <= key.created_at else None


def key_account(store: Store, key: ApiKey) -> Account | None:
    """The account a key acts as: the public for a key without an owner (a device, a dashboard), its
    active owner otherwise; None (the key is refused) when the owner is disabled, erased or gone."""
    if not key.owner_id:
        return PUBLIC
    owner = owner_of(store, key)
    return owner if owner is not None and owner.active else None
