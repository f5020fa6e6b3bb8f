"""Two territories in one store: the inventory pages (``/admin/inventory``) work on the territory chosen for the
request. An admin of every territory picks it (``?territory=``, remembered; every link, form and redirect keeps
it); an admin of one territory sees, exports and writes that one only — not with a forged ``?territory=``, a
cookie naming the other, or a form naming the other's objects. On SQLite and PostgreSQL.

The store's first territory by id is ``mont``, its main one ``vallee`` (``two_territories``): a page that fell back
to the store's first would show ``mont`` where ``vallee`` is expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from two_territories import World, build

from regie.governance import accounts, audit
from regie.inventory import files
from regie.inventory.book import Book, book_of
from regie.store import open_store
from regie.web.territory_choice import COOKIE

SECRET = b"i" * 32


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    store = open_store(store_url)
    yield build(store)
    store.close()


def _client(world: World, who: str):
    c = world.client(who)
    c.app.state.secret = SECRET
    return c


def _csrf(world: World, who: str) -> str:
    return accounts.csrf_token(world.sessions[who], SECRET)


def _persons(world: World, tid: str) -> set[str]:
    return {r["id"] for r in book_of(world.store, tid)["persons"]}


def _refusals(world: World) -> list[dict]:
    return [e.entry for e in audit.entries(world.store)
            if e.entry.get("kind") == "territory" and e.entry.get("action") == "refused"]  # fmt: skip


def _read(content: bytes, tmp: Path) -> Book:
    path = tmp / "exported.xlsx"
    path.write_bytes(content)
    return files.read_book(path)


def _exported_persons(content: bytes, tmp: Path) -> set[str]:
    return {r["id"] for r in _read(content, tmp)["persons"]}


# ---------------------------------------------------------------- an admin of every territory chooses


def test_an_admin_of_every_territory_chooses_the_inventorys_territory(world: World, tmp_path: Path) -> None:
    c = _client(world, "root")
    first = c.get("/admin/inventory")
    assert first.status_code == 200
    assert "Inventory of Vallée-Test" in first.text  # the main territory, not the store's first by id (mont)
    assert 'data-testid="territory-chooser"' in first.text and '<option value="mont"' in first.text
    page = c.get("/admin/inventory/persons?territory=mont")
    assert page.status_code == 200 and "Inventory of Mont-Test" in page.text
    assert ">m-p1<" in page.text and ">v-p1<" not in page.text
    # every link and form of the page keeps the territory shown
    assert 'href="/admin/inventory/persons/item/m-p1?territory=mont"' in page.text
    assert 'href="/admin/inventory/persons/new?territory=mont"' in page.text
    assert '<input type="hidden" name="territory" value="mont">' in page.text  # the search form
    # remembered for the next pages
    assert page.cookies.get(COOKIE) == "mont" or c.cookies.get(COOKIE) == "mont"
    assert "Inventory of Mont-Test" in c.get("/admin/inventory").text
    export = c.get("/admin/inventory/export.xlsx?territory=vallee")
    assert export.status_code == 200 and "regie-inventory-vallee-" in export.headers["content-disposition"]
    assert _exported_persons(export.content, tmp_path) == {f"v-p{i}" for i in range(1, 11)}


def test_a_form_acts_on_the_territory_its_page_showed(world: World) -> None:
    """The cookie says mont (another tab chose it); the form sent from vallee's page adds to vallee."""
    c, token = _client(world, "root"), _csrf(world, "root")
    assert c.get("/admin/inventory?territory=mont").status_code == 200
    new = c.get("/admin/inventory/persons/new?territory=vallee")
    assert 'action="/admin/inventory/persons/new?territory=vallee"' in new.text
    r = c.post("/admin/inventory/persons/new?territory=vallee", data={"id": "v-new", "name": "Nouvelle",
                                                                      "csrf_token": token})  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin/inventory/persons/item/v-new?done=added&territory=vallee"
    assert "v-new" in _persons(world, "vallee") and "v-new" not in _persons(world, "mont")
    item = c.get(r.headers["location"])
    assert item.status_code == 200 and "Inventory of Vallée-Test" in item.text
    r = c.post("/admin/inventory/persons/item/m-p2?territory=mont", data={"name": "Renamed", "csrf_token": token})
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/inventory/persons/item/m-p2?done=saved&territory=mont"
    names = {x["id"]: x["name"] for x in book_of(world.store, "mont")["persons"]}
    assert names["m-p2"] == "Renamed"


def test_an_upload_previewed_on_one_territory_is_not_applied_to_another(world: World, tmp_path: Path) -> None:
    c, token = _client(world, "root"), _csrf(world, "root")
    exported = c.get("/admin/inventory/export.xlsx?territory=mont").content
    preview = c.post("/admin/inventory/import?territory=mont", data={"csrf_token": token},
                     files={"workbook": ("mont.xlsx", exported)})  # fmt: skip
    assert preview.status_code == 200
    assert "Inventory of Mont-Test" in preview.text
    # nothing to change (the workbook is mont's own): no token offered; then a changed one, applied elsewhere
    assert 'name="token"' not in preview.text
    book = _read(exported, tmp_path)
    changed = tmp_path / "changed.xlsx"
    files.write_book(changed, Book({**book.sheets, "persons": [*book["persons"], {"id": "m-extra", "name": "Extra"}]}))
    preview = c.post("/admin/inventory/import?territory=mont", data={"csrf_token": token},
                     files={"workbook": ("mont.xlsx", changed.read_bytes())})  # fmt: skip
    assert preview.status_code == 200, preview.text
    assert 'action="/admin/inventory/import/apply?territory=mont"' in preview.text
    (tok,) = re.findall(r'name="token" value="([^"]+)"', preview.text)
    wrong = c.post("/admin/inventory/import/apply?territory=vallee", data={"token": tok, "csrf_token": token})
    assert wrong.status_code == 409
    assert "m-extra" not in _persons(world, "vallee") and "m-extra" not in _persons(world, "mont")


# ---------------------------------------------------------------- an admin of one territory: its own only


def test_an_admin_of_one_territory_sees_its_own_inventory_only(world: World, tmp_path: Path) -> None:
    c = _client(world, "admin-m")
    page = c.get("/admin/inventory/persons")
    assert page.status_code == 200 and "Inventory of Mont-Test" in page.text
    assert ">m-p1<" in page.text and ">v-p1<" not in page.text
    assert 'data-testid="territory-chooser"' not in page.text  # nothing to choose
    assert 'href="/admin/inventory/persons/item/m-p1"' in page.text  # and nothing to carry
    c.cookies.set(COOKIE, "vallee")  # a cookie naming the other territory is ignored
    assert "Inventory of Mont-Test" in c.get("/admin/inventory").text
    exported = c.get("/admin/inventory/export.xlsx").content
    assert _exported_persons(exported, tmp_path) == {f"m-p{i}" for i in range(1, 11)}
    assert c.get("/admin/inventory/persons/item/v-p1").status_code == 404


@pytest.mark.parametrize("path", ["/admin/inventory", "/admin/inventory/persons", "/admin/inventory/export.xlsx",
                                  "/admin/inventory/persons/item/v-p1", "/admin/inventory/persons/new"])  # fmt: skip
def test_a_forged_territory_on_an_inventory_page_is_refused_and_logged(world: World, path: str) -> None:
    r = _client(world, "admin-m").get(f"{path}?territory=vallee")
    assert r.status_code == 403 and "runs territory mont only, not vallee" in r.text
    assert (_refusals(world)[-1]["territory_id"], _refusals(world)[-1]["actor"]) == ("vallee", "admin-m")


def test_an_admin_of_one_territory_writes_nothing_in_the_other(world: World) -> None:
    c, token = _client(world, "admin-m"), _csrf(world, "admin-m")
    before = book_of(world.store, "vallee").sheets
    forged = [
        ("/admin/inventory/persons/new?territory=vallee", {"id": "x-1", "name": "X"}),
        ("/admin/inventory/persons/item/v-p1?territory=vallee", {"name": "Stolen"}),
        ("/admin/inventory/memberships/move/v-p1/30010000000001/2024-01-01?territory=vallee",
         {"on": "2025-06-01", "prm": "30020000000001"}),
    ]  # fmt: skip
    for path, data in forged:
        assert c.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    # the other territory's objects, on its own pages: unknown there
    r = c.post("/admin/inventory/persons/item/v-p1", data={"name": "Stolen", "csrf_token": token})
    assert r.status_code == 404
    r = c.post("/admin/inventory/delivery_points/end/30010000000001", data={"on": "2025-06-01", "csrf_token": token})
    assert r.status_code == 404
    r = c.post("/admin/inventory/memberships/new", data={"holder": "v-p1", "prm": "30020000000001",
                                                        "since": "2025-01-01", "csrf_token": token})  # fmt: skip
    assert r.status_code == 400
    assert book_of(world.store, "vallee").sheets == before
    assert "x-1" not in _persons(world, "mont")
    assert not [m for m in book_of(world.store, "mont")["memberships"] if m["holder"] == "v-p1"]
