"""Who may open an ACC operation, as whom, and under whose grants its curves are read.

The decision lives here, in governance, so that the pages (``regie.web.acc_pages``) only render it:

- **the PMO** — an operator whose ``operator_of`` is the operation's organisation (``Operation.pmo_id``) or
  the operation itself — reads every curve under its own account, i.e. under the participants' grants to it;
- **a régie admin** reads under their own account too, with a stated reason that the gate logs;
- **a participant** — a member holding one of the operation's delivery points now — gets an allocation that
  needs *every* participant's curve: it is computed by a stand-in for the PMO organisation
  (:func:`pmo_authority`, labelled ``pmo:<pmo_id> for <username>`` in the access log), so each read is
  still decided by the participants' own grants to the PMO; the page then keeps only the participant's rows
  from the day they hold the point.

Why not the participant's own account: it may read only its own curve. Why not the PMO's operator account:
there may be several, or none logged in; the stand-in names the organisation whose grants are used, which
is what a data subject consented to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from regie.governance.accounts import Account, Role
from regie.governance.system_accounts import PMO_STANDIN_ID
from regie.model import Inventory, Operation

PMO, ADMIN, PARTICIPANT = "pmo", "admin", "participant"


class ReasonRequired(PermissionError):
    """An admin opens an operation's pages only with a reason (the gate logs it with every read)."""


class NotAllowed(PermissionError):
    """The caller is neither the PMO, an admin (for the PMO's pages), nor a participant (for their own)."""


@dataclass(frozen=True, slots=True)
class OperationRole:
    """How a caller opens an operation: ``as_`` (pmo, admin or participant), the account whose grants the
    curves are read under (``reader``), the admin's ``reason``, and a participant's own PRMs → first day held."""

    as_: str
    reader: Account
    reason: str | None = None
    own: dict[str, date] | None = None


def runs_operation(account: Account, operation: Operation) -> bool:
    """Whether an operator account acts for the operation's PMO (its organisation, or the operation itself)."""
    return account.role is Role.OPERATOR and account.operator_of in (operation.pmo_id, operation.id)


def held_participant_prms(inventory: Inventory, holder_id: str | None, operation: Operation) -> dict[str, date]:
    """The operation's delivery points the holder holds now, with the day each holding began."""
    prms = {p.prm for p in operation.participants}
    return {
        m.prm: m.since
        for m in inventory.memberships
        if holder_id and m.holder_id == holder_id and m.until is None and m.prm in prms
    }


def pmo_authority(operation: Operation, on_behalf_of: Account) -> Account:
    """The stand-in for the PMO organisation that reads curves for a participant's page (module docstring)."""
    return Account(PMO_STANDIN_ID, f"pmo:{operation.pmo_id} for {on_behalf_of.username}", Role.OPERATOR,
                   operator_of=operation.pmo_id)  # fmt: skip


def sees_as(account: Account, operation: Operation, inventory: Inventory) -> str | None:
    """What the operation list offers the caller: the PMO's pages (PMO, admin), their own page, or nothing."""
    if account.role is Role.ADMIN or runs_operation(account, operation):
        return PMO
    if account.role is Role.MEMBER and held_participant_prms(inventory, account.holder_id, operation):
        return PARTICIPANT
    return None


def open_as(
    account: Account, operation: Operation, inventory: Inventory, want: str, reason: str | None = None
) -> OperationRole:
    """Decide how ``account`` opens ``operation`` for ``want`` (``pmo``: the PMO's pages; ``participant``:
    their own page); raise :class:`ReasonRequired` or :class:`NotAllowed`."""
    if want == PMO:
        if account.role is Role.ADMIN:
            stated = (reason or "").strip()[:300]
            if not stated:
                raise ReasonRequired("an administrator reads personal data only with a reason")
            return OperationRole(ADMIN, account, stated)
        if runs_operation(account, operation):
            return OperationRole(PMO, account)
    elif want == PARTICIPANT and account.role is Role.MEMBER:
        own = held_participant_prms(inventory, account.holder_id, operation)
        if own:
            return OperationRole(PARTICIPANT, pmo_authority(operation, account), own=own)
    raise NotAllowed(f"not for this caller: the {want} pages of operation {operation.id}")
