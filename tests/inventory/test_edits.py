"""Single edits (what the admin pages call) share every rule of the workbook, and every change is in the
tamper-evident access log: who, when, which object, before and after."""

from __future__ import annotations

import json
from datetime import date

import pytest
from _inventory_example import CONSUMER, TERRITORY, template_book

from regie.governance import audit
from regie.governance.accounts import CLI_ADMIN, Account, Role
from regie.inventory import InventoryProblems, apply_book, book_of, edit_row, end_row, history

MEMBERSHIP = f"p0001/{CONSUMER}/2015-01-01"


def test_edit_adds_then_changes_one_object(example_store) -> None:
    changes = edit_row(example_store, CLI_ADMIN, TERRITORY, "sites", None,
                       {"id": "school", "name": "École", "latitude": "42,401"})
    assert [c.key for c in changes["sites"].added] == ["school"]
    changes = edit_row(example_store, CLI_ADMIN, TERRITORY, "sites", "school", {"name": "École Jules-Ferry"})
    (c,) = changes["sites"].changed
    assert c.columns == ["name"] and c.before["name"] == "École" and c.after["latitude"] == "42.401"
    entries = history(example_store, TERRITORY, "sites", "school")
    assert [e.action for e in entries] == ["added", "changed"]
    assert entries[1].actor == "cli" and entries[1].columns == ["name"]
    assert entries[1].before["name"] == "École" and entries[1].after["name"] == "École Jules-Ferry"


def test_an_edit_breaking_a_rule_changes_nothing(example_store) -> None:
    before = book_of(example_store, TERRITORY).sheets, audit.log_size(example_store)
    with pytest.raises(InventoryProblems) as caught:
        edit_row(example_store, CLI_ADMIN, TERRITORY, "delivery_points", CONSUMER, {"site": "nowhere"})
    assert [(p.sheet, p.column) for p in caught.value.problems] == [("delivery_points", "site")]
    assert (book_of(example_store, TERRITORY).sheets, audit.log_size(example_store)) == before


def test_an_edit_names_only_known_columns(example_store) -> None:
    with pytest.raises(InventoryProblems) as caught:
        edit_row(example_store, CLI_ADMIN, TERRITORY, "sites", "home-0001", {"colour": "blue"})
    assert [(p.sheet, p.column, p.message) for p in caught.value.problems] == [("sites", "colour", "unknown column")]
    with pytest.raises(InventoryProblems, match="unknown sheet"):
        edit_row(example_store, CLI_ADMIN, TERRITORY, "meters", None, {"id": "x"})


def test_moving_house_ends_one_membership_and_starts_another(example_store) -> None:
    changes = end_row(example_store, CLI_ADMIN, TERRITORY, "memberships", MEMBERSHIP, date(2026, 3, 1))
    assert [c.action for c in changes] == ["ended"]
    edit_row(example_store, CLI_ADMIN, TERRITORY, "persons", None, {"id": "p0002", "name": "Josep Ferrer"})
    edit_row(example_store, CLI_ADMIN, TERRITORY, "memberships", None,
             {"holder": "p0002", "prm": CONSUMER, "since": "2026-03-01"})
    held = [(r["holder"], r["since"], r["until"]) for r in book_of(example_store, TERRITORY)["memberships"]
            if r["prm"] == CONSUMER]
    assert held == [("p0001", "2015-01-01", "2026-03-01"), ("p0002", "2026-03-01", None)]
    with pytest.raises(InventoryProblems, match="one holder at a time"):
        edit_row(example_store, CLI_ADMIN, TERRITORY, "memberships", None,
                 {"holder": "coop-soleil", "prm": CONSUMER, "since": "2026-06-01"})
    (added, ended) = history(example_store, TERRITORY, "memberships", MEMBERSHIP)
    assert added.action == "added" and added.before is None
    assert ended.action == "ended" and ended.before["until"] is None and ended.after["until"] == "2026-03-01"


def test_only_objects_with_an_end_can_be_ended(example_store) -> None:
    with pytest.raises(InventoryProblems, match="cannot be ended"):
        end_row(example_store, CLI_ADMIN, TERRITORY, "organisations", "coop-soleil", date(2026, 1, 1))
    with pytest.raises(InventoryProblems, match="no sites row 'nowhere'"):
        end_row(example_store, CLI_ADMIN, TERRITORY, "sites", "nowhere", date(2026, 1, 1))


def test_the_log_keeps_a_fingerprint_of_personal_values_and_stays_verifiable(example_store) -> None:
    edit_row(example_store, CLI_ADMIN, TERRITORY, "persons", "p0001", {"email": "montse.pons@example.org"})
    (added, changed) = history(example_store, TERRITORY, "persons", "p0001")
    assert added.action == "added"
    assert changed.columns == ["email"] and changed.after["email"].startswith("sha256:")
    stored = [e for e in audit.entries(example_store, kind="inventory") if e.entry["key"] == "p0001"]
    text = json.dumps([e.entry for e in stored])
    assert "Montse" not in text and "montse" not in text
    assert stored[-1].subject_id == "p0001"  # in "what happened to my data"
    assert audit.verify(example_store).ok


def test_the_log_entry_says_who_when_and_via_what(example_store) -> None:
    book = template_book()
    book["sites"][0]["name"] = "Logement un"
    apply_book(example_store, CLI_ADMIN, TERRITORY, book, via="inventaire.xlsx", now=1_800_000_000)
    (_, e) = history(example_store, TERRITORY, "sites", "home-0001")
    assert (e.at, e.actor, e.via, e.columns) == (1_800_000_000, "cli", "inventaire.xlsx", ["name"])


def test_a_dry_run_changes_nothing(example_store) -> None:
    book = template_book()
    book["sites"][0]["name"] = "Logement un"
    before = book_of(example_store, TERRITORY).sheets, audit.log_size(example_store)
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, book, dry_run=True)
    assert [c.key for c in changes["sites"].changed] == ["home-0001"]
    assert (book_of(example_store, TERRITORY).sheets, audit.log_size(example_store)) == before


@pytest.mark.parametrize("actor", [Account(7, "member", Role.MEMBER, holder_id="p0001"),
                                   Account(8, "operator", Role.OPERATOR, operator_of="coop-soleil"),
                                   Account(9, "other-admin", Role.ADMIN, territory_id="voisin")],
                         ids=["member", "operator", "admin of another territory"])
def test_only_an_admin_of_the_territory_may_change_it(example_store, actor) -> None:
    with pytest.raises(PermissionError):
        edit_row(example_store, actor, TERRITORY, "sites", "home-0001", {"name": "x"})


def test_the_store_caches_see_the_change(example_store) -> None:
    assert example_store.load_inventory(TERRITORY).sites[0].name == "Logement 1"
    edit_row(example_store, CLI_ADMIN, TERRITORY, "sites", "home-0001", {"name": "Maison"})
    assert example_store.load_inventory(TERRITORY).sites[0].name == "Maison"
