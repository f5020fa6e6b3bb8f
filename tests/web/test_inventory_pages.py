"""The inventory's admin pages over HTTP: list, add, edit, end, move, history, the workbook's template,
export and two-step import, and who may use them (admins only, each on their own territory)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from governance_world import FAST, PASSWORD, PRM_A, PRM_B, PRM_C, World, build_world

from regie.governance import accounts, audit
from regie.governance.accounts import Role
from regie.inventory import files
from regie.inventory.book import book_of
from regie.inventory.format import SHEET_NAMES
from regie.model import Inventory, Site, Territory
from regie.store import open_store
from regie.web import auth

NEW_PRM = "30002000000042"


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'inventory-pages.sqlite'}")
    yield build_world(store)
    store.close()


@pytest.fixture
def any_world(store_url: str) -> Iterator[World]:
    """The same world on SQLite and on PostgreSQL, for the tests that change the inventory."""
    store = open_store(store_url)
    yield build_world(store)
    store.close()


def as_(world: World, who: str, lang: str = "en") -> TestClient:
    client = TestClient(world.app(), follow_redirects=False, headers={"Accept-Language": lang})
    client.cookies.set(auth.PLAIN_COOKIE, world.sessions[who])
    return client


def post(client: TestClient, world: World, who: str, path: str, **data: str):
    return client.post(path, data={"csrf_token": world.csrf(who), **data})


def rows(world: World, sheet: str) -> list[dict]:
    return book_of(world.store, "vallee")[sheet]


def log_size(world: World) -> int:
    return len(audit.entries(world.store))


def field_problem(html: str, column: str) -> str:
    """The problem written next to a column's field (empty when none)."""
    m = re.search(rf'data-testid="field-{column}".*?data-testid="problem-{column}">(.*?)</p>', html, re.S)
    return m.group(1) if m else ""


SITE = {"id": "house-d", "name": "Maison D", "latitude": "42.41", "longitude": "2.47", "altitude_m": "", "until": ""}
PRM = {"prm": NEW_PRM, "site": "house-d", "segment": "C5", "subscribed_kva": "9", "usage": "residential",
       "transformer": "", "until": ""}  # fmt: skip


def add_site_and_prm(client: TestClient, world: World) -> None:
    r = post(client, world, "admin", "/admin/inventory/sites/new", **SITE)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin/inventory/sites/item/house-d?done=added"
    r = post(client, world, "admin", "/admin/inventory/delivery_points/new", **PRM)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/admin/inventory/delivery_points/item/{NEW_PRM}?done=added"


def test_every_kind_is_listed_and_the_admin_page_links_here(world: World) -> None:
    client = as_(world, "admin")
    index = client.get("/admin/inventory")
    assert index.status_code == 200
    counts = dict(re.findall(r'data-testid="count-(\w+)".*?data-testid="current">(\d+)<', index.text, re.S))
    assert counts == {"sites": "4", "delivery_points": "3", "producers": "1", "transformers": "0",
                      "organisations": "1", "persons": "3", "memberships": "3"}  # fmt: skip
    listed = client.get("/admin/inventory/delivery_points").text
    assert re.findall(r'data-testid="row" data-key="(\d+)"', listed) == [PRM_A, PRM_B, PRM_C]
    found = client.get("/admin/inventory/persons", params={"q": "CAR"}).text  # any column, case ignored
    assert re.findall(r'data-testid="row" data-key="([^"]+)"', found) == ["carol"]
    assert client.get("/admin/inventory/acc_operations").status_code == 404  # the ACC pages' own
    admin = client.get("/admin").text
    assert 'href="/admin/inventory"' in admin
    assert 'href="/admin/inventory/template.xlsx"' in admin and 'href="/admin/inventory/template.ods"' in admin


def test_add_a_site_and_a_prm_through_the_forms(any_world: World) -> None:
    world = any_world
    client = as_(world, "admin")
    before = log_size(world)
    add_site_and_prm(client, world)
    inv = world.store.load_inventory("vallee")
    assert [s.name for s in inv.sites if s.id == "house-d"] == ["Maison D"]
    dp = next(d for d in inv.delivery_points if d.prm == NEW_PRM)
    assert dp.site_id == "house-d"
    added = audit.entries(world.store)[before:]
    assert [(e.entry["sheet"], e.entry["key"], e.entry["action"], e.entry["actor"]) for e in added] == [
        ("sites", "house-d", "added", "admin"),
        ("delivery_points", NEW_PRM, "added", "admin"),
    ]
    page = client.get(f"/admin/inventory/delivery_points/item/{NEW_PRM}?done=added").text
    assert 'data-testid="done"' in page
    assert page.count('data-testid="history-row"') == 1 and 'data-action="added"' in page


def test_a_bad_prm_is_shown_at_its_field_and_changes_nothing(any_world: World) -> None:
    world = any_world
    client = as_(world, "admin")
    before_book, before_log = book_of(world.store, "vallee").sheets, log_size(world)
    r = post(client, world, "admin", "/admin/inventory/delivery_points/new", **{**PRM, "prm": "3000200000004"})
    assert r.status_code == 400
    assert "14 digits" in field_problem(r.text, "prm")
    assert field_problem(r.text, "segment") == ""
    assert 'value="3000200000004"' in r.text  # what was typed stays in the form
    r = post(client, world, "admin", "/admin/inventory/delivery_points/new", **PRM)  # house-d is not a site yet
    assert r.status_code == 400
    assert "unknown site" in field_problem(r.text, "site") and field_problem(r.text, "prm") == ""
    assert book_of(world.store, "vallee").sheets == before_book
    assert log_size(world) == before_log
    # the same form, refused in French: the page speaks French, the problem is the inventory's own words
    fr = post(as_(world, "admin", "fr"), world, "admin", "/admin/inventory/delivery_points/new",
              **{**PRM, "prm": "123"})  # fmt: skip
    assert fr.status_code == 400
    assert "un PRM a exactement 14 chiffres" in field_problem(fr.text, "prm")  # regie.inventory's words, in French
    assert "Ajouter · Points de livraison" in fr.text and "Rien n'a été modifié" in fr.text


def test_edit_then_history_shows_before_and_after(world: World) -> None:
    client = as_(world, "admin")
    page = client.get("/admin/inventory/sites/item/house-a").text
    assert 'data-testid="no-history"' in page  # built outside the pages: nothing logged yet
    values = {**rows(world, "sites")[0]}
    assert values["id"] == "house-a"
    form = {k: v or "" for k, v in values.items() if k != "until"}
    r = post(client, world, "admin", "/admin/inventory/sites/item/house-a", **{**form, "name": "Maison A"})
    assert r.status_code == 303 and r.headers["location"].endswith("done=saved")
    assert next(s.name for s in world.store.load_inventory("vallee").sites if s.id == "house-a") == "Maison A"
    page = client.get("/admin/inventory/sites/item/house-a").text
    row = re.search(r'<tr data-testid="history-row" data-action="changed">.*?</tr>\s*</tbody>', page, re.S)
    assert row is not None
    assert 'data-testid="history-actor">admin<' in row.group(0)
    delta = re.search(r'data-testid="delta-name"><th scope="row">name</th><td class="before">(.*?)</td>'
                      r'<td aria-hidden="true">→</td><td class="after">(.*?)</td>', row.group(0))  # fmt: skip
    assert delta is not None and delta.groups() == ("house-a", "Maison A")
    # a key typed over the read-only field changes nothing of the key: the object stays the same one
    r = post(client, world, "admin", "/admin/inventory/sites/item/house-a", **{**form, "id": "house-z", "name": "A"})
    assert r.status_code == 303
    assert {s.id: s.name for s in world.store.load_inventory("vallee").sites}.get("house-a") == "A"
    assert "house-z" not in {s.id for s in world.store.load_inventory("vallee").sites}
    form["name"] = "Maison A"
    post(client, world, "admin", "/admin/inventory/sites/item/house-a", **form)
    # the same values again: nothing to change, nothing logged
    size = log_size(world)
    r = post(client, world, "admin", "/admin/inventory/sites/item/house-a", **{**form, "name": "Maison A"})
    assert r.headers["location"].endswith("done=unchanged") and log_size(world) == size


def test_end_a_prm_and_filter_the_ended_ones(any_world: World) -> None:
    world = any_world
    client = as_(world, "admin")
    r = post(client, world, "admin", f"/admin/inventory/delivery_points/end/{PRM_C}", on="2025-03-01")
    assert r.status_code == 303, r.text
    assert next(d.until for d in world.store.load_inventory("vallee").delivery_points if d.prm == PRM_C) == date(
        2025, 3, 1
    )
    listed = client.get("/admin/inventory/delivery_points").text
    assert PRM_C not in re.findall(r'data-testid="row" data-key="(\d+)"', listed)
    assert 'data-testid="show-ended"' in listed
    everything = client.get("/admin/inventory/delivery_points", params={"ended_too": "true"}).text
    ended_rows = re.findall(r'data-testid="row" data-key="(\d+)" class="ended"', everything)
    assert ended_rows == [PRM_C]
    page = client.get(f"/admin/inventory/delivery_points/item/{PRM_C}").text
    assert 'data-action="ended"' in page and 'data-testid="ended"' in page
    bad = post(client, world, "admin", f"/admin/inventory/delivery_points/end/{PRM_B}", on="not a day")
    assert bad.status_code == 400 and 'data-testid="end-problems"' in bad.text
    assert "is not a date" in bad.text
    fr = post(as_(world, "admin", "fr"), world, "admin", f"/admin/inventory/delivery_points/end/{PRM_B}", on="31/02")
    assert fr.status_code == 400 and "n&#39;est pas une date (AAAA-MM-JJ)" in fr.text
    assert next(d.until for d in world.store.load_inventory("vallee").delivery_points if d.prm == PRM_B) is None


def test_move_a_membership_in_one_change(any_world: World) -> None:
    world = any_world
    client = as_(world, "admin")
    add_site_and_prm(client, world)
    key = f"alice/{PRM_A}/2024-01-01"
    size = log_size(world)
    r = post(client, world, "admin", f"/admin/inventory/memberships/move/{key}", on="2025-02-01", prm=NEW_PRM)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/admin/inventory/memberships/item/alice/{NEW_PRM}/2025-02-01?done=moved"
    alice = sorted((m.prm, m.since, m.until) for m in world.store.load_inventory("vallee").memberships
                   if m.holder_id == "alice")  # fmt: skip
    assert alice == [(PRM_A, date(2024, 1, 1), date(2025, 2, 1)), (NEW_PRM, date(2025, 2, 1), None)]
    moved = audit.entries(world.store)[size:]
    assert sorted(e.entry["action"] for e in moved) == ["added", "ended"]
    assert {e.entry["via"] for e in moved} == {"page: move"}
    old = client.get(f"/admin/inventory/memberships/item/{key}").text
    assert 'data-action="ended"' in old
    # a move to a delivery point that does not exist: both or neither, so neither
    before = book_of(world.store, "vallee").sheets
    key_b = f"bob/{PRM_B}/2024-01-01"
    bad = post(client, world, "admin", f"/admin/inventory/memberships/move/{key_b}", on="2025-02-01",
               prm="99999999999999")  # fmt: skip
    assert bad.status_code == 400 and 'data-testid="move-problems"' in bad.text
    assert "99999999999999" in bad.text  # the PRM typed stays in the form
    assert book_of(world.store, "vallee").sheets == before


@pytest.mark.parametrize("who", ["alice", "op"])
def test_members_and_operators_are_refused(world: World, who: str) -> None:
    client = as_(world, who)
    before = book_of(world.store, "vallee").sheets
    for path in ("/admin/inventory", "/admin/inventory/sites", "/admin/inventory/sites/item/house-a",
                 "/admin/inventory/template.xlsx", "/admin/inventory/export.ods"):  # fmt: skip
        r = client.get(path)
        assert r.status_code == 403, path
        assert 'data-testid="refused"' in r.text
    r = post(client, world, who, "/admin/inventory/sites/new", **SITE)
    assert r.status_code == 403
    r = post(client, world, who, f"/admin/inventory/delivery_points/end/{PRM_A}", on="2025-01-01")
    assert r.status_code == 403
    assert book_of(world.store, "vallee").sheets == before


def test_the_public_is_sent_to_login_and_api_keys_need_admin(world: World) -> None:
    anonymous = TestClient(world.app(), follow_redirects=False)
    r = anonymous.get("/admin/inventory/sites")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    keyed = TestClient(world.app(), headers={"Authorization": f"Bearer {world.keys['alice-key']}"})
    assert keyed.get("/admin/inventory").status_code == 403


def test_every_form_needs_the_csrf_token(world: World) -> None:
    client = as_(world, "admin")
    before = book_of(world.store, "vallee").sheets
    for path, data in (
        ("/admin/inventory/sites/new", SITE),
        ("/admin/inventory/sites/item/house-a", {"id": "house-a", "name": "X"}),
        (f"/admin/inventory/delivery_points/end/{PRM_A}", {"on": "2025-01-01"}),
        (f"/admin/inventory/memberships/move/alice/{PRM_A}/2024-01-01", {"on": "2025-01-01", "prm": PRM_C}),
        ("/admin/inventory/import/apply", {"token": "x"}),
    ):
        r = client.post(path, data={**data, "csrf_token": "forged"})
        assert r.status_code == 403, path
    r = client.post("/admin/inventory/import", data={"csrf_token": "forged"},
                    files={"workbook": ("w.xlsx", b"PK", "application/octet-stream")})  # fmt: skip
    assert r.status_code == 403
    assert book_of(world.store, "vallee").sheets == before


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_the_template_opens_with_the_inventory_reader(world: World, tmp_path: Path, fmt: str) -> None:
    r = as_(world, "admin").get(f"/admin/inventory/template.{fmt}")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="regie-inventory-template.{fmt}"'
    path = tmp_path / f"template.{fmt}"
    path.write_bytes(r.content)
    book = files.read_book(path)
    expected = files.template()
    for sheet in SHEET_NAMES:
        assert book[sheet] == expected[sheet] and len(book[sheet]) >= 1, sheet  # an example row at least


def upload(client: TestClient, world: World, path: Path, **extra: str):
    with open(path, "rb") as fh:
        return client.post("/admin/inventory/import", data={"csrf_token": world.csrf("admin"), **extra},
                           files={"workbook": (path.name, fh, "application/octet-stream")})  # fmt: skip


def test_export_edit_and_import_with_a_preview_first(any_world: World, tmp_path: Path) -> None:
    world = any_world
    client = as_(world, "admin")
    exported = client.get("/admin/inventory/export.xlsx")
    assert exported.status_code == 200
    path = tmp_path / "inventory.xlsx"
    path.write_bytes(exported.content)
    book = files.read_book(path)
    assert book["sites"] == rows(world, "sites")  # export then read is the store's inventory
    # unchanged: the preview says it changes nothing and offers nothing to apply
    same = upload(client, world, path)
    assert same.status_code == 200 and 'data-testid="no-change"' in same.text and 'data-testid="apply"' not in same.text
    next(r for r in book["sites"] if r["id"] == "house-b")["name"] = "Maison B"
    files.write_book(path, book)
    before = book_of(world.store, "vallee").sheets
    preview = upload(client, world, path)
    assert preview.status_code == 200
    assert re.findall(r'data-testid="change" data-action="(\w+)" data-key="([^"]+)"', preview.text) == [
        ("changed", "house-b")
    ]
    assert book_of(world.store, "vallee").sheets == before  # a preview changes nothing
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    r = post(client, world, "admin", "/admin/inventory/import/apply", token=token)
    assert r.status_code == 303 and r.headers["location"] == "/admin/inventory?done=imported"
    assert next(s.name for s in world.store.load_inventory("vallee").sites if s.id == "house-b") == "Maison B"
    entry = audit.entries(world.store)[-1].entry
    assert (entry["sheet"], entry["key"], entry["action"], entry["via"]) == ("sites", "house-b", "changed",
                                                                             "inventory.xlsx")  # fmt: skip
    again = post(client, world, "admin", "/admin/inventory/import/apply", token=token)
    assert again.status_code == 409 and 'data-testid="expired"' in again.text


def test_a_preview_is_not_applied_once_the_inventory_changed(world: World, tmp_path: Path) -> None:
    client = as_(world, "admin")
    path = tmp_path / "inventory.ods"
    path.write_bytes(client.get("/admin/inventory/export.ods").content)
    book = files.read_book(path)
    next(r for r in book["sites"] if r["id"] == "house-b")["name"] = "Maison B"
    files.write_book(path, book)
    token = re.search(r'name="token" value="([^"]+)"', upload(client, world, path).text).group(1)
    post(client, world, "admin", "/admin/inventory/sites/new", **SITE)  # someone changes the inventory meanwhile
    r = post(client, world, "admin", "/admin/inventory/import/apply", token=token)
    assert r.status_code == 409 and 'data-testid="moved"' in r.text
    assert next(s.name for s in world.store.load_inventory("vallee").sites if s.id == "house-b") == "house-b"
    other = as_(world, "bob")
    assert post(other, world, "bob", "/admin/inventory/import/apply", token=token).status_code == 403


def test_a_bad_workbook_lists_its_problems_and_changes_nothing(world: World, tmp_path: Path) -> None:
    client = as_(world, "admin")
    path = tmp_path / "bad.xlsx"
    book = book_of(world.store, "vallee")
    book["delivery_points"][1]["prm"] = "12345"
    files.write_book(path, book)
    before, size = book_of(world.store, "vallee").sheets, log_size(world)
    r = upload(client, world, path)
    assert r.status_code == 400
    problems = re.findall(r'<li data-testid="problem">(.*?)</li>', r.text)
    assert any(p.startswith("delivery_points, row 3, column prm:") for p in problems), problems
    assert 'data-testid="apply"' not in r.text
    assert book_of(world.store, "vallee").sheets == before and log_size(world) == size
    for name, content in (("notes.txt", b"hello"), ("broken.xlsx", b"PK not a zip"), ("broken.ods", b"")):
        not_a_workbook = tmp_path / name
        not_a_workbook.write_bytes(content)
        r = upload(client, world, not_a_workbook)
        assert r.status_code == 400 and 'data-testid="unreadable"' in r.text and name in r.text, name
    assert book_of(world.store, "vallee").sheets == before and log_size(world) == size


def test_an_admin_of_one_territory_sees_nothing_of_another(world: World) -> None:
    world.store.save_inventory(Inventory(Territory("autre", "Autre"), sites=[Site("mairie", "Mairie", "autre")]))
    accounts.create_account(world.store, "admin2", PASSWORD, Role.ADMIN, territory_id="autre", hasher=FAST)
    account = accounts.get_account(world.store, "admin2")
    world.sessions["admin2"] = accounts.create_session(world.store, account)
    client = as_(world, "admin2")
    listed = client.get("/admin/inventory/sites").text
    assert re.findall(r'data-testid="row" data-key="([^"]+)"', listed) == ["mairie"]
    assert client.get("/admin/inventory/sites/item/house-a").status_code == 404
    r = post(client, world, "admin2", f"/admin/inventory/delivery_points/end/{PRM_A}", on="2025-01-01")
    assert r.status_code in (400, 404)
    assert next(d.until for d in world.store.load_inventory("vallee").delivery_points if d.prm == PRM_A) is None


def test_a_transformer_and_the_delivery_points_it_feeds(world: World) -> None:
    client = as_(world, "admin")
    tr = {"id": "tr-1", "name": "Poste du village", "rated_kva": "250", "power_factor": "0.95", "site": "plant"}
    assert post(client, world, "admin", "/admin/inventory/transformers/new", **tr).status_code == 303
    bad = post(client, world, "admin", "/admin/inventory/transformers/new", **{**tr, "id": "tr-2", "rated_kva": "-5"})
    assert bad.status_code == 400 and field_problem(bad.text, "rated_kva") != ""
    for prm in (PRM_A, PRM_B):
        r = post(client, world, "admin", "/admin/inventory/transformers/feed/tr-1", prm=prm)
        assert r.status_code == 303, r.text
    fed = [t.prms for t in world.store.load_inventory("vallee").transformers if t.id == "tr-1"]
    assert fed and set(fed[0]) == {PRM_A, PRM_B}
    page = client.get("/admin/inventory/transformers/item/tr-1").text
    section = page[page.index('data-testid="related-delivery_points"') :]
    assert re.findall(r'data-testid="related">(\d+)<', section)[:2] == [PRM_A, PRM_B]
    unknown = post(client, world, "admin", "/admin/inventory/transformers/feed/tr-1", prm="12345678901234")
    assert unknown.status_code == 400 and 'data-testid="feed-problems"' in unknown.text
    assert len(world.store.load_inventory("vallee").delivery_points) == 3  # nothing added by mistake
