"""Cutting periods out of a series, for erasure (GDPR art. 17): the store's part of
:func:`regie.governance.rights.erase_member`.

The chunks have no "delete a range" of their own: the series' raw points are read, all its chunks (raw and
rollups) deleted, and the points outside the periods written back, which rebuilds the rollups from them —
so no daily or monthly figure keeps a trace of the erased instants. Inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from regie.model import Readings

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
    t, v = store.timeseries.read(conn, ref, 0, END_OF_TIME)
    keep = ~within(t, periods) if periods is not None else np.zeros(len(t), dtype=bool)
    store.timeseries.delete_series(conn, ref)
    if keep.any():
        tx.write([Readings(series_id, t[keep], v[keep])])
    return int(keep.sum())
