"""Accounts and grants that open the demo's collective self-consumption operation in the web UI.

The demo operation (:mod:`regie.demo.acc_operation`) is run by a citizen cooperative, its PMO. To show the
PMO's pages and a participant's page, the demo adds:

- ``pmo``, an operator of the cooperative (``operator_of`` = the PMO's organisation id);
- ``participant``, a member holding the delivery point of one household of the operation;
- one grant per participant (the cooperative included, for its park's production) to the cooperative:
  the participant's curve at the operation's metering step (``Operation.step``: PT30M for the demo,
  PT15M for an operation settled at 15 minutes), for collective self-consumption
  (``dpv:FulfilmentOfContractualObligation``), from the operation's start. Allocation needs every
  participant's load curve at the metering step — the gate refuses a PT15M read under a PT30M grant — and
  in a real operation each participant gives this grant when signing the PMO's participation agreement;
  here the shell's admin records it on their behalf.

Passwords are drawn at random, returned once to the caller, and stored only as argon2 hashes.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

from argon2 import PasswordHasher

from regie.governance import accounts, consent
from regie.governance.accounts import CLI_ADMIN, Role
from regie.governance.demo_accounts import DemoAccount
from regie.model import ParticipantType
from regie.store import Store
from regie.store.operations import load_operation, operation_ids

#: The purpose of ACC reads (``regie.services.acc.ACC_PURPOSE``; repeated here: demo does not import services).
ACC_PURPOSE = "dpv:FulfilmentOfContractualObligation"


def create_acc_demo_accounts(
    store: Store, *, hasher: PasswordHasher | None = None, now: int | None = None
) -> list[DemoAccount]:
    """For each operation in the store: its PMO's operator, one participant's member account, and the grants.

    Returns the accounts with their clear passwords (to show once); nothing when the store has no operation.
    """
    at = int(time.time()) if now is None else int(now)
    made: list[DemoAccount] = []
    inventory = store.load_inventory()
    zone = inventory.territory.zone
    holders = {m.prm: m.holder_id for m in inventory.memberships if m.until is None}
    for i, op_id in enumerate(operation_ids(store)):
        op = load_operation(store, op_id).operation
        suffix = "" if i == 0 else f"{i + 1}"
        first = min(p.entry for p in op.participants)
        start = int(datetime(first.year, first.month, first.day, tzinfo=zone).timestamp())
        expires = consent.add_years(at, 1)
        by_holder: dict[str, list[str]] = {}
        for p in op.participants:
            if p.prm in holders:
                by_holder.setdefault(holders[p.prm], []).append(p.prm)
        for holder, prms in sorted(by_holder.items()):
            kinds = sorted({s.kind.value for s in inventory.series if s.prm in prms})
            consent.grant(
                store, CLI_ADMIN, subject_id=holder, recipient_kind="organisation", recipient_id=op.pmo_id,
                categories=kinds, prms=prms, granularity=op.step.iso, data_start=start, data_end=None,
                purpose=ACC_PURPOSE, expires_at=expires, now=at,
            )  # fmt: skip
        household = next(
            (holders[p.prm] for p in op.consumers if p.type is ParticipantType.HOUSEHOLD and p.exit is None
             and p.prm in holders),
            None,
        )  # fmt: skip
        wanted = [DemoAccount(f"pmo{suffix}", Role.OPERATOR.value, secrets.token_urlsafe(12), operator_of=op.pmo_id)]
        if household is not None:
            wanted.append(
                DemoAccount(f"participant{suffix}", Role.MEMBER.value, secrets.token_urlsafe(12), holder_id=household)
            )
        for a in wanted:
            accounts.create_account(
                store, a.username, a.password, a.role, holder_id=a.holder_id, operator_of=a.operator_of,
                hasher=hasher, now=at,
            )  # fmt: skip
            made.append(a)
    return made
