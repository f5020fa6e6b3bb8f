"""Fingerprints of stored raw chunks: what changed since an export, without decoding a value.

Why: the Parquet lake (:mod:`regie.lake`) rewrites only the partitions whose source changed. A chunk's
digest (BLAKE2b of its compressed bytes, with its bucket, count and time span) changes whenever any of its
points does, so a partition's fingerprint is the digest of the chunks that overlap it. No value is decoded
here: the values themselves are read through the gate by the export.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from regie.store.schema import chunk, series
from regie.store.store import Store


@dataclass(frozen=True, slots=True)
class ChunkPrint:
    """One raw chunk of a series: its span [t_min, t_max] (UTC s), its point count and its digest."""

    series_key: str
    t_min: int
    t_max: int
    n: int
    digest: bytes


def raw_chunk_prints(store: Store, territory_id: str) -> list[ChunkPrint]:
    """Every raw chunk of a territory's series, ordered by series and time."""
    q = (
        select(series.c.key, chunk.c.bucket, chunk.c.n, chunk.c.t_min, chunk.c.t_max, chunk.c.data)
        .join(series, series.c.id == chunk.c.series_id)
        .where((series.c.territory_id == territory_id) & (chunk.c.level == 0))
        .order_by(series.c.key, chunk.c.bucket)
    )
    out: list[ChunkPrint] = []
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            h = hashlib.blake2b(bytes(r.data), digest_size=16)
            h.update(f"{r.bucket}:{r.n}:{r.t_min}:{r.t_max}".encode())
            out.append(ChunkPrint(r.key, int(r.t_min), int(r.t_max), int(r.n), h.digest()))
    return out
