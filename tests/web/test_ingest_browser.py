"""The upload page in a real headless Chromium: the admin logs in, uploads an Enedis R63 file and sees what it
wrote; uploads a broken one and sees the line and the field at fault, with nothing written."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import loopback_page
from governance_world import PASSWORD, World, build_world
from playwright.sync_api import expect
from servers import AppServer

from regie.model import DeliveryPoint
from regie.store import open_store

pytestmark = pytest.mark.browser

DATA = Path(__file__).parents[1] / "data"
R63_PRM = "30001234567890"


@pytest.fixture(scope="module")
def ingest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, World]]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('ingest-browser') / 'world.sqlite'}")
    world = build_world(store)
    inv = store.load_inventory()
    store.save_inventory(
        dataclasses.replace(inv, delivery_points=[*inv.delivery_points, DeliveryPoint(R63_PRM, "house-a")])
    )
    with AppServer(world.app()) as server:
        yield server, world
    store.close()


@pytest.fixture
def page(chromium, ingest_server):
    """A fresh context that refuses any request leaving the loopback server."""
    server, _ = ingest_server
    with loopback_page(chromium, server.url, locale="en-GB") as page:
        yield page


def test_admin_uploads_a_good_then_a_broken_r63_file(page, ingest_server) -> None:
    server, world = ingest_server
    page.goto(f"{server.url}/login?next=/import&lang=en")
    page.get_by_test_id("username").fill("admin")
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("import-form").wait_for()

    page.get_by_test_id("format").select_option("enedis-r63")
    page.get_by_test_id("files").set_input_files(str(DATA / "enedis_r63_duplicates.csv"))
    page.get_by_test_id("upload").click()
    row = page.get_by_test_id("file-ok")
    expect(row.get_by_test_id("points-written")).to_have_text("48")
    expect(row.get_by_test_id("quarantined")).to_have_text("0")
    assert R63_PRM not in page.content()
    before = world.store.count_points()

    page.get_by_test_id("again").click()
    page.get_by_test_id("format").select_option("enedis-r63")
    page.get_by_test_id("files").set_input_files(str(DATA / "broken_r63_text_value.csv"))
    page.get_by_test_id("upload").click()
    error = page.get_by_test_id("file-error")
    expect(error.get_by_test_id("error-line")).to_have_text("10")
    expect(error.get_by_test_id("error-field")).to_have_text("Valeur")
    expect(error).to_contain_text("Not imported, nothing written.")
    assert world.store.count_points() == before
