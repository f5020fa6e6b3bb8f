""" "Declare this PRM" through TestClient: only the admin, a bad date or a refused declaration says why (in
the visitor's language) and changes nothing, a declaration releases the readings in the same request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from governance_world import World, build_world

from regie.ingest.importer import Importer
from regie.store import open_store

DATA = Path(__file__).parents[1] / "data"
R63_PRM = "30001234567890"


@pytest.fixture
def quarantined_world(tmp_path) -> Iterator[tuple[World, TestClient, str]]:
    store = open_store(f"sqlite:///{tmp_path / 'regie.sqlite'}")
    world = build_world(store)
    Importer(store).import_path("enedis-r63", DATA / "enedis_r63_duplicates.csv")
    with TestClient(world.app(), follow_redirects=False) as client:
        client.cookies.set("regie_session", world.sessions["admin"])
        ref = re.search(r"/quarantine/declare\?ref=([0-9a-f]{16})", client.get("/quarantine").text).group(1)
        yield world, client, ref
    store.close()


def form(world: World, ref: str, **values: str) -> dict[str, str]:
    return {"ref": ref, "csrf_token": world.csrf("admin"), "segment": "C5", "usage": "residential", **values}


def test_the_form_is_prefilled_and_never_shows_the_whole_prm(quarantined_world) -> None:
    _world, client, ref = quarantined_world
    page = client.get(f"/quarantine/declare?ref={ref}&lang=en")
    assert page.status_code == 200 and R63_PRM not in page.text
    assert 'value="2024-02-01"' in page.text and '<option value="C5" selected>' in page.text
    assert "48 readings of delivery point" in page.text
    assert client.get("/quarantine/declare?ref=0000000000000000").status_code == 404


def test_refusals_say_why_in_the_visitors_language_and_change_nothing(quarantined_world) -> None:
    world, client, ref = quarantined_world
    store = world.store
    before = (store.quarantine_summary(), store.load_inventory())
    r = client.post("/quarantine/declare?lang=fr", data=form(world, ref, site_id="house-z"))
    assert r.status_code == 400 and "Il n&#39;y a pas de site &#39;house-z&#39;" in r.text
    r = client.post("/quarantine/declare?lang=en", data=form(world, ref, site_id="house-a", since="01/02/2024"))
    assert r.status_code == 400 and "must be a date (YYYY-MM-DD)" in r.text
    r = client.post("/quarantine/declare?lang=en", data=form(world, ref, site_id="house-a", segment="C9"))
    assert r.status_code == 400 and "The declaration was refused, nothing changed" in r.text
    assert R63_PRM not in r.text
    r = client.post("/quarantine/declare", data={k: v for k, v in form(world, ref, site_id="house-a").items()
                                                 if k != "csrf_token"})  # fmt: skip
    assert r.status_code == 403
    assert (store.quarantine_summary(), store.load_inventory()) == before


def test_only_the_admin_declares(quarantined_world) -> None:
    world, client, ref = quarantined_world
    for who in ("alice", "op"):
        client.cookies.set("regie_session", world.sessions[who])
        assert client.get(f"/quarantine/declare?ref={ref}").status_code == 403
        data = {**form(world, ref, site_id="house-a"), "csrf_token": world.csrf(who)}
        assert client.post("/quarantine/declare", data=data).status_code == 403
    assert world.store.quarantine_summary() != []


def test_a_declaration_releases_in_the_same_request(quarantined_world) -> None:
    world, client, ref = quarantined_world
    r = client.post("/quarantine/declare", data=form(world, ref, site_id="house-b", holder="bob", since="2024-02-01"))
    assert (r.status_code, r.headers["location"]) == (303, "/quarantine?done=declared")
    assert world.store.quarantine_summary() == []
    assert any(d.prm == R63_PRM and d.site_id == "house-b" for d in world.store.load_inventory().delivery_points)
