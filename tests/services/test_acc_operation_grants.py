"""A participant's grant for an ACC operation may name the PMO organisation (``organisation:<PMO id>``) or the
operation itself (``operation:<operation id>``): either lets the PMO (its operator, and the stand-in that
computes a participant's page) read the curve for the allocation, through the gate, on SQLite and PostgreSQL.
A grant to another operation, or to the operation for another organisation's operator, does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from _acc_store import build_quarter_hours

from regie.governance import acc_access, accounts, consent
from regie.governance.acc_setup import participant_consents
from regie.governance.gate import AccessDenied
from regie.services import acc as service
from regie.store.operations import load_operation


@pytest.fixture
def store(store_url: str):
    s = build_quarter_hours(store_url, date(2025, 5, 30), date(2025, 6, 4))
    yield s
    s.close()


def _days(store) -> tuple[int, int]:
    zone = store.load_inventory("village").territory.zone
    return service._midnight(date(2025, 6, 2), zone), service._midnight(date(2025, 6, 3), zone)


def _regrant(store, recipient_kind: str, recipient_id: str) -> None:
    """Every participant's grant to the cooperative, given again to ``recipient_kind:recipient_id``."""
    from argon2 import PasswordHasher

    from regie.demo.acc_accounts import create_acc_demo_accounts

    create_acc_demo_accounts(store, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    for g in consent.list_grants(store, recipient_id="coop"):
        consent.withdraw(store, g.id, accounts.CLI_ADMIN)
        consent.grant(store, accounts.CLI_ADMIN, subject_id=g.subject_id, recipient_kind=recipient_kind,
                      recipient_id=recipient_id, categories=sorted(g.categories), prms=g.prms,
                      granularity=g.granularity, data_start=g.data_start, data_end=g.data_end, purpose=g.purpose,
                      expires_at=g.expires_at)  # fmt: skip


@pytest.mark.parametrize(("kind", "recipient"), [("organisation", "coop"), ("operation", "acc-test")])
def test_a_grant_to_the_pmo_or_to_the_operation_lets_the_pmo_allocate(store, kind: str, recipient: str) -> None:
    _regrant(store, kind, recipient)
    stored = load_operation(store, "acc-test")
    op = stored.operation
    assert {g.recipient for g in consent.list_grants(store) if g.status is consent.Status.GIVEN} == {
        f"{kind}:{recipient}"}
    start, end = _days(store)
    pmo = accounts.get_account(store, "pmo")
    anna = accounts.Account(99, "anna", accounts.Role.MEMBER, holder_id="anna")
    for reader in (pmo, acc_access.pmo_authority(op, anna)):
        curves = service.load_curves(store, op, start, end, service.gate_reader(store, reader, step=op.step))
        assert curves.missing == {} and len(curves.t) == 96
    assert {c.state for c in participant_consents(store, stored, start, end)} == {"given"}


def test_a_grant_to_another_operation_or_for_another_organisation_does_not_count(store) -> None:
    _regrant(store, "operation", "acc-elsewhere")
    stored = load_operation(store, "acc-test")
    op = stored.operation
    start, end = _days(store)
    with pytest.raises(AccessDenied):
        service.load_curves(store, op, start, end,
                            service.gate_reader(store, accounts.get_account(store, "pmo"), step=op.step))  # fmt: skip
    assert {c.state for c in participant_consents(store, stored, start, end)} == {"withdrawn"}  # the old one
    grant = consent.list_grants(store, recipient_id="acc-elsewhere")[0]
    stranger = accounts.Account(98, "op2", accounts.Role.OPERATOR, operator_of="mairie")
    lookup = consent.pmo_lookup(store)
    assert not grant.names(stranger, lookup)
    to_op = replace(grant, recipient_id="acc-test")
    assert to_op.names(accounts.get_account(store, "pmo"), lookup) and not to_op.names(stranger, lookup)
    assert not to_op.names(accounts.get_account(store, "pmo"))  # without the lookup: operators of the operation only
