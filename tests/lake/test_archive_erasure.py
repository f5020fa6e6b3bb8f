"""A person's erasure reaches the years archived to the lake (``regie archive``): afterwards no Parquet row of
theirs is left in any file under the lake (temporary and hidden files included), everyone else's rows are the
same values, files that never held theirs are the same bytes, the lake reads back, its manifest and
``chunk_archive`` say what the files hold, the access log records it and verifies. On PostgreSQL, where a year
is archived, and on SQLite, where such a store is restored (a backup taken on PostgreSQL); an erasure stopped
after the files were rewritten is run again and ends in the same state."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from regie.cluster.tasks import partitions as lake_partitions
from regie.cluster.tasks import read_rows
from regie.governance import audit, rights
from regie.governance.accounts import CLI_ADMIN
from regie.lake import layout
from regie.lake.archive import archive_year
from regie.lake.catalogue import NON_PUBLIC, PUBLIC, lake_datasets
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Person,
    Readings,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
)
from regie.operations import backup, restore
from regie.store import archives, open_store
from regie.store.schema import chunk_archive

PARIS = ZoneInfo("Europe/Paris")
ALONE, OTHER, SHARED = "30001234567890", "30001234567891", "30001234567892"
LATER = int(datetime(2026, 12, 1, tzinfo=PARIS).timestamp())
MOVE = date(2023, 7, 1)  # p3 leaves the shared point, p4 moves in


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=PARIS).timestamp())


def inventory() -> Inventory:
    sites = [Site(f"house-{i}", f"House {i}", "village") for i in range(3)] + [Site("mairie", "Mairie", "village")]
    return Inventory(
        Territory("village", "Village"),
        sites=sites,
        delivery_points=[DeliveryPoint(p, f"house-{i}") for i, p in enumerate((ALONE, OTHER, SHARED))],
        persons=[Person(p, p.upper()) for p in ("p1", "p2", "p3", "p4")],
        memberships=[
            Membership("p1", ALONE, date(2020, 1, 1)),
            Membership("p2", OTHER, date(2020, 1, 1)),
            Membership("p3", SHARED, date(2020, 1, 1), MOVE),
            Membership("p4", SHARED, MOVE),
        ],
        series=[
            Series("load-p1", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=ALONE),
            Series("load-p2", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=OTHER),
            Series("load-shared", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=SHARED),
            Series("temp", SeriesKind.TEMPERATURE, "degC", Step.parse("PT30M"), resolution=0.1, site_id="mairie"),
        ],
    )


def fill(store) -> None:
    """2023 and the first three months of 2024, every half-hour."""
    t = np.arange(ts(2023, 1, 1), ts(2024, 4, 1), 1800, dtype=np.int64)
    rng = np.random.default_rng(11)
    batches = [Readings(k, t, rng.integers(100, 9000, len(t)).astype(float))
               for k in ("load-p1", "load-p2", "load-shared")]  # fmt: skip
    batches.append(Readings("temp", t, np.round(rng.normal(10, 6, len(t)), 1)))
    store.write(batches)


def every_file(lake: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*")) if p.is_file()}


def readings_files(lake: Path) -> list[Path]:
    """Every Parquet file of readings under the lake, hidden and temporary ones included (not the series table,
    ``series/``, which lists the series, personal or not, and no reading)."""
    found = []
    for p in sorted(lake.rglob("*.parquet")):
        try:
            names = pq.read_schema(p).names
        except pa.ArrowInvalid:  # a half-written leftover
            continue
        if names == ["series_id", "t", "value"]:
            found.append(p)
    return found


def rows_of(lake: Path) -> pd.DataFrame:
    """Every row of readings under the lake, with the file it is in."""
    frames = []
    for p in readings_files(lake):
        df = pq.read_table(p).to_pandas()
        df["series_id"] = df["series_id"].astype(str)
        df["file"] = str(p.relative_to(lake))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def p3_days(df: pd.DataFrame) -> pd.Series:
    return (df["series_id"] == "load-shared") & (df["t"] < ts(2023, 7, 1))


@pytest.fixture
def archived(postgres_url: str, tmp_path: Path):
    """A PostgreSQL store whose 2023 is archived to ``lake``, with leftovers a crashed writer could leave: a
    temporary copy of an archive file in ``_tmp/`` and a hidden copy beside it."""
    store = open_store(postgres_url)
    store.save_inventory(inventory())
    fill(store)
    lake = tmp_path / "lake"
    archive_year(store, 2023, str(lake), now=LATER)
    month = lake / layout.partition("village", "consumption", "2023-05")
    (lake / layout.TMP).mkdir(exist_ok=True)
    shutil.copy(month / "archive-2023.parquet", lake / layout.TMP / "0123-archive-2023.parquet")
    shutil.copy(month / "archive-2023.parquet", month / "_archive-2023.parquet")
    (lake / layout.TMP / "0456-part-0.parquet").write_bytes(b"PAR1 half written")
    yield store, lake, postgres_url
    store.close()


def check_erased(store, lake: Path, before_files: dict[str, bytes], before_rows: pd.DataFrame,
                 before_record) -> None:  # fmt: skip
    # no row of p1 anywhere, nor of p3's days on the shared point; every file is Parquet or the JSON beside it
    after_files = every_file(lake)
    for name, data in after_files.items():
        assert name.endswith((".parquet", ".json")), name
        if name.endswith(".parquet"):
            pq.read_table(pa.BufferReader(data))  # readable: nothing half written is left
    assert not (lake / layout.TMP).exists() or not any((lake / layout.TMP).iterdir())
    after = rows_of(lake)
    assert not (after["series_id"] == "load-p1").any()
    assert not p3_days(after).any()
    for p in readings_files(lake):
        dictionary = pq.read_table(p).column("series_id").combine_chunks().dictionary.to_pylist()
        assert "load-p1" not in dictionary, p
    # everyone else's rows: the same values, in the same files (the leftovers and hidden copies aside)
    kept = before_rows[(before_rows["series_id"] != "load-p1") & ~p3_days(before_rows)]
    kept = kept[~kept["file"].str.contains("_tmp/|/_archive-", regex=True)]
    after = after[~after["file"].str.contains("/_archive-")]  # the hidden copy, without theirs (checked above)
    key = ["file", "series_id", "t"]
    pd.testing.assert_frame_equal(kept.sort_values(key).reset_index(drop=True),
                                  after.sort_values(key).reset_index(drop=True))  # fmt: skip
    assert (after["series_id"] == "load-shared").sum() > 0  # p4's days stay
    # files that never held p1's or p3's rows: the same bytes
    untouched = [n for n in before_files if "kind=temperature" in n and n.endswith(".parquet")]
    assert untouched and all(after_files[n] == before_files[n] for n in untouched)
    # the lake reads back, as DuckDB/pyarrow and the Spark jobs read it
    dataset = ds.dataset(lake / layout.READINGS, format="parquet", partitioning="hive").to_table()
    assert dataset.num_rows == len(after)
    parts = lake_partitions(str(lake))
    consumption = sorted(p for p in parts if "kind=consumption" in p)
    assert len(read_rows(str(lake), None, consumption)) == (after["file"].str.contains("kind=consumption")).sum()
    # the manifest and chunk_archive say what the files hold
    manifest = json.loads((lake / layout.MANIFEST).read_text())
    points, total, fs = 0, 0, layout.open_lake(str(lake))[0]
    for k, entry in manifest["archives"].items():
        for name, rows in entry["files"].items():
            n, s = archives.file_sums(fs, f"{lake}/{k}/{name}")
            assert (n, f"{s:016x}") == (rows, entry["sums"][name])
            points, total = points + n, (total + s) % 2**64
    for k, entry in manifest["partitions"].items():
        assert entry["rows"] == pq.ParquetFile(lake / k / layout.PART).metadata.num_rows
    record = archives.archived(store, 2023)
    removed = ((before_rows["series_id"] == "load-p1") | p3_days(before_rows)) & before_rows["file"].str.contains(
        "/archive-2023"
    )
    assert (record.points, record.checksum) == (points, f"{total:016x}")
    assert record.points == before_record.points - int(removed.sum())
    # the access log says so, and still verifies
    entry = audit.entries(store, subject_id="p1", kind="rights")[-1].entry
    assert entry["action"] == "erase" and entry["detail"]["archive_years"] == [2023]
    assert entry["detail"]["archive_rows"] > 0 and entry["detail"]["archive_leftovers"] >= 2
    assert audit.verify(store).ok


def erase_p1_and_p3(store) -> None:
    for holder in ("p1", "p3"):
        rights.erase_member(store, CLI_ADMIN, holder, now=LATER)


@pytest.mark.postgres
def test_an_erasure_reaches_the_archived_year_on_postgresql(archived) -> None:
    store, lake, _ = archived
    before_files, before_rows, before_record = every_file(lake), rows_of(lake), archives.archived(store, 2023)
    assert (before_rows["series_id"] == "load-p1").sum() > 17_520 + 4_000  # 2023, two copies of a month, 2024

    erase_p1_and_p3(store)

    check_erased(store, lake, before_files, before_rows, before_record)


@pytest.mark.postgres
def test_an_erasure_reaches_the_archive_of_a_store_restored_on_sqlite(archived, tmp_path: Path) -> None:
    store, lake, url = archived
    taken = backup.take_backup(url, tmp_path / "backups", None, None)
    sqlite_url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    restore.restore(taken, sqlite_url, None, None)
    moved = open_store(sqlite_url)
    try:
        assert archives.archived(moved, 2023).points == archives.archived(store, 2023).points
        before_files, before_rows, before_record = every_file(lake), rows_of(lake), archives.archived(moved, 2023)

        erase_p1_and_p3(moved)

        check_erased(moved, lake, before_files, before_rows, before_record)
    finally:
        moved.close()


@pytest.mark.postgres
def test_an_erasure_stopped_after_the_files_is_run_again(archived) -> None:
    """Stopped after the files were replaced, before the lake's manifest and the store were: the files hold
    the new rows, the manifest and ``chunk_archive`` the old counts. The erasure run again finishes it."""
    store, lake, _ = archived
    before_files, before_rows, before_record = every_file(lake), rows_of(lake), archives.archived(store, 2023)
    old_manifest = (lake / layout.MANIFEST).read_bytes()
    with store.engine.connect() as conn:
        old_row = conn.execute(select(chunk_archive).where(chunk_archive.c.year == 2023)).one()
    cut = {"load-p1": ("consumption", None), "load-shared": ("consumption", [(ts(2020, 1, 1), ts(2023, 7, 1))])}
    done = archives.erase_archived(store, cut)
    assert done.rows > 0 and done.years == (2023,)
    (lake / layout.MANIFEST).write_bytes(old_manifest)  # as it was before the files were replaced
    archives.set_totals(store, 2023, old_row.points, old_row.checksum)
    assert hashlib.sha256((lake / layout.MANIFEST).read_bytes()).digest() == hashlib.sha256(old_manifest).digest()

    erase_p1_and_p3(store)  # the whole erasure again: the store's rows, and what is left in the lake

    after = rows_of(lake)
    assert not (after["series_id"] == "load-p1").any() and not p3_days(after).any()
    record = archives.archived(store, 2023)
    assert record.points == before_record.points - int(
        (((before_rows["series_id"] == "load-p1") | p3_days(before_rows))
         & before_rows["file"].str.contains("/archive-2023")).sum())  # fmt: skip
    assert audit.verify(store).ok
    assert every_file(lake).keys() <= before_files.keys() | {layout.MANIFEST}


@pytest.mark.postgres
def test_an_unreachable_lake_stops_the_erasure_before_anything_is_erased(archived) -> None:
    store, lake, _ = archived
    lake.rename(lake.with_name("elsewhere"))
    with pytest.raises(archives.ArchiveUnreachable, match="cannot be read"):
        rights.erase_member(store, CLI_ADMIN, "p1", now=LATER)
    assert any(p.id == "p1" for p in store.load_inventory("village").persons)
    assert not [e for e in audit.entries(store, subject_id="p1", kind="rights")]


@pytest.mark.postgres
def test_the_catalogue_lists_the_archived_years_public_datasets_only(archived) -> None:
    """The weather of the mairie is public: its archived 2023 is a dataset with its files; the households'
    consumption is personal: its archive is not listed (the months the store holds are, as non-public)."""
    _, lake, _ = archived
    found = {d["dct:title"]: d for d in lake_datasets(str(lake))}
    year = found["temperature readings of territory village, 2023 (archived)"]
    assert year["dct:accessRights"] == PUBLIC and year["regie:archivedYear"] == 2023
    files = sorted(str(p.relative_to(lake)) for p in lake.glob("readings/*/kind=temperature/*/archive-2023.parquet"))
    assert sorted(d["dcat:accessURL"].removeprefix(f"{lake}/") for d in year["dcat:distribution"]) == files
    assert year["regie:rows"] == sum(pq.ParquetFile(lake / f).metadata.num_rows for f in files)
    assert "consumption readings of territory village, 2023 (archived)" not in found
    assert found["consumption readings of territory village"]["dct:accessRights"] == NON_PUBLIC
    assert found["temperature readings of territory village"]["dct:accessRights"] == PUBLIC


@pytest.mark.postgres
def test_the_year_is_written_a_row_group_at_a_time(postgres_url: str, tmp_path: Path, monkeypatch) -> None:
    """With little held in memory (``FLUSH_POINTS``), each month file grows a row group at a time as the series
    are read; the lake holds the same points as the store did."""
    from regie.lake import archive

    store = open_store(postgres_url)
    try:
        store.save_inventory(inventory())
        fill(store)
        keys = ("load-p1", "load-p2", "load-shared", "temp")
        held = {k: store.read(k, ts(2022, 12, 1), ts(2024, 4, 1)) for k in keys}
        monkeypatch.setattr(archive, "FLUSH_POINTS", 1_000)  # less than a series' month: a row group a series
        report = archive_year(store, 2023, str(tmp_path / "lake"), now=LATER)
    finally:
        store.close()
    lake = tmp_path / "lake"
    june = pq.ParquetFile(lake / layout.partition("village", "consumption", "2023-06") / "archive-2023.parquet")
    assert june.metadata.num_row_groups == 3 and june.metadata.num_rows == 3 * 30 * 48
    assert all(f.endswith("/archive-2023.parquet") for f in report.files)
    got = rows_of(lake)
    for key, (t, v) in held.items():
        mine = got[got["series_id"] == key].sort_values("t")
        assert mine["t"].tolist() == t.tolist()
        np.testing.assert_array_equal(mine["value"].to_numpy(), v)


@pytest.mark.postgres
def test_a_member_asking_for_erasure_with_the_archive_out_of_reach_is_told_and_keeps_everything(archived) -> None:
    """A member's pages over an archived year: the dashboard's comparison with it is "no data", a period in it
    is a 410 naming the year. Erasure from /me with the archive out of reach: the page answers 503 with a
    message the member can act on (in their language), not a server error; their account, person and
    archived rows are all still there."""
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from regie.governance import accounts
    from regie.web import auth
    from regie.web.app import create_app

    store, lake, _ = archived
    account = accounts.create_account(store, "pone", "a long enough passphrase", "member", holder_id="p1",
                                      hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    session = accounts.create_session(store, account)
    app = create_app(store)
    app.state.secret = b"a test secret of the session cookie, long enough"
    rows_before = rows_of(lake)
    client = TestClient(app, follow_redirects=False, headers={"Accept-Language": "fr"})
    client.cookies.set(auth.PLAIN_COOKIE, session)
    # the public pages cover the history the store still serves (the publication reads from 2024 on)
    assert TestClient(app).get("/", follow_redirects=True).status_code == 200
    # the dashboard's own period (March 2024) compares with an archived March 2023: shown as no data, no error
    assert client.get("/me").status_code == 200
    assert client.get("/api/me/dashboard").json()["last_year_wh"] is None
    # a period inside the archived year: a 410 that says which year, without the lake's path
    gone = client.get("/me", params={"period": "month", "on": "2023-05-10"})
    assert gone.status_code == 410 and "Les relevés de 2023" in gone.text and str(lake) not in gone.text
    lake.rename(lake.with_name("elsewhere"))
    csrf = accounts.csrf_token(session, app.state.secret)
    r = client.post("/me/erase", data={"csrf_token": csrf, "confirm": "pone"})
    assert r.status_code == 503, r.status_code
    (said,) = re.findall(r'data-testid="error">([^<]*)<', r.text)
    assert "hors d'atteinte" in said and "Rien n'a été effacé" in said
    assert accounts.get_account(store, "pone") is not None
    assert any(p.id == "p1" for p in store.load_inventory("village").persons)
    lake.with_name("elsewhere").rename(lake)
    assert rows_of(lake).equals(rows_before)
