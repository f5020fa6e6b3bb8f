"""The régie's own callers: accounts that no one logs into, each with its own id (≤ 0) and label.

They used to be scattered (``Account(-2)`` was both the statistics publisher and the PMO stand-in of the
ACC pages); one registry keeps their ids distinct, so that the access log's caller labels and the gate's
``is_active`` (a system account is always active) say which one acted. Stored accounts have ids ≥ 1.
"""

from __future__ import annotations

from regie.governance.accounts import CLI_ADMIN, PUBLIC, Account, Role

#: The régie computing aggregates for publication (disclosure): an admin of the gate, always with its reason.
STATISTICS = Account(-2, "regie-statistics", Role.ADMIN)
#: The régie supervising its grid (losses, peaks, data health): an admin of the gate, with its reason.
SUPERVISION = Account(-3, "regie-supervision", Role.ADMIN)
#: Id of the stand-in for an ACC operation's PMO (:func:`regie.governance.acc_access.pmo_authority`).
PMO_STANDIN_ID = -4
#: The régie carrying out an erasure (:func:`regie.governance.rights.erase_member`): it closes the grants
#: *to* the erased person, which their own account could not (they are someone else's grants).
ERASURE = Account(-5, "regie-erasure", Role.ADMIN)

#: The régie computing the public figures of the publication (:mod:`regie.publication`): it reads each
#: point's contribution through the gate, with its reason, once per change of the store.
PUBLICATION = Account(-6, "regie-publication", Role.ADMIN)

#: The first-run setup page (:mod:`regie.governance.first_run`): it creates the first admin account for
#: whoever showed the console's one-time token.
FIRST_RUN = Account(-7, "regie-setup", Role.ADMIN)

#: The régie filling its Parquet lake for regional computation (:mod:`regie.lake.export`): an admin of the gate
#: that always gives its reason, so each personal series exported is logged under this name.
LAKE = Account(-8, "regie-lake", Role.ADMIN)

ALL: tuple[Account, ...] = (PUBLIC, CLI_ADMIN, STATISTICS, SUPERVISION, ERASURE, PUBLICATION, FIRST_RUN, LAKE)


def is_system(account: Account) -> bool:
    """Whether an account is one of the régie's own (never stored, never logged into)."""
    return account.id <= 0
