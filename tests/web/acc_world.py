"""Collective self-consumption operations for the web tests, with the accounts and grants that open them.

- :func:`build_acc_world`: the hand-checked operation of ``tests/services/_acc_store.py`` (P = 12 kWh per
  half-hour shared by A = 10, B = 5, C = 1 kWh; C joins on 2 June 2025) plus accounts: ``admin``; ``pmo``,
  operator of the cooperative ``coop`` (the PMO); members ``anna`` and ``joan`` (participants A and B) and
  ``eve`` (a household of the village outside the operation); ``mairie-op``, operator of the commune (not
  the PMO). Every participant (the cooperative for its park) has given ``coop`` 30-minute access for the
  ACC purpose.
- :func:`add_matrix_operation`: an operation in the access-matrix world (``governance_world.py``), run by
  ``coop`` (operator ``op``), with alice and carol as consumers and a PV park of the cooperative.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from argon2 import PasswordHasher
from fastapi import FastAPI

from regie.governance import accounts, consent
from regie.governance.accounts import CLI_ADMIN, Role
from regie.model import (
    DeliveryPoint,
    Density,
    Membership,
    Operation,
    Participant,
    Person,
    Readings,
    Series,
    SeriesKind,
    Site,
    Step,
)
from regie.model import Role as AccRole
from regie.services.acc import ACC_PURPOSE
from regie.store import Store
from regie.store.operations import StoredOperation, save_operation
from regie.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))
import _acc_store

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "a long enough password"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET = b"a" * 32
OPERATION_ID = "acc-test"
PRM_EVE = "30000000000009"


def _ts(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=PARIS).timestamp())


def give_acc_grants(store: Store, holders: dict[str, list[str]], recipient: str, data_from: date) -> list[str]:
    """Each holder gives ``recipient`` (an organisation) 30-minute ACC access to its delivery points."""
    expires = consent.add_years(int(datetime.now().timestamp()), 1)
    ids = []
    for holder, prms in holders.items():
        inv = store.load_inventory()
        kinds = sorted({s.kind.value for s in inv.series if s.prm in prms})
        g = consent.grant(
            store, CLI_ADMIN, subject_id=holder, recipient_kind="organisation", recipient_id=recipient,
            categories=kinds, prms=prms, granularity="PT30M", data_start=_ts(data_from), data_end=None,
            purpose=ACC_PURPOSE, expires_at=expires,
        )  # fmt: skip
        ids.append(g.id)
    return ids


@dataclass
class AccWorld:
    store: Store
    sessions: dict[str, str] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = create_app(self.store)
        app.state.secret = SECRET
        app.state.password_hasher = FAST
        return app


def build_acc_world(url: str, *, grants: bool = True, sessions: bool = True) -> AccWorld:
    """The operation of ``_acc_store`` with its accounts (module docstring); ``grants=False`` leaves them out."""
    store = _acc_store.build(url)
    inv = store.load_inventory()
    inv.persons.append(Person("eve", "Eve Martí"))
    inv.sites.append(Site("site-eve", "Eve's house", "village", 42.401, 2.48, 700.0))
    inv.delivery_points.append(DeliveryPoint(PRM_EVE, "site-eve", "C5", 6.0, "residential"))
    inv.memberships.append(Membership("eve", PRM_EVE, date(2020, 1, 1)))
    store.save_inventory(inv)
    for name, role, kw in (
        ("admin", Role.ADMIN, {}),
        ("pmo", Role.OPERATOR, {"operator_of": "coop"}),
        ("mairie-op", Role.OPERATOR, {"operator_of": "mairie"}),
        ("anna", Role.MEMBER, {"holder_id": "anna"}),
        ("joan", Role.MEMBER, {"holder_id": "joan"}),
        ("eve", Role.MEMBER, {"holder_id": "eve"}),
    ):
        accounts.create_account(store, name, PASSWORD, role, hasher=FAST, **kw)
    if grants:
        give_acc_grants(store, {"anna": [_acc_store.PRM_A], "joan": [_acc_store.PRM_B],
                                "mairie": [_acc_store.PRM_C], "coop": [_acc_store.PRM_P]},
                        "coop", date(2025, 1, 1))  # fmt: skip
    world = AccWorld(store)
    if sessions:
        for name in ("admin", "pmo", "mairie-op", "anna", "joan", "eve"):
            acct = accounts.get_account(store, name)
            assert acct is not None
            world.sessions[name] = accounts.create_session(store, acct)
    return world


# ---------------------------------------------------------------- the access-matrix world

MATRIX_OPERATION = "acc-vallee"
PRM_PARK = "30002000000009"


def add_matrix_operation(store: Store) -> None:
    """An operation of ``coop`` in the governance world: alice and carol share the cooperative's PV park."""
    from governance_world import DATA_END, DATA_START, PRM_A, PRM_C

    inv = store.load_inventory()
    half = Step.parse("PT30M")
    inv.sites.append(Site("park", "Parc", inv.territory.id, 42.401, 2.481))
    inv.delivery_points.append(DeliveryPoint(PRM_PARK, "park", "C4", 100.0, "production"))
    inv.memberships.append(Membership("coop", PRM_PARK, date(2024, 1, 1)))
    inv.series.append(Series("park", SeriesKind.PRODUCTION, "W", half, prm=PRM_PARK, site_id="park"))
    store.save_inventory(inv)
    t = np.arange(DATA_START, DATA_END, 1800, dtype=np.int64)
    store.write([Readings("park", t, np.full(len(t), 700.0))])
    where = {"latitude": 42.40, "longitude": 2.48, "density": Density.RURAL}
    start = date(2025, 1, 1)
    op = Operation(MATRIX_OPERATION, "Soleil de la vallée", "coop", (
        Participant(PRM_PARK, AccRole.PRODUCER, start, peak_power_w=100_000.0, name="Parc", **where),
        Participant(PRM_A, AccRole.CONSUMER, start, name="Alice", **where),
        Participant(PRM_C, AccRole.CONSUMER, start, name="Carol", **where),
    ), step=half)  # fmt: skip
    save_operation(
        store, StoredOperation(op, inv.territory.id, "default", {PRM_A: 0.5, PRM_C: 0.5}, _acc_store.BILLING)
    )
    give_acc_grants(store, {"alice": [PRM_A], "carol": [PRM_C], "coop": [PRM_PARK]}, "coop", start)
