"""Who opens an ACC operation, as whom: decided in governance (the pages only render it), with the régie's
system accounts in one registry (issue 18, "also found")."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from regie.governance import acc_access, system_accounts
from regie.governance.accounts import Account, Role
from regie.model import Inventory, Membership, Operation, Participant, Territory
from regie.model.operation import Role as AccRole

ROOT = Path(__file__).resolve().parents[2] / "regie"
PRM_A, PRM_B, PRM_P = "30001000000001", "30001000000002", "30001000000009"
OP = Operation("acc", "ACC", "coop", (
    Participant(PRM_A, AccRole.CONSUMER, date(2025, 1, 1)), Participant(PRM_B, AccRole.CONSUMER, date(2025, 1, 1)),
    Participant(PRM_P, AccRole.PRODUCER, date(2025, 1, 1), peak_power_w=9000.0),
))  # fmt: skip
INV = Inventory(Territory("t", "T"), memberships=[Membership("alice", PRM_A, date(2024, 1, 1)),
                                                  Membership("bob", PRM_B, date(2024, 1, 1), date(2025, 3, 1))])


def test_system_accounts_have_distinct_ids_and_are_made_only_in_governance() -> None:
    ids = [a.id for a in system_accounts.ALL] + [system_accounts.PMO_STANDIN_ID]
    assert len(ids) == len(set(ids)) and all(i <= 0 for i in ids)
    made = {p.relative_to(ROOT.parent).as_posix() for p in ROOT.rglob("*.py")
            if re.search(r"\bAccount\(\s*-?\d", p.read_text(encoding="utf-8"))}  # fmt: skip
    assert made <= {"regie/governance/accounts.py", "regie/governance/system_accounts.py"}, made


def test_the_pmo_an_admin_with_a_reason_and_a_current_participant_open_the_operation() -> None:
    pmo = Account(7, "op", Role.OPERATOR, operator_of="coop")
    assert acc_access.open_as(pmo, OP, INV, "pmo").reader == pmo
    admin = Account(1, "admin", Role.ADMIN)
    with pytest.raises(acc_access.ReasonRequired):
        acc_access.open_as(admin, OP, INV, "pmo", "  ")
    assert acc_access.open_as(admin, OP, INV, "pmo", "audit").reason == "audit"
    alice = Account(2, "alice", Role.MEMBER, holder_id="alice")
    role = acc_access.open_as(alice, OP, INV, "participant")
    assert role.own == {PRM_A: date(2024, 1, 1)}
    assert role.reader.id == system_accounts.PMO_STANDIN_ID != system_accounts.STATISTICS.id
    assert role.reader.operator_of == "coop" and role.reader.label == "pmo:coop for alice"


def test_a_former_participant_an_outsider_and_the_wrong_page_are_refused() -> None:
    bob = Account(3, "bob", Role.MEMBER, holder_id="bob")  # left on 1 March
    other = Account(4, "op2", Role.OPERATOR, operator_of="other")
    alice = Account(2, "alice", Role.MEMBER, holder_id="alice")
    for who, want in ((bob, "participant"), (other, "pmo"), (alice, "pmo")):
        with pytest.raises(acc_access.NotAllowed):
            acc_access.open_as(who, OP, INV, want)
    assert [acc_access.sees_as(a, OP, INV) for a in (bob, other, alice)] == [None, None, "participant"]
