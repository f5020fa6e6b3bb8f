"""The demo's accounts: random passwords returned once, only hashes stored, one grant and one request."""

from __future__ import annotations

from governance_data import FAST, NOW
from sqlalchemy import select

from regie.governance import accounts, consent
from regie.governance.consent import Status
from regie.governance.demo_accounts import OPERATOR_OF, create_demo_accounts
from regie.store.schema import account


def test_demo_accounts(store) -> None:
    made = create_demo_accounts(store, ("alice", "bob", "dave"), hasher=FAST, now=NOW)
    assert [(a.username, a.role) for a in made] == [
        ("admin", "admin"), ("commune", "operator"), ("membre1", "member"), ("membre2", "member"),
        ("membre3", "member"),
    ]  # fmt: skip
    passwords = [a.password for a in made]
    assert len(set(passwords)) == len(passwords)
    assert all(len(p) >= accounts.MIN_PASSWORD for p in passwords)
    with store.engine.connect() as conn:
        stored = " ".join(r.password_hash for r in conn.execute(select(account.c.password_hash)))
    assert all(p not in stored for p in passwords)
    assert stored.count("$argon2id$") == len(made)
    for a in made:
        assert accounts.authenticate(store, a.username, a.password, "127.0.0.1", hasher=FAST, now=NOW).ok

    grants = {g.subject_id: g for g in consent.list_grants(store)}
    given, asked = grants["alice"], grants["bob"]
    assert (given.status, given.recipient, given.granularity.value) == (
        Status.GIVEN,
        f"organisation:{OPERATOR_OF}",
        "P1D",
    )
    assert (asked.status, asked.recipient, asked.requested_by) == (
        Status.REQUESTED,
        f"operation:{OPERATOR_OF}",
        "commune",
    )
    operator = accounts.get_account(store, "commune")
    assert given.names(operator) and asked.names(operator)


def test_each_build_draws_new_passwords(tmp_path) -> None:
    from governance_data import inventory

    from regie.store import open_store

    first = {}
    for i in range(2):
        s = open_store(f"sqlite:///{tmp_path / f'{i}.sqlite'}")
        s.save_inventory(inventory())
        first[i] = {a.username: a.password for a in create_demo_accounts(s, ("alice",), hasher=FAST, now=NOW)}
        s.close()
    assert all(first[0][u] != first[1][u] for u in first[0])
