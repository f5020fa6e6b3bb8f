"""Cheap questions the health checks and metrics ask the database (no personal data in any answer)."""

from __future__ import annotations

from sqlalchemy import func, select, text

from regie.store.schema import access_log, chunk, quarantine
from regie.store.store import Store


def ping(store: Store) -> None:
    """Raise the database's error if it does not answer."""
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def quarantine_size(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())


def gate_decisions(store: Store) -> tuple[int, int]:
    """(allowed, all) decisions on personal reads recorded in the access log."""
    allowed = access_log.c.entry.like('%"decision":"allowed"%')
    with store.engine.connect() as conn:
        row = conn.execute(
            select(func.count().filter(allowed), func.count()).where(access_log.c.kind == "access")
        ).one()
    return int(row[0] or 0), int(row[1])


def stored_points(store: Store) -> int:
    """Raw points stored, every series together (the rollups are not counted)."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(chunk.c.n), 0)).where(chunk.c.level == 0)).scalar_one())
