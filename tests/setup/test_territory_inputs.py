"""Which territory a new emoncms input posted without a site goes in, on a store of several territories.

The poster's own territory decides: an admin key of one territory puts it there, a member's key on the member's
site; a key tied to no territory (a machine key, an admin of every territory) has its readings held in
quarantine, in no territory's, with a reason the admin of every territory reads on the quarantine page (in
English and French) — never the store's first territory (``mont``, while ``vallee`` is its main one). On a store
of one territory nothing changes: the input's series goes there. Through ``/input/post``, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from two_territories import FAST, PASSWORD, World, build, inventory

from regie.governance import accounts, territories
from regie.governance.accounts import Role
from regie.governance.key_owner import owner_ref
from regie.ingest import apikeys
from regie.ingest.inputs import UNTIED, InputService, territory_zone
from regie.model import DeliveryPoint, Inventory, Membership, Person, Site, Territory
from regie.store import open_store
from regie.store.quarantine import Scope

T0 = 1_741_000_000  # 3 March 2025


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    store = open_store(store_url)
    yield build(store)
    store.close()


def _post(world: World, secret: str, node: str, name: str = "power1") -> dict:
    app = world.client().app
    app.state.inputs = InputService(world.store).start()
    try:
        with TestClient(app) as c:
            return c.get("/input/post", params={"node": node, "time": str(T0),
                                                "fulljson": f'{{"{name}": 250}}', "apikey": secret}).json()  # fmt: skip
    finally:
        app.state.inputs.close()


def _key(world: World, who: str | None) -> str:
    owner = owner_ref(world.accounts[who]) if who is not None else None
    return apikeys.create_key(world.store, f"key of {who}", ["ingest"], owner_id=owner)[1]


def _series_of(world: World, node: str) -> dict[str, str | None]:
    """The series of the inputs of ``node``, with their territory."""
    rows = InputService(world.store).inputs()
    return {r["series"]: territories.of_series(world.store, r["series"]) for r in rows if r["node"] == node}


def _held(world: World) -> list[dict]:
    return [r for r in world.store.quarantine_summary(Scope(None)) if r["source"] == "emoncms-http"]


def test_an_admin_key_of_one_territory_puts_a_new_input_in_that_territory(world: World) -> None:
    assert _post(world, _key(world, "admin-v"), "boiler") == {"success": True}
    assert _series_of(world, "boiler") == {"emon-boiler-power1": "vallee"}
    assert _held(world) == []


def test_a_members_key_puts_a_new_input_on_the_members_site(world: World) -> None:
    """A house of vallee's, its one delivery point held by its member: the member's new input is theirs."""
    inv, prm = world.store.load_inventory("vallee"), "30010000000099"
    world.store.save_inventory(dataclasses.replace(
        inv, sites=[*inv.sites, Site("v-home", "House", "vallee")],
        delivery_points=[*inv.delivery_points, DeliveryPoint(prm, "v-home")],
        persons=[*inv.persons, Person("v-p99", "Person 99")],
        memberships=[*inv.memberships, Membership("v-p99", prm, date(2024, 1, 1))],
    ))  # fmt: skip
    member = accounts.create_account(world.store, "v-member", PASSWORD, Role.MEMBER, holder_id="v-p99", hasher=FAST)
    world.accounts["v-member"] = member
    assert _post(world, _key(world, "v-member"), "heatpump") == {"success": True}
    assert _series_of(world, "heatpump") == {"emon-heatpump-power1": "vallee"}
    assert world.store.series("emon-heatpump-power1").site_id == "v-home"


@pytest.mark.parametrize("who", [None, "root"])  # a machine key; an admin of every territory's key
def test_a_key_tied_to_no_territory_has_its_new_input_held(world: World, who: str | None) -> None:
    assert _post(world, _key(world, who), "garage") == {"success": True}  # held, not refused: nothing is lost
    assert _series_of(world, "garage") == {}
    assert not [s for s in world.store.load_inventory("mont").series if "garage" in s.id]
    (held,) = _held(world)
    assert (held["key"], held["territory_id"], held["readings"], held["reason"]) == ("garage/power1", None, 1, UNTIED)
    # not in a scoped admin's quarantine; in the one of an admin of every territory, with the reason in words
    assert world.store.quarantine_summary(Scope("mont", unplaced=False)) == []
    page = world.client("root").get("/quarantine")
    assert page.status_code == 200 and "tied to none" in page.text and "regie key add --site" in page.text
    fr = world.client("root", lang="fr").get("/quarantine")
    assert "est rattachée à aucun" in fr.text and "regie key add --site" in fr.text
    # the key bound to a site: the device's next readings get their series in that site's territory
    site_key = apikeys.create_key(world.store, "garage sensor", ["ingest"], site_id="v-s")[1]
    assert _post(world, site_key, "garage") == {"success": True}
    assert _series_of(world, "v-s:garage") == {"v-s-garage-power1": "vallee"}


def test_on_a_store_of_one_territory_a_new_input_goes_there(store_url: str) -> None:
    store = open_store(store_url)
    try:
        store.save_inventory(inventory("mont"))
        root = accounts.create_account(store, "root", PASSWORD, Role.ADMIN, hasher=FAST)
        world = World(store, {"root": root})
        for who in (None, "root"):
            node = f"shed{who or ''}"
            assert _post(world, _key(world, who), node) == {"success": True}
            assert _series_of(world, node) == {f"emon-{node}-power1": "mont"}
        assert _held(world) == []
    finally:
        store.close()


def test_the_zone_of_a_posters_own_territory(world: World) -> None:
    """What emoncms's local times can be read in once the poster's territory is known (``territory_zone``)."""
    world.store.save_inventory(Inventory(Territory("reunion", "Réunion-Test", "Indian/Reunion")))
    assert territory_zone(world.store, "reunion") == ZoneInfo("Indian/Reunion")
    assert territory_zone(world.store) == ZoneInfo("Europe/Paris")  # the first by id: mont


def test_a_local_time_posted_is_read_in_the_posters_territory_zone(world: World) -> None:
    """emoncms reads ``time=2025-03-03 12:00:00`` in the user's zone: here the poster's territory's (Réunion,
    UTC+4), not the store's first territory's (Paris, UTC+1)."""
    world.store.save_inventory(Inventory(Territory("reunion", "Réunion-Test", "Indian/Reunion"),
                                         sites=[Site("r-s", "Site", "reunion")]))  # fmt: skip
    world.accounts["admin-r"] = accounts.create_account(world.store, "admin-r", PASSWORD, Role.ADMIN,
                                                        territory_id="reunion", hasher=FAST)  # fmt: skip
    app = world.client().app
    app.state.inputs = InputService(world.store).start()
    try:
        with TestClient(app) as c:
            answer = c.get("/input/post", params={"node": "pump", "time": "2025-03-03 12:00:00",
                                                  "fulljson": '{"power1": 250}', "apikey": _key(world, "admin-r")})
    finally:
        app.state.inputs.close()
    assert answer.json() == {"success": True}
    assert _series_of(world, "pump") == {"emon-pump-power1": "reunion"}
    t, v = world.store.read("emon-pump-power1", 0, 2**31)
    noon_in_reunion = int(datetime(2025, 3, 3, 12, tzinfo=ZoneInfo("Indian/Reunion")).timestamp())
    assert t.tolist() == [noon_in_reunion] and v.tolist() == [250.0]
