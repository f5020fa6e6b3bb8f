"""A consistent view of a live store, and its tables written and read in a backend-neutral format.

Consistency while regie keeps ingesting: on SQLite the online backup API (``sqlite3.Connection.backup``,
https://www.sqlite.org/backup.html) copies the database as of one instant into a private file, which is
then read at leisure; on PostgreSQL one ``REPEATABLE READ, READ ONLY`` transaction sees every table as of
its first query (https://www.postgresql.org/docs/current/transaction-iso.html#XACT-REPEATABLE-READ — the
snapshot ``pg_dump`` itself takes). Everything a manifest says (counts, checksums, the access log's head) is
read inside that same view.

The format is one gzip'd JSON Lines file per table: a header line (table, columns, codec per column), then
one JSON array per row; bytes in base64, dates in ISO 8601. It knows nothing of SQLite or PostgreSQL, so a
backup of one restores into the other (a village moving to a bigger server); ``pg_dump`` cannot do that.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, func, insert, inspect, select, text
from sqlalchemy import types as sqltypes

from regie.store import codec
from regie.store.partitions import partition_names

VERSION_TABLE = "alembic_version"  # the schema revision goes in the manifest, not in the data
_BATCH = 2000


@contextmanager
def consistent_view(engine: Engine, scratch: Path) -> Iterator[Connection]:
    """A connection on which every read sees the store as of one instant; writers go on meanwhile.

    ``scratch`` is a folder for SQLite's private copy (deleted on the way out)."""
    if engine.dialect.name == "sqlite":
        copy = scratch / "snapshot.sqlite"
        raw = engine.raw_connection()
        try:
            target = sqlite3.connect(copy)
            try:
                raw.driver_connection.backup(target)  # one step: the copy is of a single instant
            finally:
                target.close()
        finally:
            raw.close()
        private = create_engine(f"sqlite:///{copy}")
        try:
            with private.connect() as conn:
                yield conn
        finally:
            private.dispose()
            copy.unlink(missing_ok=True)
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def reflect(conn: Connection) -> MetaData:
    """The tables as the database has them (a store at an older revision has fewer). The partitions of
    PostgreSQL's ``chunk`` are left out: their rows are ``chunk``'s (regie/store/partitions.py)."""
    skip = partition_names(conn)
    md = MetaData()
    md.reflect(conn, only=lambda name, _md: name not in skip)
    return md


def data_tables(md: MetaData) -> list[Table]:
    """Tables in an order where each comes after the ones its foreign keys point at."""
    return [t for t in md.sorted_tables if t.name != VERSION_TABLE]


def _codec(column) -> str:
    if isinstance(column.type, sqltypes._Binary):
        return "base64"
    if isinstance(column.type, sqltypes.Date):
        return "date"
    return "json"


def _encode(value, how: str):
    if value is None or how == "json":
        return value
    if how == "base64":
        return base64.b64encode(bytes(value)).decode("ascii")
    return value.isoformat()


def _decode(value, how: str):
    if value is None or how == "json":
        return value
    if how == "base64":
        return base64.b64decode(value)
    return date.fromisoformat(value)


def dump_table(conn: Connection, table: Table, path: Path) -> int:
    """Write one table to ``path`` (gzip'd JSON Lines, rows in primary-key order); returns the row count."""
    columns = list(table.columns)
    codecs = [_codec(c) for c in columns]
    order = list(table.primary_key.columns) or columns
    n = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        header = {"table": table.name, "columns": [c.name for c in columns], "codecs": codecs}
        gz.write((json.dumps(header) + "\n").encode())
        result = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
            select(*columns).order_by(*order)
        )
        for row in result:
            gz.write((json.dumps([_encode(v, h) for v, h in zip(row, codecs, strict=True)]) + "\n").encode())
            n += 1
    return n


def read_table(path: Path) -> tuple[str, list[str], Iterator[list[dict]]]:
    """(table name, columns, batches of rows as dicts) of a file written by :func:`dump_table`."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        header = json.loads(fh.readline())
    return header["table"], header["columns"], _batches(path, header["columns"], header["codecs"])


def _batches(path: Path, names: list[str], codecs: list[str]) -> Iterator[list[dict]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        fh.readline()
        batch: list[dict] = []
        for line in fh:
            values = json.loads(line)
            batch.append({k: _decode(v, h) for k, v, h in zip(names, values, codecs, strict=True)})
            if len(batch) >= _BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def load_table(conn: Connection, table: Table, batches: Iterator[list[dict]]) -> int:
    n = 0
    for batch in batches:
        conn.execute(insert(table), batch)
        n += len(batch)
    return n


def reset_sequences(conn: Connection, md: MetaData) -> None:
    """PostgreSQL: rows were inserted with their ids, so each serial's next value must follow the largest."""
    if conn.dialect.name != "postgresql":
        return
    for table in data_tables(md):
        for col in table.primary_key.columns:
            if col.autoincrement is True or (
                col.server_default is not None and "nextval" in str(col.server_default.arg)
            ):
                seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": col.name})
                name = seq.scalar()
                if name:
                    top = conn.execute(select(func.max(col))).scalar()
                    conn.execute(
                        text("SELECT setval(:s, :v, :called)"), {"s": name, "v": top or 1, "called": top is not None}
                    )


def row_counts(conn: Connection, md: MetaData) -> dict[str, int]:
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in data_tables(md)}


@dataclass(frozen=True, slots=True)
class SeriesDigest:
    """What a backup promises of one series: its number of raw points and a SHA-256 of them."""

    points: int
    sha256: str


def series_digests(conn: Connection) -> dict[str, SeriesDigest]:
    """Per series (by key): raw points and SHA-256 over (instant, quantised value) pairs as little-endian int64.

    Computed from decoded points, not from stored bytes, so the same data gives the same digest whatever the
    backend, chunk layout or compression."""
    hashes: dict[str, hashlib._Hash] = {}
    counts: dict[str, int] = {}
    for (key,) in conn.execute(text("SELECT key FROM series ORDER BY key")):
        hashes[key], counts[key] = hashlib.sha256(), 0
    rows = conn.execution_options(stream_results=True, yield_per=500).execute(
        text(
            "SELECT s.key, c.data FROM chunk c JOIN series s ON s.id = c.series_id"
            " WHERE c.level = 0 ORDER BY s.key, c.bucket"
        )
    )
    for key, blob in rows:
        t, (q,) = codec.decode(bytes(blob))
        hashes[key].update(np.ascontiguousarray(t, "<i8").tobytes())
        hashes[key].update(np.ascontiguousarray(q, "<i8").tobytes())
        counts[key] += len(t)
    return {k: SeriesDigest(counts[k], h.hexdigest()) for k, h in hashes.items()}


def log_head(conn: Connection) -> tuple[int, str]:
    """(size, head hash) of the access log; (0, 64 zeros) when it is empty or the store predates it."""
    from regie.governance.audit import GENESIS

    if not inspect(conn).has_table("access_log"):  # a store older than revision 0003
        return 0, GENESIS
    row = conn.execute(text("SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1")).one_or_none()
    return (0, GENESIS) if row is None else (int(row[0]), row[1])
