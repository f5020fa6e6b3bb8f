"""`regie inventory template / export / import`, as an admin at the console types them."""

from __future__ import annotations

import pytest
from _inventory_example import TERRITORY, add_readings, new_territory
from typer.testing import CliRunner

from regie.cli import app
from regie.inventory import book_of, read_book, write_book
from regie.store import open_store


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    monkeypatch.setenv("REGIE_DATABASE_URL", url)
    store = open_store(url)
    new_territory(store)
    store.close()
    return url


def _run(*args: str):
    return CliRunner().invoke(app, ["inventory", *args])


def _template_for_the_territory(tmp_path):
    path = tmp_path / "template.xlsx"
    assert _run("template", str(path)).exit_code == 0
    book = read_book(path)
    book["about"][0].update({"territory": TERRITORY, "name": "Commune exemple", "latitude": "42.4",
                             "longitude": "2.47", "insee": None})
    return write_book(tmp_path / "inventaire.xlsx", book)


def test_template_then_dry_run_then_import_then_export(env, tmp_path) -> None:
    path = _template_for_the_territory(tmp_path)
    dry = _run("import", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "+ sites home-0001" in dry.output and "dry run: nothing changed" in dry.output
    store = open_store(env)
    assert book_of(store, TERRITORY)["sites"] == []
    done = _run("import", str(path))
    assert done.exit_code == 0, done.output
    assert "applied to territory exemple" in done.output
    assert [r["id"] for r in book_of(store, TERRITORY)["sites"]] == ["home-0001"]
    out = tmp_path / "export.ods"
    exported = _run("export", str(out), "--territory", TERRITORY)
    assert exported.exit_code == 0 and "2 delivery_points" in exported.output
    again = _run("import", str(out))
    assert again.exit_code == 0 and "nothing to change" in again.output
    store.close()


def test_a_bad_workbook_exits_65_naming_each_cell(env, tmp_path) -> None:
    path = _template_for_the_territory(tmp_path)
    book = read_book(path)
    book["sites"][0]["latitude"] = "123"
    book["memberships"][0]["since"] = "demain"
    result = _run("import", str(write_book(tmp_path / "bad.xlsx", book)))
    assert result.exit_code == 65
    assert "not imported (nothing changed): 2 problem(s) in bad.xlsx" in result.output
    assert "sites, row 2, column latitude: latitude 123 is outside -90..90" in result.output
    assert "memberships, row 2, column since: 'demain' is not a date" in result.output
    store = open_store(env)
    assert book_of(store, TERRITORY)["sites"] == []
    store.close()


def test_removal_needs_remove_and_readings_need_yes(env, tmp_path) -> None:
    path = _template_for_the_territory(tmp_path)
    assert _run("import", str(path)).exit_code == 0
    store = open_store(env)
    add_readings(store)
    book = book_of(store, TERRITORY)
    store.close()
    for name in ("sites", "delivery_points", "producers", "transformers", "memberships", "acc_operations",
                 "acc_participants"):
        book[name] = []
    empty = write_book(tmp_path / "empty.xlsx", book)
    kept = _run("import", str(empty), "--remove")
    assert kept.exit_code == 0, kept.output
    assert "it has readings" in kept.output and "--remove --yes" in kept.output
    assert _run("import", str(empty), "--yes").exit_code == 2  # --yes confirms --remove: alone it is a mistake
    gone = _run("import", str(empty), "--remove", "--yes")
    assert gone.exit_code == 0, gone.output
    assert "- delivery_points 50158338171087" in gone.output
    store = open_store(env)
    assert book_of(store, TERRITORY)["delivery_points"] == [] and store.count_points() == 0
    store.close()


def test_an_unknown_territory_and_a_missing_file_are_explained(env, tmp_path) -> None:
    path = _template_for_the_territory(tmp_path)
    result = _run("import", str(path), "--territory", "nowhere")
    assert result.exit_code == 65 and "no territory 'nowhere' in this store" in result.output
    missing = _run("import", str(tmp_path / "missing.xlsx"))
    assert missing.exit_code == 66 and "no such file" in missing.output
