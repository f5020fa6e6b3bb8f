"""Where things are in the lake, and how a file gets there without a reader ever seeing half of it.

Layout (Hive partitioning, so that Spark, DuckDB and pyarrow prune on the path alone)::

    DEST/readings/territory=T/kind=K/month=YYYY-MM/part-0.parquet   series_id, t (UTC s, start), value
    DEST/series/territory=T/part-0.parquet                          one row per series (kind, unit, step...)
    DEST/meta/territory=T.json                                      what the jobs need (regie.lake.meta)
    DEST/_manifest.json                                             each partition's source fingerprint

Months are the territory's local calendar months (the store's rollups and the balance's months are local).
Files and folders starting with ``_`` are hidden from Spark, DuckDB and pyarrow dataset discovery: the
manifest and the ``_tmp`` folder where files are written before being moved into place.

A partition is one Parquet file. It is written into ``_tmp/`` and then moved onto its path: a rename on a
local disk (atomic on POSIX), a server-side copy on S3-compatible storage (an object appears whole or not
at all). A reader sees the old partition or the new one, never a half-written one.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import fsspec
import numpy as np
from fsspec import AbstractFileSystem

from regie.model.calendar import period_starts

READINGS = "readings"
SERIES = "series"
META = "meta"
MANIFEST = "_manifest.json"
TMP = "_tmp"
PART = "part-0.parquet"
COMPRESSION = "zstd"


def open_lake(dest: str, storage_options: dict | None = None) -> tuple[AbstractFileSystem, str]:
    """(filesystem, root path) for a local folder or a URL (``s3://bucket/prefix``: s3fs, credentials from the
    usual AWS variables or ``storage_options``)."""
    fs, root = fsspec.core.url_to_fs(dest, **(storage_options or {}))
    return fs, root.rstrip("/")


def partition(territory: str, kind: str, month: str) -> str:
    return f"{READINGS}/territory={territory}/kind={kind}/month={month}"


def partition_files(fs: AbstractFileSystem, root: str, partition_path: str) -> list[str]:
    """A partition's Parquet files: its ``part-0.parquet`` (what the store holds) and the years archived from
    the store (``archive-YEAR.parquet``, :mod:`regie.lake.archive`); hidden names (``_``, ``.``) are skipped,
    as Spark, DuckDB and pyarrow skip them."""
    found = fs.glob(f"{root}/{partition_path}/*.parquet")
    return sorted(f for f in found if not f.rsplit("/", 1)[-1].startswith(("_", ".")))


def series_path(territory: str) -> str:
    return f"{SERIES}/territory={territory}/{PART}"


def meta_path(territory: str) -> str:
    return f"{META}/territory={territory}.json"


def months(start: int, end: int, zone: ZoneInfo) -> list[tuple[str, int, int]]:
    """(YYYY-MM, first instant, end instant) of the local months that [start, end] touches [UTC s]."""
    edges = period_starts(start, end, "month", zone)
    return [(datetime.fromtimestamp(int(a), zone).strftime("%Y-%m"), int(a), int(b))
            for a, b in itertools.pairwise(edges)]  # fmt: skip


def month_of(t: np.ndarray, bounds: list[tuple[str, int, int]]) -> np.ndarray:
    """Index into ``bounds`` of each instant (``bounds`` as :func:`months` gives them)."""
    starts = np.array([a for _, a, _ in bounds], dtype=np.int64)
    return np.searchsorted(starts, t, side="right") - 1


def put_atomically(fs: AbstractFileSystem, root: str, path: str,
                   write: Callable[[AbstractFileSystem, str], None]) -> None:  # fmt: skip
    """Write through ``write(fs, tmp_path)`` into ``_tmp/``, then move onto ``root/path`` in one step."""
    tmp = f"{root}/{TMP}/{uuid.uuid4().hex}-{path.rsplit('/', 1)[-1]}"
    final = f"{root}/{path}"
    fs.makedirs(f"{root}/{TMP}", exist_ok=True)
    fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
    try:
        write(fs, tmp)
        fs.mv(tmp, final)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)
