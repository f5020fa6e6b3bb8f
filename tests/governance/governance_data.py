"""The governance tests' small territory and constants, importable by name (``from governance_data import ...``):
importing from ``conftest`` breaks as soon as another test folder has a conftest of its own."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from argon2 import PasswordHasher

from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
)

PARIS = ZoneInfo("Europe/Paris")
PRM_A, PRM_B, PRM_C = "30001000000001", "30001000000002", "30001000000003"
PASSWORD = "correct horse battery"
#: Cheap argon2 parameters so tests do not spend seconds hashing; production uses argon2-cffi's defaults.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def ts(*args: int) -> int:
    """Local Paris wall time → UTC seconds."""
    return int(datetime(*args, tzinfo=PARIS).timestamp())


NOW = ts(2025, 6, 1)


def inventory() -> Inventory:
    half = Step.parse("PT30M")
    return Inventory(
        Territory("village", "Village"),
        sites=[Site(x, x, "village") for x in ("house-a", "house-b", "house-c", "plant")],
        delivery_points=[
            DeliveryPoint(PRM_A, "house-a"),
            DeliveryPoint(PRM_B, "house-b"),
            DeliveryPoint(PRM_C, "house-c"),
        ],
        organisations=[Organisation("coop", "Coop", OrganisationKind.COOPERATIVE)],
        persons=[
            Person("alice", "Alice", "alice@example.org"),
            Person("bob", "Bob"),
            Person("carol", "Carol"),
            Person("dave", "Dave"),
        ],
        memberships=[
            Membership("alice", PRM_A, date(2024, 1, 1)),
            Membership("bob", PRM_B, date(2024, 1, 1)),
            Membership("carol", PRM_C, date(2024, 1, 1), date(2025, 3, 1)),
            Membership("dave", PRM_C, date(2025, 3, 1)),
        ],
        series=[
            Series("a-load", SeriesKind.CONSUMPTION, "W", half, prm=PRM_A, name="Alice's house"),
            Series("a-energy", SeriesKind.CONSUMPTION, "Wh", half, prm=PRM_A),
            Series("a-prod", SeriesKind.PRODUCTION, "W", half, prm=PRM_A),
            Series("b-load", SeriesKind.CONSUMPTION, "W", half, prm=PRM_B),
            Series("c-load", SeriesKind.CONSUMPTION, "W", half, prm=PRM_C),
            Series("hydro", SeriesKind.PRODUCTION, "W", half, site_id="plant"),
        ],
    )


def half_hours(start: int, end: int) -> np.ndarray:
    return np.arange(start, end, 1800, dtype=np.int64)
