"""A workbook exported then imported changes nothing, whatever the file format and however a spreadsheet
spells its cells (decimal commas, French dates, numbers for PRMs, blank rows)."""

from __future__ import annotations

import csv

import pytest
import xlsxwriter
from _inventory_example import TERRITORY

from regie.governance import audit
from regie.governance.accounts import CLI_ADMIN
from regie.inventory import SHEETS, InventoryProblems, apply_book, book_of, read_book, write_book


@pytest.mark.parametrize("name", ["inventory.xlsx", "inventory.ods", "inventory-csv"])
def test_the_demo_village_exported_then_imported_changes_nothing(prats_store, prats, tmp_path, name) -> None:
    tid = prats.inventory.territory.id
    before = book_of(prats_store, tid)
    log = audit.log_size(prats_store)
    path = write_book(tmp_path / name, before)
    book = read_book(path)
    assert {k: len(v) for k, v in book.items()} == {k: len(v) for k, v in before.items()}
    assert len(book["delivery_points"]) == len(prats.inventory.delivery_points)
    changes = apply_book(prats_store, CLI_ADMIN, tid, book)
    assert changes.empty and changes.counts() == {} and changes.kept == []
    assert audit.log_size(prats_store) == log
    assert book_of(prats_store, tid).sheets == before.sheets


def test_the_demo_operation_survives_the_round_trip(prats_store, prats, tmp_path) -> None:
    from regie.store.operations import load_operation

    tid = prats.inventory.territory.id
    (op,) = prats.operations
    stored_before = load_operation(prats_store, op.id)
    book = read_book(write_book(tmp_path / "x.xlsx", book_of(prats_store, tid)))
    book["acc_operations"][0]["name"] = "ACC renamed"
    changes = apply_book(prats_store, CLI_ADMIN, tid, book)
    assert [c.columns for c in changes["acc_operations"].changed] == [["name"]]
    after = load_operation(prats_store, op.id)
    assert after.operation.name == "ACC renamed"
    assert after.operation.participants == stored_before.operation.participants
    assert after.static_shares == stored_before.static_shares and after.billing == stored_before.billing


def test_a_french_csv_reads_the_same(example_store, tmp_path) -> None:
    """Semicolons, decimal commas, dd/mm/yyyy dates, Windows code page: as LibreOffice or Excel save in French."""
    folder = write_book(tmp_path / "plain", book_of(example_store, TERRITORY))
    french = tmp_path / "french"
    french.mkdir()
    for f in folder.glob("*.csv"):
        rows = list(csv.reader(f.read_text("utf-8-sig").splitlines()))
        out = []
        for r in rows:
            cells = []
            for cell in r:
                if len(cell) == 10 and cell[4] == "-" and cell[7] == "-":
                    cell = f"{cell[8:]}/{cell[5:7]}/{cell[:4]}"
                elif cell.replace(".", "", 1).isdigit() and "." in cell:
                    cell = cell.replace(".", ",")
                cells.append(cell)
            out.append(";".join(cells))
        (french / f.name).write_bytes(("\r\n".join(out) + "\r\n").encode("cp1252", errors="replace"))
    assert "01/12/2024" in (french / "acc_participants.csv").read_text("cp1252")
    assert "42,4019" in (french / "sites.csv").read_text("cp1252")
    assert apply_book(example_store, CLI_ADMIN, TERRITORY, read_book(french), dry_run=True).empty


def _xlsx(path, sheets: dict[str, list[list]]) -> None:
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is not None:
                    ws.write(i, j, v)
    wb.close()


def test_problems_name_the_row_the_spreadsheet_shows(example_store, tmp_path) -> None:
    """Blank rows count: the third data row after a blank line is row 5 on screen."""
    path = tmp_path / "sites.xlsx"
    _xlsx(path, {"sites": [["id", "name", "latitude"], ["home-0001", "Logement 1", 42.4019], [],
                           ["home-0002", "Logement 2", 42.4], ["home-0003", "Logement 3", 420]]})
    with pytest.raises(InventoryProblems) as caught:
        apply_book(example_store, CLI_ADMIN, TERRITORY, read_book(path))
    assert [(p.sheet, p.row, p.column) for p in caught.value.problems] == [("sites", 5, "latitude")]


def test_a_prm_typed_as_a_number_is_read_and_a_lost_leading_zero_is_explained(example_store, tmp_path) -> None:
    path = tmp_path / "points.xlsx"
    _xlsx(path, {"delivery_points": [["prm", "site", "segment", "usage"],
                                     [50158338171087, "home-0001", "C5", "residential"],
                                     [1234567890123, "home-0001", "C5", "residential"]]})
    book = read_book(path)
    assert book["delivery_points"][0]["prm"] == "50158338171087"
    with pytest.raises(InventoryProblems) as caught:
        apply_book(example_store, CLI_ADMIN, TERRITORY, book)
    (p,) = caught.value.problems
    assert (p.sheet, p.row, p.column) == ("delivery_points", 3, "prm") and "leading zero" in p.message


def test_a_sheet_absent_from_the_file_is_left_as_it_is(example_store, tmp_path) -> None:
    """A folder with only sites.csv changes sites only; a column absent from a sheet keeps its values."""
    folder = tmp_path / "only-sites"
    folder.mkdir()
    (folder / "sites.csv").write_text("id,name\nhome-0001,Maison 1\n", encoding="utf-8")
    changes = apply_book(example_store, CLI_ADMIN, TERRITORY, read_book(folder))
    assert changes.counts() == {"sites": {"added": 0, "changed": 1, "ended": 0, "removed": 0, "kept": 0}}
    (c,) = changes["sites"].changed
    assert c.columns == ["name"] and c.after["latitude"] == "42.4019"
    assert book_of(example_store, TERRITORY)["delivery_points"][0]["site"] == "home-0001"


def test_a_damaged_file_says_so(tmp_path) -> None:
    from regie.inventory import WorkbookError

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(WorkbookError, match="cannot be read as a workbook"):
        read_book(bad)
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(WorkbookError, match=r"\.xlsx or \.ods"):
        read_book(tmp_path / "x.txt")
    with pytest.raises(WorkbookError, match="no such file"):
        read_book(tmp_path / "missing.xlsx")


def test_the_ods_file_is_an_opendocument_package(tmp_path) -> None:
    """ODF 1.2 part 3 §3.3: the ``mimetype`` entry comes first, uncompressed; the manifest names the
    content; the content is well-formed XML with one table per sheet."""
    import zipfile
    from xml.etree import ElementTree

    from regie.inventory import template

    book = template()
    book["persons"][0]["name"] = 'Montse <Pons> & "Cie"'
    path = write_book(tmp_path / "t.ods", book)
    with zipfile.ZipFile(path) as z:
        first = z.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert b'full-path="content.xml"' in z.read("META-INF/manifest.xml")
        root = ElementTree.fromstring(z.read("content.xml"))
    ns = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0"}
    names = [t.get(f"{{{ns['table']}}}name") for t in root.iterfind(".//table:table", ns)]
    assert names == [s.name for s in SHEETS]
    assert read_book(path)["persons"][0]["name"] == 'Montse <Pons> & "Cie"'


def test_the_getting_started_village_imports_then_round_trips(tmp_path) -> None:
    """docs/examples/village (the guide's workbook, CSV sheets) is a valid inventory of the format."""
    from pathlib import Path

    from _inventory_example import new_territory

    from regie.store import open_store

    village = read_book(Path(__file__).parents[2] / "docs" / "examples" / "village")
    tid = village["about"][0]["territory"]
    store = open_store(f"sqlite:///{tmp_path / 'village.sqlite'}")
    try:
        new_territory(store, tid)
        changes = apply_book(store, CLI_ADMIN, tid, village, remove=True)
        assert changes.counts()["delivery_points"]["added"] == len(village["delivery_points"]) > 20
        assert changes.counts()["acc_participants"]["added"] == len(village["acc_participants"])
        again = read_book(write_book(tmp_path / "village.ods", book_of(store, tid)))
        assert apply_book(store, CLI_ADMIN, tid, again).empty
    finally:
        store.close()
