"""The chunk table by year (revision 0014): PostgreSQL's is partitioned by ``year``, a store of revision 0012
migrates with every reading kept, and the write path creates a year's partition when it first writes there."""

from __future__ import annotations

import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import MetaData, insert, select, text

from regie.model import Readings
from regie.operations import snapshot
from regie.store import migrate, open_store
from regie.store.engine import make_engine
from regie.store.partitions import partition_names, partitions
from regie.store.schema import chunk
from regie.store.timeseries import SeriesRef, TimeSeriesStore, chunk_years

FIXTURE_0012 = Path(__file__).parents[1] / "data" / "stores" / "regie-0012.sqlite"
PARIS = ZoneInfo("Europe/Paris")


def _copy_sqlite_into(sqlite_path: Path, url: str) -> None:
    """The 0012 fixture store's rows, table by table, into a PostgreSQL schema migrated to 0012."""
    src, dst = make_engine(f"sqlite:///{sqlite_path}"), make_engine(url)
    migrate.upgrade(dst, "0012")
    md = MetaData()
    with src.connect() as s, dst.begin() as d:
        md.reflect(s)
        for table in snapshot.data_tables(md):
            rows = [dict(r._mapping) for r in s.execute(select(table))]
            if rows:
                d.execute(insert(table), rows)
    src.dispose()
    dst.dispose()


@pytest.mark.postgres
def test_a_0012_store_on_postgresql_migrates_into_yearly_partitions_with_nothing_lost(
    postgres_url: str, tmp_path: Path
) -> None:
    shutil.copy(FIXTURE_0012, tmp_path / "regie-0012.sqlite")  # opening it would turn the fixture to WAL
    _copy_sqlite_into(tmp_path / "regie-0012.sqlite", postgres_url)
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        before, counts = snapshot.series_digests(conn), conn.execute(text("SELECT count(*) FROM chunk")).scalar()
    assert before["sensor-0"].points == 2000

    store = open_store(postgres_url)  # migrates to the newest revision
    try:
        with store.engine.connect() as conn:
            assert migrate.current_revision(store.engine) == migrate.revisions()[-1]
            assert conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('chunk')")).scalar() == "p"
            assert snapshot.series_digests(conn) == before
            assert conn.execute(text("SELECT count(*) FROM chunk")).scalar() == counts
            # the fixture's points are of 1 January 2025 (Paris); its raw and hourly chunks begin in 2024 (buckets
            # are counted from 1970), its day and month rollups are 2025's: each year has its partition
            per_year = {y: conn.execute(text(f"SELECT count(*) FROM chunk_y{y}")).scalar() for y in (2024, 2025)}
            assert per_year[2024] >= 1 and per_year[2025] >= 1 and sum(per_year.values()) == counts
            assert partitions(conn).live == {2024, 2025, 2026}
            assert "chunk_default" in partition_names(conn)
            assert conn.execute(text("SELECT count(*) FROM chunk_default")).scalar() == 0
            t, _ = store.read("sensor-0", 1_735_689_600, 1_735_689_600 + 20_000)
        assert len(t) == 2000
    finally:
        store.close()


@pytest.mark.postgres
def test_writing_into_a_new_year_creates_its_partition_and_a_restored_year_moves_out_of_the_default(
    postgres_url: str,
) -> None:
    store = open_store(postgres_url)
    engine = store.engine
    ts = TimeSeriesStore(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO territory (id, name, timezone) VALUES ('v', 'V', 'Europe/Paris')"))
        conn.execute(text("INSERT INTO series (id, key, territory_id, kind, unit, step, convention, resolution, name)"
                          " VALUES (1, 's', 'v', 'consumption', 'W', 'PT30M', 'start', 1, 's')"))  # fmt: skip
    ref = SeriesRef(1, "s", 1800, 1.0, PARIS)
    t = 1_893_452_400 + 1800 * np.arange(48, dtype=np.int64)  # 2030-01-01 00:00 Paris, one day
    with engine.begin() as conn:
        ts.write(conn, {"s": ref}, [Readings("s", t, np.full(48, 500.0))])
        years = {int(y) for (y,) in conn.execute(select(chunk.c.year).distinct())}
        assert partitions(conn).live >= {2029, 2030}
        assert conn.execute(text("SELECT count(*) FROM chunk_default")).scalar() == 0
    # the raw chunk of 2030-01-01 begins on 2029-12-xx (buckets are 2,048 steps from 1970): its year says so
    assert years == {int(chunk_years(ref, 0, np.array([t[0] // ref.raw_span]))[0]), 2030}
    # rows of a year without a partition (as a restore inserts them) land in the default partition, and move
    # into the year's own partition when the write path first needs it
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO chunk SELECT series_id, level, bucket + 100, n, t_min, t_max, data, 2041"
                          " FROM chunk WHERE level = 0"))  # fmt: skip
        assert conn.execute(text("SELECT count(*) FROM chunk_default WHERE year = 2041")).scalar() >= 1
    t2 = 2_240_607_600 + 1800 * np.arange(4, dtype=np.int64)  # 2041-01-01 00:00 Paris
    with engine.begin() as conn:
        TimeSeriesStore(engine).write(conn, {"s": ref}, [Readings("s", t2, np.full(4, 7.0))])
        assert conn.execute(text("SELECT count(*) FROM chunk_default")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM chunk_y2041 WHERE level = 0")).scalar() >= 1
    store.close()
