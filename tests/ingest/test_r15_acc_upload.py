"""The upload page takes an encrypted R15 ACC file with its key (a password field, never shown back)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from governance_world import PRM_A, build_world
from test_r15_acc import IV, KEY128, classe, encrypted, r15, releve, zipped

from regie.ingest.r15_acc import flow_series_id
from regie.store import open_store

DOC = r15({PRM_A: [releve("2025-11-01T00:00:00+01:00", [classe(5, "BASE", "42")], "2025-10-01T00:00:00+02:00")]})
FILE = encrypted(zipped(**{"R15_1.xml": DOC}), KEY128, IV)


@pytest.fixture
def site(store_url: str) -> Iterator[tuple]:
    store = open_store(store_url)
    world = build_world(store)
    with TestClient(world.app(), follow_redirects=False) as client:
        client.cookies.set("regie_session", world.sessions["admin"])
        yield store, world, client
    store.close()


def post(site, **fields: str):
    _, world, client = site
    data = {"format": "enedis-r15-acc", "csrf_token": world.csrf("admin"), **fields}
    return client.post("/import?lang=en", data=data, files=[("files", ("ENEDIS_R15.zip", FILE, "application/zip"))])


def test_the_form_asks_for_the_key_in_a_password_field(site) -> None:
    page = site[2].get("/import?lang=en")
    assert page.status_code == 200
    assert re.search(r'<input type="password" name="r15_key"[^>]*autocomplete="off"', page.text)
    assert "AES key Enedis gave the PMO" in page.text


def test_an_upload_with_its_key_is_imported(site) -> None:
    store = site[0]
    r = post(site, r15_key=KEY128.hex(), r15_iv=IV.hex())
    assert r.status_code == 200, r.text
    assert KEY128.hex() not in r.text
    _, v = store.read(flow_series_id(PRM_A, "autoconsommee"), 0, 2**32)
    assert v.tolist() == [42_000.0]


def test_a_wrong_key_is_refused_and_writes_nothing(site) -> None:
    store = site[0]
    before = store.count_points()
    r = post(site, r15_key=bytes(16).hex(), r15_iv=IV.hex())
    assert r.status_code == 400 and "cannot decrypt" in r.text and bytes(16).hex() not in r.text
    missing = post(site)
    assert missing.status_code == 400 and "encrypted" in missing.text
    assert store.count_points() == before
