"""`regie export parquet` on the cut demo: Hive partitions that read back as the store's points, incremental
rewrites, whole files only, and the gate deciding (and logging) which personal series leave."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from demo_lake import END, START

from regie.governance import audit, gate
from regie.governance.accounts import get_account
from regie.lake import layout
from regie.lake.catalogue import NON_PUBLIC, PUBLIC, lake_datasets
from regie.lake.export import LAKE, export_lake
from regie.model import Readings
from regie.store import open_store
from regie.store.operations import load_operation, operation_ids

ACC_PURPOSE = "dpv:FulfilmentOfContractualObligation"


@pytest.fixture
def store(demo_url: str, tmp_path: Path):
    """A copy of the cut demo store per test (the tests write readings and log reads)."""
    copy = tmp_path / "store.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), copy)
    s = open_store(f"sqlite:///{copy}")
    yield s
    s.close()


def read_lake(root: Path):
    return ds.dataset(root / layout.READINGS, format="parquet", partitioning="hive").to_table().to_pandas()


def test_the_lake_holds_every_point_of_the_store_in_territory_kind_month_partitions(store, tmp_path: Path) -> None:
    report = export_lake(store, str(tmp_path / "lake"))
    lake = read_lake(tmp_path / "lake")
    assert len(lake) == store.count_points() == report.rows
    assert sorted(lake["month"].astype(str).unique()) == ["2025-01", "2025-02"]
    assert set(lake["kind"].astype(str)) == {"consumption", "production", "transformer_load", "temperature"}
    files = list((tmp_path / "lake" / layout.READINGS).rglob("*.parquet"))
    assert len(files) == len(report.written) == 8
    assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "ZSTD"
    # a series that describes no one, and a household's curve, exactly as the store holds them
    for sid in ("load-tr-03", "cons-hh-0001"):
        t, v = store.read(sid, int(START.timestamp()), int(END.timestamp()))
        mine = lake[lake["series_id"].astype(str) == sid].sort_values("t")
        np.testing.assert_array_equal(mine["t"].to_numpy(), t)
        np.testing.assert_array_equal(mine["value"].to_numpy(), v)
    series = pq.read_table(tmp_path / "lake" / layout.series_path("prats-de-mollo")).to_pandas()
    assert series.set_index("series_id").loc["cons-hh-0001", "personal"]
    assert not series.set_index("series_id").loc["load-tr-03", "personal"]


def test_a_second_export_rewrites_only_the_partition_whose_readings_changed(store, tmp_path: Path) -> None:
    dest = str(tmp_path / "lake")
    export_lake(store, dest)
    again = export_lake(store, dest)
    assert again.written == [] and again.unchanged == 8
    feb = int(START.timestamp()) + 40 * 86400
    store.write([Readings("cons-hh-0002", np.array([feb], dtype=np.int64), np.array([12345.0]))])
    third = export_lake(store, dest)
    # a chunk holds 2,048 steps (~43 days at 30 min): the months its span touches are rewritten, nothing else
    assert "readings/territory=prats-de-mollo/kind=consumption/month=2025-02" in third.written
    assert {p.split("/")[2] for p in third.written} == {"kind=consumption"}
    assert third.unchanged == 8 - len(third.written) >= 6
    lake = read_lake(tmp_path / "lake")
    hit = lake[(lake["series_id"].astype(str) == "cons-hh-0002") & (lake["t"] == feb)]
    assert hit["value"].tolist() == [12345.0]
    assert not (tmp_path / "lake" / layout.TMP).exists() or not list((tmp_path / "lake" / layout.TMP).iterdir())


def test_a_write_that_fails_half_way_leaves_the_old_partition_whole(tmp_path: Path) -> None:
    fs, root = layout.open_lake(str(tmp_path / "lake"))
    path = "readings/territory=x/kind=consumption/month=2025-01/part-0.parquet"

    def good(f, tmp: str) -> None:
        with f.open(tmp, "wb") as out:
            out.write(b"old and whole")

    def broken(f, tmp: str) -> None:
        with f.open(tmp, "wb") as out:
            out.write(b"half")
        raise OSError("disk full")

    layout.put_atomically(fs, root, path, good)
    with pytest.raises(OSError, match="disk full"):
        layout.put_atomically(fs, root, path, broken)
    assert (tmp_path / "lake" / path).read_bytes() == b"old and whole"
    assert list((tmp_path / "lake" / layout.TMP).iterdir()) == []


def test_every_personal_series_exported_is_one_logged_read(store, tmp_path: Path) -> None:
    before = len(audit.entries(store, kind="access"))
    export_lake(store, str(tmp_path / "lake"))
    reads = [e.entry for e in audit.entries(store, kind="access")[before:]]
    personal = [s for s in store.load_inventory().series if gate.is_personal(store, s)]
    assert len(reads) == len(personal) > 600
    assert {(r["caller"], r["decision"]) for r in reads} == {(LAKE.label, "allowed")}


def test_an_operator_exports_only_the_curves_its_grants_allow(store, tmp_path: Path) -> None:
    """The demo's PMO holds PT30M grants of the ACC participants for ACC: their curves leave, no one else's."""
    pmo = get_account(store, "pmo")
    op = load_operation(store, operation_ids(store)[0]).operation
    inv = store.load_inventory()
    granted = {s.id for s in inv.series if s.prm in {p.prm for p in op.participants}}
    report = export_lake(store, str(tmp_path / "lake"), caller=pmo, reason=None, purpose=ACC_PURPOSE,
                         now=int(START.timestamp()) + 86400)  # fmt: skip
    lake = read_lake(tmp_path / "lake")
    exported = set(lake["series_id"].astype(str))
    personal = {s.id for s in inv.series if gate.is_personal(store, s)}
    assert exported & personal == granted & personal and len(granted & personal) >= 10
    assert set(report.withheld) == personal - granted
    assert "load-tr-03" in exported  # what describes no one leaves whatever the grants
    manifest = json.loads((tmp_path / "lake" / layout.MANIFEST).read_text())
    assert set(manifest["withheld"]["prats-de-mollo"]) == personal - granted


def test_the_catalogue_describes_each_territory_and_kind(store, tmp_path: Path) -> None:
    export_lake(store, str(tmp_path / "lake"))
    found = {d["dct:title"]: d for d in lake_datasets(str(tmp_path / "lake"))}
    cons = found["consumption readings of territory prats-de-mollo"]
    assert cons["dct:accessRights"] == NON_PUBLIC
    assert found["transformer_load readings of territory prats-de-mollo"]["dct:accessRights"] == PUBLIC
    assert len(cons["dcat:distribution"]) == 2
    assert cons["dct:temporal"]["dcat:startDate"] == "2024-12-31T23:00:00Z"
    assert cons["regie:rows"] == sum(len(store.read(s.id, 0, 2**40)[0]) for s in store.load_inventory().series
                                     if s.kind.value == "consumption")  # fmt: skip
