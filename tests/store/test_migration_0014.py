"""Revision 0014 (``chunk.year``, PostgreSQL's partitions, ``chunk_archive``) goes up from the 0013 fixture store
and back down to 0013 with every reading and row kept, on SQLite and PostgreSQL; back at 0013 the schema is
0013's; a store with an archived year refuses to go down (0013 would forget where the year went)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import MetaData, insert, inspect, select, text

from regie.lake.archive import archive_year
from regie.model import Inventory, Readings, Series, SeriesKind, Site, Step, Territory
from regie.operations import snapshot
from regie.store import migrate, open_store
from regie.store.engine import make_engine
from regie.store.partitions import partition_names

FIXTURE = Path(__file__).parents[1] / "data" / "stores" / "regie-0013.sqlite"


def state(engine) -> tuple[str | None, dict, dict]:
    with engine.connect() as conn:
        return migrate.current_revision(engine), snapshot.row_counts(conn, snapshot.reflect(conn)), \
            snapshot.series_digests(conn)  # fmt: skip


def shape(engine) -> dict[str, tuple]:
    """Each table's columns (name, nullable), primary key and foreign keys, as the database has them."""
    with engine.connect() as conn:
        skip = partition_names(conn)
        found = inspect(conn)
        return {
            t: (sorted((c["name"], c["nullable"]) for c in found.get_columns(t)),
                sorted(found.get_pk_constraint(t)["constrained_columns"]),
                sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in found.get_foreign_keys(t)))
            for t in sorted(found.get_table_names()) if t not in skip
        }  # fmt: skip


def at_0013(url: str, tmp_path: Path):
    """The 0013 fixture store at ``url``: copied on SQLite; on PostgreSQL, migrated to 0013 and its rows copied."""
    if url.startswith("sqlite"):
        shutil.copy(FIXTURE, Path(url.removeprefix("sqlite:///")))
        return make_engine(url)
    engine = make_engine(url)
    migrate.upgrade(engine, "0013")
    source = make_engine(f"sqlite:///{tmp_path / 'fixture.sqlite'}")
    shutil.copy(FIXTURE, tmp_path / "fixture.sqlite")
    try:
        with source.connect() as src, engine.execution_options(writer=True).begin() as dst:
            md = MetaData()
            md.reflect(dst)
            for table in snapshot.data_tables(snapshot.reflect(src)):
                rows = [dict(r) for r in src.execute(select(table)).mappings()]
                if rows:
                    dst.execute(insert(md.tables[table.name]), rows)
            snapshot.reset_sequences(dst, md)
    finally:
        source.dispose()
    return engine


def test_0014_goes_up_and_down_with_every_reading(store_url: str, tmp_path: Path) -> None:
    engine = at_0013(store_url, tmp_path)
    try:
        revision, counts, digests = state(engine)
        assert revision == "0013" and digests["sensor-0"].points == 2000
        before = shape(engine)

        migrate.upgrade(engine, "0014")
        up, up_counts, up_digests = state(engine)
        assert up == "0014" and up_digests == digests
        assert {k: v for k, v in up_counts.items() if k in counts} == counts and up_counts["chunk_archive"] == 0
        with engine.connect() as conn:
            years = conn.execute(text("SELECT DISTINCT year FROM chunk")).scalars().all()
            assert sorted(years) == [2024, 2025]  # from 2025-01-01 UTC; the first raw bucket begins on 31 December
            assert bool(partition_names(conn)) == (conn.dialect.name == "postgresql")

        migrate.downgrade(engine, "0013")
        down, down_counts, down_digests = state(engine)
        assert (down, down_counts, down_digests) == ("0013", counts, digests)
        assert shape(engine) == before  # 0013's tables, columns and keys, no partition left
        with engine.connect() as conn:
            assert partition_names(conn) == set()
            assert "year" not in {c["name"] for c in inspect(conn).get_columns("chunk")}

        migrate.upgrade(engine, "head")  # and up again, to the newest
        assert state(engine)[2] == digests
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_store_with_an_archived_year_does_not_go_down_to_0013(postgres_url: str, tmp_path: Path) -> None:
    paris = ZoneInfo("Europe/Paris")
    store = open_store(postgres_url)
    try:
        store.save_inventory(Inventory(
            Territory("village", "Village"), sites=[Site("mairie", "Mairie", "village")],
            series=[Series("temp", SeriesKind.TEMPERATURE, "degC", Step.parse("PT1H"), resolution=0.1,
                           site_id="mairie")],
        ))  # fmt: skip
        t = np.arange(datetime(2023, 1, 1, tzinfo=paris).timestamp(), datetime(2024, 6, 1, tzinfo=paris).timestamp(),
                      3600).astype(np.int64)  # fmt: skip
        store.write([Readings("temp", t, np.round(10 + 5 * np.sin(t / 86400), 1))])
        archive_year(store, 2023, str(tmp_path / "lake"), now=int(datetime(2026, 1, 1, tzinfo=paris).timestamp()))
        before = state(store.engine)
        with pytest.raises(RuntimeError, match="2023 were archived to the lake"):
            migrate.downgrade(store.engine, "0013")
        assert state(store.engine) == before  # nothing changed: the downgrade's transaction rolled back
    finally:
        store.close()
