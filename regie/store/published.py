"""Reading and appending the publication's frozen cells (table ``published_cell``).

Only :mod:`regie.publication.ledger` calls this: it decides what may be appended (the secrecy rule over
time); this module only keeps the rows. Rows are never updated nor deleted: a revision is a new version.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, Connection, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from regie.store.bounded import batches
from regie.store.schema import chunk, published_cell
from regie.store.store import Store


@dataclass(frozen=True, slots=True)
class Cells:
    """The latest version of each stored cell of one figure: aligned arrays, ``value`` NaN where hidden."""

    t: np.ndarray
    version: np.ndarray
    value: np.ndarray
    reason: list[str | None]
    points: np.ndarray


def latest(store: Store, figure: str, step: int, start: int, end: int) -> Cells:
    """The latest version of every cell of ``figure`` at ``step`` with ``start <= t < end``, by t."""
    c = published_cell.c
    q = (
        select(c.t, c.version, c.value, c.reason, c.points)
        .where(c.figure == figure, c.step == step, c.t >= start, c.t < end)
        .order_by(c.t, c.version)
    )
    with store.engine.connect() as conn:
        every = conn.execute(q).all()
    # the newest per t (by position: a Row's ``.t`` is SQLAlchemy's own attribute, not the column)
    rows = [tuple(r) for k, r in enumerate(every) if k + 1 == len(every) or every[k + 1][0] != r[0]]
    return Cells(
        t=np.array([r[0] for r in rows], dtype=np.int64),
        version=np.array([r[1] for r in rows], dtype=np.int64),
        value=np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float),
        reason=[r[3] for r in rows],
        points=np.array([r[4] for r in rows], dtype=np.int64),
    )


def append(store: Store, figure: str, step: int, rows: Sequence[tuple[int, int, float | None, str | None, int]],
           now: int) -> None:  # fmt: skip
    """Append cells ``(t, version, value or None, reason or None, points)``. A cell version another process
    stored first is left as it is: the first publication wins (read :func:`latest` to know what is on record)."""
    if not rows:
        return
    data = [{"figure": figure, "step": step, "t": int(t), "version": int(v), "value": val, "reason": why,
             "points": int(n), "published_at": int(now)} for t, v, val, why, n in rows]  # fmt: skip
    dialect = postgresql if store.backend == "postgresql" else sqlite
    stmt = dialect.insert(published_cell).on_conflict_do_nothing()
    with store.engine.execution_options(writer=True).begin() as conn:
        for i in range(0, len(data), 5000):
            conn.execute(stmt, data[i : i + 5000])


#: PostgreSQL: the first 32 bits of each chunk's md5, summed.
_PG_CHECKSUM = "sum(('x' || substr(md5(data), 1, 8))::bit(32)::int::bigint)"
#: The fingerprint of no readings at all.
EMPTY = (0, 0, 0, 0)


def fingerprint(store: Store, series: Sequence[str] | None = None) -> tuple[int, ...]:
    """A summary of the stored raw readings that changes with any write, erasure or correction: number of chunks
    and points, last instant, and a checksum of every chunk's bytes (a correction may keep the sizes), so the
    publication recomputes exactly when the data changed. A CRC-32 per chunk, summed (SQLite: Python's zlib,
    registered on the connection; PostgreSQL: the first 32 bits of md5).

    ``series``: only those series' readings (by series id), so that a figure over the homes is not recomputed
    when a plant's live feed writes (a figure over a few hundred homes costs one gate read per home). A town's
    homes are more series than one statement may bind (:mod:`regie.store.bounded`): they are summed in parts, in
    one snapshot of the store, and every part of the summary adds up (or takes the max), so the result is the
    same for any number of series."""
    c = chunk.c
    with _snapshot(store) as conn:
        q = select(func.count(), func.sum(c.n), func.max(c.t_max), _checksum(conn)).select_from(chunk)
        if series is None:
            return combine([conn.execute(q.where(c.level == 0)).one()])
        ids = sorted({store.ref(s).id for s in series})
        return combine([conn.execute(q.where(c.level == 0, c.series_id.in_(part))).one() for part in batches(ids)])


def series_prints(store: Store, series: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """:func:`fingerprint` of each of ``series`` on its own (absent: no readings), in one snapshot. Why: a cache
    of per-series reads (:mod:`regie.publication.grid`) re-reads only the series whose print moved, and
    ``combine(series_prints(store, x).values()) == fingerprint(store, x)``."""
    c = chunk.c
    refs = {store.ref(s).id: s for s in series}
    out: dict[str, tuple[int, ...]] = {}
    with _snapshot(store) as conn:
        q = (select(c.series_id, func.count(), func.sum(c.n), func.max(c.t_max), _checksum(conn))
             .select_from(chunk).group_by(c.series_id))  # fmt: skip
        for part in batches(sorted(refs)):
            for sid, *row in conn.execute(q.where(c.level == 0, c.series_id.in_(part))):
                out[refs[int(sid)]] = combine([row])
    return out


def combine(parts: Iterable[Sequence[int | None]]) -> tuple[int, ...]:
    """One fingerprint from those of disjoint sets of chunks (chunks, points and checksums add up; the last
    instant is the latest)."""
    count = points = last = checksum = 0
    for p in parts:
        count, points = count + int(p[0] or 0), points + int(p[1] or 0)
        last, checksum = max(last, int(p[2] or 0)), checksum + int(p[3] or 0)
    return (count, points, last, checksum)


@contextmanager
def _snapshot(store: Store) -> Iterator[Connection]:
    """A connection whose statements all read one state of the store. SQLite's read transaction does so already
    (WAL: from its first read to its end); PostgreSQL's default (READ COMMITTED) takes a snapshot per statement."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


def _checksum(conn: Connection) -> ColumnElement:
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.create_function("regie_crc32", 1, _crc32, deterministic=True)
        return func.sum(func.regie_crc32(chunk.c.data))
    return text(_PG_CHECKSUM)


def _crc32(data: bytes | None) -> int:
    return zlib.crc32(data) if data is not None else 0


@dataclass(frozen=True, slots=True)
class Provenance:
    """How one figure's cells at one step were published: how many cells were shown and how many hidden (in
    some version: a cell hidden at first and shown later counts in both), the most
    delivery points a cell counted, the highest version (1 + revisions) and when the first and the last
    cell version were stored [UTC s]. Aggregates of the ledger only: what :mod:`regie.semantic` states with
    PROV-O."""

    shown: int
    hidden: int
    max_points: int
    max_version: int
    first_published: int | None
    last_published: int | None


def provenance(store: Store, figure: str, step: int) -> Provenance:
    """The :class:`Provenance` of ``figure`` at ``step`` (zeros and None when nothing is published)."""
    c = published_cell.c
    cells_where = lambda cond: func.count(func.distinct(c.t)).filter(cond)  # noqa: E731
    q = select(
        cells_where(c.value.is_not(None)), cells_where(c.value.is_(None)),
        func.max(c.points), func.max(c.version), func.min(c.published_at), func.max(c.published_at),
    ).where(c.figure == figure, c.step == step)  # fmt: skip
    with store.engine.connect() as conn:
        shown, hidden, points, version, first, last = conn.execute(q).one()
    return Provenance(int(shown or 0), int(hidden or 0), int(points or 0), int(version or 0), first, last)
