"""A small territory with members, an operator and an admin, for the governance tests (both backends)."""

from __future__ import annotations

import numpy as np
import pytest
from governance_data import FAST, NOW, PASSWORD, half_hours, inventory, ts

from regie.governance import accounts
from regie.governance.accounts import Role
from regie.model import Readings
from regie.store import Store, open_store


@pytest.fixture
def store(store_url: str):
    s = open_store(store_url)
    s.save_inventory(inventory())
    t = half_hours(ts(2025, 1, 1), ts(2025, 5, 1))
    s.write(
        [
            Readings("a-load", t, np.full(len(t), 1000.0)),
            Readings("a-energy", t, np.full(len(t), 500.0)),
            Readings("a-prod", t, np.full(len(t), 200.0)),
            Readings("b-load", t, np.full(len(t), 700.0)),
            Readings("c-load", t, np.full(len(t), 300.0)),
        ]
    )
    yield s
    s.close()


@pytest.fixture
def people(store: Store) -> dict[str, accounts.Account]:
    """admin, alice and bob (members), op (operator of the ACC operation "acc-village"), dave (member)."""
    made = {}
    for name, role, kw in (
        ("admin", Role.ADMIN, {}),
        ("alice", Role.MEMBER, {"holder_id": "alice"}),
        ("bob", Role.MEMBER, {"holder_id": "bob"}),
        ("dave", Role.MEMBER, {"holder_id": "dave"}),
        ("op", Role.OPERATOR, {"operator_of": "acc-village"}),
    ):
        made[name] = accounts.create_account(store, name, PASSWORD, role, hasher=FAST, now=NOW - 86400, **kw)
    return made
