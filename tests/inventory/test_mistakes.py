"""Bad workbooks: each mistake is named by sheet, row and column, all are collected, and nothing changes
(neither the inventory nor the access log)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _inventory_example import CONSUMER, INJECTION, TERRITORY, template_book

from regie.governance import audit
from regie.governance.accounts import CLI_ADMIN
from regie.inventory import Book, InventoryProblems, apply_book, book_of
from regie.inventory.format import FORMAT_VERSION


def _set(sheet_name: str, i: int, **values: str | None) -> Callable[[Book], None]:
    def change(book: Book) -> None:
        book[sheet_name][i].update(values)

    return change


def _append(sheet_name: str, **values: str | None) -> Callable[[Book], None]:
    def change(book: Book) -> None:
        book[sheet_name].append(dict(values))

    return change


def _unknown_sheet(book: Book) -> None:
    book.set_sheet("meters", [{"id": "linky-1"}], header=["id"])


def _unknown_column(book: Book) -> None:
    book.headers["sites"] = [*book.header("sites"), "colour"]
    book["sites"][0]["colour"] = "blue"


def _missing_column(book: Book) -> None:
    book.headers["sites"] = [c for c in book.header("sites") if c != "name"]
    for r in book["sites"]:
        r.pop("name")


def _overlap(book: Book) -> None:
    book["memberships"].append({"holder": "coop-soleil", "prm": CONSUMER, "since": "2020-01-01"})


def _shares(book: Book) -> None:
    book["acc_participants"][0]["static_share"] = "0.7"
    book["acc_participants"].append({**book["acc_participants"][0], "prm": INJECTION, "static_share": "0.6"})


def _organisation_is_a_person(book: Book) -> None:
    book["organisations"].append({"id": "p0001", "name": "Homonyme", "kind": "association"})


def _no_consumer(book: Book) -> None:
    book["acc_participants"] = [r for r in book["acc_participants"] if r["role"] == "producer"]


def _remove_referenced_site(book: Book) -> None:
    book["sites"] = []


#: (name, how to spoil the template's workbook, sheet, row, column, words of the message, apply options)
MISTAKES = [
    ("bad PRM", _set("delivery_points", 0, prm="5015833817108"), "delivery_points", 2, "prm", "14 digits"),
    ("PRM with a letter", _set("memberships", 0, prm="5015833817108X"), "memberships", 2, "prm", "14 digits"),
    ("unknown site", _set("delivery_points", 0, site="nowhere"), "delivery_points", 2, "site", "unknown site"),
    ("unknown transformer", _set("delivery_points", 1, transformer="tr-99"), "delivery_points", 3, "transformer",
     "unknown transformer"),
    ("unknown holder", _set("memberships", 0, holder="p9999"), "memberships", 2, "holder", "unknown holder"),
    ("unknown PRM", _set("memberships", 0, prm="50100000000099"), "memberships", 2, "prm",
     "no row of delivery_points has it"),
    ("unknown producer", _set("acc_participants", 1, prm=CONSUMER), "acc_participants", 3, "prm",
     "unknown producer"),
    ("unknown operation", _set("acc_participants", 0, operation="acc-nope"), "acc_participants", 2, "operation",
     "unknown operation"),
    ("unknown PMO", _set("acc_operations", 0, pmo="nobody"), "acc_operations", 2, "pmo", "unknown pmo 'nobody'"),
    ("overlapping memberships", _overlap, "memberships", 3, "since", "one holder at a time"),
    ("membership ends before it starts", _set("memberships", 0, until="2014-12-31"), "memberships", 2, "until",
     "before it starts"),
    ("exit before entry", _set("acc_participants", 0, exit="2024-11-01"), "acc_participants", 2, "exit",
     "before entry"),
    ("duplicate key", _append("persons", id="p0001", name="Deux fois"), "persons", 3, "id", "duplicate: row 2"),
    ("unknown sheet", _unknown_sheet, "meters", None, None, "unknown sheet"),
    ("unknown column", _unknown_column, "sites", 1, "colour", "unknown column"),
    ("missing required column", _missing_column, "sites", 1, "name", "missing required column"),
    ("missing required value", _set("persons", 0, name=None), "persons", 2, "name", "a value is required"),
    ("bad number", _set("transformers", 0, rated_kva="six cents"), "transformers", 2, "rated_kva", "not a number"),
    ("negative rating", _set("transformers", 0, rated_kva="-630"), "transformers", 2, "rated_kva", "positive"),
    ("bad date", _set("memberships", 0, since="31/02/2024"), "memberships", 2, "since", "not a date"),
    ("bad source", _set("producers", 0, source="nuclear"), "producers", 2, "source", "not one of"),
    ("bad organisation kind", _set("organisations", 0, kind="club"), "organisations", 2, "kind", "not one of"),
    ("bad role", _set("acc_participants", 0, role="both"), "acc_participants", 2, "role", "not one of"),
    ("bad INSEE code", _set("about", 0, insee="6615"), "about", 2, "insee", "INSEE"),
    ("bad latitude", _set("sites", 0, latitude="123"), "sites", 2, "latitude", "outside -90..90"),
    ("half a position", _set("acc_participants", 0, longitude=None), "acc_participants", 2, "longitude",
     "both latitude and longitude"),
    ("format too new", _set("about", 0, format_version=str(FORMAT_VERSION + 1)), "about", 2, "format_version",
     "newer than this regie reads"),
    ("another territory's workbook", _set("about", 0, territory="autre"), "about", 2, "territory",
     "describes territory 'autre'"),
    ("time zone changed", _set("about", 0, timezone="Europe/Brussels"), "about", 2, "timezone", "set when"),
    ("static shares above 1", _shares, "acc_participants", 2, "static_share", "more than 1"),
    ("static share of a producer", _set("acc_participants", 1, static_share="0.1"), "acc_participants", 3,
     "static_share", "only consumers"),
    ("producer without peak power", _set("acc_participants", 1, peak_power_w=None), "acc_participants", 3,
     "peak_power_w", "peak power"),
    ("power above the ACC limit", _set("acc_participants", 1, peak_power_w="6000000"), "acc_participants", 2,
     None, "total peak power 6.000 MW must stay below"),
    ("participants too far apart", _set("acc_participants", 0, latitude="42.6"), "acc_participants", 2, None,
     "km apart"),
    ("operation without consumer", _no_consumer, "acc_operations", 2, None, "no consumer"),
    ("bad SIREN", _set("organisations", 0, siren="12345"), "organisations", 2, "siren", "9 digits"),
    ("bad e-mail", _set("persons", 0, email="montse.example.org"), "persons", 2, "email", "e-mail"),
    ("bad id", _set("sites", 0, id="home 1"), "sites", 2, "id", "not an id"),
    ("bad ACC step", _set("acc_operations", 0, step="PT7M"), "acc_operations", 2, "step", "divide a day"),
    ("organisation id of a person", _organisation_is_a_person, "organisations", 3, "id", "also a person"),
]


def _state(store) -> tuple:
    return book_of(store, TERRITORY).sheets, audit.log_size(store)


@pytest.mark.parametrize(("what", "spoil", "name", "row", "column", "words"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_located_and_changes_nothing(example_store, what, spoil, name, row, column, words) -> None:
    before = _state(example_store)
    book = template_book()
    spoil(book)
    with pytest.raises(InventoryProblems) as caught:
        apply_book(example_store, CLI_ADMIN, TERRITORY, book, remove=True)
    found = [(p.sheet, p.row, p.column) for p in caught.value.problems if words in p.message]
    assert (name, row, column) in found, caught.value.problems
    assert _state(example_store) == before


def test_removing_a_site_still_referred_to_is_refused(example_store) -> None:
    before = _state(example_store)
    book = template_book()
    _remove_referenced_site(book)
    with pytest.raises(InventoryProblems) as caught:
        apply_book(example_store, CLI_ADMIN, TERRITORY, book, remove=True)
    messages = {(p.sheet, p.row, p.column): p.message for p in caught.value.problems}
    assert "would be removed" in messages[("delivery_points", 2, "site")]
    assert _state(example_store) == before


def test_every_problem_is_collected_not_only_the_first(example_store) -> None:
    before = _state(example_store)
    book = template_book()
    by_name = {m[0]: m[1] for m in MISTAKES}
    for what in ("bad PRM", "unknown holder", "bad number", "bad organisation kind"):
        by_name[what](book)
    with pytest.raises(InventoryProblems) as caught:
        apply_book(example_store, CLI_ADMIN, TERRITORY, book)
    where = {(p.sheet, p.column) for p in caught.value.problems}
    assert {("delivery_points", "prm"), ("memberships", "holder"), ("transformers", "rated_kva"),
            ("organisations", "kind")} <= where
    assert "nothing changed" in str(caught.value)
    assert _state(example_store) == before


def test_unknown_territory_says_so(example_store) -> None:
    book = template_book()
    book["about"][0]["territory"] = "nowhere"
    with pytest.raises(InventoryProblems) as caught:
        apply_book(example_store, CLI_ADMIN, "nowhere", book)
    (p,) = caught.value.problems
    assert (p.sheet, p.row, p.column) == ("about", 2, "territory")
    assert "no territory 'nowhere'" in p.message and "regie territory create" in p.message


def test_an_id_of_another_territory_is_refused(example_store) -> None:
    from _inventory_example import new_territory

    new_territory(example_store, "voisin")
    before = _state(example_store)
    book = template_book()
    book["about"][0].update(territory="voisin", name="Voisin")
    with pytest.raises(InventoryProblems) as caught:
        apply_book(example_store, CLI_ADMIN, "voisin", book)
    assert ("sites", 2, "id") in {(p.sheet, p.row, p.column) for p in caught.value.problems}
    assert any("another territory" in p.message for p in caught.value.problems)
    assert _state(example_store) == before


def test_a_page_shows_each_problem_in_its_reader_s_language(example_store) -> None:
    from regie.web import i18n

    book = template_book()
    book["sites"][0]["latitude"] = "123"
    book["memberships"][0]["since"] = "demain"
    with pytest.raises(InventoryProblems) as caught:
        apply_book(example_store, CLI_ADMIN, TERRITORY, book)
    fr = i18n.translations("fr").gettext
    texts = {(p.sheet, p.column): p.text(fr) for p in caught.value.problems}
    assert texts[("sites", "latitude")] == "la latitude 123 est hors de -90..90 (degrés, WGS 84)"
    assert texts[("memberships", "since")].startswith("'demain' n'est pas une date")
    assert [p.text() for p in caught.value.problems] == [p.message for p in caught.value.problems]
