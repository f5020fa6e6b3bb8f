"""`regie quarantine list|release|discard` and `regie input list|remap`, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from regie import cli
from regie.cli import app
from regie.ingest.importer import Importer, prm_series_id
from regie.ingest.inputs import InputService
from regie.model import DeliveryPoint, Inventory, Series, SeriesKind, Site, Step, Territory
from regie.store import open_store

DATA = Path(__file__).parents[1] / "data"
PRM = "30001234567890"  # the PRM of the R63 samples
FEB_2024 = (1706742000, 1706828400)


def inventory() -> Inventory:
    return Inventory(
        Territory("vallee", "Vallée-Test", latitude=42.40, longitude=2.48),
        sites=[Site("s", "Site", "vallee")],
        delivery_points=[DeliveryPoint("30000000000001", "s")],
        series=[
            Series("c1", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm="30000000000001"),
            Series("e1", SeriesKind.CONSUMPTION, "Wh", Step.parse("PT30M")),
        ],
    )


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a wide terminal shows them (CliRunner's 80 columns would fold the cells being checked)."""
    monkeypatch.setattr(cli.console, "width", 200)


@pytest.fixture
def url(store_url: str) -> str:
    """A store whose quarantine holds the R63 sample's 48 readings (its PRM is not declared)."""
    store = open_store(store_url)
    store.save_inventory(inventory())
    report = Importer(store).import_path("enedis-r63", DATA / "enedis_r63_duplicates.csv")
    assert report.quarantined == 50 and report.points_written == 0
    store.close()
    return store_url


def run(url: str, *args: str, input: str | None = None):
    return CliRunner().invoke(app, [*args, "--database-url", url], input=input)


def declare(url: str) -> None:
    store = open_store(url)
    inv = store.load_inventory()
    store.save_inventory(dataclasses.replace(inv, delivery_points=[*inv.delivery_points, DeliveryPoint(PRM, "s")]))
    store.close()


def ref_of(output: str) -> str:
    return re.search(r"\b([0-9a-f]{16})\b", output)[1]


def test_list_masks_the_prm_and_gives_a_ref(url: str) -> None:
    result = run(url, "quarantine", "list")
    assert result.exit_code == 0, result.output
    assert "**********7890" in result.output and PRM not in result.output
    assert "enedis-r63" in result.output and "48" in result.output
    assert ref_of(result.output)


def test_release_waits_for_the_prm_then_writes_in_one_go(url: str) -> None:
    ref = ref_of(run(url, "quarantine", "list").output)
    early = run(url, "quarantine", "release", ref)
    assert early.exit_code != 0 and "still unknown" in early.output
    declare(url)
    done = run(url, "quarantine", "release", ref)
    assert done.exit_code == 0, done.output
    assert "released 48 readings" in done.output
    store = open_store(url)
    try:
        assert store.quarantine_summary() == []
        t, v = store.read(prm_series_id(PRM, SeriesKind.CONSUMPTION, daily=False), *FEB_2024)
        assert len(t) == 48 and v[0] == 300.0
    finally:
        store.close()
    assert "empty" in run(url, "quarantine", "list").output


def test_release_by_key_and_source_to_a_named_series(url: str) -> None:
    done = run(url, "quarantine", "release", PRM, "--source", "enedis-r63", "--series", "c1")
    assert done.exit_code == 0, done.output
    store = open_store(url)
    try:
        assert len(store.read("c1", *FEB_2024)[0]) == 48
    finally:
        store.close()
    unknown = run(url, "quarantine", "release", "0123456789abcdef")
    assert unknown.exit_code != 0 and "nothing in quarantine" in unknown.output


def test_release_converts_average_power_to_energy(url: str) -> None:
    done = run(url, "quarantine", "release", PRM, "--source", "enedis-r63", "--series", "e1")
    assert done.exit_code == 0, done.output
    store = open_store(url)
    try:
        v = store.read("e1", *FEB_2024)[1]
        assert len(v) == 48 and v[0] == 150.0  # 300 W over 30 min
    finally:
        store.close()


def test_release_of_an_input_held_before_there_was_a_territory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    store = open_store(url)
    t = np.array([1735689600], np.int64)
    with InputService(store, clock=lambda: 1735700000) as service:
        held = service.ingest({("meter", "e_kwh"): (t, np.array([1.5]))}, source="emoncms-http")
        assert held.quarantined == 1
        store.save_inventory(inventory())
        service.ingest({("meter", "e_kwh"): (t + 10, np.array([1.6]))}, source="emoncms-http")  # maps the input
    store.close()
    listed = run(url, "quarantine", "list")
    assert "meter/e_kwh" in listed.output
    done = run(url, "quarantine", "release", ref_of(listed.output))
    assert done.exit_code == 0, done.output
    store = open_store(url)
    try:
        assert store.read("emon-meter-e_kwh", int(t[0]), int(t[0]) + 60)[1].tolist() == [1500.0, 1600.0]  # kWh → Wh
    finally:
        store.close()


def test_discard_asks_first(url: str) -> None:
    ref = ref_of(run(url, "quarantine", "list").output)
    kept = run(url, "quarantine", "discard", ref, input="n\n")
    assert kept.exit_code != 0 and "**********7890" in kept.output
    assert "48" in run(url, "quarantine", "list").output
    gone = run(url, "quarantine", "discard", ref, "--yes")
    assert gone.exit_code == 0 and "discarded 48 readings" in gone.output
    assert "empty" in run(url, "quarantine", "list").output


def test_input_list_and_remap(url: str) -> None:
    assert "no input" in run(url, "input", "list").output
    store = open_store(url)
    t = np.array([1735689600, 1735689610], np.int64)
    with InputService(store, clock=lambda: 1735700000) as service:
        service.ingest({("house", "power1"): (t, np.array([110.0, 120.0]))}, source="test")
    store.close()
    listed = run(url, "input", "list")
    assert listed.exit_code == 0 and "house" in listed.output and "emon-house-power1" in listed.output
    assert "120" in listed.output
    refused = run(url, "input", "remap", "house", "power1", "house-load")
    assert refused.exit_code != 0 and "no series" in refused.output
    done = run(url, "input", "remap", "house", "power1", "house-load", "--create")
    assert done.exit_code == 0, done.output
    assert "house-load" in run(url, "input", "list").output
    assert run(url, "input", "remap", "house", "nope", "c1").exit_code != 0
    # readings posted from now on go to the new series
    store = open_store(url)
    with InputService(store, clock=lambda: 1735700000) as service:
        service.ingest({("house", "power1"): (t + 20, np.array([130.0, 140.0]))}, source="test")
    assert store.read("house-load", int(t[0]), int(t[-1]) + 60)[1].tolist() == [130.0, 140.0]
    store.close()
