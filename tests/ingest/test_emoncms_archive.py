"""emoncms backups: PHPFina / PHPTimeSeries files from a folder, a .tar.gz or a .zip; names from emoncms.sql."""

from __future__ import annotations

import io
import shutil
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from regie.ingest import IngestError
from regie.ingest.emoncms_archive import parse_archive, parse_feeds_sql, read_archive
from regie.ingest.importer import Importer
from regie.model import Inventory, SeriesKind, Step, Territory
from regie.store import open_store

DATA = Path(__file__).parents[1] / "data"
START = 1714521600  # 2024-05-01T00:00:00Z, the sample backup's first instant


def collect(batches) -> dict:
    out: dict = {}
    for b in batches:
        prev = out.get(b.series_id)
        if prev is None:
            out[b.series_id] = b
        else:
            out[b.series_id] = type(b)(
                b.series_id,
                np.concatenate([prev.t, b.t]),
                np.concatenate([prev.values, b.values]),
                unit=b.unit,
                step=b.step,
                kind=b.kind,
                name=b.name,
            )
    return out


@pytest.fixture
def backup(tmp_path) -> Path:
    folder = tmp_path / "backup"
    shutil.copytree(DATA / "emoncms_backup", folder)
    return folder


def test_folder_feeds_names_units_and_gaps():
    got = collect(read_archive(DATA / "emoncms_backup"))
    assert sorted(got) == ["emoncms-1", "emoncms-2", "emoncms-3"]
    power, kwh, temp = got["emoncms-1"], got["emoncms-2"], got["emoncms-3"]
    assert power.name == "house_power" and power.unit == "W" and power.step == Step(seconds=10)
    assert len(power) == 8640 - 30  # the 30 NaN of the five-minute outage stay gaps
    assert power.t[0] == START and power.t[100] == START + 130 * 10
    assert power.values[0] == 250 and not np.isnan(power.values).any()
    assert kwh.unit == "Wh" and kwh.values[0] == pytest.approx(50, abs=1e-3)  # 0.05 kWh → 50 Wh
    assert temp.name == "cellar temp 'north'" and temp.unit == "degC" and temp.kind is SeriesKind.TEMPERATURE
    assert temp.step is None and temp.t[0] == START + 7 and temp.values[0] == pytest.approx(18.5)


def test_blocks_stream_the_same_points(backup):
    whole = collect(read_archive(backup))
    blocks = list(read_archive(backup, block_points=1000))
    assert max(len(b) for b in blocks) <= 1000
    assert [b.progress for b in blocks][-1] == 1.0
    small = collect(blocks)
    for k, b in whole.items():
        assert np.array_equal(small[k].t, b.t) and np.array_equal(small[k].values, b.values)


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_archives_read_like_the_folder(backup, tmp_path, kind):
    path = tmp_path / f"emoncms-backup.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for f in backup.rglob("*"):
                if f.is_file():
                    z.write(f, Path("var/opt/emoncms") / f.relative_to(backup))
    else:
        with tarfile.open(path, "w:gz") as tar:
            tar.add(backup, arcname="emoncms-backup")
    whole = collect(read_archive(backup))
    with open(path, "rb") as fh:  # as an upload: a stream
        got = collect(parse_archive(fh, path.name))
    assert sorted(got) == sorted(whole)
    for k, b in whole.items():
        assert np.array_equal(got[k].t, b.t) and got[k].name == b.name


def test_meta_and_dat_size_mismatches_name_the_file_and_offset(backup):
    (backup / "phpfina" / "1.meta").write_bytes(struct.pack("<3I", 0, 0, 10))
    with pytest.raises(IngestError, match="12 bytes, expected 16") as err:
        list(read_archive(backup))
    assert err.value.source == "backup:phpfina/1.meta"
    (backup / "phpfina" / "1.meta").write_bytes(struct.pack("<4I", 0, 0, 10, START))
    with open(backup / "phpfina" / "2.dat", "ab") as fh:
        fh.write(b"\x00\x01")
    with pytest.raises(IngestError, match="not a multiple of 4") as err:
        list(read_archive(backup))
    assert err.value.source == "backup:phpfina/2.dat" and err.value.field == "byte 576"


def test_truncated_phptimeseries_and_future_times(backup):
    myd = backup / "phptimeseries" / "feed_3.MYD"
    data = myd.read_bytes()
    myd.write_bytes(data[:-4])
    with pytest.raises(IngestError, match="9-byte records") as err:
        list(read_archive(backup))
    assert err.value.field == "byte 423"
    rec = bytearray(data)
    rec[9 * 5 + 1 : 9 * 5 + 5] = struct.pack("<I", 4102444800 - 1)  # 2099
    myd.write_bytes(bytes(rec))
    with pytest.raises(IngestError, match="future") as err:
        list(read_archive(backup))
    assert "byte offset 45" in err.value.why
    myd.write_bytes(data)
    (backup / "phpfina" / "1.meta").write_bytes(struct.pack("<4I", 0, 0, 10, 4000000000))
    with pytest.raises(IngestError, match="future"):
        list(read_archive(backup))


def test_not_an_archive_and_hostile_paths(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not an archive")
    with pytest.raises(IngestError, match="not a folder"):
        list(read_archive(junk))
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../../escape/1.meta")
        payload = struct.pack("<4I", 0, 0, 10, START)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(IngestError):
        list(read_archive(evil))
    assert not (tmp_path.parent / "escape").exists()


def test_feeds_sql_with_a_column_list_nulls_and_escapes():
    sql = (
        "INSERT INTO `feeds` (`id`, `name`, `tag`, `unit`, `engine`) VALUES "
        "(7,'pv \\\\ roof','solar',NULL,5),(8,'it''s warm','emonth','°C',2);"
    )
    feeds = parse_feeds_sql(sql)
    assert feeds[7].name == "pv \\ roof" and feeds[7].unit == "" and feeds[7].engine == 5
    assert feeds[8].name == "it's warm" and feeds[8].unit == "°C"


def test_import_creates_a_series_per_feed_atomically_and_idempotently(store_url, backup):
    store = open_store(store_url)
    store.save_inventory(Inventory(territory=Territory("prats", "Prats-de-Mollo-la-Preste")))
    importer = Importer(store)
    report = importer.import_path("emoncms-archive", backup, block_points=2000)
    assert report.created == ["emoncms-1", "emoncms-2", "emoncms-3"]
    assert report.points_written == 8610 + 144 + 48
    assert store.series("emoncms-1").name == "house_power"
    assert store.series("emoncms-2").unit == "Wh"
    assert store.series("emoncms-3").kind is SeriesKind.TEMPERATURE
    _, v = store.read("emoncms-3", START, START + 86400)
    assert v[:3].tolist() == [18.5, 18.6, 18.7]  # stored at 0.01 °C
    again = importer.import_path("emoncms-archive", backup, block_points=2000)
    assert again.created == [] and store.count_points() == 8610 + 144 + 48
    # A corrupt archive (PHPTimeSeries truncated) writes nothing, not even its good PHPFina feeds.
    other = backup.parent / "other"
    shutil.copytree(backup, other)
    myd = other / "phptimeseries" / "feed_3.MYD"
    myd.write_bytes(myd.read_bytes()[:-1])
    with pytest.raises(IngestError):
        importer.import_path("emoncms-archive", other, prefix="garage")
    assert not any(s.id.startswith("garage") for s in store.load_inventory().series)
    store.close()
