"""The import service on SQLite and PostgreSQL: PRMs onto series, quarantine, atomicity, idempotence."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from regie.ingest import FileAdapter, IngestError, register
from regie.ingest.importer import Importer, prm_series_id
from regie.model import (
    DeliveryPoint,
    IntervalConvention,
    Inventory,
    Readings,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
)
from regie.store import open_store

DATA = Path(__file__).parents[1] / "data"
PRM_A, PRM_B, PRM_X = "30001234567890", "30009876543210", "30005555555555"


def utc(text: str) -> int:
    return int(pd.Timestamp(text).tz_convert("UTC").timestamp())


def seed(url: str):
    """A territory with two delivery points; PRM_A already has a 30-min consumption series."""
    store = open_store(url)
    store.save_inventory(
        Inventory(
            territory=Territory("prats", "Prats-de-Mollo-la-Preste"),
            sites=[Site("village", "Village", "prats")],
            delivery_points=[DeliveryPoint(PRM_A, "village"), DeliveryPoint(PRM_B, "village", segment="P4")],
            series=[
                Series(
                    "cons-a",
                    SeriesKind.CONSUMPTION,
                    "W",
                    Step.parse("PT30M"),
                    IntervalConvention.END,
                    prm=PRM_A,
                )
            ],
        )
    )
    return store


@pytest.fixture
def store(store_url):
    s = seed(store_url)
    yield s
    s.close()


def day(store, series_id: str, local_day: str) -> tuple[np.ndarray, np.ndarray]:
    start = pd.Timestamp(local_day, tz="Europe/Paris")
    end = pd.Timestamp(pd.Timestamp(local_day) + pd.Timedelta(days=1), tz="Europe/Paris")
    return store.read(series_id, int(start.timestamp()), int(end.timestamp()))


def test_portal_spring_day_has_46_half_hours_stamped_at_their_start(store):
    report = Importer(store).import_path("enedis-portal", DATA / "enedis_portal_dst_spring.csv")
    assert report.points_read == report.points_written == 46
    assert report.series == ["cons-a"] and report.created == []
    t, v = day(store, "cons-a", "2024-03-31")
    assert len(t) == 46
    assert t[0] == utc("2024-03-31T00:00:00+01:00")  # the row stamped 00:30 covers 00:00–00:30
    assert t[-1] == utc("2024-03-31T23:30:00+02:00")
    assert np.all(np.diff(t) == 1800)
    assert v.tolist() == [300 + 10 * i for i in range(46)]


def test_r63_autumn_local_times_place_the_repeated_hour_by_order(store):
    report = Importer(store).import_path("enedis-r63", DATA / "enedis_r63_dst_autumn_local.csv")
    t, v = day(store, "cons-a", "2024-10-27")
    assert len(t) == 50 and np.all(np.diff(t) == 1800)
    assert t[0] == utc("2024-10-27T00:00:00+02:00")
    assert v.tolist() == [300 + 10 * i for i in range(50)]  # file order is time order
    # PRM_B's production curve gets a new series on its delivery point; PRM_X is unknown: quarantine.
    prod = prm_series_id(PRM_B, SeriesKind.PRODUCTION, daily=False)
    assert report.created == [prod]
    created = store.series(prod)
    assert created.prm == PRM_B and created.unit == "W" and created.step == Step.parse("PT30M")
    assert PRM_B not in created.id and PRM_B not in created.name  # never the full PRM in ids or names
    assert day(store, prod, "2024-10-27")[1].tolist() == [1000 + i for i in range(50)]
    assert report.quarantined == 50
    summary = store.quarantine_summary()
    assert [(q["source"], q["readings"]) for q in summary] == [("enedis-r63", 50)]
    assert "5555" in summary[0]["reason"] and PRM_X not in summary[0]["reason"]


def test_importing_the_same_file_twice_stores_each_reading_once(store):
    importer = Importer(store)
    for _ in range(2):
        importer.import_path("enedis-r63", DATA / "enedis_r63_dst_autumn_local.csv")
    assert store.count_points() == 100  # 50 for PRM_A, 50 for PRM_B
    assert store.quarantine_summary()[0]["readings"] == 50


def test_duplicates_inside_a_file_keep_the_last_value(store):
    report = Importer(store).import_path("enedis-r63", DATA / "enedis_r63_duplicates.csv")
    assert report.points_read == 50 and report.points_written == 48
    t, v = day(store, "cons-a", "2024-02-01")
    assert len(t) == 48
    assert v[4] == 345  # 340, then 999, then 345: the last row wins


def test_gaps_stay_gaps(store):
    Importer(store).import_path("enedis-portal", DATA / "enedis_portal_gaps.csv")
    t, v = day(store, "cons-a", "2024-06-12")
    assert len(t) == 44  # 48 half-hours, three empty values and one missing row
    assert not np.isnan(v).any()
    start = utc("2024-06-12T00:00:00+02:00")
    missing = sorted(set(range(48)) - set(((t - start) // 1800).tolist()))
    assert missing == [10, 11, 12, 20]


def test_energy_and_kw_are_converted_once(store):
    """kW with a decimal comma → W; Wh per half hour (EA) onto a new load-curve series → average W."""
    Importer(store).import_path("enedis-r63", DATA / "enedis_r63_step_change.csv")
    t, v = day(store, "cons-a", "2024-01-15")
    # 10-min values until noon, then 30-min values, on a 30-minute series: each half-hour holds the mean of
    # its three 10-minute values (energy kept: issue 17), never three half-hours' worth of points
    assert len(t) == 24 + 24 and np.all(np.diff(t) == 1800)
    assert v[0] == 601 and v[23] == 670 and v[24] == 1500
    prod = prm_series_id(PRM_B, SeriesKind.CONSUMPTION, daily=False)
    t, v = day(store, prod, "2024-01-16")
    assert v.tolist() == [2 * (100 + i) for i in range(48)]  # Wh over 30 min × 2 = average W


def test_power_into_an_energy_series_is_multiplied_by_the_step(store, tmp_path):
    inv = store.load_inventory()
    inv.series.append(Series("cons-b-wh", SeriesKind.CONSUMPTION, "Wh", Step.parse("PT30M"), prm=PRM_B))
    store.save_inventory(inv)
    path = tmp_path / "b.csv"
    path.write_text((DATA / "enedis_portal_dst_spring.csv").read_text(encoding="utf-8-sig").replace(PRM_A, PRM_B))
    report = Importer(store).import_path("enedis-portal", path)
    assert report.series == ["cons-b-wh"] and report.created == []
    _, v = day(store, "cons-b-wh", "2024-03-31")
    assert v.tolist() == [(300 + 10 * i) / 2 for i in range(46)]  # W × 1800 s / 3600 = Wh


def test_data_connect_daily_energy_goes_to_a_daily_series(store):
    report = Importer(store).import_path("enedis-dataconnect", DATA / "enedis_dataconnect_daily.json")
    daily = prm_series_id(PRM_A, SeriesKind.CONSUMPTION, daily=True)
    assert report.created == [daily]
    s = store.series(daily)
    assert s.unit == "Wh" and s.step == Step.parse("P1D")
    t, v = store.read(daily, utc("2024-10-21T00:00:00+02:00"), utc("2024-10-28T00:00:00+01:00"))
    assert v.tolist() == [8000 + 100 * i for i in range(7)]
    assert t[-1] == utc("2024-10-27T00:00:00+02:00")  # local midnight, the start of the day


def test_data_connect_load_curve_autumn(store):
    Importer(store).import_path("enedis-dataconnect", DATA / "enedis_dataconnect_load_curve.json")
    t, v = day(store, "cons-a", "2024-10-27")
    assert len(t) == 50 and np.all(np.diff(t) == 1800) and v[-1] == 790


@pytest.mark.parametrize(
    ("name", "line", "field"),
    [
        ("broken_r63_truncated.csv", 21, "Horodate"),
        ("broken_r63_text_value.csv", 10, "Valeur"),
        ("broken_r63_unknown_unit.csv", 5, "Unité"),
        ("broken_r63_future.csv", 2, "Horodate"),
        ("broken_r63_wrong_separator.csv", 2, None),
    ],
)
def test_a_broken_file_writes_nothing_and_says_where(store, name, line, field):
    before = store.count_points()
    with pytest.raises(IngestError) as err:
        Importer(store).import_path("enedis-r63", DATA / name)
    assert err.value.source == name and err.value.line == line and err.value.field == field
    assert store.count_points() == before == 0
    assert store.quarantine_summary() == []


def test_an_error_late_in_a_streamed_file_rolls_back_the_earlier_chunks(store, tmp_path):
    """Chunks of 10 rows: the good ones reach the store inside the transaction, then the bad row ends it."""
    rows = (DATA / "enedis_r63_dst_autumn_local.csv").read_text().splitlines()
    rows[140] = rows[140].replace(";W;", ";W;").replace("PT30M", "PT7X")
    bad = tmp_path / "late_error.csv"
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(IngestError) as err:
        Importer(store).import_path("enedis-r63", bad, chunk_rows=10)
    assert err.value.line == 141 and err.value.field == "Pas"
    assert store.count_points() == 0
    assert store.quarantine_summary() == []
    assert [s.id for s in store.load_inventory().series] == ["cons-a"]  # the created series rolled back too


def test_unknown_format_is_an_ingest_error(store):
    with pytest.raises(IngestError, match="no ingest adapter"):
        Importer(store).import_path("enedis-r99", DATA / "enedis_r63_duplicates.csv")


def _client(store) -> TestClient:
    from regie.ingest.apikeys import create_key
    from regie.web.imports import router

    app = FastAPI()
    app.state.store = store
    app.include_router(router)
    _, secret = create_key(store, "admin laptop", ["write"])
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {secret}"
    return client


def test_upload_api_imports_and_reports_counts(store):
    client = _client(store)
    with open(DATA / "enedis_r63_dst_autumn_local.csv", "rb") as fh:
        r = client.post("/api/import/enedis-r63", files={"file": ("autumn.csv", fh, "text/csv")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["points_written"] == 100 and body["quarantined"] == 50 and body["source"] == "autumn.csv"


def test_upload_api_names_the_line_of_a_broken_file(store):
    client = _client(store)
    with open(DATA / "broken_r63_text_value.csv", "rb") as fh:
        r = client.post("/api/import/enedis-r63", files={"file": ("bad.csv", fh, "text/csv")})
    assert r.status_code == 400
    assert r.json()["detail"] == {"error": "'n/a' is not a number", "source": "bad.csv", "line": 10, "field": "Valeur"}
    assert store.count_points() == 0


def test_upload_api_refuses_without_a_write_key_and_unknown_formats(store):
    client = _client(store)
    with open(DATA / "enedis_portal_gaps.csv", "rb") as fh:
        r = client.post("/api/import/nope", files={"file": ("x.csv", fh)})
    assert r.status_code == 404 and r.json()["detail"]["field"] == "format"
    del client.headers["Authorization"]
    with open(DATA / "enedis_portal_gaps.csv", "rb") as fh:
        r = client.post("/api/import/enedis-portal", files={"file": ("x.csv", fh)})
    assert r.status_code == 401


def test_cli_import_prints_a_table_and_fails_on_a_broken_file(store_url, tmp_path):
    from typer.testing import CliRunner

    from regie.cli import app

    seed(store_url).close()
    folder = tmp_path / "backup"
    shutil.copytree(DATA / "emoncms_backup", folder)
    runner = CliRunner()
    ok = runner.invoke(
        app, ["import", "enedis-r63", str(DATA / "enedis_r63_dst_autumn_local.csv"), "--database-url", store_url]
    )
    assert ok.exit_code == 0, ok.output
    assert "enedis_r63_dst_autumn_local.csv" in ok.output
    bad = runner.invoke(
        app, ["import", "enedis-r63", str(DATA / "broken_r63_unknown_unit.csv"), "--database-url", store_url]
    )
    assert bad.exit_code == 1
    assert "line 5" in bad.output and "MJ" in bad.output


def _parse_space_separated(stream, name, **_):
    rows = [line.split(b" ") for line in stream.read().split(b"\n") if line]
    yield Readings("cons-a", np.array([int(r[0]) for r in rows]), np.array([float(r[1]) for r in rows]))


def test_a_third_party_adapter_yielding_plain_readings(store, tmp_path):
    """The registry is open: an adapter may yield plain Readings keyed by existing series ids."""
    register(_SPACE_SEPARATED)
    path = tmp_path / "space.txt"
    path.write_bytes(b"1714521600 5\n1714523400 6\n")
    report = Importer(store).import_path("test-space-separated", path)
    assert report.points_written == 2 and store.read("cons-a", 1714521600, 1714525200)[1].tolist() == [5, 6]


_SPACE_SEPARATED = FileAdapter("test-space-separated", "t v per line", _parse_space_separated)
