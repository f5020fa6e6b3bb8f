"""The map page in a real browser, with the network cut (only the app's loopback server answers), and the
administrators' upload of a background."""

from __future__ import annotations

import json
import re

import pytest
from browsing import loopback_page
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from servers import AppServer

from regie.governance import audit
from regie.governance.accounts import Role, create_account, create_session
from regie.model import Inventory, Territory
from regie.store import map_base, open_store
from regie.web.app import create_app
from regie.web.auth import PLAIN_COOKIE


@pytest.fixture(scope="module")
def demo_store(demo_year, tmp_path_factory):
    store = open_store(demo_year.copy(tmp_path_factory.mktemp("map")))
    yield store
    store.close()


@pytest.fixture(scope="module")
def server(demo_store):
    with AppServer(create_app(demo_store)) as server:
        yield server


def test_the_map_draws_every_public_resource_offline_and_links_to_its_page(chromium, server, tmp_path):
    features = json.loads(TestClient(server.server.config.app).get("/api/map.geojson").text)["features"]
    with loopback_page(chromium, server.url, viewport={"width": 1366, "height": 900}) as page:
        page.goto(server.url + "/carte")
        page.wait_for_selector("#map[data-ready='1']")
        assert page.locator("[data-kind]").count() == sum(f["geometry"] is not None for f in features)
        for kind in ("producer", "transformer", "public_building", "acc_perimeter"):
            drawn = sum(f["properties"]["kind"] == kind and f["geometry"] is not None for f in features)
            assert page.locator(f"[data-kind='{kind}']").count() == drawn > 0, kind
        assert page.locator("path.leaflet-interactive").count() >= 3  # the background: outline, river, roads
        page.screenshot(path=str(tmp_path / "map-fr.png"))
        page.locator("[data-id='producer/hydro-municipal']").click()
        link = page.locator(".leaflet-popup-content a").first
        expect(link).to_have_attribute("href", re.compile(r"/id/producer/hydro-municipal$"))
        expect(page.locator(".leaflet-popup-content")).to_contain_text("Centrale hydroélectrique communale")
        assert "Légende" in page.locator("body").inner_text()
        # the background says where it comes from
        expect(page.get_by_test_id("map-source")).to_contain_text("not surveyed")


def test_on_a_phone_the_map_fits_the_screen(chromium, server):
    with loopback_page(chromium, server.url, viewport={"width": 360, "height": 740}) as page:
        page.goto(server.url + "/map?lang=en")
        page.wait_for_selector("#map[data-ready='1']")
        box = page.get_by_test_id("map").bounding_box()
        assert box["width"] <= 360 and box["height"] >= 300
        assert "Legend" in page.locator("body").inner_text()


def test_an_admin_replaces_the_background_and_a_bad_file_keeps_the_old_one(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'map.sqlite'}")
    store.save_inventory(Inventory(Territory("val", "Val", latitude=42.4, longitude=2.48)))
    admin = create_account(store, "admin", "correct horse battery staple 1", Role.ADMIN)
    client = TestClient(create_app(store))
    client.cookies.set(PLAIN_COOKIE, create_session(store, admin))
    assert client.get("/api/map/base.geojson").status_code == 404
    page = client.get("/admin/map")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    good = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[2.4, 42.39], [2.5, 42.41]]},
         "properties": {"layer": "water", "name": "Le Tech"}}]})  # fmt: skip
    sent = client.post("/admin/map", data={"csrf_token": csrf, "source": "© OpenStreetMap contributors"},
                       files={"geojson": ("base.geojson", good.encode(), "application/geo+json")},
                       follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303
    kept = client.get("/api/map/base.geojson")
    assert kept.status_code == 200 and kept.headers["content-type"].startswith("application/geo+json")
    assert kept.json()["features"][0]["properties"] == {"layer": "water", "name": "Le Tech"}
    logged = audit.entries(store, kind="territory")[-1].entry
    assert (logged["action"], logged["actor"], logged["detail"]["what"]) == ("changed", "admin", "map background")

    wrong = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [200, 0]}}]}).encode()
    bad = client.post("/admin/map", data={"csrf_token": csrf, "source": "x"},
                      files={"geojson": ("base.geojson", wrong, "application/geo+json")})
    assert bad.status_code == 400
    assert "feature 1" in bad.text and "WGS 84" in bad.text
    assert map_base.load(store, "val").source == "© OpenStreetMap contributors"  # the old one stays
    store.close()
