"""A small régie for the web governance tests: three households, a cooperative, every kind of caller.

- persons alice, bob and carol hold one delivery point each (consumption series ``c1``, ``c2``, ``c3``, every
  30 minutes over January–February 2025); a hydro plant of the régie (``h``) produces;
- accounts: ``admin``; members ``alice``, ``bob``; operator ``op`` of the cooperative ``coop``, to which alice
  has granted daily consumption (purpose dpv:CombatClimateChange); operator ``op2`` of ``other`` without
  any grant; bob has a pending request from ``op``;
- API keys: ``alice-key`` (read + write, owned by alice), ``ingest-key`` (a device key of node ``house``),
  ``write-key`` and ``read-key`` (machines, no owner).

Sessions are opened directly in the store (no password hashing per test) and CSRF tokens computed with the
app's fixed secret, so a test can act as anyone in a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from argon2 import PasswordHasher
from fastapi import FastAPI

from regie.governance import accounts, consent
from regie.governance.accounts import Role
from regie.ingest import apikeys
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
PRM_A, PRM_B, PRM_C = "30002000000001", "30002000000002", "30002000000003"
PASSWORD = "a long enough password"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET = b"s" * 32
PURPOSE = "dpv:CombatClimateChange"


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=PARIS).timestamp())


DATA_START, DATA_END = ts(2025, 1, 1), ts(2025, 3, 1)


def inventory() -> Inventory:
    half = Step.parse("PT30M")
    return Inventory(
        Territory("vallee", "Vallée-Test", latitude=42.40, longitude=2.48),
        sites=[Site(x, x, "vallee") for x in ("house-a", "house-b", "house-c", "plant")],
        delivery_points=[
            DeliveryPoint(PRM_A, "house-a"),
            DeliveryPoint(PRM_B, "house-b"),
            DeliveryPoint(PRM_C, "house-c"),
        ],
        producers=[Producer("h", "Hydro", Source.HYDRO, 500_000, site_id="plant")],
        organisations=[Organisation("coop", "Coopérative", OrganisationKind.COOPERATIVE)],
        persons=[Person("alice", "Alice", "alice@example.org"), Person("bob", "Bob"), Person("carol", "Carol")],
        memberships=[
            Membership("alice", PRM_A, date(2024, 1, 1)),
            Membership("bob", PRM_B, date(2024, 1, 1)),
            Membership("carol", PRM_C, date(2024, 1, 1)),
        ],
        series=[
            Series("c1", SeriesKind.CONSUMPTION, "W", half, prm=PRM_A, name="Alice"),
            Series("c2", SeriesKind.CONSUMPTION, "W", half, prm=PRM_B),
            Series("c3", SeriesKind.CONSUMPTION, "W", half, prm=PRM_C),
            Series("h", SeriesKind.PRODUCTION, "W", half, producer_id="h", site_id="plant"),
        ],
    )


@dataclass
class World:
    store: Store
    grant_id: str
    request_id: str
    keys: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = create_app(self.store)
        app.state.secret = SECRET
        app.state.password_hasher = FAST
        return app

    def csrf(self, who: str) -> str:
        return accounts.csrf_token(self.sessions[who], SECRET)


def build_world(store: Store, *, now: int | None = None) -> World:
    """Fill an empty store with the régie described in the module docstring."""
    store.save_inventory(inventory())
    t = np.arange(DATA_START, DATA_END, 1800, dtype=np.int64)
    store.write(
        [
            Readings("c1", t, np.full(len(t), 600.0)),
            Readings("c2", t, np.full(len(t), 400.0)),
            Readings("c3", t, np.full(len(t), 500.0)),
            Readings("h", t, np.full(len(t), 300.0)),
        ]
    )
    for name, role, kw in (
        ("admin", Role.ADMIN, {}),
        ("alice", Role.MEMBER, {"holder_id": "alice"}),
        ("bob", Role.MEMBER, {"holder_id": "bob"}),
        ("op", Role.OPERATOR, {"operator_of": "coop"}),
        ("op2", Role.OPERATOR, {"operator_of": "other"}),
    ):
        accounts.create_account(store, name, PASSWORD, role, hasher=FAST, **kw)
    expires = consent.add_years(now or int(datetime.now().timestamp()), 1)
    g = consent.grant(
        store, accounts.get_account(store, "alice"), subject_id="alice", recipient_kind="organisation",
        recipient_id="coop", categories=["consumption"], prms=[PRM_A], granularity="P1D", data_start=DATA_START,
        data_end=None, purpose=PURPOSE, expires_at=expires,
    )  # fmt: skip
    r = consent.request(
        store, accounts.get_account(store, "op"), subject_id="bob", categories=["consumption"], prms=[PRM_B],
        granularity="P1D", data_start=DATA_START, data_end=None, purpose=PURPOSE, expires_at=expires,
    )  # fmt: skip
    world = World(store, g.id, r.id)
    world.keys["alice-key"] = apikeys.create_key(store, "alice's script", ["read", "write"], owner_id="alice")[1]
    world.keys["ingest-key"] = apikeys.create_key(store, "emonpi", ["ingest"], node="house")[1]
    world.keys["write-key"] = apikeys.create_key(store, "importer", ["write"])[1]
    world.keys["read-key"] = apikeys.create_key(store, "dashboard", ["read"])[1]
    for name in ("admin", "alice", "bob", "op", "op2"):
        acct = accounts.get_account(store, name)
        assert acct is not None
        world.sessions[name] = accounts.create_session(store, acct)
    return world
