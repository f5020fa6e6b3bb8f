"""PostgreSQL's ``chunk`` table, one partition a year, so that an old year can leave the store whole.

Why: a town keeps ~0.9 GB of readings a year (docs/scale.md); after a few years the oldest are read rarely and
belong in the Parquet lake (``regie archive``, :mod:`regie.lake.archive`). With declarative partitioning by
``chunk.year`` (the territory-local year a chunk's bucket begins in, :func:`regie.store.timeseries.chunk_years`)
a year leaves by detaching and dropping its partition: no row-by-row delete, no bloat left behind.

- ``chunk_y<YEAR>`` holds a year's chunks; the write path creates it the first time it writes into that year
  (and the next year's with it, so that New Year's first writes find theirs ready).
- ``chunk_default`` catches rows of a year without a partition of its own (a restore from a backup inserts
  into ``chunk`` directly); the year's partition is split out of it when first needed.
- ``chunk_y<YEAR>_archived`` replaces an archived year's partition: it is empty and refuses every row (a
  ``CHECK (false)`` constraint), so that nothing is written into a year that now lives in the lake, even by a
  process that has not yet heard of the archive.

SQLite keeps one unpartitioned table: a village's store stays small, and archiving needs PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

PARENT = "chunk"
DEFAULT = "chunk_default"
REFUSED = "archived_year_refused"  # the CHECK constraint's name: a write into an archived year hits it
_CREATE_LOCK = 0x5E61E0FF0001  # transaction-scoped advisory lock: one process creates a year's partition
_NAME = re.compile(r"^chunk_y(\d{4})(_archived)?$")


def live_name(year: int) -> str:
    return f"chunk_y{int(year)}"


def archived_name(year: int) -> str:
    return f"chunk_y{int(year)}_archived"


@dataclass(frozen=True, slots=True)
class Partitions:
    """The years that have a partition of their own, and those archived (their partition refuses rows)."""

    live: frozenset[int]
    archived: frozenset[int]


def is_partitioned(conn: Connection) -> bool:
    """Whether the store's ``chunk`` is a partitioned table (PostgreSQL from revision 0014)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass('chunk')")).scalar())


def partition_names(conn: Connection) -> set[str]:
    """Every partition of ``chunk`` (none on SQLite): tables a schema comparison or a backup must skip, since
    their rows are read and written through ``chunk`` itself."""
    if conn.dialect.name != "postgresql" or conn.execute(text("SELECT to_regclass('chunk')")).scalar() is None:
        return set()
    rows = conn.execute(
        text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
             " WHERE i.inhparent = to_regclass('chunk')")
    )  # fmt: skip
    return {r[0] for r in rows}


def partitions(conn: Connection) -> Partitions:
    live, archived = set(), set()
    for name in partition_names(conn):
        m = _NAME.match(name)
        if m:
            (archived if m.group(2) else live).add(int(m.group(1)))
    return Partitions(frozenset(live), frozenset(archived))


def ensure_years(conn: Connection, years: set[int]) -> Partitions:
    """Give each of ``years`` its own partition (unless archived), inside the caller's transaction."""
    got = partitions(conn)
    if not (set(years) - got.live - got.archived):
        return got
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CREATE_LOCK})
    got = partitions(conn)  # another writer may have created them while this one waited
    for y in sorted(set(years) - got.live - got.archived):
        _create(conn, int(y))
    return partitions(conn)


def _create(conn: Connection, year: int) -> None:
    """A year's partition; rows of that year already in the default partition move into it (PostgreSQL
    refuses a new partition whose rows the default partition holds)."""
    held = conn.execute(text(f"SELECT count(*) FROM {DEFAULT} WHERE year = :y"), {"y": year}).scalar()
    if held:
        conn.execute(text(f"CREATE TEMP TABLE chunk_moving AS SELECT * FROM {DEFAULT} WHERE year = :y"), {"y": year})
        conn.execute(text(f"DELETE FROM {DEFAULT} WHERE year = :y"), {"y": year})
    conn.execute(text(f"CREATE TABLE {live_name(year)} PARTITION OF {PARENT} FOR VALUES FROM ({year}) TO ({year + 1})"))
    if held:
        conn.execute(text(f"INSERT INTO {PARENT} SELECT * FROM chunk_moving"))
        conn.execute(text("DROP TABLE chunk_moving"))


def retire(conn: Connection, year: int) -> None:
    """Detach and drop a year's partition, and put in its place an empty one that refuses every row."""
    conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {live_name(year)}"))
    conn.execute(text(f"DROP TABLE {live_name(year)}"))
    name = archived_name(year)
    conn.execute(text(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ({year}) TO ({year + 1})"))
    conn.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_{REFUSED} CHECK (false)"))
