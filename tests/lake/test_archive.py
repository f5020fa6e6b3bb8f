"""`regie archive YEAR --to DEST` on PostgreSQL: a year leaves the store for the lake, verified; the lake then
holds every point once (the store's months in part-0, the archived year beside them); reading or writing the
archived year in the store says where it went; SQLite and a year still being written are refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from regie.cli import app
from regie.cluster.tasks import partitions as lake_partitions
from regie.cluster.tasks import read_rows
from regie.governance import audit
from regie.lake import layout
from regie.lake.archive import ArchiveError, archive_year
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
from regie.store import open_store
from regie.store.timeseries import ArchivedYear

PARIS = ZoneInfo("Europe/Paris")
PRM = "30001234567890"
LATER = int(datetime(2026, 12, 1, tzinfo=PARIS).timestamp())  # "now": 2023 is long over


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=PARIS).timestamp())


def inventory() -> Inventory:
    return Inventory(
        Territory("village", "Village"),
        sites=[Site("house", "House", "village")],
        delivery_points=[DeliveryPoint(PRM, "house")],
        persons=[Person("p1", "Someone")],
        memberships=[Membership("p1", PRM, datetime(2020, 1, 1).date())],
        series=[
            Series("load", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=PRM),
            Series("temp", SeriesKind.TEMPERATURE, "degC", Step.parse("PT30M"), resolution=0.1, site_id="house"),
        ],
    )


def fill(store) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """2023 and the first three months of 2024, every half-hour, both series."""
    t = np.arange(ts(2023, 1, 1), ts(2024, 4, 1), 1800, dtype=np.int64)
    rng = np.random.default_rng(7)
    data = {"load": (t, rng.integers(100, 9000, len(t)).astype(float)),
            "temp": (t, np.round(rng.normal(10, 6, len(t)), 1))}  # fmt: skip
    store.write([Readings(k, tt, v) for k, (tt, v) in data.items()])
    return data


@pytest.fixture
def pg_store(postgres_url: str):
    s = open_store(postgres_url)
    s.save_inventory(inventory())
    yield s
    s.close()


def lake_points(root: Path) -> pd.DataFrame:
    return ds.dataset(root / layout.READINGS, format="parquet", partitioning="hive").to_table().to_pandas()


@pytest.mark.postgres
def test_a_year_leaves_for_the_lake_verified_and_the_lake_holds_every_point_once(pg_store, tmp_path: Path) -> None:
    data = fill(pg_store)
    with pg_store.engine.connect() as conn:
        in_2023 = conn.execute(text("SELECT sum(n) FROM chunk WHERE year = 2023 AND level = 0")).scalar()
    logged = len(audit.entries(pg_store))
    lake = tmp_path / "lake"

    report = archive_year(pg_store, 2023, str(lake), now=LATER)

    assert report.points == in_2023 and report.points >= 2 * 17_520  # the whole of 2023, and a few weeks after
    assert report.files and all(f.endswith("/archive-2023.parquet") for f in report.files)
    with pg_store.engine.connect() as conn:
        q = (
            "SELECT relname FROM pg_class WHERE relname LIKE 'chunk_y2023%' AND relkind = 'r'"
            " AND relnamespace = current_schema()::regnamespace"
        )  # this test's schema, not another's
        names = {r[0] for r in conn.execute(text(q))}
        assert names == {"chunk_y2023_archived"}
        assert conn.execute(text("SELECT count(*) FROM chunk WHERE year = 2023")).scalar() == 0
    # the lake: every point written, once (months of the store in part-0, 2023's chunks in archive-2023)
    got = lake_points(lake)
    for key, (t, v) in data.items():
        mine = got[got["series_id"] == key].sort_values("t")
        assert mine["t"].tolist() == t.tolist()
        np.testing.assert_array_equal(mine["value"].to_numpy(), v)
    # the Spark jobs' reader finds the archived months too (a month that only the archive holds included)
    parts = lake_partitions(str(lake))
    assert "readings/territory=village/kind=consumption/month=2023-06" in parts
    rows = read_rows(str(lake), None, sorted(p for p in parts if "kind=consumption" in p))
    assert len(rows) == len(data["load"][0])
    # the store refuses the archived year, naming where it went; what it still holds reads as before
    with pytest.raises(ArchivedYear, match=f"2023 were archived to the lake at {lake}"):
        pg_store.read("temp", ts(2023, 6, 1), ts(2023, 7, 1))
    with pytest.raises(ArchivedYear, match="regie archive"):
        pg_store.write([Readings("temp", np.array([ts(2023, 6, 1)]), np.array([3.0]))])
    t, v = pg_store.read("temp", ts(2024, 3, 1), ts(2024, 4, 1))
    assert len(t) == 31 * 48 - 2 and np.array_equal(v, data["temp"][1][data["temp"][0] >= ts(2024, 3, 1)])
    # again: nothing to do
    assert archive_year(pg_store, 2023, str(lake), now=LATER).already
    assert len(audit.entries(pg_store)) > logged  # the personal series left through the gate, logged


@pytest.mark.postgres
def test_a_year_still_being_written_is_refused_and_nothing_leaves(pg_store, tmp_path: Path) -> None:
    fill(pg_store)
    with pytest.raises(ArchiveError, match="cannot be archived yet"):
        archive_year(pg_store, 2024, str(tmp_path / "lake"), now=ts(2024, 4, 2))
    with pytest.raises(ArchiveError, match="no readings of 2019"):
        archive_year(pg_store, 2019, str(tmp_path / "lake"), now=LATER)
    with pg_store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM chunk WHERE year = 2024")).scalar() > 0
    assert not (tmp_path / "lake" / layout.READINGS).exists()


def test_an_sqlite_store_is_refused_by_the_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    store = open_store(url)
    store.save_inventory(inventory())
    fill(store)
    store.close()
    result = CliRunner().invoke(app, ["archive", "2023", "--to", str(tmp_path / "lake"), "--database-url", url])
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output
