"""`regie archive YEAR --to DEST`: a year of readings leaves the PostgreSQL store for the Parquet lake, verified.

Why: a town's store grows by ~1 GB a year (docs/scale.md); old years are read rarely, and the lake (Spark,
DuckDB, pyarrow) reads them as well as the recent ones. PostgreSQL's ``chunk`` table is partitioned by year
(:mod:`regie.store.partitions`), so a year leaves by dropping its partition, never row by row.

What it does, in this order, so that nothing is dropped before the lake holds it:

1. refuses a year whose chunks may still be written (a raw chunk holds 2,048 steps, ~43 days at 30 minutes:
   a chunk begun in December reaches into the next year) and a store on SQLite (one unpartitioned table);
2. reads the year's raw points through the gate, as the lake account (one access-log entry per personal
   series, like ``regie export parquet``), and writes them into the lake's month partitions as hidden files
   (``_archive-YEAR.parquet``: readers skip names starting with ``_``);
3. verifies: the points read back from those files and the points decoded straight from the year's partition
   must agree in number and in an order-independent checksum of (series, instant, value); a series the gate
   withholds makes them disagree, and nothing is dropped;
4. in one transaction, with the partition locked against writers and its chunks unchanged since step 2,
   records the archive in ``chunk_archive`` and replaces the partition by an empty one that refuses rows;
5. runs the incremental export (the months' ``part-0.parquet`` files now hold only what is still in the
   store), then renames the hidden files to ``archive-YEAR.parquet`` and lists them in the lake's manifest
   (``archives``), where :mod:`regie.cluster` finds them.

A run stopped after step 4 is finished by running the command again. Rollups (hour, day, month) of the year
leave with it: the lake keeps raw points, from which every rollup is computed again.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from regie.governance import gate
from regie.governance.system_accounts import LAKE
from regie.governance.territories import list_territories
from regie.lake import layout
from regie.lake.export import (
    LAKE_REASON,
    PURPOSE,
    READINGS_SCHEMA,
    _exportable,
    _read_manifest,
    _Reader,
    _write_bytes,
    export_lake,
)
from regie.store import Store, archives

STAGED = "_archive-{year}.parquet"
ARCHIVED = "archive-{year}.parquet"


class ArchiveError(RuntimeError):
    """An archive refused or stopped before anything was dropped: the store still holds the year."""


@dataclass(slots=True)
class ArchiveReport:
    year: int
    dest: str
    points: int = 0
    chunks: int = 0
    checksum: str = ""
    files: list[str] = field(default_factory=list)
    already: bool = False
    seconds: float = 0.0


def archive_year(store: Store, year: int, dest: str, *, storage_options: dict | None = None,
                 now: int | None = None) -> ArchiveReport:  # fmt: skip
    """Move ``year``'s readings from the store into the lake at ``dest``; see the module."""
    t0 = time.perf_counter()
    if store.backend != "postgresql":
        raise ArchiveError("archiving a year needs PostgreSQL, whose chunk table is partitioned by year; "
                           "an SQLite store keeps its years (export them with `regie export parquet`)")  # fmt: skip
    now = int(time.time()) if now is None else now
    fs, root = layout.open_lake(dest, storage_options)
    record = archives.archived(store, year)
    report = ArchiveReport(year, dest)
    sums: dict[str, str] = {}  # partition -> checksum of its staged file (a run finishing an earlier one reads them)
    if record is not None:
        report.points, report.chunks, report.checksum = record.points, record.chunks, record.checksum
        if record.dest != dest:
            raise ArchiveError(f"{year} was archived to {record.dest}, not {dest}")
        if record.state == "done":
            report.already = True
            return report
    else:
        reach = archives.year_reach(store, year)
        if reach == 0:
            raise ArchiveError(f"the store holds no readings of {year}")
        if reach > now:
            when = datetime.fromtimestamp(reach).date().isoformat()
            raise ArchiveError(f"{year} cannot be archived yet: its chunks may still receive readings until {when} "
                               "(a chunk holds 2,048 steps, and an hourly rollup chunk 4,096 hours)")  # fmt: skip
        archives.own_partition(store, year)
        with store.engine.connect() as conn:
            source = archives.source_print(conn, year)
        staged = _write_staged(store, fs, root, year, now)
        lake_count, lake_sum, sums = _lake_sums(fs, root, staged)
        try:
            count, chunks, total = archives.partition_sums(store, year)
        except ValueError as exc:
            raise ArchiveError(f"{exc}: nothing was dropped") from None
        if (lake_count, lake_sum) != (count, total):
            for path in staged:
                fs.rm(f"{root}/{path}")
            raise ArchiveError(f"the lake's copy of {year} does not match the store ({lake_count:,} points in the "
                               f"lake, {count:,} in the store): nothing was dropped")  # fmt: skip
        report.points, report.chunks, report.checksum = count, chunks, f"{total:016x}"
        if not archives.drop_year(store, year, dest, source, count, chunks, report.checksum, now):
            raise ArchiveError(f"readings of {year} were written while it was being archived: run it again")
    _finish(store, fs, root, dest, year, storage_options, now, report, sums)
    report.seconds = time.perf_counter() - t0
    return report


#: Points held in memory while a year is written, across its month files: then each month's share is written as
#: a row group. Why: a town's year is ~500 million points (~8 GB as arrays); this keeps ~16 MB (and its copies).
FLUSH_POINTS = 1 << 20


class _MonthFiles:
    """One kind's staged month files of a territory, written as the series are read, a row group at a time."""

    def __init__(self, fs, root: str, tid: str, kind: str, bounds: list[tuple[str, int, int]], year: int) -> None:
        self.fs, self.root, self.tid, self.kind, self.bounds, self.year = fs, root, tid, kind, bounds, year
        self.parts: dict[int, list[tuple[str, np.ndarray, np.ndarray]]] = {}
        self.held = 0
        self.open: dict[int, tuple[str, object, pq.ParquetWriter]] = {}  # month -> (temporary path, file, writer)

    def add(self, key: str, t: np.ndarray, v: np.ndarray) -> None:
        idx = layout.month_of(t, self.bounds)
        cuts = np.flatnonzero(np.diff(idx)) + 1
        for pt, pv, pm in zip(np.split(t, cuts), np.split(v, cuts), np.split(idx, cuts), strict=True):
            if len(pt):
                self.parts.setdefault(int(pm[0]), []).append((key, pt, pv))
        self.held += len(t)
        if self.held >= FLUSH_POINTS:
            self.flush()

    def flush(self) -> None:
        for m, parts in sorted(self.parts.items()):
            if m not in self.open:
                tmp = f"{self.root}/{layout.TMP}/{uuid.uuid4().hex}-{STAGED.format(year=self.year)}"
                self.fs.makedirs(f"{self.root}/{layout.TMP}", exist_ok=True)
                out = self.fs.open(tmp, "wb")
                self.open[m] = (tmp, out, pq.ParquetWriter(out, READINGS_SCHEMA, compression=layout.COMPRESSION))
            dictionary = pa.array([k for k, _, _ in parts], pa.string())
            table = pa.table(
                [pa.DictionaryArray.from_arrays(pa.array(np.concatenate(
                    [np.full(len(t), i, dtype=np.int32) for i, (_, t, _) in enumerate(parts)])), dictionary),
                 pa.array(np.concatenate([t for _, t, _ in parts]).astype(np.int64, copy=False)),
                 pa.array(np.concatenate([v for _, _, v in parts]).astype(np.float64, copy=False))],
                schema=READINGS_SCHEMA,
            )  # fmt: skip
            self.open[m][2].write_table(table, row_group_size=len(table))
        self.parts, self.held = {}, 0

    def close(self) -> list[str]:
        """Every month file closed and moved onto its staged path; their paths (under the lake's root)."""
        self.flush()
        written = []
        for m, (tmp, out, writer) in sorted(self.open.items()):
            writer.close()
            out.close()
            path = f"{layout.partition(self.tid, self.kind, self.bounds[m][0])}/{STAGED.format(year=self.year)}"
            self.fs.makedirs(f"{self.root}/{path}".rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(tmp, f"{self.root}/{path}")
            written.append(path)
        self.open = {}
        return written

    def abandon(self) -> None:
        for tmp, out, writer in self.open.values():
            writer.close()
            out.close()
            self.fs.rm(tmp)
        self.open = {}


def _write_staged(store: Store, fs, root: str, year: int, now: int) -> list[str]:
    """The year's raw points, read through the gate one series at a time, as hidden files in the lake's month
    partitions, streamed (:data:`FLUSH_POINTS`): never the whole year in memory."""
    ranges = archives.year_series(store, year)
    who = _Reader(LAKE, LAKE_REASON, PURPOSE, now)
    written: list[str] = []
    for tid in sorted({t.id for t in list_territories(store)}):
        inv = store.load_inventory(tid)
        mine = [s for s in inv.series if s.id in ranges]
        if not mine:
            continue
        bounds = layout.months(min(ranges[s.id][0] for s in mine), max(ranges[s.id][1] for s in mine) - 1,
                               inv.territory.zone)  # fmt: skip
        for kind in sorted({s.kind.value for s in mine}):
            files = _MonthFiles(fs, root, tid, kind, bounds, year)
            try:
                for s in (s for s in mine if s.kind.value == kind):
                    a, b = ranges[s.id]
                    if gate.is_personal(store, s):
                        level = _exportable(store, who, s, a, b)
                        if level is None:
                            raise ArchiveError(f"the lake account may not read series {s.id} whole: nothing was "
                                               "dropped")  # fmt: skip
                        got = gate.read_personal(store, LAKE, s.id, a, b, level, PURPOSE, reason=LAKE_REASON, now=now)
                        t, v = got.t, got.values
                    else:
                        t, v = gate.read_open(store, s.id, a, b)
                    files.add(s.id, np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64))
                written += files.close()
            except BaseException:
                files.abandon()
                raise
    return written


def _lake_sums(fs, root: str, paths: list[str]) -> tuple[int, int, dict[str, str]]:
    """(points, checksum) of the staged files, read back batch by batch, and each file's checksum."""
    count, total, each = 0, 0, {}
    for path in paths:
        n, s = archives.file_sums(fs, f"{root}/{path}")
        count += n
        total = (total + s) % 2**64
        each[path.rsplit("/", 1)[0]] = f"{s:016x}"
    return count, total, each


def _finish(store: Store, fs, root: str, dest: str, year: int, storage_options: dict | None, now: int,
            report: ArchiveReport, sums: dict[str, str]) -> None:  # fmt: skip
    """After the partition is gone: the export without the year, then the archive files in place and listed."""
    export_lake(store, dest, storage_options=storage_options, now=now)
    manifest = _read_manifest(fs, root)
    listed = manifest.setdefault("archives", {})
    for staged in sorted(fs.glob(f"{root}/{layout.READINGS}/*/*/*/{STAGED.format(year=year)}")):
        final = staged.rsplit("/", 1)[0] + "/" + ARCHIVED.format(year=year)
        fs.mv(staged, final)
    for final in sorted(fs.glob(f"{root}/{layout.READINGS}/*/*/*/{ARCHIVED.format(year=year)}")):
        key = final[len(root) + 1 :].rsplit("/", 1)[0]
        with fs.open(final, "rb") as f:
            rows = pq.ParquetFile(f).metadata.num_rows
        checksum = sums.get(key) or f"{archives.file_sums(fs, final)[1]:016x}"
        tid, _kind, month = (x.split("=", 1)[1] for x in key.split("/")[1:4])
        zone = store.load_inventory(tid).territory.zone
        ((_, start, end),) = layout.months(_month_start(month, zone), _month_start(month, zone), zone)
        entry = listed.setdefault(key, {"files": {}, "start": start, "end": end})
        entry["files"][ARCHIVED.format(year=year)] = rows
        entry.setdefault("sums", {})[ARCHIVED.format(year=year)] = checksum  # what erasure keeps true
        report.files.append(final[len(root) + 1 :])
    _write_bytes(fs, root, layout.MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    archives.mark_done(store, year)


def _month_start(month: str, zone) -> int:
    y, m = (int(x) for x in month.split("-"))
    return int(datetime(y, m, 1, tzinfo=zone).timestamp())
