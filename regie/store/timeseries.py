"""The time-series store: write a batch, read a range, read rollups — on SQLite or PostgreSQL.

Points live in compressed chunks (:mod:`regie.store.codec`), one row per (series, level, bucket):

- level 0 holds raw points; a bucket spans ``RAW_CHUNK_POINTS`` steps of the series;
- levels 1–3 hold hour, day and month rollups (count, sum, min, max of the quantised values), with
  periods in the territory's local time. A level is *materialised* only where it is at least 4× coarser
  than the series' step: a 30-minute series keeps day and month rollups; its hours are computed from the
  raw points at read time, which reads as many points as a stored hourly rollup would (Home Assistant's
  recorder makes the same trade with its short-term statistics).

A value lasts its series' step. A batch may say how long each of its values lasts (``steps``, seconds per
value, as :class:`regie.ingest.sources.SourceReadings` does): values of another duration are put onto the
series' own steps first (:func:`onto_steps`), so that every stored point covers one step and energy =
mean × count × step holds everywhere, whatever mix of steps a source sent (docs/architecture.md, "Mixed
steps").

Writes are atomic per call (one transaction: a bad batch writes nothing) and idempotent (a reading is
keyed by series and instant; the last value written wins, the same reading twice is stored once).
Writers are serialised per series: ``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on
PostgreSQL.

On PostgreSQL the chunk table is partitioned by year (:mod:`regie.store.partitions`): a year archived to the
lake (``regie archive``) is gone from the store, and reading or writing into it raises :class:`ArchivedYear`,
which says where it went.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, Engine, and_, bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from regie.model.calendar import LEVELS, Level, nominal_seconds, period_starts
from regie.model.readings import Readings
from regie.model.series import Quantity, Series
from regie.store import codec, partitions
from regie.store.schema import chunk, chunk_archive

RAW_CHUNK_POINTS = 2048
ROLLUP_CHUNK_HOURS = 4096
DEFAULT_IRREGULAR_STEP = 10  # emoncms inputs arrive every ~10 s
LEVEL_NUMBER: dict[str, int] = {"raw": 0, "hour": 1, "day": 2, "month": 3}
MAX_ABS_QUANTUM = 2**52  # keeps differences inside int64 and values exact in float64
T_MIN, T_MAX = 0, 4102444800  # 1970-01-01 .. 2100-01-01 UTC
#: How a value that does not last its series' step goes onto the steps (:func:`onto_steps`), by quantity;
#: any other quantity (temperature, voltage, a ratio) averages what covers each step ("mean").
SPREAD = {Quantity.POWER: "power", Quantity.APPARENT_POWER: "power", Quantity.ENERGY: "energy"}
MAX_STEPS_PER_VALUE = 4096  # a day of 30-second steps; more is a unit mistake, not a meter's interval
ARCHIVES_FRESH_S = 30  # how long a process trusts its list of archived years before reading it again


#: Inside :func:`live_only`, reads leave archived years out instead of refusing them.
_LIVE_ONLY: ContextVar[bool] = ContextVar("regie_live_only", default=False)


@contextmanager
def live_only() -> Iterator[None]:
    """Read what the store still holds, leaving archived years out silently: for the lake's export, whose
    archived years are in the lake already. Every other reader is told where an archived year went."""
    token = _LIVE_ONLY.set(True)
    try:
        yield
    finally:
        _LIVE_ONLY.reset(token)


class StoreError(ValueError):
    """A batch the store refuses; nothing of the batch was written."""


class ArchivedYear(StoreError, LookupError):
    """Readings of a year that ``regie archive`` moved to the Parquet lake: neither read nor written here."""

    def __init__(self, year: int, dest: str, archived_at: int | None) -> None:
        self.year, self.dest, self.archived_at = year, dest, archived_at
        when = f" on {datetime.fromtimestamp(archived_at).date().isoformat()}" if archived_at else ""
        super().__init__(
            f"the readings of {year} were archived to the lake at {dest}{when} (regie archive) and are no longer in "
            f"this store: read them there (regie cluster ... {dest}, DuckDB or pyarrow over {dest}/readings)"
        )


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """What the store needs to know about a series to place and roll up its points."""

    id: int
    key: str
    step_seconds: int | None
    resolution: float
    zone: ZoneInfo
    spread: str = "power"  # power, energy or mean: see onto_steps

    @property
    def raw_span(self) -> int:
        return (self.step_seconds or DEFAULT_IRREGULAR_STEP) * RAW_CHUNK_POINTS

    def materialised(self, level: Level) -> bool:
        return nominal_seconds(level) >= 4 * (self.step_seconds or DEFAULT_IRREGULAR_STEP) or level == "month"

    def quantise(self, values: np.ndarray) -> np.ndarray:
        q = np.rint(values / self.resolution) if self.resolution != 1 else np.rint(values)
        if len(q) and np.abs(q).max() >= MAX_ABS_QUANTUM:
            raise StoreError(f"series {self.key}: a value is too large to store at resolution {self.resolution}")
        return q.astype(np.int64)

    def scale(self, q: np.ndarray) -> np.ndarray:
        """Quantised integers back to the series' unit; exact for resolutions like 0.1 (divide by 10)."""
        if self.resolution == 1:
            return q.astype(np.float64)
        inverse = 1 / self.resolution
        if abs(inverse - round(inverse)) < 1e-9:
            return q / round(inverse)
        return q * self.resolution


@dataclass(frozen=True, slots=True)
class Rollup:
    """Aggregates per local period: ``t`` period starts [UTC s]; ``sum``, ``min``, ``max`` in the series'
    unit; ``count`` points. ``mean = sum / count`` is the average power of a power series."""

    t: np.ndarray
    count: np.ndarray
    sum: np.ndarray
    min: np.ndarray
    max: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sum / self.count


def series_ref(row_id: int, s: Series, zone: ZoneInfo) -> SeriesRef:
    step = s.step.seconds if s.step and not s.step.is_calendar else None
    return SeriesRef(row_id, s.id, step, s.resolution, zone, SPREAD.get(s.quantity, "mean"))


def onto_steps(
    t: np.ndarray, values: np.ndarray, durations: np.ndarray, step: int, spread: str, resolution: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Values lasting ``durations`` [s] from ``t`` put onto a series' fixed ``step`` (cells ``k·step``, UTC).

    A batch whose values all last one step is left as it is (no copy: the common case costs one comparison).
    Otherwise values that last one step and start on a cell stay as they are, and each other value is cut
    at the step boundaries and each step it touches receives its share by overlap:

    - ``power`` (mean power, W): a step receives Σ value × overlap / step. A longer value is *split* into
      steps holding its own mean, finer values are merged into their duration-weighted mean: both energy
      (Σ mean × step) and mean are exact. A step that finer values cover only in part holds the energy they
      measured spread over the step: nothing is invented for the part no value covers.
    - ``energy`` (Wh per interval): a step receives Σ value × overlap / duration; totals are exact.
    - ``mean`` (temperature, voltage...): a step holds the mean of what covers it, weighted by overlap.

    Power and energy are rounded to ``resolution`` cumulatively (each value the difference of rounded running
    totals), so that stored quanta add up to the source's total: 301 Wh over an hour becomes 150 + 151 Wh.
    Returned in the batch's order (a value later in the batch still wins a step over an earlier one).
    """
    d = np.asarray(durations)
    if d.shape != t.shape:
        raise StoreError(f"{len(d)} durations for {len(t)} values")
    other = d != step
    if not other.any():
        return t, values
    other |= t % step != 0  # a batch that mixes durations goes wholly onto the grid: no two points overlap
    idx = np.flatnonzero(other)
    to, vo, do = t[idx], values[idx], d[idx].astype(np.int64)
    if (do <= 0).any():
        raise StoreError(f"a value's duration must be positive, got {int(do[do <= 0][0])} s at t={int(to[do <= 0][0])}")
    first = to // step
    n = (to + do - 1) // step - first + 1
    if n.max() > MAX_STEPS_PER_VALUE:
        k = int(np.argmax(n))
        raise StoreError(
            f"a value at t={int(to[k])} lasts {int(do[k])} s: over {MAX_STEPS_PER_VALUE} steps of {step} s"
        )
    src = np.repeat(np.arange(len(idx)), n)
    cell = first[src] + np.arange(len(src)) - np.repeat(np.cumsum(n) - n, n)
    overlap = np.minimum(to[src] + do[src], (cell + 1) * step) - np.maximum(to[src], cell * step)
    share = vo[src] * overlap / do[src] if spread == "energy" else vo[src] * overlap
    cells, inv = np.unique(cell, return_inverse=True)
    total = np.bincount(inv, weights=share, minlength=len(cells))
    if spread == "mean":
        fitted = total / np.bincount(inv, weights=overlap, minlength=len(cells))
    else:
        quanta = (total if spread == "energy" else total / step) / resolution
        fitted = np.diff(np.rint(np.cumsum(quanta)), prepend=0.0) * resolution
    last = np.zeros(len(cells), np.int64)
    np.maximum.at(last, inv, idx[src])
    keep = np.flatnonzero(~other)
    order = np.argsort(np.concatenate([keep, last]), kind="stable")
    return np.concatenate([t[keep], cells * step])[order], np.concatenate([values[keep], fitted])[order]


def _bucket(ref: SeriesRef, level: int, t: np.ndarray) -> np.ndarray:
    if level == 0:
        return t // ref.raw_span
    if level == 1:
        return t // (3600 * ROLLUP_CHUNK_HOURS)
    # Day and month rollups are kept one chunk per local year.
    years, starts = _local_years(ref.zone)
    return years[np.searchsorted(starts, t, side="right") - 1]


@lru_cache(maxsize=32)
def _local_years(zone: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """(year, UTC instant of its local 1 January 00:00) for 1969–2101: a local year by binary search,
    instead of a pandas time-zone conversion on every write (it was a tenth of the ingest time)."""
    years = np.arange(1969, 2102, dtype=np.int64)
    starts = np.array([int(datetime(int(y), 1, 1, tzinfo=zone).timestamp()) for y in years], dtype=np.int64)
    return years, starts


def chunk_years(ref: SeriesRef, level: int, buckets: np.ndarray) -> np.ndarray:
    """The territory-local year each chunk's bucket begins in: the chunk table's partition key (schema.py).
    Day and month rollups are kept one chunk per local year, their bucket *is* that year."""
    buckets = np.asarray(buckets, dtype=np.int64)
    if level >= 2:
        return buckets
    span = ref.raw_span if level == 0 else 3600 * ROLLUP_CHUNK_HOURS
    years, starts = _local_years(ref.zone)
    return years[np.searchsorted(starts, buckets * span, side="right") - 1]


def _bucket_range(ref: SeriesRef, level: int, start: int, end: int) -> tuple[int, int]:
    b = _bucket(ref, level, np.array([start, max(start, end - 1)], dtype=np.int64))
    return int(b[0]), int(b[1])


def _merge(old_t: np.ndarray, old_cols: list[np.ndarray], new_t: np.ndarray, new_cols: list[np.ndarray]):
    """Union of two point sets keyed by t; the new value wins where both have the same t."""
    if len(old_t) == 0:
        return new_t, new_cols
    keep = ~np.isin(old_t, new_t, assume_unique=True)
    t = np.concatenate([old_t[keep], new_t])
    order = np.argsort(t, kind="stable")
    return t[order], [np.concatenate([o[keep], n])[order] for o, n in zip(old_cols, new_cols, strict=True)]


class TimeSeriesStore:
    """Chunked time series over one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        # Statements built once and executed with parameters: building an upsert with its ``excluded``
        # columns costs more than running it, and ingest runs several per series per transaction.
        upsert = self._insert(chunk)
        # PostgreSQL's key holds the partition key ``year`` too (a function of the other three: same rows)
        key = ["series_id", "level", "bucket"] + (["year"] if self.dialect == "postgresql" else [])
        self._upsert_chunk = upsert.on_conflict_do_update(
            index_elements=key, set_={k: upsert.excluded[k] for k in ("n", "t_min", "t_max", "data")}
        )
        self._years: frozenset[int] = frozenset()  # years known to have their own partition (PostgreSQL)
        self._archives: dict[int, tuple[str, int]] = {}  # archived year -> (where, when); PostgreSQL only
        self._archives_read_at = -1e9
        key = (chunk.c.series_id == bindparam("sid")) & (chunk.c.level == bindparam("lv"))
        self._select_chunks = select(chunk.c.bucket, chunk.c.data).where(
            key & chunk.c.bucket.between(bindparam("b0"), bindparam("b1"))
        )
        self._delete_chunk = delete(chunk).where(key & (chunk.c.bucket == bindparam("b")))

    # ---------------------------------------------------------------- writing
    def write(self, conn: Connection, refs: dict[str, SeriesRef], batches: Iterable[Readings]) -> int:
        """Write batches inside the caller's transaction; returns the number of readings written."""
        grouped: dict[str, list[Readings]] = {}
        for r in batches:
            if r.series_id not in refs:
                raise StoreError(f"unknown series {r.series_id!r}: declare it before writing readings")
            grouped.setdefault(r.series_id, []).append(r)
        prepared = [self._prepare(refs[k], rs) for k, rs in grouped.items()]  # validate all before writing
        written = 0
        for ref, t, q in prepared:
            if len(t) == 0:
                continue
            self._lock(conn, ref)
            self._write_raw(conn, ref, t, q)
            self._refresh_rollups(conn, ref, int(t[0]), int(t[-1]))
            written += len(t)
        return written

    def _prepare(self, ref: SeriesRef, rs: list[Readings]) -> tuple[SeriesRef, np.ndarray, np.ndarray]:
        ts, vs = [], []
        for r in rs:
            t, v = r.t, r.values
            if np.isinf(v).any():
                raise StoreError(f"series {ref.key}: infinite value at t={int(t[np.isinf(v)][0])}")
            present = ~np.isnan(v)
            durations = getattr(r, "steps", None)  # seconds each value lasts, when the batch says it
            if not present.all():
                t, v = t[present], v[present]
                durations = None if durations is None else np.asarray(durations)[present]
            if durations is not None and ref.step_seconds and len(t):
                try:
                    t, v = onto_steps(t, v, durations, ref.step_seconds, ref.spread, ref.resolution)
                except StoreError as exc:
                    raise StoreError(f"series {ref.key}: {exc}") from None
            ts.append(t)
            vs.append(v)
        t, v = np.concatenate(ts), np.concatenate(vs)
        if len(t) and (t.min() < T_MIN or t.max() >= T_MAX):
            bad = int(t[(t < T_MIN) | (t >= T_MAX)][0])
            raise StoreError(f"series {ref.key}: timestamp {bad} is outside 1970–2100")
        q = ref.quantise(v)
        # Later readings of the same instant win: keep the last occurrence after a stable sort.
        order = np.argsort(t, kind="stable")
        t, q = t[order], q[order]
        last = np.append(t[1:] != t[:-1], True) if len(t) else np.zeros(0, bool)
        return ref, t[last], q[last]

    def _lock(self, conn: Connection, ref: SeriesRef) -> None:
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x5E61E000000 + ref.id})

    # ---------------------------------------------------------------- archived years (PostgreSQL)
    def archives(self, conn: Connection, *, fresh: bool = False) -> dict[int, tuple[str, int]]:
        """Archived years -> (lake, when), re-read at most every ``ARCHIVES_FRESH_S`` seconds: another process
        may archive a year while this one runs (its writes are refused anyway, by the archived partition)."""
        if self.dialect != "postgresql":
            return {}
        if fresh or time.monotonic() - self._archives_read_at > ARCHIVES_FRESH_S:
            rows = conn.execute(select(chunk_archive.c.year, chunk_archive.c.dest, chunk_archive.c.archived_at))
            self._archives = {int(y): (d, int(at)) for y, d, at in rows}
            self._archives_read_at = time.monotonic()
        return self._archives

    def _refuse_archived(self, conn: Connection, ref: SeriesRef, level: int, b0: int, b1: int) -> None:
        archived = self.archives(conn)
        if not archived or _LIVE_ONLY.get():
            return
        if level >= 2:  # a year's rollup: its bucket is the year
            y0, y1 = b0, b1
        else:  # the years of the instants asked for: a chunk that begins in an archived December and runs
            # into January left with its year (the partition key), but a read from January is not refused
            span = ref.raw_span if level == 0 else 3600 * ROLLUP_CHUNK_HOURS
            years, starts = _local_years(ref.zone)
            y0, y1 = (int(y) for y in years[np.searchsorted(starts, [(b0 + 1) * span - 1, b1 * span], "right") - 1])
        for year in sorted(archived):
            if y0 <= year <= y1:
                raise ArchivedYear(year, *archived[year])

    def _ensure_year(self, conn: Connection, year: int) -> None:
        """The year's partition exists before a chunk of it is written (created with the next year's)."""
        if year in self._years:
            return
        got = partitions.ensure_years(conn, {year, year + 1})
        if year in got.archived:
            archived = self.archives(conn, fresh=True)
            raise ArchivedYear(year, *archived.get(year, ("the lake", 0)))
        self._years = got.live

    def _load(self, conn: Connection, ref: SeriesRef, level: int, b0: int, b1: int) -> dict[int, bytes]:
        self._refuse_archived(conn, ref, level, b0, b1)
        rows = conn.execute(self._select_chunks, {"sid": ref.id, "lv": level, "b0": b0, "b1": b1})
        return {int(b): bytes(d) for b, d in rows}

    def _save(self, conn: Connection, ref: SeriesRef, level: int, bucket: int, t: np.ndarray, cols: list) -> None:
        if len(t) == 0:
            conn.execute(self._delete_chunk, {"sid": ref.id, "lv": level, "b": bucket})
            return
        year = int(chunk_years(ref, level, np.array([bucket]))[0])
        row = {
            "series_id": ref.id,
            "level": level,
            "bucket": bucket,
            "year": year,
            "n": len(t),
            "t_min": int(t[0]),
            "t_max": int(t[-1]),
            "data": codec.encode(t, cols),
        }
        if self.dialect == "postgresql":
            self._ensure_year(conn, year)
        try:
            conn.execute(self._upsert_chunk, row)
        except IntegrityError as exc:  # the archived year's partition refused it (archived by another process)
            if partitions.REFUSED not in str(exc.orig):
                raise
            # the transaction is aborted: name the lake from what this process last read of chunk_archive
            raise ArchivedYear(year, *self._archives.get(year, ("the lake (see chunk_archive)", 0))) from None

    def _write_raw(self, conn: Connection, ref: SeriesRef, t: np.ndarray, q: np.ndarray) -> None:
        buckets = _bucket(ref, 0, t)
        existing = self._load(conn, ref, 0, int(buckets[0]), int(buckets[-1]))
        cuts = np.flatnonzero(np.diff(buckets)) + 1
        for part_t, part_q in zip(np.split(t, cuts), np.split(q, cuts), strict=True):
            b = int(part_t[0] // ref.raw_span)
            if b in existing:
                old_t, old_cols = codec.decode(existing[b])
                mt, (mq,) = _merge(old_t, old_cols, part_t, [part_q])
            else:
                mt, mq = part_t, part_q
            self._save(conn, ref, 0, b, mt, [mq])

    def _refresh_rollups(self, conn: Connection, ref: SeriesRef, t_first: int, t_last: int) -> None:
        """Recompute every materialised rollup period that [t_first, t_last] touches."""
        for level in LEVELS:
            if not ref.materialised(level):
                continue
            edges = period_starts(t_first, t_last, level, ref.zone)
            if level == "month" and ref.materialised("day"):
                r = self._read_rollup_stored(conn, ref, "day", int(edges[0]), int(edges[-1]))
                source_t, parts = r.t, (r.count, r.sum, r.min, r.max)
                agg = _reaggregate(source_t, parts, edges)
            else:
                t, q = self._read_raw_q(conn, ref, int(edges[0]), int(edges[-1]))
                agg = _aggregate(t, q, edges)
            self._replace_periods(conn, ref, LEVEL_NUMBER[level], int(edges[0]), int(edges[-1]), *agg)

    def _replace_periods(self, conn, ref, level, start, end, t, count, total, lo, hi) -> None:
        b0, b1 = _bucket_range(ref, level, start, end)
        existing = self._load(conn, ref, level, b0, b1)
        new_buckets = _bucket(ref, level, t) if len(t) else np.zeros(0, np.int64)
        for b in range(b0, b1 + 1):
            if b in existing:
                ot, ocols = codec.decode(existing[b])
                keep = (ot < start) | (ot >= end)
                ot, ocols = ot[keep], [c[keep] for c in ocols]
            else:
                ot, ocols = np.zeros(0, np.int64), [np.zeros(0, np.int64)] * 4
            sel = new_buckets == b
            if b not in existing and not sel.any():
                continue
            mt, mcols = _merge(ot, ocols, t[sel], [count[sel], total[sel], lo[sel], hi[sel]])
            self._save(conn, ref, level, b, mt, mcols)

    # ---------------------------------------------------------------- reading
    def _read_raw_q(self, conn: Connection, ref: SeriesRef, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        b0, b1 = _bucket_range(ref, 0, start, end)
        return _decoded([blob for _, blob in sorted(self._load(conn, ref, 0, b0, b1).items())], start, end)

    def read_many(
        self, conn: Connection, refs: Sequence[SeriesRef], start: int, end: int, batch: int = 500
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Raw points in [start, end) of each of ``refs``, in their order, as :meth:`read` gives them: one query
        per ``batch`` series instead of one (and a connection checkout) per series. Why: the balance of a
        town reads 30,000 curves through the gate, and round trips were a third of its time (docs/scale.md)."""
        for i in range(0, len(refs), batch):
            part = refs[i : i + batch]
            blobs: dict[int, list[bytes]] = {r.id: [] for r in part}
            for span in sorted({r.raw_span for r in part}):
                group = [r for r in part if r.raw_span == span]
                b0, b1 = start // span, max(start, end - 1) // span
                for zone in {r.zone for r in group}:
                    self._refuse_archived(conn, next(r for r in group if r.zone == zone), 0, b0, b1)
                rows = conn.execute(
                    select(chunk.c.series_id, chunk.c.data)
                    .where(chunk.c.level == 0, chunk.c.series_id.in_({r.id for r in group}),
                           chunk.c.bucket.between(b0, b1))
                    .order_by(chunk.c.series_id, chunk.c.bucket)
                )  # fmt: skip
                for sid, blob in rows:
                    blobs[int(sid)].append(bytes(blob))
            for r in part:
                t, q = _decoded(blobs[r.id], start, end)
                yield t, r.scale(q)

    def read(self, conn: Connection, ref: SeriesRef, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw points in [start, end): (UTC seconds, values in the series' unit)."""
        t, q = self._read_raw_q(conn, ref, start, end)
        return t, ref.scale(q)

    def _read_rollup_stored(self, conn: Connection, ref: SeriesRef, level: Level, start: int, end: int):
        lv = LEVEL_NUMBER[level]
        b0, b1 = _bucket_range(ref, lv, start, end)
        parts: list[tuple[np.ndarray, list[np.ndarray]]] = [
            codec.decode(blob) for _, blob in sorted(self._load(conn, ref, lv, b0, b1).items())
        ]
        if not parts:
            z = np.zeros(0, np.int64)
            return Rollup(z, z, z, z, z)
        t = np.concatenate([p[0] for p in parts])
        cols = [np.concatenate([p[1][i] for p in parts]) for i in range(4)]
        sel = (t >= start) & (t < end)
        return Rollup(t[sel], *(c[sel] for c in cols))

    def read_rollup(self, conn: Connection, ref: SeriesRef, level: Level, start: int, end: int) -> Rollup:
        """Aggregates per local ``level`` period whose start is in [start, end); periods without points
        are absent. Materialised levels are read, the others computed from raw points."""
        if ref.materialised(level):
            r = self._read_rollup_stored(conn, ref, level, start, end)
        else:
            edges = period_starts(start, end - 1, level, ref.zone)
            t, q = self._read_raw_q(conn, ref, int(edges[0]), int(edges[-1]))
            r = Rollup(*_aggregate(t, q, edges))
            sel = (r.t >= start) & (r.t < end)
            r = Rollup(*(x[sel] for x in (r.t, r.count, r.sum, r.min, r.max)))
        return Rollup(r.t, r.count, ref.scale(r.sum), ref.scale(r.min), ref.scale(r.max))

    def sum_on_grid(
        self, conn: Connection, refs: Sequence[SeriesRef], start: int, end: int, step: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Σ over series of each series' mean value per grid cell [start + i·step, + step).

        Returns (sum, number of series that had a value in the cell). The hot path of the territory
        balance: one query for all chunks, decoded chunk by chunk, added in place with no per-point Python.
        """
        n = (end - start) // step
        total = np.zeros(n)
        present = np.zeros(n, dtype=np.int64)
        by_id = {r.id: r for r in refs}
        spans = {r.raw_span for r in refs}
        for span in spans:
            ids = [r.id for r in refs if r.raw_span == span]
            for zone in {by_id[i].zone for i in ids}:  # a year archived refuses the read, naming where it went
                one = next(by_id[i] for i in ids if by_id[i].zone == zone)
                self._refuse_archived(conn, one, 0, start // span, (end - 1) // span)
            for i in range(0, len(ids), 500):
                rows = conn.execute(
                    select(chunk.c.series_id, chunk.c.data)
                    .where(
                        chunk.c.level == 0,
                        chunk.c.series_id.in_(ids[i : i + 500]),
                        chunk.c.bucket.between(start // span, (end - 1) // span),
                    )
                    .order_by(chunk.c.series_id, chunk.c.bucket)
                )
                current, acc_sum, acc_cnt = None, None, None
                for sid, blob in rows:
                    if sid != current:
                        if current is not None:
                            _flush(by_id[current], acc_sum, acc_cnt, total, present)
                        current, acc_sum, acc_cnt = sid, np.zeros(n), np.zeros(n, dtype=np.int64)
                    t, (q,) = codec.decode(bytes(blob))
                    _accumulate(t, q, start, end, step, acc_sum, acc_cnt)
                if current is not None:
                    _flush(by_id[current], acc_sum, acc_cnt, total, present)
        return total, present

    def data_period(self, conn: Connection) -> tuple[int, int] | None:
        """First and last raw instants this store still serves: archived years' chunks left out (what covers
        the whole history, as the publication, starts after them)."""
        row = conn.execute(
            select(text("min(t_min)"), text("max(t_max)")).select_from(chunk).where(chunk.c.level == 0)
        ).one()
        if row[0] is None:
            return None
        first, last = int(row[0]), int(row[1])
        if archived := self.archives(conn):  # the oldest years are archived: serve from the next one's first
            # instant in any zone (UTC+14); a live chunk begun before it is not read before it. The list is the
            # one reads use (re-read every ARCHIVES_FRESH_S; `regie archive` refreshes its own process's)
            after = int(datetime(max(archived) + 1, 1, 1, tzinfo=UTC).timestamp()) - 14 * 3600
            first = max(first, after)
        return (first, last) if first <= last else None

    def first_readings(self, conn: Connection, refs: Sequence[SeriesRef]) -> dict[str, int]:
        """The first raw instant ever stored of each series (absent: no reading), from chunk metadata alone."""
        by_id = {r.id: r.key for r in refs}
        out: dict[str, int] = {}
        ids = list(by_id)
        for i in range(0, len(ids), 500):
            rows = conn.execute(
                select(chunk.c.series_id, text("min(t_min)"))
                .where(chunk.c.level == 0, chunk.c.series_id.in_(ids[i : i + 500]))
                .group_by(chunk.c.series_id)
            )
            out.update({by_id[int(sid)]: int(t0) for sid, t0 in rows})
        return out

    def delete_series(self, conn: Connection, ref: SeriesRef) -> None:
        conn.execute(delete(chunk).where(and_(chunk.c.series_id == ref.id)))


def _decoded(blobs: Sequence[bytes], start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """The points of raw chunks (in time order) that fall in [start, end): (t, quantised values)."""
    ts, qs = [], []
    for blob in blobs:
        t, (q,) = codec.decode(blob)
        ts.append(t)
        qs.append(q)
    if not ts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    t, q = np.concatenate(ts), np.concatenate(qs)
    sel = (t >= start) & (t < end)
    return t[sel], q[sel]


def _accumulate(t, q, start, end, step, acc_sum, acc_cnt) -> None:
    lo, hi = np.searchsorted(t, [start, end])
    if hi <= lo:
        return
    t, q = t[lo:hi], q[lo:hi]
    idx = (t - start) // step
    if len(idx) == idx[-1] - idx[0] + 1:  # one point per cell, contiguous: the common case
        acc_sum[idx[0] : idx[-1] + 1] += q
        acc_cnt[idx[0] : idx[-1] + 1] += 1
    else:
        acc_sum += np.bincount(idx, weights=q, minlength=len(acc_sum))
        acc_cnt += np.bincount(idx, minlength=len(acc_cnt))


def _flush(ref: SeriesRef, acc_sum, acc_cnt, total, present) -> None:
    has = acc_cnt > 0
    mean = np.divide(acc_sum, acc_cnt, out=np.zeros_like(acc_sum), where=has)
    total += ref.scale(mean)
    present += has


def _aggregate(t: np.ndarray, q: np.ndarray, edges: np.ndarray):
    """count, sum, min, max of q per period [edges[i], edges[i+1]); only periods with points."""
    idx = np.searchsorted(edges, t, side="right") - 1
    if len(t) == 0:
        z = np.zeros(0, np.int64)
        return z, z, z, z, z
    starts = np.flatnonzero(np.diff(idx, prepend=-1))
    count = np.diff(np.append(starts, len(t)))
    return (
        edges[idx[starts]].astype(np.int64),
        count.astype(np.int64),
        np.add.reduceat(q, starts),
        np.minimum.reduceat(q, starts),
        np.maximum.reduceat(q, starts),
    )


def _reaggregate(t: np.ndarray, parts, edges: np.ndarray):
    """Month rollups from day rollups: sums add, minima of minima, maxima of maxima."""
    count, total, lo, hi = parts
    if len(t) == 0:
        z = np.zeros(0, np.int64)
        return z, z, z, z, z
    idx = np.searchsorted(edges, t, side="right") - 1
    starts = np.flatnonzero(np.diff(idx, prepend=-1))
    return (
        edges[idx[starts]].astype(np.int64),
        np.add.reduceat(count, starts),
        np.add.reduceat(total, starts),
        np.minimum.reduceat(lo, starts),
        np.maximum.reduceat(hi, starts),
    )
