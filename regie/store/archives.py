"""The store's side of archiving a year (``regie archive``, :mod:`regie.lake.archive`): what the year's partition
holds, checked without the lake, and the step that drops it, on PostgreSQL's chunk table partitioned by year
(:mod:`regie.store.partitions`). The lake's side (reading through the gate, writing Parquet) is in regie/lake.

An archived year is still the store's to answer for: an erasure (GDPR art. 17) reaches its files
(:func:`erase_archived`), which the store finds through ``chunk_archive`` (the lake's paths from
:mod:`regie.lake.layout`, a leaf module of names).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem
from sqlalchemy import Connection, insert, select, text, update

from regie.lake import layout
from regie.store import codec, partitions
from regie.store.schema import chunk_archive
from regie.store.store import Store
from regie.store.timeseries import ROLLUP_CHUNK_HOURS

if TYPE_CHECKING:  # pyarrow is imported where a file is read or written: not by every process that erases
    import pyarrow as pa

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


def set_totals(store: Store, year: int, points: int, checksum: str) -> None:
    """What the archive of ``year`` holds after an erasure took rows out of it."""
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(update(chunk_archive).where(chunk_archive.c.year == year).values(points=points, checksum=checksum))


def all_archived(store: Store) -> list[Archived]:
    with store.engine.connect() as conn:
        return [Archived(*r) for r in conn.execute(select(chunk_archive).order_by(chunk_archive.c.year))]


# ---------------------------------------------------------------- erasure reaching the archived years

#: An erasure's cut of one series: its kind (the lake's ``kind=`` folder) and the [from, until) periods to take
#: out (None: every instant of it).
Cut = tuple[str, Sequence[tuple[int, int | None]] | None]

_END = 4_102_444_800  # 2100-01-01 UTC: no stored instant is later (as regie.store.erasure.END_OF_TIME)
_ROW_GROUP = 1 << 20
ARCHIVE_PREFIX = "archive-"


class ArchiveUnreachable(RuntimeError):
    """An erasure cannot reach an archived year's files (a lake not mounted, an archive left half-way): it
    stops before erasing anything, and says what to do."""


@dataclass(frozen=True, slots=True)
class ArchiveErasure:
    """What an erasure took out of the archived years' lakes: rows removed, files rewritten (or deleted, when
    nothing else was left in them), leftover temporary files deleted, the archived years whose totals changed."""

    rows: int = 0
    files: tuple[str, ...] = ()
    leftovers: int = 0
    years: tuple[int, ...] = field(default_factory=tuple)


def erase_archived(store: Store, cuts: Mapping[str, Cut]) -> ArchiveErasure:
    """Take the erased series' points (``cuts``: series key -> :data:`Cut`) out of every Parquet file of the
    lakes that archived years went to, before the store's own rows are touched (so that an erasure stopped
    half-way is run again from the start and finds what is left; one already done finds nothing).

    Why every file there and not only ``archive-YEAR.parquet``: the lake beside an archive also holds the
    store's months (``part-0.parquet``, rewritten by the next export anyway), an archive's hidden staged files
    and temporary files a crashed writer left in ``_tmp/``; the erased readings must be in none of them.

    Each file is rewritten whole and replaced in one step (written into ``_tmp/``, fsynced, renamed over the
    old one): a reader, or a crash, sees the old file or the new one. The lake's manifest (rows and checksum
    per archive file) and ``chunk_archive`` (points and checksum of each year) then say what the files hold.
    """
    if not cuts:
        return ArchiveErasure()
    records = all_archived(store)
    if not records:
        return ArchiveErasure()
    for a in records:
        if a.state != "done":
            raise ArchiveUnreachable(f"the archive of {a.year} to {a.dest} was interrupted: finish it with "
                                     f"`regie archive {a.year} --to {a.dest}`, then run the erasure again (nothing "
                                     "was erased)")  # fmt: skip
    lakes = {}
    for dest in sorted({a.dest for a in records}):
        fs, root = fsspec.core.url_to_fs(dest)
        root = root.rstrip("/")
        if not fs.exists(f"{root}/{layout.MANIFEST}"):
            raise ArchiveUnreachable(f"the lake at {dest}, where readings were archived, cannot be read (not mounted?):"
                                     " nothing was erased; make it reachable and run the erasure again")  # fmt: skip
        lakes[dest] = (fs, root)
    rows, files, leftovers, years = 0, [], 0, set()
    for dest, (fs, root) in lakes.items():
        leftovers += _sweep(fs, root)
        manifest = _manifest(fs, root)
        for kind in sorted({kind for kind, _ in cuts.values()}):
            mine = {k: periods for k, (kd, periods) in cuts.items() if kd == kind}
            for path in sorted(fs.glob(f"{root}/{layout.READINGS}/territory=*/kind={kind}/month=*/*.parquet")):
                if not _month_touched(path, mine.values()):
                    continue
                gone = _erase_file(fs, root, path, mine)
                if gone:
                    rows += gone
                    files.append(f"{dest.rstrip('/')}/{path[len(root) + 1 :]}")
        years |= _account(store, fs, root, manifest, [a.year for a in records if a.dest == dest])
    return ArchiveErasure(rows, tuple(files), leftovers, tuple(sorted(years)))


def _manifest(fs, root: str) -> dict:
    with fs.open(f"{root}/{layout.MANIFEST}", "rb") as f:
        return json.loads(f.read())


def _sweep(fs, root: str) -> int:
    """Delete what writers left in ``_tmp/`` (a crashed export or archive: copies of readings, whole or half
    written). A writer running at this very moment loses its temporary file and fails; run it again."""
    if not fs.exists(f"{root}/{layout.TMP}"):
        return 0
    found = list(fs.find(f"{root}/{layout.TMP}"))
    for p in found:
        fs.rm(p)
    return len(found)


def _month_touched(path: str, periods: Iterable) -> bool:
    """Whether a ``month=YYYY-MM`` partition may hold instants of the periods (a local month lies within a day
    of the UTC month)."""
    month = next(x for x in path.split("/") if x.startswith("month="))[6:]
    y, m = (int(x) for x in month.split("-"))
    lo = datetime(y, m, 1, tzinfo=UTC) - timedelta(days=1)
    hi = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC) + timedelta(days=1)
    a0, b0 = int(lo.timestamp()), int(hi.timestamp())
    return any(ps is None or any(a < b0 and (b if b is not None else _END) > a0 for a, b in ps) for ps in periods)


def _drop_mask(batch: pa.RecordBatch, cuts: Mapping[str, Sequence[tuple[int, int | None]] | None]) -> np.ndarray:
    """Which rows of a batch belong to the erased series' periods."""
    ids = batch.column(0)
    names = ids.dictionary.to_pylist()
    hit = [i for i, k in enumerate(names) if k in cuts]
    drop = np.zeros(len(batch), dtype=bool)
    if not hit:
        return drop
    idx = ids.indices.to_numpy(zero_copy_only=False)
    t = batch.column(1).to_numpy(zero_copy_only=False)
    for i in hit:
        rows = idx == i
        periods = cuts[names[i]]
        if periods is None:
            drop |= rows
        else:
            for a, b in periods:
                drop |= rows & (t >= a) & (t < (b if b is not None else _END))
    return drop


def _batches(fs, path: str, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq
    with fs.open(path, "rb") as f:
        yield from pq.ParquetFile(f).iter_batches(batch_size=1 << 16, columns=columns)


def _erase_file(fs, root: str, path: str, cuts: Mapping) -> int:
    """Rewrite one Parquet file without the erased rows; returns how many left (0: the file is untouched)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    gone = sum(int(_drop_mask(b, cuts).sum()) for b in _batches(fs, path, ["series_id", "t"]))
    if not gone:
        return 0
    with fs.open(path, "rb") as f:
        schema = pq.ParquetFile(f).schema_arrow

    def write(out) -> int:
        kept, pending, pending_rows = 0, [], 0
        with pq.ParquetWriter(out, schema, compression=layout.COMPRESSION) as writer:
            for b in _batches(fs, path):
                b = b.filter(pa.array(~_drop_mask(b, cuts)))
                if not len(b):
                    continue
                # the dictionary again from the rows kept: an erased series' key leaves the file too
                ids = b.column(0).dictionary_decode().dictionary_encode()
                pending.append(pa.RecordBatch.from_arrays([ids, b.column(1), b.column(2)], schema=schema))
                pending_rows += len(b)
                kept += len(b)
                if pending_rows >= _ROW_GROUP:
                    writer.write_table(pa.Table.from_batches(pending, schema), row_group_size=_ROW_GROUP)
                    pending, pending_rows = [], 0
            if pending:
                writer.write_table(pa.Table.from_batches(pending, schema), row_group_size=_ROW_GROUP)
        return kept

    if not replace_file(fs, root, path, write):
        fs.rm(path)  # nothing else was in it
    return gone


def replace_file(fs, root: str, path: str, write: Callable[[object], int]) -> int:
    """Write a file's new content through ``write(out)`` into the lake's ``_tmp/`` and put it in place in one step:
    on a local disk fsynced, renamed over the old file, the folder fsynced (a crash leaves the old file or the
    new one, never a mix); on object storage moved (an object appears whole). ``write`` returns how many rows it
    wrote; with none, nothing is put in place (the caller deletes the old file) and 0 is returned."""
    tmp = f"{root}/{layout.TMP}/{uuid.uuid4().hex}-{path.rsplit('/', 1)[-1]}"
    fs.makedirs(f"{root}/{layout.TMP}", exist_ok=True)
    local = isinstance(fs, LocalFileSystem)
    try:
        if local:
            with open(tmp, "wb") as out:
                n = write(out)
                out.flush()
                os.fsync(out.fileno())
        else:
            with fs.open(tmp, "wb") as out:
                n = write(out)
        if not n:
            return 0
        if local:
            os.replace(tmp, path)
            _fsync_dir(os.path.dirname(path))
        else:
            fs.mv(tmp, path)
        return n
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sums(fs, path: str) -> tuple[int, int]:
    """(rows, order-independent checksum) of a lake Parquet file, read batch by batch (:func:`point_sums`)."""
    count, total = 0, 0
    for b in _batches(fs, path):
        ids = b.column(0)
        hashes = np.array([key_hash(k) for k in ids.dictionary.to_pylist()], dtype=np.uint64)
        keys = hashes[ids.indices.to_numpy(zero_copy_only=False)] if len(hashes) else np.zeros(0, np.uint64)
        t, v = b.column(1).to_numpy(zero_copy_only=False), b.column(2).to_numpy(zero_copy_only=False)
        count += len(t)
        total = (total + point_sums(keys, t, v)) % 2**64
    return count, total


def _account(store: Store, fs, root: str, manifest: dict, years: list[int]) -> set[int]:
    """The manifest and ``chunk_archive`` brought in line with the files after an erasure: the rows of every
    listed file (the store's months in ``partitions``; archive files in ``archives``, with their checksum), then
    the points and checksum of each archived year whose files changed, the sums of its files'. A file whose rows
    no longer match the manifest (rewritten by this erasure, or by one stopped before it wrote the manifest) is
    summed again; a year's file without a checksum (archived by an older regie) too. Returns the years changed."""
    for key, entry in list(manifest.get("partitions", {}).items()):
        path = f"{root}/{key}/{layout.PART}"
        if not fs.exists(path):
            manifest["partitions"].pop(key)  # the next export writes it again if the store still holds some
            continue
        entry["rows"] = _rows(fs, path)
    listed = manifest.get("archives", {})
    changed: set[int] = set()
    for key, entry in list(listed.items()):
        sums = entry.setdefault("sums", {})
        for name, rows in list(entry["files"].items()):
            path = f"{root}/{key}/{name}"
            now_rows = _rows(fs, path) if fs.exists(path) else 0
            if now_rows != rows:
                changed.add(year_of_file(name))
                entry["files"][name] = now_rows
                sums.pop(name, None)
    changed &= set(years)
    totals: dict[int, tuple[int, int]] = {}
    for key, entry in list(listed.items()):
        sums = entry["sums"]
        for name in list(entry["files"]):
            year = year_of_file(name)
            if year not in changed:
                continue
            if not entry["files"][name]:  # emptied: the file is gone
                del entry["files"][name]
                continue
            if name not in sums:
                sums[name] = f"{file_sums(fs, f'{root}/{key}/{name}')[1]:016x}"
            n, s = totals.get(year, (0, 0))
            totals[year] = (n + entry["files"][name], (s + int(sums[name], 16)) % 2**64)
        if not entry["files"]:
            del listed[key]
    body = json.dumps(manifest, indent=1, sort_keys=True).encode()

    def write(out) -> int:
        out.write(body)
        return len(body)

    replace_file(fs, root, f"{root}/{layout.MANIFEST}", write)
    for year in sorted(changed):
        points, total = totals.get(year, (0, 0))
        set_totals(store, year, points, f"{total:016x}")
    return changed


def _rows(fs, path: str) -> int:
    import pyarrow.parquet as pq
    with fs.open(path, "rb") as f:
        return pq.ParquetFile(f).metadata.num_rows


def year_of_file(name: str) -> int:
    """The year an archive file holds, from its name (``archive-2023.parquet``)."""
    return int(name.removeprefix(ARCHIVE_PREFIX).split(".")[0])
