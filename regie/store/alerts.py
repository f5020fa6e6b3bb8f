"""Alert episodes as stored rows: one row per (source, kind, subject, start), updated while it lasts.

The supervision service (:mod:`regie.services.alerts`) decides what an alert is and sends it; this module
only keeps them, so that an episode is recorded once and a failed delivery is retried.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from regie.store.bounded import batches
from regie.store.schema import alert as alert_table
from regie.store.store import Store


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert episode (instants are UTC seconds)."""

    id: int
    key: str
    source: str
    kind: str
    subject: str
    since: int
    until: int | None
    value: float | None
    threshold: float | None
    unit: str
    message: str
    first_seen: int
    last_seen: int
    notified_at: int | None

    @property
    def ongoing(self) -> bool:
        return self.until is None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def alert_key(a: Mapping[str, Any]) -> str:
    """The episode's identity: the same kind on the same subject starting at the same instant."""
    return f"{a.get('source', 'supervision')}:{a['kind']}:{a['subject']}:{int(a.get('since_ts', a['since']))}"


def _row(r: Any) -> AlertRecord:
    return AlertRecord(**{c: getattr(r, c) for c in AlertRecord.__slots__})


def record(store: Store, alerts: Iterable[Mapping[str, Any]], *, now: int | None = None) -> list[AlertRecord]:
    """Store alerts (dicts of :func:`regie.services.supervision.supervision_report`), one row per episode.

    Returns the episodes seen for the first time, once committed. ``since`` may be an instant or the ISO
    text of the report (then ``since_ts`` carries the instant).
    """
    at = int(time.time()) if now is None else int(now)
    items = {alert_key(a): a for a in alerts}
    new_keys: list[str] = []
    # a writer from its first read (BEGIN IMMEDIATE on SQLite): a deferred transaction that read, then wrote
    # after another process committed (the server while `regie supervise` runs), fails at once with
    # "database is locked", whatever the busy timeout
    with store.engine.execution_options(writer=True).begin() as conn:
        existing = {}
        keys = list(items)
        for i in range(0, len(keys), 500):
            q = select(alert_table).where(alert_table.c.key.in_(keys[i : i + 500]))
            existing.update({r.key: r for r in conn.execute(q)})
        for key, a in items.items():
            since = int(a.get("since_ts", a["since"]))
            until = a.get("until_ts", a.get("until"))
            if isinstance(until, str):
                until = int(datetime.fromisoformat(until).timestamp())
            value = a.get("value")
            old = existing.get(key)
            if old is None:
                conn.execute(insert(alert_table).values(
                    key=key, source=str(a.get("source", "supervision"))[:32], kind=str(a["kind"])[:32],
                    subject=str(a["subject"])[:200], since=since, until=until, value=value,
                    threshold=a.get("threshold"), unit=str(a.get("unit") or "")[:16],
                    message=str(a.get("message") or ""),
                    first_seen=at, last_seen=at, notified_at=None,
                ))  # fmt: skip
                new_keys.append(key)
            else:
                worst = value if old.value is None or (value is not None and abs(value) > abs(old.value)) else old.value
                conn.execute(update(alert_table).where(alert_table.c.id == old.id).values(
                    until=until, value=worst, last_seen=at, message=str(a.get("message") or old.message)))
    if not new_keys:
        return []
    with store.engine.connect() as conn:  # a town's first report may open more episodes than one statement binds
        by_key = alert_table.c.key
        rows = [r for part in batches(new_keys) for r in conn.execute(select(alert_table).where(by_key.in_(part)))]
        return [_row(r) for r in sorted(rows, key=lambda r: r.id)]


def list_alerts(store: Store, *, ongoing_only: bool = False, limit: int = 500) -> list[AlertRecord]:
    """Stored alerts, most recent episode first (what the web UI shows)."""
    q = select(alert_table).order_by(alert_table.c.since.desc(), alert_table.c.id.desc()).limit(limit)
    if ongoing_only:
        q = q.where(alert_table.c.until.is_(None))
    with store.engine.connect() as conn:
        return [_row(r) for r in conn.execute(q)]


def pending(store: Store) -> list[AlertRecord]:
    """Alerts no channel has been given yet (new ones, and those a failed delivery left behind)."""
    with store.engine.connect() as conn:
        q = select(alert_table).where(alert_table.c.notified_at.is_(None)).order_by(alert_table.c.id)
        return [_row(r) for r in conn.execute(q)]


def mark_notified(store: Store, ids: Sequence[int], *, now: int | None = None) -> None:
    at = int(time.time()) if now is None else int(now)
    if ids:
        with store.engine.begin() as conn:
            for part in batches(list(ids)):
                conn.execute(update(alert_table).where(alert_table.c.id.in_(part)).values(notified_at=at))
