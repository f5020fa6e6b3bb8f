"""Two territories in one store: the supervision pages and API, the savings page, the importer and the command
line each work on the territory chosen for the request (or named), never silently on the store's first one.

The store's first territory by id is ``mont``; its main one (whose data came first) is ``vallee``: a page that
fell back to :meth:`regie.store.Store.territory_id` would show ``mont`` to an admin of ``vallee``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from two_territories import PT30M, TERRITORIES, A, B, World, build
from typer.testing import CliRunner

from regie.cli import app, console
from regie.ingest import IngestError
from regie.ingest.importer import Importer
from regie.model import Readings, Series, SeriesKind, Transformer
from regie.services import reports
from regie.store import open_store


def add_grid_and_thermometer(world: World) -> None:
    """A transformer feeding every household, with its load, and a thermometer, in each territory."""
    store = world.store
    t = np.arange(A, B, 1800, dtype=np.int64)
    for tid, (_, p, _, household_w, _) in TERRITORIES.items():
        inv = store.load_inventory(tid)
        tr = Transformer(f"{p}-tr", "Poste", 250, prms=tuple(d.prm for d in inv.delivery_points))
        extra = [Series(f"{p}-tr-load", SeriesKind.TRANSFORMER_LOAD, "W", PT30M, transformer_id=tr.id),
                 Series(f"{p}-temp", SeriesKind.TEMPERATURE, "degC", PT30M, resolution=0.1)]  # fmt: skip
        store.save_inventory(replace(inv, transformers=[tr], series=[*inv.series, *extra]))
        store.write([Readings(f"{p}-tr-load", t, np.full(len(t), household_w * 10.5)),
                     Readings(f"{p}-temp", t, np.full(len(t), 9.0 if p == "v" else 4.0))])  # fmt: skip


@pytest.fixture
def world(store_url: str):
    store = open_store(store_url)
    w = build(store)
    add_grid_and_thermometer(w)
    yield w
    store.close()


def test_the_store_first_and_main_territories_differ(world: World) -> None:
    from regie.governance.territories import main_territory

    assert (world.store.territory_id(), main_territory(world.store)) == ("mont", "vallee")


@pytest.mark.parametrize(("who", "query", "own", "other"), [
    ("admin-v", "", "v-tr", "m-tr"), ("admin-m", "", "m-tr", "v-tr"),
    ("root", "?territory=vallee", "v-tr", "m-tr"), ("root", "?territory=mont", "m-tr", "v-tr"),
])  # fmt: skip
def test_a_transformer_page_and_api_show_the_chosen_territory(world: World, who, query, own, other) -> None:
    client = world.client(who)
    page = client.get(f"/grid/{own}{query}")
    assert page.status_code == 200, page.text
    report = client.get(f"/api/grid/{own}{query}")
    assert report.status_code == 200 and report.json()["transformer"] == own
    assert client.get(f"/grid/{other}{query}").status_code == 404  # not a transformer of the territory shown
    assert client.get(f"/api/grid/{other}{query}").status_code == 404


def test_data_health_api_judges_the_chosen_territory_and_refuses_another(world: World) -> None:
    admin_v, root = world.client("admin-v"), world.client("root")
    assert {h["series"][0] for h in admin_v.get("/api/data-health").json()} == {"v"}
    assert {h["series"][0] for h in root.get("/api/data-health?territory=mont").json()} == {"m"}
    assert {h["series"][0] for h in root.get("/api/data-health?territory=vallee").json()} == {"v"}
    assert admin_v.get("/api/data-health?territory=mont").status_code == 403
    assert root.get("/api/data-health?territory=nowhere").status_code == 404


def test_the_savings_page_offers_the_chosen_territory_s_series_only(world: World) -> None:
    root = world.client("root")
    mont = root.get("/savings?territory=mont")
    assert mont.status_code == 200 and "m-temp" in mont.text and "v-temp" not in mont.text
    vallee = world.client("admin-v").get("/savings")
    assert "v-temp" in vallee.text and "m-temp" not in vallee.text
    assert world.client("admin-v").get("/savings?territory=mont").status_code == 403


def test_savings_refuse_a_series_of_another_territory(world: World) -> None:
    with pytest.raises(reports.ReportRequestError, match="must both be series of 'vallee'"):
        baseline, reporting = (date(2025, 3, 1), date(2025, 3, 15)), (date(2025, 3, 15), date(2025, 4, 1))
        reports.building_savings(world.store, world.accounts["root"], "m-c1", "v-temp", baseline, reporting,
                                 territory_id="vallee")  # fmt: skip
    assert set(reports.savings_candidates(world.store, "mont")["temperatures"][0].values()) == {"m-temp"}


def test_the_importer_must_be_told_which_territory(world: World) -> None:
    with pytest.raises(IngestError, match=r"2 territories \(mont, vallee\): say which one"):
        Importer(world.store)
    assert Importer(world.store, "vallee").territory_id == "vallee"


@pytest.fixture
def cli_world(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    monkeypatch.setenv("REGIE_DATABASE_URL", url)
    monkeypatch.setattr(console, "width", 200)
    store = open_store(url)
    w = build(store)
    yield w
    store.close()


def _said(r) -> str:
    return " ".join(r.output.replace("│", " ").split())


def test_the_commands_name_the_choices_when_a_store_holds_several(cli_world: World, tmp_path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["inventory", "export", str(tmp_path / "inv.xlsx")])
    assert r.exit_code == 2 and "2 territories (mont, vallee): say which one" in _said(r), r.output
    r = runner.invoke(app, ["inventory", "export", str(tmp_path / "inv.xlsx"), "--territory", "vallee"])
    assert r.exit_code == 0 and "vallee" in r.output, r.output
    r = runner.invoke(app, ["report", "--month", "2025-03", "--out", str(tmp_path / "r.pdf")])
    assert r.exit_code == 2 and "2 territories (mont, vallee)" in _said(r), r.output
    r = runner.invoke(app, ["report", "--month", "2025-03", "--territory", "mont", "--out", str(tmp_path / "r.pdf")])
    assert r.exit_code == 0 and _said(r).startswith("Mont-Test 2025-03: consumption 1.86"), r.output  # 2500 W
    r = runner.invoke(app, ["supervise", "--no-deliver"])
    assert r.exit_code == 0 and "mont:" in r.output and "vallee:" in r.output, r.output
    r = runner.invoke(app, ["supervise", "--no-deliver", "--territory", "nowhere"])
    assert r.exit_code == 2 and "no territory 'nowhere' in this store (mont, vallee)" in _said(r), r.output


def test_an_import_by_api_goes_to_the_territory_asked_else_the_main_one(world: World) -> None:
    import io
    import json

    from fastapi.testclient import TestClient

    from regie.ingest import apikeys
    from regie.web.app import create_app

    _, secret = apikeys.create_key(world.store, "the régie's script", ["read", "write"])
    client = TestClient(create_app(world.store))
    body = f"time,power\n{A},5\n{A + 1800},6\n".encode()
    for query, series in (("?territory=mont", "x-mont"), ("", "x-main")):
        r = client.post(f"/api/import/csv{query}", files={"file": ("c.csv", io.BytesIO(body), "text/csv")},
                        data={"options": json.dumps({"columns": f"power={series}:W", "time_format": "unix"})},
                        headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
        assert r.status_code == 200 and r.json()["created"] == [series], r.text
    world.store.metadata_changed()
    assert "x-mont" in {s.id for s in world.store.load_inventory("mont").series}
    assert "x-main" in {s.id for s in world.store.load_inventory("vallee").series}  # the main one, not the first
