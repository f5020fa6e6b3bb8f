"""The store's side of archiving a year (``regie archive``, :mod:`regie.lake.archive`): what the year's partition
holds, checked without the lake, and the step that drops it, on PostgreSQL's chunk table partitioned by year
(:mod:`regie.store.partitions`). The lake's side (reading through the gate, writing Parquet) is in regie/lake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, insert, select, text, update

from regie.store import codec, partitions
from regie.store.schema import chunk_archive
from regie.store.store import Store
from regie.store.timeseries import ROLLUP_CHUNK_HOURS

_K1, _K2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)


@dataclass(frozen=True, slots=True)
class Archived:
    """A row of ``chunk_archive``: a year moved to the lake, where, what it held; ``state`` detached, then done."""

    year: int
    dest: str
    points: int
    chunks: int
    checksum: str
    state: str
    archived_at: int


def point_sums(keys: np.ndarray, t: np.ndarray, values: np.ndarray) -> int:
    """An order-independent checksum of points: the sum mod 2**64 of a 64-bit mix of (series, instant, value
    bits) per point. ``keys``: a 64-bit hash of each point's series key (:func:`key_hash`)."""
    with np.errstate(over="ignore"):
        x = keys.astype(np.uint64) ^ (t.astype(np.int64).view(np.uint64) * _K1)
        x ^= np.ascontiguousarray(values, dtype=np.float64).view(np.uint64) * _K2
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        return int(x.sum(dtype=np.uint64))


def key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def archived(store: Store, year: int) -> Archived | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(chunk_archive).where(chunk_archive.c.year == year)).first()
    return None if row is None else Archived(*row)


def year_reach(store: Store, year: int) -> int:
    """The end [UTC s] of the last bucket of the year's raw and hourly chunks: until then a reading may still
    land in them; 0 when the store holds nothing of that year."""
    reach = 0
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT s.key, c.level, max(c.bucket) FROM chunk c JOIN series s"
                                 " ON s.id = c.series_id WHERE c.year = :y AND c.level < 2 GROUP BY s.key, c.level"),
                            {"y": year})  # fmt: skip
        for key, level, bucket in rows:
            span = store.ref(key).raw_span if level == 0 else 3600 * ROLLUP_CHUNK_HOURS
            reach = max(reach, (int(bucket) + 1) * span)
    return reach


def own_partition(store: Store, year: int) -> None:
    """The year in a partition of its own (split out of the default partition if it was there)."""
    with store.engine.execution_options(writer=True).begin() as conn:
        partitions.ensure_years(conn, {year})


def source_print(conn: Connection, year: int) -> str:
    """A digest of the year's raw chunks as stored (no value decoded): changes when any reading does."""
    h = hashlib.blake2b(digest_size=16)
    q = text(f"SELECT series_id, bucket, data FROM {partitions.live_name(year)} WHERE level = 0 ORDER BY 1, 2")
    for sid, bucket, data in conn.execute(q, execution_options={"yield_per": 1000}):
        h.update(f"{sid}:{bucket}:".encode() + bytes(data))
    return h.hexdigest()


def year_series(store: Store, year: int) -> dict[str, tuple[int, int]]:
    """series key -> [first instant, end) its raw chunks of ``year`` cover (whole buckets)."""
    with store.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT s.key, min(c.bucket), max(c.bucket) FROM {partitions.live_name(year)} c"
                                 " JOIN series s ON s.id = c.series_id WHERE c.level = 0 GROUP BY s.key"))  # fmt: skip
        spans = {key: (int(lo), int(hi)) for key, lo, hi in rows}
    return {key: (lo * store.ref(key).raw_span, (hi + 1) * store.ref(key).raw_span) for key, (lo, hi) in spans.items()}


def partition_sums(store: Store, year: int) -> tuple[int, int, int]:
    """(points, raw chunks, checksum) decoded straight from the year's partition, not through the lake."""
    count, chunks, total = 0, 0, 0
    q = text(f"SELECT s.key, c.n, c.data FROM {partitions.live_name(year)} c JOIN series s ON s.id = c.series_id"
             " WHERE c.level = 0")  # fmt: skip
    with store.engine.connect() as conn:
        for key, n, data in conn.execute(q, execution_options={"yield_per": 1000}):
            t, (q_values,) = codec.decode(bytes(data))
            if len(t) != n:
                raise ValueError(f"a chunk of series {key} says {n} points and holds {len(t)}")
            v = store.ref(key).scale(q_values)
            count += len(t)
            chunks += 1
            total = (total + point_sums(np.full(len(t), key_hash(key), dtype=np.uint64), t, v)) % 2**64
    return count, chunks, total


def drop_year(store: Store, year: int, dest: str, source: str, points: int, chunks: int, checksum: str,
              now: int) -> bool:  # fmt: skip
    """In one transaction, with the partition locked against writers: if its chunks are still those digested as
    ``source``, record the archive and replace the partition by one refusing every row; False (nothing done)
    when a reading was written meanwhile."""
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(text(f"LOCK TABLE {partitions.live_name(year)} IN SHARE MODE"))  # writers wait
        if source_print(conn, year) != source:
            return False
        conn.execute(insert(chunk_archive).values(year=year, dest=dest, points=points, chunks=chunks,
                                                  checksum=checksum, state="detached", archived_at=now))  # fmt: skip
        partitions.retire(conn, year)
    with store.engine.connect() as conn:
        store.timeseries.archives(conn, fresh=True)  # this process's reads now name the lake
    return True


def mark_done(store: Store, year: int) -> None:
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(update(chunk_archive).where(chunk_archive.c.year == year).values(state="done"))
