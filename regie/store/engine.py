"""Create the SQLAlchemy engine for a database URL, with the settings each backend needs.

SQLite (the embedded store): WAL so readers never block the writer, ``synchronous=NORMAL`` (durable at
each checkpoint, never corrupt — https://www.sqlite.org/wal.html), 16 KiB pages so that compressed
chunks of a few KiB pack several to a page, and ``BEGIN IMMEDIATE`` for write transactions so two
writers serialise instead of failing on lock upgrade.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_PAGE_SIZE = 16384
_OPENED: list[str] = []  # the databases this process opened, newest last: named when one fails


def last_opened_url() -> str | None:
    """The database this process opened last (a command's store), to name it in an error message."""
    return _OPENED[-1] if _OPENED else None


def make_engine(url: str) -> Engine:
    u = make_url(url)
    _OPENED.append(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # no effect once the file has tables
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writer") else "BEGIN")

        return engine
    if u.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise ValueError(f"unsupported database {u.get_backend_name()!r}: use sqlite:///... or postgresql+psycopg://...")


def redacted_url(url: str) -> str:
    """The database address as it may be printed: the password masked (secrets never in logs)."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str | None) -> Path | None:
    """The file of an embedded store's URL (``sqlite:///path``), None for any other database."""
    if url and url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///").split("?")[0]).expanduser()
    return None


def sqlite_files_bytes(path: Path) -> int:
    """What an embedded store takes on disk: the file with its ``-wal`` and ``-shm`` companions."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
