"""`regie consent grant` reads its days (``--from``, ``--until``, ``--expires``) in the time zone of the territory
of the delivery points it covers, as the gate reads holding periods — not in the store's first territory's.

Two territories: ``mont`` (Europe/Paris, the first by id) and ``reunion`` (Indian/Reunion, UTC+4). A grant of a
Réunion household starts at Réunion's midnight, three hours before Paris's; a grant over points of both zones
is refused, nothing recorded. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from regie.cli import app
from regie.governance import consent
from regie.model import DeliveryPoint, Inventory, Membership, Organisation, OrganisationKind, Person, Site, Territory
from regie.store import open_store

ZONES = {"mont": "Europe/Paris", "reunion": "Indian/Reunion"}
PRMS = {"mont": "30020000000001", "reunion": "30030000000001"}
EXPIRES = date.today() + timedelta(days=200)


def _inventory(tid: str) -> Inventory:
    p = tid[0]
    return Inventory(
        Territory(tid, f"{tid}-test", ZONES[tid]),
        sites=[Site(f"{p}-s", "Site", tid)],
        delivery_points=[DeliveryPoint(PRMS[tid], f"{p}-s")],
        organisations=[Organisation(f"{p}-coop", "Coop", OrganisationKind.COOPERATIVE)],
        persons=[Person(f"{p}-p1", "Person 1")],
        memberships=[Membership(f"{p}-p1", PRMS[tid], date(2024, 1, 1))],
    )


@pytest.fixture
def url(store_url: str) -> Iterator[str]:
    store = open_store(store_url)
    for tid in ZONES:
        store.save_inventory(_inventory(tid))
    store.close()
    yield store_url


def _grant(url: str, subject: str, *extra: str):
    return CliRunner().invoke(app, [
        "consent", "grant", "--subject", subject, "--to", "organisation:r-coop", "--purpose",
        "dpv:FulfilmentOfContractualObligation", "--from", "2025-03-10", "--until", "2025-04-01",
        "--expires", EXPIRES.isoformat(), *extra, "--database-url", url,
    ])  # fmt: skip


def _midnight(day: date, tid: str) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONES[tid])).timestamp())


def test_a_grant_is_dated_in_its_delivery_points_territory(url: str) -> None:
    r = _grant(url, "r-p1")
    assert r.exit_code == 0, r.output
    store = open_store(url)
    try:
        (g,) = consent.list_grants(store, subject_id="r-p1")
    finally:
        store.close()
    assert g.data_start == _midnight(date(2025, 3, 10), "reunion")
    assert g.data_start == _midnight(date(2025, 3, 10), "mont") - 3 * 3600  # not Paris's midnight
    assert g.data_end == _midnight(date(2025, 4, 1), "reunion")
    assert g.expires_at == _midnight(EXPIRES, "reunion") + 86400


def test_a_grant_over_points_of_two_time_zones_is_refused(url: str) -> None:
    r = _grant(url, "r-p1", "--prm", PRMS["reunion"], "--prm", PRMS["mont"])
    assert r.exit_code != 0 and "different time zones" in re.sub(r"[\s│]+", " ", r.output)  # the box's lines joined
    store = open_store(url)
    try:
        assert consent.list_grants(store) == []
    finally:
        store.close()
