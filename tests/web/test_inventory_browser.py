"""The inventory's admin pages in a real headless Chromium: an admin adds a site and a delivery point through
the forms, sees a bad PRM refused at its field, ends a delivery point, moves a member to another one, reads
an object's history (before → after), and downloads the blank workbook; a member and an operator are
refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import LoopbackOnly
from governance_world import PRM_A, PRM_B, World, build_world
from playwright.sync_api import expect
from servers import AppServer

from regie.governance import accounts
from regie.inventory import apply as inventory
from regie.inventory import files
from regie.inventory.book import book_of
from regie.inventory.format import SHEET_NAMES
from regie.store import open_store
from regie.web import auth

pytestmark = pytest.mark.browser

NEW_PRM = "30002000000077"
MOVE_PRM = "30002000000088"


@pytest.fixture(scope="module")
def inv_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, World]]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('inventory-browser') / 'world.sqlite'}")
    world = build_world(store)
    with AppServer(world.app()) as server:
        yield server, world
    store.close()


@pytest.fixture
def open_as(chromium, inv_server):
    """A page of a fresh browser context logged in as one of the world's accounts (its session cookie)."""
    server, world = inv_server
    pages = LoopbackOnly(chromium, server.url)

    def opener(who: str, locale: str = "en-GB"):
        page = pages.new_page(locale=locale, accept_downloads=True)
        page.context.add_cookies([{"name": auth.PLAIN_COOKIE, "value": world.sessions[who], "url": server.url}])
        return page

    yield opener
    pages.close()


def submit(page, testid: str) -> None:
    with page.expect_navigation():
        page.get_by_test_id(testid).click()


def test_add_a_site_and_a_prm_then_a_bad_prm_is_refused_at_its_field(open_as, inv_server) -> None:
    server, world = inv_server
    page = open_as("admin")
    page.goto(f"{server.url}/admin")
    page.get_by_test_id("inventory-link").click()
    page.get_by_test_id("add-sites").click()
    form = page.get_by_test_id("add-form")
    form.locator("#f-id").fill("house-e")
    form.locator("#f-name").fill("Maison E")
    form.locator("#f-latitude").fill("42,41")  # a French decimal comma, as a spreadsheet would hold it
    submit(page, "save")
    expect(page.get_by_test_id("done")).to_be_visible()
    expect(page.get_by_test_id("item-key")).to_have_text("house-e")
    expect(page.locator("#f-latitude")).to_have_value("42.41")

    page.get_by_test_id("kind-delivery_points").click()
    page.wait_for_url("**/admin/inventory/delivery_points")  # not an "add" of the site's page
    page.get_by_test_id("add").click()
    page.locator("#f-prm").fill("3000200000007")  # 13 digits
    page.locator("#f-site").fill("house-e")
    page.locator("#f-segment").select_option("C5")
    page.locator("#f-usage").fill("residential")
    before = book_of(world.store, "vallee")["delivery_points"]
    submit(page, "save")
    problem = page.get_by_test_id("field-prm").get_by_test_id("problem-prm")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("14 digits")
    expect(page.locator("#f-prm")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("field-site").get_by_test_id("problem-site")).to_have_count(0)
    expect(page.locator("#f-site")).to_have_value("house-e")  # what was typed is kept
    assert book_of(world.store, "vallee")["delivery_points"] == before  # nothing changed

    page.locator("#f-prm").fill(NEW_PRM)
    submit(page, "save")
    expect(page.get_by_test_id("item-key")).to_have_text(NEW_PRM)
    assert NEW_PRM in [d.prm for d in world.store.load_inventory("vallee").delivery_points]
    history = page.get_by_test_id("history-row")
    expect(history).to_have_count(1)
    expect(history.first).to_have_attribute("data-action", "added")
    expect(history.first.get_by_test_id("history-actor")).to_have_text("admin")


def test_edit_shows_before_and_after_in_the_history(open_as, inv_server) -> None:
    server, _ = inv_server
    page = open_as("admin", "fr-FR")
    page.goto(f"{server.url}/admin/inventory/sites")
    page.locator('[data-testid="row"][data-key="house-c"]').get_by_test_id("open").click()
    expect(page.get_by_test_id("no-history")).to_be_visible()
    assert page.locator("#f-id").get_attribute("readonly") is not None  # the key does not change
    page.locator("#f-name").fill("Maison de Carol")
    submit(page, "save")
    expect(page.get_by_test_id("done")).to_have_text("Enregistré dans l'inventaire.")
    row = page.get_by_test_id("history-row")
    expect(row).to_have_count(1)
    expect(row.first).to_have_attribute("data-action", "changed")
    delta = row.first.get_by_test_id("delta-name")
    expect(delta.locator(".before")).to_have_text("house-c")
    expect(delta.locator(".after")).to_have_text("Maison de Carol")
    expect(page.get_by_test_id("history")).to_contain_text("Historique")


def test_end_a_prm_and_show_the_ended_ones(open_as, inv_server) -> None:
    server, world = inv_server
    page = open_as("admin")
    page.goto(f"{server.url}/admin/inventory/delivery_points/item/{PRM_B}")
    page.get_by_test_id("end-on").fill("2025-02-15")
    submit(page, "end-submit")
    expect(page.get_by_test_id("ended")).to_be_visible()
    until = {d.prm: d.until for d in world.store.load_inventory("vallee").delivery_points}[PRM_B]
    assert until is not None and until.isoformat() == "2025-02-15"
    page.get_by_test_id("kind-delivery_points").click()
    page.wait_for_url("**/admin/inventory/delivery_points")
    expect(page.locator(f'[data-testid="row"][data-key="{PRM_B}"]')).to_have_count(0)
    page.get_by_test_id("show-ended").click()
    ended = page.locator(f'[data-testid="row"][data-key="{PRM_B}"]')
    expect(ended).to_have_count(1)
    expect(ended.get_by_test_id("ended")).to_be_visible()


def test_move_a_membership(open_as, inv_server) -> None:
    server, world = inv_server
    admin = accounts.get_account(world.store, "admin")
    new_home = {"prm": MOVE_PRM, "site": "house-b", "segment": "C5", "usage": "residential"}
    inventory.edit_row(world.store, admin, "vallee", "delivery_points", None, new_home)  # alice's new home
    page = open_as("admin")
    page.goto(f"{server.url}/admin/inventory/persons/item/alice")
    page.get_by_test_id("related-memberships").get_by_test_id("related").first.click()
    # the person's page before the click has an item key too ("alice"): wait for the membership's
    expect(page.get_by_test_id("item-key")).to_have_text(f"alice/{PRM_A}/2024-01-01")
    page.get_by_test_id("move-on").fill("2025-02-01")
    page.get_by_test_id("move-prm").fill("12345678901234")  # no such delivery point: neither change happens
    before = book_of(world.store, "vallee")["memberships"]
    submit(page, "move-submit")
    expect(page.get_by_test_id("move-problems")).to_be_visible()
    assert book_of(world.store, "vallee")["memberships"] == before
    page.get_by_test_id("move-prm").fill(MOVE_PRM)
    submit(page, "move-submit")
    expect(page.get_by_test_id("item-key")).to_have_text(f"alice/{MOVE_PRM}/2025-02-01")
    alice = sorted((m.prm, str(m.since), str(m.until)) for m in world.store.load_inventory("vallee").memberships
                   if m.holder_id == "alice")  # fmt: skip
    assert alice == [(PRM_A, "2024-01-01", "2025-02-01"), (MOVE_PRM, "2025-02-01", "None")]
    page.goto(f"{server.url}/admin/inventory/memberships/item/alice/{PRM_A}/2024-01-01")
    expect(page.get_by_test_id("ended")).to_be_visible()
    assert page.get_by_test_id("history-row").first.get_attribute("data-action") == "ended"


def test_a_member_and_an_operator_are_refused(open_as, inv_server) -> None:
    server, _ = inv_server
    for who in ("alice", "op"):
        page = open_as(who)
        response = page.goto(f"{server.url}/admin/inventory/sites")
        assert response is not None and response.status == 403
        expect(page.get_by_test_id("refused")).to_be_visible()
        assert page.get_by_test_id("inventory-list").count() == 0


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_the_template_downloads_and_opens_with_the_inventory_reader(open_as, inv_server, tmp_path, fmt) -> None:
    server, _ = inv_server
    page = open_as("admin")
    page.goto(f"{server.url}/admin")
    with page.expect_download() as info:
        page.get_by_test_id(f"admin-template-{fmt}").click()
    download = info.value
    assert download.suggested_filename == f"regie-inventory-template.{fmt}"
    path = Path(tmp_path) / download.suggested_filename
    download.save_as(path)
    book = files.read_book(path)
    expected = files.template()
    assert [s for s in SHEET_NAMES if book[s] != expected[s]] == []


def test_import_shows_what_changes_then_applies_on_confirmation(open_as, inv_server, tmp_path) -> None:
    server, world = inv_server
    page = open_as("admin")
    page.goto(f"{server.url}/admin/inventory")
    with page.expect_download() as info:
        page.get_by_test_id("export-xlsx").click()
    path = Path(tmp_path) / "inventory.xlsx"
    info.value.save_as(path)
    book = files.read_book(path)
    next(r for r in book["persons"] if r["id"] == "bob")["email"] = "bob@example.org"
    files.write_book(path, book)
    page.get_by_test_id("import-file").set_input_files(str(path))
    submit(page, "import-preview")
    change = page.get_by_test_id("change")
    expect(change).to_have_count(1)
    expect(change).to_have_attribute("data-action", "changed")
    expect(change).to_have_attribute("data-key", "bob")
    expect(change.get_by_test_id("delta-email").locator(".after")).to_have_text("bob@example.org")
    assert {p.id: p.email for p in world.store.load_inventory("vallee").persons}["bob"] is None  # not yet
    submit(page, "apply")
    expect(page.get_by_test_id("done")).to_be_visible()
    assert {p.id: p.email for p in world.store.load_inventory("vallee").persons}["bob"] == "bob@example.org"
