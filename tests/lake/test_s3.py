"""The lake on S3-compatible object storage: a real S3 HTTP server on loopback (moto's server), through s3fs.

The export writes, rewrites only what changed and reads back exactly as on a local folder; nothing leaves
127.0.0.1 (the endpoint is given explicitly, the credentials are moto's dummies).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from regie.lake import layout
from regie.lake.catalogue import lake_datasets
from regie.lake.export import export_lake
from regie.model import Readings
from regie.store import open_store


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A bucket on moto's S3 server on a free loopback port; the storage options that reach it."""
    from moto.server import ThreadedMotoServer

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    import s3fs

    s3fs.S3FileSystem(**options).mkdir("regie-lake")
    yield options
    server.stop()


def test_the_lake_on_s3_holds_the_same_points_and_rewrites_only_what_changed(demo_url: str, tmp_path: Path,
                                                                               s3: dict) -> None:  # fmt: skip
    copy = tmp_path / "store.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), copy)
    store = open_store(f"sqlite:///{copy}")
    dest = "s3://regie-lake/region"
    first = export_lake(store, dest, storage_options=s3)
    assert len(first.written) == 8 and first.rows == store.count_points()
    fs, root = layout.open_lake(dest, s3)
    table = ds.dataset(f"{root}/{layout.READINGS}", filesystem=fs, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == store.count_points()
    assert fs.glob(f"{root}/{layout.TMP}/*") == []
    assert export_lake(store, dest, storage_options=s3).written == []
    t0 = int(np.asarray(store.read("load-tr-01", 0, 2**40)[0])[-1])
    store.write([Readings("load-tr-01", np.array([t0], dtype=np.int64), np.array([4321.0]))])
    again = export_lake(store, dest, storage_options=s3)
    assert again.written == ["readings/territory=prats-de-mollo/kind=transformer_load/month=2025-02"]
    assert {d["dct:title"] for d in lake_datasets(dest, s3)} >= {"consumption readings of territory prats-de-mollo"}
    store.close()
