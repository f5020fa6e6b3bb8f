"""Live last values, read for the public live totals: the governed door to ``input_map``.

Each emoncms input's last value is a reading like any other: when the input feeds a household's series it is
personal data (:func:`regie.governance.gate.personal_prms`). The live publication
(:mod:`regie.publication.live`) needs every input's last value to publish the territory's live totals, and
publishes only sums over stable groups of at least 10 delivery points, never one point's value. This module
is where that read happens and where it is logged.

What the access log records, and why not more. The publication re-reads the last values once per second per
open page; logging each read would flood the log with identical entries that say nothing a data subject
needs. What matters to a data subject is *that their live values enter a public total, from when, among how
many points*: that changes only when the publication forms a new group. So :func:`log_live_group` appends
one entry per group formed (per figure: production, consumption), naming the number of delivery points,
the rounding and the purpose; the frames published while that group lasts are covered by it.
"""

from __future__ import annotations

import numpy as np

from regie.governance import audit, gate
from regie.store import Store
from regie.store.inputs import LastValue, last_values

#: The caller named in the log for what the public live view reads (no account: the régie publishes it).
PUBLIC_LIVE = "public-live"
PURPOSE = "dpv:ServiceProvision"
RESTORE_REASON = "public live total: rebuilding the last published frame after a restart (docs/live.md)"


def read_live_values(store: Store) -> list[LastValue]:
    """Every input's last reading. For :mod:`regie.publication.live` only: the values must not leave it except
    as the secrecy-checked sums it publishes (logged by :func:`log_live_group`)."""
    return last_values(store)


def log_live_group(store: Store, figure: str, points: int, quantum_w: float, at: int) -> int:
    """One access-log entry: the live ``figure``'s public total is now a sum over ``points`` delivery points
    (rounded to ``quantum_w`` [W]) from ``at`` until the next group; returns the entry's sequence number."""
    reason = (f"public live {figure} total over a stable group of {points} delivery points, rounded to "
              f"{quantum_w:g} W; no point's own value is published")  # fmt: skip
    event = audit.AccessEvent(PUBLIC_LIVE, "public", None, f"live:{figure}", None, int(at), int(at), "live",
                              PURPOSE, "allowed", reason, None, int(points))  # fmt: skip
    return audit.append(store, event, now=at).seq


def live_values_at(store: Store, series_ids: list[str], at: int, lookback: int) -> dict[str, tuple[int, float]]:
    """Each series' newest stored reading at or before ``at`` (within ``lookback`` [s]): what its input's last
    value was when the live publication published a frame at ``at``. For :mod:`regie.publication.live` only,
    to go on after a restart from a frame whose values it did not keep (``docs/live.md``). A personal series
    is read through the gate by the publication's account, logged (a restart is rare)."""
    out: dict[str, tuple[int, float]] = {}
    for sid in series_ids:
        try:
            s = store.series(sid)
        except LookupError:  # a series the inventory no longer has
            continue
        if gate.is_personal(store, s):
            d = gate.read_personal(store, gate.PUBLICATION, sid, at - lookback, at + 1, gate.FINEST, PURPOSE,
                                   reason=RESTORE_REASON)  # fmt: skip
            t, v = np.asarray(d.t, dtype=np.int64), np.asarray(d.values, dtype=float)
        else:
            t, v = (np.asarray(x) for x in gate.read_open(store, sid, at - lookback, at + 1))
        ok = np.flatnonzero(np.isfinite(v))
        if len(ok):
            out[sid] = (int(t[ok[-1]]), float(v[ok[-1]]))
    return out
