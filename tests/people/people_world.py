"""A small régie for the people tests: two households and a cooperative, an admin, an operator who asked
one household for its daily consumption.

- persons ``alice`` (alice@example.org, PRM_A) and ``bob`` (bob@example.org, PRM_B); organisation ``coop``;
- accounts ``admin`` (password :data:`ADMIN_PASSWORD`) and operator ``op`` of ``coop``, who requested
  alice's daily consumption (status ``requested``): the consent an invited alice must see.

Passwords are hashed with cheap argon2 parameters (:data:`FAST`): the tests log in through real forms many
times, and argon2's real cost is not what they check.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from smtp_box import Mailbox, body, free_port, link_in, subject  # noqa: F401 (re-exported for the people tests)

from regie.config import Settings
from regie.governance import accounts, consent
from regie.governance.accounts import Role
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
from regie.store import Store

PARIS = ZoneInfo("Europe/Paris")
PRM_A, PRM_B = "30002000000001", "30002000000002"
ADMIN_PASSWORD = "admin ferme moulin rivière 1977"
#: Strong enough for an operator (zxcvbn score 3+), not common.
NEW_PASSWORD = "glacier cerise lanterne boussole"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET = b"p" * 32
PURPOSE = "dpv:CombatClimateChange"


def inventory() -> Inventory:
    half = Step.parse("PT30M")
    return Inventory(
        Territory("vallee", "Vallée-Test", latitude=42.40, longitude=2.48),
        sites=[Site("house-a", "A", "vallee"), Site("house-b", "B", "vallee")],
        delivery_points=[DeliveryPoint(PRM_A, "house-a"), DeliveryPoint(PRM_B, "house-b")],
        organisations=[Organisation("coop", "Coopérative", OrganisationKind.COOPERATIVE)],
        persons=[Person("alice", "Alice Martin", "alice@example.org"), Person("bob", "Bob", "bob@example.org")],
        memberships=[Membership("alice", PRM_A, date(2024, 1, 1)), Membership("bob", PRM_B, date(2024, 1, 1))],
        series=[
            Series("c1", SeriesKind.CONSUMPTION, "W", half, prm=PRM_A),
            Series("c2", SeriesKind.CONSUMPTION, "W", half, prm=PRM_B),
        ],
    )


@dataclass
class World:
    store: Store
    request_id: str


def build_world(store: Store) -> World:
    store.save_inventory(inventory())
    accounts.create_account(store, "admin", ADMIN_PASSWORD, Role.ADMIN, hasher=FAST)
    accounts.create_account(store, "op", NEW_PASSWORD + " op", Role.OPERATOR, operator_of="coop", hasher=FAST)
    start = int(datetime(2025, 1, 1, tzinfo=PARIS).timestamp())
    asked = consent.request(
        store, accounts.get_account(store, "op"), subject_id="alice", categories=["consumption"], prms=[PRM_A],
        granularity="P1D", data_start=start, data_end=None, purpose=PURPOSE,
        expires_at=consent.add_years(int(time.time()), 1),
    )  # fmt: skip
    return World(store, asked.id)


# ---------------------------------------------------------------- the web app over the world


def app_for(world: World, settings: Settings | None = None):
    from regie.web.app import create_app

    app = create_app(world.store, settings)
    app.state.secret = SECRET
    app.state.password_hasher = FAST
    return app


def form_token(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def session_of(store: Store, username: str) -> str:
    acct = accounts.get_account(store, username)
    assert acct is not None
    return accounts.create_session(store, acct)
