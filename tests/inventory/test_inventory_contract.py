"""The inventory workbook behaves the same on the embedded store and on PostgreSQL: import, round trip,
single edits and ends, removal, history, and all or nothing."""

from __future__ import annotations

from datetime import date

import pytest
from _inventory_example import CONSUMER, INJECTION, TERRITORY, add_readings, new_territory, template_book

from regie.governance import audit
from regie.governance.accounts import CLI_ADMIN
from regie.inventory import InventoryProblems, apply_book, book_of, edit_row, end_row, history, read_book, write_book
from regie.store import open_store


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    new_territory(s)
    yield s
    s.close()


def test_the_inventory_contract(store, tmp_path) -> None:
    changes = apply_book(store, CLI_ADMIN, TERRITORY, template_book(), via="template")
    assert {name: c["added"] for name, c in changes.counts().items()} == {
        "sites": 1, "delivery_points": 2, "producers": 1, "transformers": 1, "organisations": 1, "persons": 1,
        "memberships": 1, "acc_operations": 1, "acc_participants": 2,
    }  # fmt: skip
    assert changes["about"].changed == []
    inv = store.load_inventory(TERRITORY)
    assert [t.prms for t in inv.transformers] == [(CONSUMER, INJECTION)]
    assert inv.producers[0].peak_power_w == 9000.0

    exported = book_of(store, TERRITORY)
    for name in ("x.xlsx", "x.ods", "x-csv"):
        assert apply_book(store, CLI_ADMIN, TERRITORY, read_book(write_book(tmp_path / name, exported))).empty

    edit_row(store, CLI_ADMIN, TERRITORY, "acc_operations", "acc-soleil", {"derogation": "oui", "key": "static"})
    end_row(store, CLI_ADMIN, TERRITORY, "acc_participants", f"acc-soleil/{CONSUMER}/consumer", date(2025, 7, 1))
    end_row(store, CLI_ADMIN, TERRITORY, "delivery_points", INJECTION, date(2026, 1, 1))
    book = book_of(store, TERRITORY)
    assert book["acc_operations"][0]["derogation"] == "yes"
    assert book["acc_participants"][0]["exit"] == "2025-07-01"
    assert [r["until"] for r in book["delivery_points"]] == [None, "2026-01-01"]
    assert [e.action for e in history(store, TERRITORY, "acc_operations", "acc-soleil")] == ["added", "changed"]

    size = audit.log_size(store)
    bad = book_of(store, TERRITORY)
    bad["sites"].append({"id": "school", "name": "École"})
    bad["memberships"][0]["until"] = "2000-01-01"
    with pytest.raises(InventoryProblems):
        apply_book(store, CLI_ADMIN, TERRITORY, bad)
    assert audit.log_size(store) == size and book_of(store, TERRITORY).sheets == book.sheets

    add_readings(store, CONSUMER)
    empty = template_book()
    for name in ("sites", "delivery_points", "producers", "transformers", "memberships", "acc_operations",
                 "acc_participants"):
        empty[name] = []
    changes = apply_book(store, CLI_ADMIN, TERRITORY, empty, remove=True)
    assert changes.empty and CONSUMER in {r["prm"] for r in book_of(store, TERRITORY)["delivery_points"]}
    changes = apply_book(store, CLI_ADMIN, TERRITORY, empty, remove=True, remove_data=True)
    assert changes.counts()["delivery_points"]["removed"] == 2 and store.count_points() == 0
    assert book_of(store, TERRITORY)["sites"] == []
    assert audit.verify(store).ok
