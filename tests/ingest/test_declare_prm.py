""" "Declare this PRM": a quarantined Enedis import's PRM declared through the inventory, its readings released in
the same step; a refused declaration changes nothing. On SQLite and PostgreSQL, from Python and the CLI.

The R63 sample (``tests/data/enedis_r63_duplicates.csv``) holds 48 half-hours of 2024-02-01 (local) for PRM
30001234567890, unknown to the store, so the import quarantines them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from regie import cli
from regie.cli import app
from regie.governance import audit, writes
from regie.governance.accounts import CLI_ADMIN
from regie.governance.gate import holding_periods
from regie.ingest.admin import (
    AdminError,
    Declaration,
    declaration_defaults,
    declare_prm,
    find_quarantined,
    quarantine_lines,
)
from regie.ingest.importer import Importer, prm_series_id
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Person,
    SeriesKind,
    Site,
    Territory,
)
from regie.store import Store, open_store

DATA = Path(__file__).parents[1] / "data"
PRM = "30001234567890"
SERIES = prm_series_id(PRM, SeriesKind.CONSUMPTION, daily=False)
FEB_2024 = (1706742000, 1706828400)  # 2024-02-01, local day


def inventory() -> Inventory:
    return Inventory(
        Territory("vallee", "Vallée-Test", latitude=42.40, longitude=2.48),
        sites=[Site("house-a", "Maison A", "vallee")],
        delivery_points=[DeliveryPoint("30002000000001", "house-a")],
        persons=[Person("alice", "Alice")],
        memberships=[Membership("alice", "30002000000001", date(2024, 1, 1))],
    )


@pytest.fixture
def quarantined(store_url: str) -> Iterator[Store]:
    store = open_store(store_url)
    store.save_inventory(inventory())
    report = Importer(store).import_path("enedis-r63", DATA / "enedis_r63_duplicates.csv")
    assert report.quarantined == 50 and report.points_written == 0  # 50 rows, 48 distinct instants kept
    yield store
    store.close()


def snapshot(store: Store) -> tuple:
    """What a refused declaration must leave untouched: the inventory and the quarantine."""
    inv = store.load_inventory()
    return (
        sorted(s.id for s in inv.sites), sorted(d.prm for d in inv.delivery_points),
        sorted(p.id for p in inv.persons), len(inv.memberships), store.quarantine_summary(), store.count_points(),
    )  # fmt: skip


def declare(store: Store, declaration: Declaration):
    source, key = find_quarantined(store, PRM)
    guard = writes.guard(store, writes.CLI, "quarantine/release", key)
    return writes.run(guard, lambda: declare_prm(store, CLI_ADMIN, source, key, declaration, guard=guard))


def test_the_form_is_prefilled_from_the_quarantined_readings(quarantined: Store) -> None:
    (line,) = quarantine_lines(quarantined)
    assert line["is_prm"] and PRM not in line["shown"]
    d = declaration_defaults(quarantined, line["source"], PRM)
    assert (d["readings"], d["step_s"], d["segment"], d["since"]) == (48, 1800, "C5", date(2024, 2, 1))
    assert d["origin"] and PRM not in d["shown"]


def test_declaring_a_new_site_and_holder_releases_every_reading(quarantined: Store) -> None:
    store = quarantined
    done = declare(store, Declaration("house-d", "Maison D", "C5", "residential", "6", "dave", "Dave"))
    assert done.added == 4  # site, delivery point, person, membership
    assert (done.released.taken, done.released.written, done.released.series) == (48, 48, SERIES)
    assert store.quarantine_summary() == []
    inv = store.load_inventory()
    point = next(d for d in inv.delivery_points if d.prm == PRM)
    assert (point.site_id, point.segment, point.subscribed_kva, point.usage) == ("house-d", "C5", 6.0, "residential")
    assert next(s for s in inv.sites if s.id == "house-d").name == "Maison D"
    assert [(h, a) for h, a, _ in holding_periods(store, PRM)] == [("dave", FEB_2024[0])]  # holds every reading
    t, v = store.read(SERIES, *FEB_2024)
    assert len(t) == 48 and np.isfinite(v).all()
    # each inventory change is in the access log, as every inventory edit
    assert any(PRM in str(e.entry) or "house-d" in str(e.entry) for e in audit.entries(store))


def test_declaring_on_an_existing_site_without_holder(quarantined: Store) -> None:
    done = declare(quarantined, Declaration("house-a"))
    assert (done.added, done.released.written) == (1, 48)
    assert next(d for d in quarantined.load_inventory().delivery_points if d.prm == PRM).site_id == "house-a"


@pytest.mark.parametrize(
    ("declaration", "why"),
    [
        (Declaration("nowhere"), "There is no site 'nowhere': give its name"),
        (Declaration("house-a", holder="zoe"), "There is no person or organisation 'zoe'"),
        (Declaration("", "Maison"), "Choose the site"),
        (Declaration("house-a", segment="C9"), "The declaration was refused, nothing changed"),
        (Declaration("bad site id!", "Maison"), "The declaration was refused, nothing changed"),
        (Declaration("house-a", holder="alice", since=date(2024, 3, 1), usage=""), "refused, nothing changed"),
    ],
)
def test_a_refused_declaration_changes_nothing(quarantined: Store, declaration: Declaration, why: str) -> None:
    before = snapshot(quarantined)
    with pytest.raises(AdminError, match=why) as caught:
        declare(quarantined, declaration)
    assert PRM not in str(caught.value)  # the whole PRM never in a message
    assert snapshot(quarantined) == before


def test_only_a_quarantined_prm_can_be_declared(quarantined: Store) -> None:
    with pytest.raises(AdminError, match="Nothing in quarantine"):
        find_quarantined(quarantined, "30002000000009")
    with pytest.raises(AdminError, match="only a delivery point"):
        declaration_defaults(quarantined, "emoncms-http", "emonpi/power1")
    declare(quarantined, Declaration("house-a"))
    with pytest.raises(AdminError, match="Nothing in quarantine"):
        declare(quarantined, Declaration("house-a"))


def test_a_declared_prm_is_released_not_declared_again(quarantined: Store) -> None:
    inv = quarantined.load_inventory()
    quarantined.save_inventory(
        dataclasses.replace(inv, delivery_points=[*inv.delivery_points, DeliveryPoint(PRM, "house-a")])
    )
    assert [line["is_prm"] for line in quarantine_lines(quarantined)] == [False]  # no "declare" offered
    before = snapshot(quarantined)
    with pytest.raises(AdminError, match="is already declared: release its readings instead"):
        declare(quarantined, Declaration("house-a"))
    assert snapshot(quarantined) == before


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.console, "width", 200)


def test_cli_declares_and_releases(quarantined: Store, store_url: str, wide_console: None) -> None:
    def run(*args: str):
        return CliRunner().invoke(app, ["quarantine", "declare", *args, "--database-url", store_url])

    bad = run(PRM, "--site", "house-d")  # a new site without a name
    assert bad.exit_code == 2 and "give its name" in bad.output
    assert run(PRM, "--site", "house-a", "--since", "1er février").exit_code == 2
    assert snapshot(quarantined)[4] != []  # still in quarantine
    ok = run(PRM, "--site", "house-d", "--site-name", "Maison D", "--holder", "alice")
    assert ok.exit_code == 0, ok.output
    assert "released 48 readings" in ok.output and SERIES in ok.output
    store = open_store(store_url)
    try:
        assert store.quarantine_summary() == []
        assert [h for h, _, _ in holding_periods(store, PRM)] == ["alice"]
    finally:
        store.close()
