"""A village for the member dashboard tests: 25 homes, a PV park of the régie, two years at 30 minutes.

- homes ``h01`` … ``h12`` subscribe 6 kVA (class "up to 6 kVA": twelve homes, enough for secrecy), ``h13`` …
  ``h15`` subscribe 12 kVA (class "9 to 12 kVA": three homes, never shown); each is held by a person of the
  same name and draws 150 + 25·i W, plus 400 W from 18:00 to 22:00 UTC;
- homes ``h16`` … ``h25`` subscribe 36 kVA (class "more than 12 kVA": ten homes, enough by themselves) and
  draw 60 + i W, plus the same 400 W: the smallest class that passes, so it is the one hidden as
  ``secondary`` beside the three homes of 12 kVA (the usage table's residential month minus the shown classes
  would give those three back; :mod:`regie.publication.similar_homes`);
- a PV park of the régie (no delivery point held by a person: published by its owner's choice) gives
  3 kW from 10:00 to 16:00 UTC, so the territory is self-sufficient over some steps, partly over others;
- on 2025-03-10 (local day) only five homes report: consumption, and so self-sufficiency, is hidden by
  secrecy on that day's steps;
- accounts: members ``alice`` (holder h01) and ``zoe`` (holder h13), each with a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from argon2 import PasswordHasher

from regie.governance import accounts
from regie.governance.accounts import Role
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

PARIS = ZoneInfo("Europe/Paris")
HOMES = 25
KVA = [6.0] * 12 + [12.0] * 3 + [36.0] * 10
PRMS = [f"3000300000{i:04d}" for i in range(1, HOMES + 1)]
HOLDERS = [f"h{i:02d}" for i in range(1, HOMES + 1)]
START, END = datetime(2024, 1, 1, tzinfo=PARIS), datetime(2026, 1, 1, tzinfo=PARIS)
HIDDEN_DAY = date(2025, 3, 10)
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET = b"s" * 32


def inventory() -> Inventory:
    half = Step.parse("PT30M")
    return Inventory(
        Territory("bourg", "Bourg-Test", latitude=42.4, longitude=2.48),
        sites=[Site(f"site-{h}", h, "bourg") for h in HOLDERS] + [Site("park", "Parc", "bourg")],
        delivery_points=[
            DeliveryPoint(p, f"site-{h}", subscribed_kva=kva) for p, h, kva in zip(PRMS, HOLDERS, KVA, strict=True)
        ],
        producers=[Producer("pv", "Parc PV", Source.PV, 5000.0, site_id="park")],
        organisations=[Organisation("regie", "Régie", OrganisationKind.REGIE)],
        persons=[Person(h, h.upper(), f"{h}@example.org") for h in HOLDERS],
        memberships=[Membership(h, p, date(2023, 1, 1)) for h, p in zip(HOLDERS, PRMS, strict=True)],
        series=[
            *(Series(f"c-{h}", SeriesKind.CONSUMPTION, "W", half, prm=p) for h, p in zip(HOLDERS, PRMS, strict=True)),
            Series("pv", SeriesKind.PRODUCTION, "W", half, producer_id="pv", site_id="park"),
        ],
    )


def home_power(i: int, t: np.ndarray) -> np.ndarray:
    hour = (t % 86400) / 3600
    return (150.0 + 25.0 * i if i <= 15 else 60.0 + i) + np.where((hour >= 18) & (hour < 22), 400.0, 0.0)


@dataclass
class World:
    store: Store
    sessions: dict[str, str] = field(default_factory=dict)

    def csrf(self, who: str) -> str:
        return accounts.csrf_token(self.sessions[who], SECRET)


def build(store: Store) -> World:
    store.save_inventory(inventory())
    t = np.arange(int(START.timestamp()), int(END.timestamp()), 1800, dtype=np.int64)
    a = int(datetime(HIDDEN_DAY.year, HIDDEN_DAY.month, HIDDEN_DAY.day, tzinfo=PARIS).timestamp())
    hidden = (t >= a) & (t < a + 86400)
    readings = []
    for i, h in enumerate(HOLDERS, 1):
        keep = np.ones(len(t), dtype=bool) if i <= 5 else ~hidden
        readings.append(Readings(f"c-{h}", t[keep], home_power(i, t[keep])))
    hour = (t % 86400) / 3600
    readings.append(Readings("pv", t, np.where((hour >= 10) & (hour < 16), 3000.0, 0.0)))
    store.write(readings)
    world = World(store)
    for name, holder in (("alice", "h01"), ("zoe", "h13")):
        accounts.create_account(store, name, "a long enough password", Role.MEMBER, hasher=FAST, holder_id=holder)
        acct = accounts.get_account(store, name)
        assert acct is not None
        world.sessions[name] = accounts.create_session(store, acct)
    return world
