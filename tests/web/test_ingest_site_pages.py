"""A site's sensors page (``/admin/sites/{site}/sensors``) through TestClient: create a key (its secret shown on
that answer only), see what its emonPi posted, revoke it; only the admin may.

The world is :mod:`governance_world`'s régie (alice holds ``house-a``'s delivery point)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from governance_world import World, build_world

from regie.ingest import apikeys
from regie.ingest.inputs import InputService
from regie.store import open_store

NOW = 1_795_347_670
KEY = re.compile(r'data-testid="secret">([0-9a-f]{32})<')


@pytest.fixture
def site_world(tmp_path) -> Iterator[tuple[World, TestClient]]:
    store = open_store(f"sqlite:///{tmp_path / 'regie.sqlite'}")
    world = build_world(store, now=NOW)
    app = world.app()
    app.state.clock = lambda: NOW
    app.state.inputs = InputService(store, clock=lambda: NOW).start()
    with TestClient(app, follow_redirects=False) as client:
        yield world, client
    app.state.inputs.close()
    store.close()


def as_(world: World, client: TestClient, who: str) -> TestClient:
    client.cookies.clear()
    client.cookies.set("regie_session", world.sessions[who])
    return client


def test_admin_creates_a_site_key_its_emonpi_posts_then_it_is_revoked(site_world) -> None:
    world, client = site_world
    c = as_(world, client, "admin")
    page = c.get("/admin/sites/house-a/sensors?lang=en")
    assert page.status_code == 200 and 'data-testid="no-keys"' in page.text and "alice" in page.text

    r = c.post("/admin/sites/house-a/sensors/keys?lang=en",
               data={"name": "emonpi", "node": "", "owner": "", "csrf_token": world.csrf("admin")})  # fmt: skip
    assert r.status_code == 201, r.text
    secret = KEY.search(r.text).group(1)
    assert f"apikey = {secret}" in r.text  # the emonhub.conf lines, ready to paste
    (key,) = apikeys.list_keys(world.store, site_id="house-a")
    assert (key.name, key.scopes, key.site_id) == ("emonpi", frozenset({"ingest"}), "house-a")
    assert secret not in c.get("/admin/sites/house-a/sensors").text  # shown once

    c.cookies.clear()
    assert c.get("/input/post", params={"node": "emonpi", "fulljson": '{"power1": 250}', "apikey": secret}).json() == {
        "success": True
    }
    c = as_(world, client, "admin")
    page = c.get("/admin/sites/house-a/sensors")
    assert 'data-testid="site-input-row"' in page.text and "house-a-emonpi-power1" in page.text
    assert "house-a-emonpi-power1" not in c.get("/admin/sites/house-b/sensors").text

    r = c.post("/admin/sites/house-b/sensors/revoke", data={"key_id": str(key.id), "csrf_token": world.csrf("admin")})
    assert r.status_code == 409  # another site's page cannot revoke it
    r = c.post("/admin/sites/house-a/sensors/revoke", data={"key_id": str(key.id), "csrf_token": world.csrf("admin")})
    assert (r.status_code, r.headers["location"]) == (303, "/admin/sites/house-a/sensors?done=revoked")
    c.cookies.clear()
    assert c.get("/input/post", params={"node": "emonpi", "csv": "1", "apikey": secret}).status_code == 401


def test_bad_key_forms_say_why_and_create_nothing(site_world) -> None:
    world, client = site_world
    c = as_(world, client, "admin")
    r = c.post("/admin/sites/house-a/sensors/keys?lang=en",
               data={"name": "emonpi", "owner": "nobody", "csrf_token": world.csrf("admin")})  # fmt: skip
    assert r.status_code == 400 and "No account &#39;nobody&#39;: create it first" in r.text
    r = c.post("/admin/sites/house-a/sensors/keys?lang=fr",
               data={"name": "emonpi", "owner": "nobody", "csrf_token": world.csrf("admin")})  # fmt: skip
    assert r.status_code == 400 and "Aucun compte &#39;nobody&#39;" in r.text
    r = c.post("/admin/sites/house-a/sensors/keys?lang=en", data={"name": " ", "csrf_token": world.csrf("admin")})
    assert r.status_code == 400 and "needs a name" in r.text
    r = c.post("/admin/sites/house-a/sensors/keys", data={"name": "emonpi"})  # no CSRF token
    assert r.status_code == 403
    assert c.get("/admin/sites/nowhere/sensors").status_code == 404
    assert apikeys.list_keys(world.store, site_id="house-a") == []


def test_only_the_admin_sees_or_makes_site_keys(site_world) -> None:
    world, client = site_world
    for who in ("alice", "op"):
        c = as_(world, client, who)
        assert c.get("/admin/sites/house-a/sensors").status_code == 403
        r = c.post("/admin/sites/house-a/sensors/keys", data={"name": "x", "csrf_token": world.csrf(who)})
        assert r.status_code == 403
    client.cookies.clear()
    assert client.get("/admin/sites/house-a/sensors").status_code in (302, 303, 401)
    assert apikeys.list_keys(world.store, site_id="house-a") == []
