"""The ACC set-up routes over HTTP: an admin adds a participant and gets the invitation's one-time link when
no mail can be sent; the live check's JSON (figures, translated sources, refusals); CSRF and scopes."""

from __future__ import annotations

import re
from datetime import date

import pytest
from acc_world import OPERATION_ID, PRM_EVE, AccWorld, build_acc_world
from fastapi.testclient import TestClient

from regie.governance import accounts, invitations
from regie.model import DeliveryPoint, Membership, Person, Site
from regie.store.operations import load_operation

OP = f"/acc/{OPERATION_ID}"


PRM_NOE = "30000000000010"


@pytest.fixture
def world(tmp_path) -> AccWorld:
    """The ACC world, and Noé, a villager of the inventory without an account."""
    w = build_acc_world(f"sqlite:///{tmp_path / 'acc.sqlite'}")
    inv = w.store.load_inventory()
    inv.persons.append(Person("noe", "Noé"))
    inv.sites.append(Site("site-noe", "Noé's house", "village", 42.4015, 2.48, 700.0))
    inv.delivery_points.append(DeliveryPoint(PRM_NOE, "site-noe", "C5", 6.0, "residential"))
    inv.memberships.append(Membership("noe", PRM_NOE, date(2020, 1, 1)))
    w.store.save_inventory(inv)
    yield w
    w.store.close()


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_an_admin_adds_a_participant_and_hands_the_invitation_over(world: AccWorld) -> None:
    with TestClient(world.app(), follow_redirects=False) as client:
        client.cookies.set("regie_session", world.sessions["admin"])
        token = _csrf(client, f"{OP}/setup")
        form = {"csrf_token": token, "prm": PRM_NOE, "role": "consumer", "entry": "2025-07-01",
                "email": "noe@example.org"}  # fmt: skip
        r = client.post(f"{OP}/setup/participants", data=form, params={"lang": "en"})
        assert r.status_code == 200, r.text
        link = re.search(r'data-testid="acc-invitation-link">([^<]+)<', r.text).group(1)
        assert "could not be mailed: hand this one-time link over privately" in r.text
        account, _ = invitations.check_invitation(world.store, link.rsplit("/", 1)[1])
        assert (account.holder_id, account.email) == ("noe", "noe@example.org")
        # Eve has an account already: she is asked for consent, and not invited again
        form = {"csrf_token": token, "prm": PRM_EVE, "entry": "2025-07-01", "email": "eve@example.org"}
        r = client.post(f"{OP}/setup/participants", data=form, params={"lang": "en"})
        assert r.status_code == 200 and "eve already has an account" in r.text
        assert [a.username for a in accounts.accounts_of_holder(world.store, "eve")] == ["eve"]
        added = {p.prm for p in load_operation(world.store, OPERATION_ID).operation.participants}
        assert {PRM_NOE, PRM_EVE} <= added
        # without the form's CSRF token, nothing changes
        r = client.post(f"{OP}/setup/exit", data={"n": "0", "on": "2025-12-01"})
        assert r.status_code == 403
        assert load_operation(world.store, OPERATION_ID).operation.participants[0].exit is None


def test_the_live_check_says_the_figures_and_their_source(world: AccWorld) -> None:
    with TestClient(world.app(), follow_redirects=False) as client:
        client.cookies.set("regie_session", world.sessions["pmo"])
        r = client.get("/acc/check", params={"operation": OPERATION_ID, "lang": "fr"})
        body = r.json()
        # the park entered in 2024: on that day the mainland limit was 3 MW (5 MW only from 6 March 2025)
        assert (body["ok"], body["distance_limit_km"], body["power_mw"], body["power_limit_mw"]) == (True, 2, 0.25, 3)
        assert body["distance_source"] == "2 km : arrêté du 21 novembre 2019, art. 1"
        assert body["power_source"] == "moins de 3 MW : arrêté du 21 novembre 2019, art. 2"
        far = client.get("/acc/check", params={"operation": OPERATION_ID, "prm": PRM_EVE, "entry": "2025-07-01",
                                               "latitude": "42.67", "longitude": "2.48"}).json()  # fmt: skip
        assert far["ok"] is False and far["distance_km"] > 29 and "plus que les 2 km permis" in far["refusals"][0]
        bad = client.get("/acc/check", params={"operation": OPERATION_ID, "prm": "123"}).json()
        assert bad["ok"] is False and "14 digits" in bad["error"]
        new = client.get("/acc/check", params={"zone": "zni"}).json()
        assert new["power_limit_mw"] == 0.5
        # the save is refused with the same check, said in the visitor's language, and nothing is stored
        form = {"csrf_token": _csrf(client, f"{OP}/setup"), "prm": PRM_EVE, "entry": "2025-07-01",
                "latitude": "42.67", "longitude": "2.48"}  # fmt: skip
        r = client.post(f"{OP}/setup/participants", data=form)
        assert r.status_code == 400 and "plus que les 2 km permis" in r.text
        assert PRM_EVE not in {p.prm for p in load_operation(world.store, OPERATION_ID).operation.participants}
        client.cookies.set("regie_session", world.sessions["mairie-op"])  # runs the commune, not the PMO
        assert client.get("/acc/check", params={"operation": OPERATION_ID}).status_code == 403
