"""Two writers on one embedded store at once, as the server and a `regie` command (`regie supervise` from cron)
are: a transaction that reads before it writes must hold SQLite's write lock from its start (``BEGIN
IMMEDIATE``, the engine's ``writer`` option). A deferred one fails at once with "database is locked", whatever
the busy timeout, as soon as another connection commits between its read and its write (WAL: its snapshot is
stale). The other writer here is a second real connection to the same file, and it writes at that very moment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import OperationalError

from regie.services import alerts
from regie.store import open_store
from regie.store.schema import alert as alert_table
from regie.store.store import Store

ALERT = {"kind": "stopped", "subject": "temp", "since": 1_735_700_000, "message": "no reading"}


def _commit_from_elsewhere(path: Path, key: str) -> bool:
    """Another connection (busy timeout 0: it does not wait) writes one alert row and commits; False when
    the write lock is held by someone else."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute(
            "INSERT INTO alert (key, source, kind, subject, since, unit, message, first_seen, last_seen)"
            " VALUES (?, 'test', 'other', 'x', 0, '', '', 0, 0)",
            (key,),
        )
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


@contextmanager
def interloper(store: Store, path: Path) -> Iterator[list[bool]]:
    """After the first read of the alert table on ``store``'s engine, another connection tries to commit a
    write; the list says whether it could."""
    tried: list[bool] = []

    def after(conn, cursor, statement: str, *args: object) -> None:
        if not tried and statement.lstrip().upper().startswith("SELECT") and "alert" in statement:
            tried.append(_commit_from_elsewhere(path, "elsewhere:1"))

    event.listen(store.engine, "after_cursor_execute", after)
    try:
        yield tried
    finally:
        event.remove(store.engine, "after_cursor_execute", after)


@pytest.fixture
def store_at(tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    path = tmp_path / "regie.sqlite"
    store = open_store(f"sqlite:///{path}")
    yield store, path
    store.close()


def test_a_deferred_read_then_write_fails_when_another_writer_commits_in_between(store_at) -> None:
    """What the ``writer`` option guards against (and the proof that the interloper below really commits)."""
    store, path = store_at
    row = {"key": "mine", "source": "t", "kind": "k", "subject": "s", "since": 0, "unit": "", "message": "",
           "first_seen": 0, "last_seen": 0}  # fmt: skip
    with (
        interloper(store, path) as tried,
        pytest.raises(OperationalError, match="database is locked"),
        store.engine.begin() as conn,
    ):
        conn.execute(select(alert_table.c.key)).all()
        conn.execute(insert(alert_table).values(**row))
    assert tried == [True]


def test_recording_alerts_while_another_process_writes(store_at) -> None:
    store, path = store_at
    with interloper(store, path) as tried:
        new = alerts.record(store, [ALERT], now=1_735_700_100)
    assert [a.subject for a in new] == ["temp"]
    assert tried == [False]  # held off by the write lock taken at the start, not let in to break the transaction
    assert _commit_from_elsewhere(path, "elsewhere:2")  # and free again once recorded
    assert len(alerts.list_alerts(store)) == 2
