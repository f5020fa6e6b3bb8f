"""A regional hub shows its villages' figures on its own territory page and map, in a real browser.

Two villages send their public cells to a hub with no territory of its own; village a hid one cell (fewer
than 10 points) and village b has not sent the newest day. The page must show each village's figure, the
regional total where secrecy allows, the reason where it does not, and where each figure comes from; the map
must draw both villages where they say they are, with their latest figures.
"""

from __future__ import annotations

import re

import pytest
from browsing import loopback_page
from playwright.sync_api import expect
from regional_world import Neighbour, feed_hub
from servers import AppServer

from regie.store import open_store
from regie.web.app import create_app

pytestmark = pytest.mark.browser
DAY0 = 1_780_000_000 // 86400 * 86400


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub")
    store = open_store(f"sqlite:///{folder / 'hub.sqlite'}")
    a = [(DAY0 + i * 86400, 1, None if i == 1 else 1000.0 * (i + 1), "fewer_than_10" if i == 1 else None,
          4 if i == 1 else 12) for i in range(3)]  # fmt: skip
    b = [(DAY0 + i * 86400, 1, 5000.0 + i, None, 15) for i in range(2)]  # b has not sent day 2
    feed_hub(store, folder, [Neighbour("a", "Village A", 42.40, 2.48, a), Neighbour("b", "Village B", 42.45, 2.60, b)])
    with AppServer(create_app(store)) as server:
        yield server
    store.close()


def test_the_hub_territory_page_shows_the_regional_figures(chromium, hub_server) -> None:
    with loopback_page(chromium, hub_server.url, viewport={"width": 1280, "height": 900}) as page:
        page.goto(hub_server.url + "/?lang=en")
        table = page.get_by_test_id("regional-table")
        expect(table).to_be_visible()
        rows = table.get_by_test_id("regional-row")
        expect(rows).to_have_count(3)
        # newest first: day 2 (b not sent), day 1 (a hid its cell), day 0 (both shown: 1 kWh + 5 kWh)
        expect(rows.nth(0)).to_contain_text("not sent")
        expect(rows.nth(0).get_by_test_id("regional-total")).to_contain_text("incomplete")
        expect(rows.nth(1)).to_contain_text("hidden by the village")
        expect(rows.nth(1).get_by_test_id("regional-total")).to_contain_text("hidden in a village")
        total = rows.nth(2).get_by_test_id("regional-total")
        expect(total).to_have_attribute("data-value", "6000.0")
        expect(total).to_contain_text("6.00")
        provenance = page.get_by_test_id("regional-provenance")
        expect(provenance.locator("li[data-peer='a']")).to_contain_text("http://a.invalid")
        expect(provenance.locator("li[data-peer='b']")).to_contain_text(re.compile(r"last received \d{4}-\d\d-\d\d"))


def test_the_hub_map_draws_each_village_with_its_figures(chromium, hub_server) -> None:
    with loopback_page(chromium, hub_server.url, viewport={"width": 1280, "height": 900}) as page:
        page.goto(hub_server.url + "/map?lang=en")
        expect(page.locator("#map")).to_have_attribute("data-ready", "1")
        villages = page.locator("[data-kind='village']")
        expect(villages).to_have_count(2)
        page.locator("[data-id='village/b']").dispatch_event("click")  # the marker's own handler, wherever it lies
        popup = page.locator(".leaflet-popup-content", has_text="Village B")
        expect(popup).to_contain_text("Consumption: not sent")  # b's latest day is missing
        page.locator("[data-id='village/a']").dispatch_event("click")
        popup = page.locator(".leaflet-popup-content", has_text="Village A")
        expect(popup).to_contain_text("3 kWh")
        expect(popup).to_contain_text("http://a.invalid")
