"""Nothing with data is deleted silently: what the workbook lacks is kept and reported; what has no
readings goes only with --remove; what has readings only with --remove --yes, and then with its readings."""

from __future__ import annotations

import pytest
from _inventory_example import CONSUMER, INJECTION, TERRITORY, add_readings, template_book

from regie.governance import audit
from regie.governance.accounts import CLI_ADMIN, create_account
from regie.inventory import InventoryProblems, apply_book, book_of


def _without_consumer(book):
    """The workbook without the consumer's delivery point and all that names it."""
    book["delivery_points"] = [r for r in book["delivery_points"] if r["prm"] != CONSUMER]
    book["memberships"] = [r for r in book["memberships"] if r["prm"] != CONSUMER]
    book["acc_participants"] = [r for r in book["acc_participants"] if r["prm"] != CONSUMER]
    return book


def _prms(store) -> set[str]:
    return {r["prm"] for r in book_of(store, TERRITORY)["delivery_points"]}


def test_absent_rows_are_kept_by_default(example_store) -> None:
    book = _without_consumer(template_book())
    # the operation keeps its consumer (kept): the perimeter still holds, nothing is refused
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, book)
    assert changes.empty
    assert {(k.sheet, k.reason) for k in changes.kept} == {
        ("delivery_points", "absent from the file, kept (--remove removes it)"),
        ("memberships", "absent from the file, kept (--remove removes it)"),
        ("acc_participants", "absent from the file, kept (--remove removes it)"),
    }
    assert CONSUMER in _prms(example_store)


def test_remove_takes_away_what_has_no_readings(example_store) -> None:
    book = _without_consumer(template_book())
    book["acc_participants"] = []
    book["acc_operations"] = []  # an operation without consumer would break the perimeter rule
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, book, remove=True)
    assert changes.counts()["delivery_points"]["removed"] == 1
    assert CONSUMER not in _prms(example_store) and INJECTION in _prms(example_store)
    log = audit.entries(example_store, kind="inventory")
    assert {e.entry["action"] for e in log[-5:]} == {"removed"}


def test_readings_keep_a_delivery_point_unless_the_admin_confirms(example_store) -> None:
    add_readings(example_store, CONSUMER)
    assert example_store.count_points() == 48
    book = _without_consumer(template_book())
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, book, remove=True)
    kept = {k.sheet: k.reason for k in changes.kept}
    assert "it has readings" in kept["delivery_points"] and "--remove --yes" in kept["delivery_points"]
    assert "readings" in kept["memberships"] and "readings" in kept["acc_participants"]
    assert changes.empty and CONSUMER in _prms(example_store) and example_store.count_points() == 48

    book["acc_participants"], book["acc_operations"] = [], []
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, book, remove=True, dry_run=True)
    assert "its participants have readings" in {k.sheet: k.reason for k in changes.kept}["acc_operations"]
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, book, remove=True, remove_data=True)
    assert changes.counts()["delivery_points"]["removed"] == 1 and changes.kept == []
    assert CONSUMER not in _prms(example_store)
    assert example_store.count_points() == 0  # the series and its readings went with it, as asked


def test_a_person_with_an_account_is_never_removed_from_a_workbook(example_store) -> None:
    create_account(example_store, "montse", "correct horse battery staple 42", "member", holder_id="p0001")
    book = template_book()
    book["persons"], book["memberships"] = [], []
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, book, remove=True, remove_data=True)
    kept = {k.sheet: k.reason for k in changes.kept}
    assert "regie member erase" in kept["persons"]
    assert [r["id"] for r in book_of(example_store, TERRITORY)["persons"]] == ["p0001"]


def test_a_failed_import_rolls_back_every_write(example_store) -> None:
    """Good rows before a bad one are not written: one transaction, all or nothing."""
    book = template_book()
    book["sites"].append({"id": "home-0002", "name": "Logement 2"})
    book["persons"].append({"id": "p0002", "name": "Josep Ferrer"})
    book["memberships"].append({"holder": "p0002", "prm": INJECTION, "since": "2020-01-01", "until": "2019-01-01"})
    before = book_of(example_store, TERRITORY).sheets, audit.log_size(example_store)
    with pytest.raises(InventoryProblems):
        apply_book(example_store, CLI_ADMIN, TERRITORY, book)
    assert (book_of(example_store, TERRITORY).sheets, audit.log_size(example_store)) == before


def test_what_a_kept_object_needs_is_kept_too(example_store) -> None:
    """A delivery point kept for its readings keeps its site, and a kept operation its participants."""
    add_readings(example_store, CONSUMER)
    book = template_book()
    for name in ("sites", "delivery_points", "producers", "memberships", "acc_operations", "acc_participants"):
        book[name] = []
    before = book_of(example_store, TERRITORY).sheets
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, book, remove=True)
    kept = {(k.sheet, k.key): k.reason for k in changes.kept}
    assert "refers to it" in kept[("sites", "home-0001")]
    assert "its operation is kept" in kept[("acc_participants", f"acc-soleil/{INJECTION}/producer")]
    assert "refers to it" in kept[("delivery_points", INJECTION)]  # the kept producer participant's point
    assert "refers to it" in kept[("producers", "pv-home-0001")]  # a producer participant is a producer's point
    assert changes.empty and book_of(example_store, TERRITORY).sheets == before


def test_after_an_erasure_the_workbook_still_round_trips(example_store, tmp_path) -> None:
    """The erased person's memberships name a tombstone: exported and imported, they stay as they are."""
    from regie.governance.rights import erase_member
    from regie.inventory import read_book, write_book

    erase_member(example_store, CLI_ADMIN, "p0001")
    book = book_of(example_store, TERRITORY)
    assert book["persons"] == [] and book["memberships"][0]["holder"].startswith("erased:")
    again = read_book(write_book(tmp_path / "after.xlsx", book))
    assert apply_book(example_store, CLI_ADMIN, TERRITORY, again).empty
    again["persons"].append({"id": "p0001", "name": "Quelqu'un d'autre"})
    with pytest.raises(InventoryProblems, match="erased at their request"):
        apply_book(example_store, CLI_ADMIN, TERRITORY, again)


def test_why_an_object_is_kept_reads_in_french_too(example_store) -> None:
    from regie.web import i18n

    add_readings(example_store, CONSUMER)
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, _without_consumer(template_book()), remove=True)
    (kept,) = changes["delivery_points"].kept
    assert kept.text(i18n.translations("fr").gettext).startswith("absent du fichier, conservé : il a des mesures")
    assert kept.text() == kept.reason
