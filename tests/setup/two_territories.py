"""Two territories in one store, each with its own scoped admin, and an admin of both.

- ``vallee`` ("Vallée-Test"): ten households (persons ``v-p1`` … ``v-p10``, delivery points ``30010000000001`` …,
  consumption series ``v-c1`` …) drawing 100 W each, a hydro plant ``v-h`` giving 300 W;
- ``mont`` ("Mont-Test"): ten households (``m-p1`` …, ``30020000000001`` …, ``m-c1`` …) drawing 250 W each, a
  hydro plant ``m-h`` giving 900 W;
- every 30 minutes over March 2025 (Europe/Paris);
- accounts: ``admin-v`` (admin of vallee only), ``admin-m`` (admin of mont only), ``op-m`` (operator of the
  mont régie ``m-regie``, scoped to mont), ``root`` (admin of every territory); sessions are opened in the
  store directly, passwords hashed with cheap argon2 parameters.

So the balance of each territory is easy to tell apart: 1000 W of consumption in vallee, 2500 W in mont.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from regie.governance import accounts
from regie.governance.accounts import Account, Role
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Producer,
    Readings,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
)
from regie.store import Store
from regie.web.app import create_app

PARIS = ZoneInfo("Europe/Paris")
PT30M = Step.parse("PT30M")
START, END = datetime(2025, 3, 1, tzinfo=PARIS), datetime(2025, 4, 1, tzinfo=PARIS)
A, B = int(START.timestamp()), int(END.timestamp())
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "granite meadow lantern quietly"
HOUSEHOLDS = 10
#: territory id → (name, series/person prefix, PRM prefix, W per household, hydro W)
TERRITORIES = {
    "vallee": ("Vallée-Test", "v", "3001", 100.0, 300.0),
    "mont": ("Mont-Test", "m", "3002", 250.0, 900.0),
}


def inventory(tid: str) -> Inventory:
    name, p, prm, _, _ = TERRITORIES[tid]
    prms = [f"{prm}00000000{i:02d}" for i in range(1, HOUSEHOLDS + 1)]
    return Inventory(
        Territory(tid, name, latitude=42.4, longitude=2.48, insee="66150" if tid == "vallee" else "66016"),
        sites=[Site(f"{p}-s", "Site", tid)],
        delivery_points=[DeliveryPoint(x, f"{p}-s") for x in prms],
        producers=[Producer(f"{p}-h", "Hydro", Source.HYDRO, 500_000)],
        organisations=[Organisation(f"{p}-regie", "Régie", OrganisationKind.REGIE)],
        persons=[Person(f"{p}-p{i}", f"Person {i}") for i in range(1, HOUSEHOLDS + 1)],
        memberships=[Membership(f"{p}-p{i}", x, date(2024, 1, 1)) for i, x in enumerate(prms, 1)],
        series=[
            *(Series(f"{p}-c{i}", SeriesKind.CONSUMPTION, "W", PT30M, prm=x) for i, x in enumerate(prms, 1)),
            Series(f"{p}-h", SeriesKind.PRODUCTION, "W", PT30M, producer_id=f"{p}-h"),
        ],
    )


@dataclass
class World:
    store: Store
    accounts: dict[str, Account]
    sessions: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = None, lang: str = "en") -> TestClient:
        app = create_app(self.store)
        app.state.password_hasher = FAST
        client = TestClient(app, follow_redirects=False)
        client.headers["Accept-Language"] = lang
        if who is not None:
            client.cookies.set("regie_session", self.sessions[who])
        return client


def build(store: Store) -> World:
    t = np.arange(A, B, 1800, dtype=np.int64)
    for tid, (_, p, _, household_w, hydro_w) in TERRITORIES.items():
        store.save_inventory(inventory(tid))
        store.write([
            *(Readings(f"{p}-c{i}", t, np.full(len(t), household_w)) for i in range(1, HOUSEHOLDS + 1)),
            Readings(f"{p}-h", t, np.full(len(t), hydro_w)),
        ])  # fmt: skip
    made = {}
    for name, role, kw in (
        ("admin-v", Role.ADMIN, {"territory_id": "vallee"}),
        ("admin-m", Role.ADMIN, {"territory_id": "mont"}),
        ("op-m", Role.OPERATOR, {"territory_id": "mont", "operator_of": "m-regie"}),
        ("root", Role.ADMIN, {}),
    ):
        made[name] = accounts.create_account(store, name, PASSWORD, role, hasher=FAST, **kw)
    world = World(store, made)
    world.sessions = {name: accounts.create_session(store, a) for name, a in made.items()}
    return world
