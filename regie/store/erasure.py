"""The store's part of an erasure (GDPR art. 17): :func:`regie.governance.rights.erase_member` decides what
to erase, these functions do it, each inside the caller's transaction.

The chunks have no "delete a range" of their own: the series' raw points are read, all its chunks (raw and
rollups) deleted, and the points outside the periods written back, which rebuilds the rollups from them —
so no daily or monthly figure keeps a trace of the erased instants. Inside the caller's transaction. The years
archived to the lake are not in the store any more: :func:`regie.store.archives.erase_archived` rewrites their
files, before this runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import numpy as np
from sqlalchemy import Connection, and_, delete, false, or_, select, update

from regie.model import Readings
from regie.store.schema import (
    access_log,
    account,
    account_token,
    alert,
    api_key,
    consent,
    consent_event,
    digest_log,
    input_map,
    live_frame,
    login_throttle,
    member_preference,
    membership,
    person,
    quarantine,
    recovery_code,
    series,
    web_session,
)
from regie.store.timeseries import live_only

#: 2100-01-01 UTC: ingest quarantines any later instant, so no stored reading is after it.
END_OF_TIME = 4_102_444_800


def within(t: np.ndarray, periods: Sequence[tuple[int, int | None]]) -> np.ndarray:
    """Which instants fall in one of the [from, until) periods (until None: open)."""
    hit = np.zeros(len(t), dtype=bool)
    for a, b in periods:
        hit |= (t >= a) & (t < (b if b is not None else END_OF_TIME))
    return hit


def cut_periods(tx, series_id: str, periods: Sequence[tuple[int, int | None]] | None) -> int:
    """Remove a series' points in ``periods`` (None: every point) in transaction ``tx`` (a
    :class:`regie.store.store.Transaction`); returns the number of points kept."""
    store, conn = tx.store, tx.conn
    ref = store.ref(series_id)
    with live_only():  # an archived year's readings are in the lake: erase_archived took them out there
        t, v = store.timeseries.read(conn, ref, 0, END_OF_TIME)
        keep = ~within(t, periods) if periods is not None else np.zeros(len(t), dtype=bool)
        store.timeseries.delete_series(conn, ref)
        if keep.any():
            tx.write([Readings(series_id, t[keep], v[keep])])
    return int(keep.sum())


Periods = Sequence[tuple[int, int | None]]


def in_periods(column, periods: Periods):
    """SQL: the column's instant falls in one of the [from, until) periods (none: nothing)."""
    return or_(false(), *[and_(column >= a, column < b) if b is not None else column >= a for a, b in periods])


def holdings(conn: Connection, holder_id: str) -> dict[str, list[tuple[date, date | None]]]:
    """A holder's memberships: delivery point → [(since, until)] in local days."""
    out: dict[str, list[tuple[date, date | None]]] = {}
    for m in conn.execute(select(membership).where(membership.c.holder_id == holder_id).order_by(membership.c.since)):
        out.setdefault(m.prm, []).append((m.since, m.until))
    return out


def forget_series(conn: Connection, series_key: str, series_row: int, periods: Periods | None) -> set[str]:
    """Around a series' readings: its name (when wholly erased: ``periods`` None), the last value its emoncms
    inputs keep, its alerts (in ``periods``); returns its inputs as quarantine keys ``node/name``."""
    if periods is None:
        conn.execute(update(series).where(series.c.key == series_key).values(name="(erased)"))
    maps = conn.execute(select(input_map.c.node, input_map.c.name).where(input_map.c.series_id == series_row)).all()
    conn.execute(update(input_map).where(input_map.c.series_id == series_row).values(last_time=None, last_value=None))
    alerts = delete(alert).where(alert.c.subject == series_key)
    conn.execute(alerts if periods is None else alerts.where(in_periods(alert.c.since, periods)))
    return {f"{r.node}/{r.name}" for r in maps}


def forget_readings_of(conn: Connection, keys: Sequence[str], periods: Periods) -> None:
    """Quarantined readings and alerts keyed by these PRMs, masked PRMs or inputs, in ``periods``."""
    if keys and periods:
        conn.execute(delete(quarantine).where(quarantine.c.key.in_(keys), in_periods(quarantine.c.t, periods)))
        conn.execute(delete(alert).where(alert.c.subject.in_(keys), in_periods(alert.c.since, periods)))


def anonymise_holder(conn: Connection, holder_id: str, tombstone: str, usernames: Sequence[str], today: date) -> int:
    """Memberships, consent records and consent events name ``tombstone`` instead of the holder (and of their
    usernames); a holding still open ends ``today``. Returns the memberships changed."""
    n = conn.execute(update(membership).where(membership.c.holder_id == holder_id).values(holder_id=tombstone))
    conn.execute(update(membership).where(membership.c.holder_id == tombstone, membership.c.until.is_(None),
                                          membership.c.since < today).values(until=today))  # fmt: skip
    conn.execute(update(consent).where(consent.c.subject_id == holder_id).values(subject_id=tombstone))
    if usernames:
        conn.execute(
            update(consent)
            .where(consent.c.recipient_kind == "account", consent.c.recipient_id.in_(usernames))
            .values(recipient_id=tombstone)
        )
        conn.execute(update(consent_event).where(consent_event.c.actor.in_(usernames)).values(actor=tombstone))
    conn.execute(delete(person).where(person.c.id == holder_id))
    return int(n.rowcount or 0)


def delete_accounts(conn: Connection, ids: Sequence[int], usernames: Sequence[str], key_owners: Sequence[str]) -> int:
    """Accounts with their sessions, login counters, one-time links (invitations, resets, used TOTP steps),
    two-factor recovery codes, dashboard preferences and digest log, and the API keys bound to them; returns the
    keys deleted."""
    keys = conn.execute(delete(api_key).where(api_key.c.owner_id.in_(key_owners))).rowcount if key_owners else 0
    if ids:
        conn.execute(delete(web_session).where(web_session.c.account_id.in_(ids)))
        conn.execute(delete(account_token).where(account_token.c.account_id.in_(ids)))
        conn.execute(delete(recovery_code).where(recovery_code.c.account_id.in_(ids)))
        conn.execute(delete(member_preference).where(member_preference.c.account_id.in_(ids)))
        conn.execute(delete(digest_log).where(digest_log.c.account_id.in_(ids)))
        counters = [f"{kind}:{u}" for u in usernames for kind in ("account", "second-factor")]
        conn.execute(delete(login_throttle).where(login_throttle.c.key.in_(counters)))
        conn.execute(delete(account).where(account.c.id.in_(ids)))
    return int(keys or 0)


class ErasedHolderError(ValueError):
    """A holder id that was erased is named again (an inventory re-import, an account's holder binding)."""


def erased_holders(conn: Connection, holder_ids: Sequence[str]) -> set[str]:
    """The ids among ``holder_ids`` that the access log records as erased (a ``rights`` entry whose action is
    ``erase``, written by :func:`regie.governance.rights.erase_member`).

    An erased id must never name anyone again: a re-imported inventory that still lists the erased person
    would recreate them, and an account bound to the id would see the old person's "who accessed my data"
    history (the log is append-only and keyed by subject id). GDPR art. 17: erased means not brought back.
    """
    ids = sorted(set(holder_ids))
    out: set[str] = set()
    for i in range(0, len(ids), 500):
        q = select(access_log.c.subject_id, access_log.c.entry).where(
            access_log.c.kind == "rights", access_log.c.subject_id.in_(ids[i : i + 500])
        )
        out |= {r.subject_id for r in conn.execute(q) if json.loads(r.entry).get("action") == "erase"}
    return out


def refuse_erased(conn: Connection, holder_ids: Sequence[str], where: str) -> None:
    """Raise :class:`ErasedHolderError` if one of ``holder_ids`` was erased (says which, where and why)."""
    erased = erased_holders(conn, holder_ids)
    if erased:
        raise ErasedHolderError(
            f"{where}: holder id(s) {', '.join(sorted(erased))} belonged to a person erased at their request "
            "(GDPR art. 17); an erased id is never reused — give the new person or organisation another id"
        )


def forget_live_points(conn: Connection, keys: Sequence[str]) -> None:
    """Take these delivery points (or series ids) out of the live publication's stored groups and frames
    (``live_frame``): a frame restored later no longer adds up without them and is held (``docs/live.md``)."""
    gone = set(keys)
    for r in conn.execute(select(live_frame)).mappings().all():
        points = [k for k in json.loads(r["points"]) if k not in gone]
        members = None if r["members"] is None else json.dumps([k for k in json.loads(r["members"]) if k not in gone])
        conn.execute(update(live_frame).where(live_frame.c.figure == r["figure"], live_frame.c.seq == r["seq"])
                     .values(points=json.dumps(points), members=members))  # fmt: skip
