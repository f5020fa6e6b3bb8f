"""The store: one object over one database, holding a territory's metadata and its time series.

Every write goes through :meth:`Store.write` (one transaction per call) so that ingest adapters, the
demo and the API share one path; reads of *personal* series must go through the governance gate, which
calls :meth:`Store.read` on the caller's behalf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select

from regie.model import Inventory, Readings, Series
from regie.model.calendar import Level
from regie.store import quarantine, schema
from regie.store.bounded import batches
from regie.store.engine import make_engine
from regie.store.inventory import load_inventory, save_inventory, series_from_row, territory_ids
from regie.store.migrate import upgrade
from regie.store.quarantine import EVERYTHING as EVERY_QUARANTINE
from regie.store.quarantine import Scope as QuarantineScope
from regie.store.timeseries import Rollup, SeriesRef, StoreError, TimeSeriesStore, series_ref

#: (series id, first instant, last instant) [UTC s] of readings written.
Span = tuple[str, int, int]


def spans_of(batches: Sequence[Readings]) -> list[Span]:
    """Which series a write touched and over which instants (a value lasting several steps, split onto the
    series' steps by the store, reaches as far as its duration)."""
    out = []
    for b in batches:
        if len(b.t):
            steps = getattr(b, "steps", None)
            reach = int(np.max(steps)) if steps is not None and len(np.atleast_1d(steps)) else 0
            out.append((b.series_id, int(np.min(b.t)), int(np.max(b.t)) + reach))
    return out


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.timeseries = TimeSeriesStore(engine)
        self._refs: dict[str, SeriesRef] = {}
        self._series: dict[str, Series] = {}
        self._inventories: dict[str, Inventory] = {}
        self._listeners: list[Callable[[Store, list[Span] | None], None]] = []

    # ------------------------------------------------------------ who wants to know about committed changes
    def on_change(self, listener: Callable[[Store, list[Span] | None], None]) -> None:
        """Call ``listener(store, spans)`` after each committed write: ``spans`` says which series changed over
        which instants (``None``: anything may have changed, e.g. an erasure). Why: the publication brings its
        public figures up to date when readings are committed, for the periods touched only, instead of checking
        the whole store on every page view (:mod:`regie.publication.balance`)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def changed(self, spans: list[Span] | None) -> None:
        """Tell the listeners that committed data changed (see :meth:`on_change`)."""
        for listener in list(self._listeners):
            listener(self, spans)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    # ------------------------------------------------------------ metadata
    def save_inventory(self, inv: Inventory) -> None:
        with self.engine.execution_options(writer=True).begin() as conn:
            save_inventory(conn, inv)
        self._refs.clear()
        self._inventories.clear()

    def metadata_changed(self) -> None:
        """Forget the cached inventories and series after a change made in a transaction of one's own (an
        inventory workbook applied by :mod:`regie.inventory`)."""
        self._refs.clear()
        self._series.clear()
        self._inventories.clear()

    def territory_id(self) -> str:
        with self.engine.connect() as conn:
            ids = territory_ids(conn)
        if not ids:
            raise LookupError("this store holds no territory yet: run `regie demo --build-only` or `regie init`")
        return ids[0]

    def sole_territory_id(self) -> str:
        """The store's territory when it holds exactly one; a clear error naming the choices when it holds
        several (where a caller must say which: the importer, the command line)."""
        with self.engine.connect() as conn:
            ids = territory_ids(conn)
        if not ids:
            raise LookupError("this store holds no territory yet: run `regie demo --build-only` or `regie init`")
        if len(ids) > 1:
            raise LookupError(f"this store holds {len(ids)} territories ({', '.join(ids)}): say which one")
        return ids[0]

    def load_inventory(self, territory_id: str | None = None) -> Inventory:
        """The territory's metadata; cached, since only :meth:`save_inventory` changes it."""
        tid = territory_id or self.territory_id()
        if tid not in self._inventories:
            with self.engine.connect() as conn:
                self._inventories[tid] = load_inventory(conn, tid)
        return self._inventories[tid]

    def _load_refs(self) -> None:
        with self.engine.connect() as conn:
            zones = {r.id: ZoneInfo(r.timezone) for r in conn.execute(select(schema.territory))}
            for r in conn.execute(select(schema.series)):
                s = series_from_row(r)
                self._series[s.id] = s
                self._refs[s.id] = series_ref(r.id, s, zones[r.territory_id])

    def ref(self, series_id: str) -> SeriesRef:
        if series_id not in self._refs:
            self._load_refs()
        try:
            return self._refs[series_id]
        except KeyError:
            raise StoreError(f"unknown series {series_id!r}") from None

    def series(self, series_id: str) -> Series:
        self.ref(series_id)
        return self._series[series_id]

    # ------------------------------------------------------------ time series
    def write(self, batches: Iterable[Readings]) -> int:
        """Write all batches atomically; returns the number of distinct readings written."""
        batches = list(batches)
        if not all(b.series_id in self._refs for b in batches):
            self._load_refs()
        with self.engine.execution_options(writer=True).begin() as conn:
            written = self.timeseries.write(conn, self._refs, batches)
        self.changed(spans_of(batches))
        return written

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction for many writes: a file streamed batch by batch is still all or nothing.

        Why: :meth:`write` is atomic per call but needs every batch at once; an archive of 10-second
        feeds does not fit in memory. Series added and readings written inside become visible together,
        when the block exits without an exception; an exception rolls everything back.
        """
        if not self._refs:
            self._load_refs()
        with self.engine.execution_options(writer=True).begin() as conn:
            tx = Transaction(self, conn)
            yield tx
        if tx.added:
            self._refs.clear()
            self._series.clear()
            self._inventories.clear()
        if tx.spans:
            self.changed(tx.spans)

    def read(self, series_id: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw points of a series in [start, end) as (UTC seconds, values)."""
        with self.engine.connect() as conn:
            return self.timeseries.read(conn, self.ref(series_id), start, end)

    def read_many(self, series_ids: Sequence[str], start: int, end: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Raw points in [start, end) of each series, in their order, as :meth:`read` gives them, reading the
        chunks of many series per query (:meth:`TimeSeriesStore.read_many`)."""
        refs = [self.ref(s) for s in series_ids]
        with self.engine.connect() as conn:
            yield from self.timeseries.read_many(conn, refs, start, end)

    def read_rollup(self, series_id: str, level: Level, start: int, end: int) -> Rollup:
        with self.engine.connect() as conn:
            return self.timeseries.read_rollup(conn, self.ref(series_id), level, start, end)

    def sum_on_grid(
        self, series_ids: Sequence[str], start: int, end: int, step: int
    ) -> tuple[np.ndarray, np.ndarray]:
        refs = [self.ref(s) for s in series_ids]
        with self.engine.connect() as conn:
            return self.timeseries.sum_on_grid(conn, refs, start, end, step)

    def first_readings(self, series_ids: Sequence[str]) -> dict[str, int]:
        """First instant ever stored per series [UTC s]; a series without readings is absent. No value is read:
        it tells a sensor that has not started yet from one that stopped."""
        refs = [self.ref(s) for s in series_ids]
        with self.engine.connect() as conn:
            return self.timeseries.first_readings(conn, refs)

    def data_period(self) -> tuple[datetime, datetime] | None:
        """First and last raw instants stored (UTC), or None for an empty store."""
        with self.engine.connect() as conn:
            p = self.timeseries.data_period(conn)
        if p is None:
            return None
        return datetime.fromtimestamp(p[0], UTC), datetime.fromtimestamp(p[1], UTC)

    # ------------------------------------------------------------ quarantine
    def quarantine(self, readings: Iterable[quarantine.QuarantinedReading]) -> int:
        """Keep readings that could not be placed, for the admin (never silently dropped)."""
        with self.engine.execution_options(writer=True).begin() as conn:
            return quarantine.add(conn, readings)

    def quarantine_summary(self, scope: QuarantineScope = EVERY_QUARANTINE) -> list[dict]:
        with self.engine.connect() as conn:
            return quarantine.summary(conn, scope)

    def count_points(self) -> int:
        with self.engine.connect() as conn:
            n = conn.execute(select(func.sum(schema.chunk.c.n)).where(schema.chunk.c.level == 0)).scalar()
        return int(n or 0)

    def close(self) -> None:
        self.engine.dispose()


class Transaction:
    """Writes inside one open transaction (see :meth:`Store.transaction`)."""

    def __init__(self, store: Store, conn: Connection) -> None:
        self.store = store
        self.conn = conn
        self.added: dict[str, Series] = {}
        self.spans: list[Span] = []
        self._refs: dict[str, SeriesRef] = {}

    def add_series(self, territory_id: str, series: Sequence[Series]) -> None:
        """Declare new series (their ids must be new); they can be written to at once."""
        if not series:
            return
        zone = self.conn.execute(select(schema.territory.c.timezone).where(schema.territory.c.id == territory_id))
        tz = ZoneInfo(zone.scalar_one())
        rows = [
            {
                "key": x.id,
                "territory_id": territory_id,
                "kind": x.kind.value,
                "unit": x.unit,
                "step": x.step.iso if x.step else None,
                "convention": x.convention.value,
                "resolution": x.resolution,
                "name": x.name,
                "prm": x.prm,
                "producer_id": x.producer_id,
                "transformer_id": x.transformer_id,
                "site_id": x.site_id,
            }
            for x in series
        ]
        self.conn.execute(insert(schema.series), rows)
        ids: dict[str, int] = {}
        for part in batches([x.id for x in series]):  # a town's inventory: more keys than one statement binds
            found = select(schema.series.c.key, schema.series.c.id).where(schema.series.c.key.in_(part))
            ids.update(tuple(r) for r in self.conn.execute(found))
        for x in series:
            self.added[x.id] = x
            self._refs[x.id] = series_ref(ids[x.id], x, tz)

    def series(self, series_id: str) -> Series | None:
        """A series committed before or added in this transaction; None if there is none."""
        known = self.added.get(series_id) or self.store._series.get(series_id)
        if known is not None:
            return known
        # Not in the cache (added by another process since it was loaded): one row, read in the transaction.
        row = self.conn.execute(select(schema.series).where(schema.series.c.key == series_id)).one_or_none()
        if row is None:
            return None
        found = series_from_row(row)
        tz = self.conn.execute(select(schema.territory.c.timezone).where(schema.territory.c.id == row.territory_id))
        self.added[found.id] = found  # cached for this transaction (not new: the store's caches stay valid)
        self._refs[found.id] = series_ref(row.id, found, ZoneInfo(tz.scalar_one()))
        return found

    def write(self, batches: Iterable[Readings]) -> int:
        """Write batches inside the transaction; returns the number of distinct readings written."""
        batches = list(batches)
        if not all(b.series_id in self._refs or b.series_id in self.store._refs for b in batches):
            self.store._load_refs()
        self.spans += spans_of(batches)
        return self.store.timeseries.write(self.conn, {**self.store._refs, **self._refs}, batches)

    def quarantine(self, readings: Iterable[quarantine.QuarantinedReading]) -> int:
        return quarantine.add(self.conn, readings)


def open_store(url: str, *, backup_dir: Path | None = None) -> Store:
    """Open (and create or migrate) the store at ``url``. A store that holds data is backed up before a
    migration, into ``backup_dir`` (default: ``backups/`` of the data folder, see
    :func:`regie.store.migrate.default_backup_dir`)."""
    engine = make_engine(url)
    upgrade(engine, backup_first=True, backup_dir=backup_dir)
    return Store(engine)
