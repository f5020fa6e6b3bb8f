"""Readings that could not be placed (an unknown PRM, an unmapped node): kept for the admin to see.

docs/architecture.md: ingest never silently drops data. A reading lands in quarantine with the reason; the same
(source, key, instant) quarantined twice is kept once, so re-importing a file does not pile up rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, delete, func, or_, select, true

from regie.store.schema import quarantine


@dataclass(frozen=True, slots=True)
class QuarantinedReading:
    source: str  # the adapter: enedis-r63, emoncms, mqtt, ...
    key: str  # what could not be placed: the PRM (kept whole to re-place it; shown masked), "node/input"
    t: int  # UTC unix seconds
    value: float | None
    reason: str
    unit: str | None = None
    origin: str | None = None  # file name, request or topic
    territory_id: str | None = None  # the territory it was imported into; None: no territory known


def add(conn: Connection, readings: Iterable[QuarantinedReading]) -> int:
    """Keep readings in quarantine (idempotent per source, key and instant); returns rows given."""
    rows = [
        {
            "source": r.source,
            "key": r.key,
            "origin": r.origin,
            "t": int(r.t),
            "value": r.value,
            "unit": r.unit,
            "reason": r.reason[:300],
            "received_at": int(time.time()),
            "territory_id": r.territory_id,
        }
        for r in readings
    ]
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(quarantine)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "key", "t"],
        set_={c: stmt.excluded[c] for c in ("origin", "value", "unit", "reason", "received_at", "territory_id")},
    )
    for i in range(0, len(rows), 2000):
        conn.execute(stmt, rows[i : i + 2000])
    return len(rows)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which quarantined readings a caller handles: those of ``territory_id`` (None: of every territory) and,
    with ``unplaced``, those that belong to no territory."""

    territory_id: str | None = None
    unplaced: bool = True

    def where(self) -> ColumnElement[bool]:
        if self.territory_id is None:
            return true()
        mine = quarantine.c.territory_id == self.territory_id
        return or_(mine, quarantine.c.territory_id.is_(None)) if self.unplaced else mine


#: Every quarantined reading (the shell, an admin of every territory looking at all of them).
EVERYTHING = Scope()


def summary(conn: Connection, scope: Scope = EVERYTHING) -> list[dict]:
    """One line per (source, key, reason, territory) within ``scope``: how many readings, first and last
    instant."""
    q = (
        select(
            quarantine.c.source,
            quarantine.c.key,
            quarantine.c.reason,
            quarantine.c.territory_id,
            func.count().label("readings"),
            func.min(quarantine.c.t).label("first"),
            func.max(quarantine.c.t).label("last"),
        )
        .where(scope.where())
        .group_by(quarantine.c.source, quarantine.c.key, quarantine.c.reason, quarantine.c.territory_id)
        .order_by(quarantine.c.source, quarantine.c.key)
    )
    return [r._asdict() for r in conn.execute(q)]


def take(conn: Connection, source: str, key: str, scope: Scope = EVERYTHING) -> list[tuple[int, float | None]]:
    """Remove and return a key's quarantined readings (t, value) within ``scope``, e.g. once its PRM is declared
    (the same key quarantined in another territory is left there)."""
    where = (quarantine.c.source == source) & (quarantine.c.key == key) & scope.where()
    # One statement: a reading quarantined meanwhile is either taken or left, never deleted unseen.
    deleted = conn.execute(delete(quarantine).where(where).returning(quarantine.c.t, quarantine.c.value))
    return sorted((int(t), v) for t, v in deleted)
