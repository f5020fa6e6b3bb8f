"""Each delivery point's contribution to a public figure, per metering step: read once, through the gate.

The publication judges a cell by who is in it (:mod:`regie.publication.rule`), so it needs each point's
part, not only the sum. A personal series (a household's load curve, a person's rooftop plant) is read with
:func:`regie.governance.gate.read_personal` by the régie's publication account (:data:`gate.PUBLICATION`),
for territorial energy planning and with its stated reason: every data subject sees in their access log that
the régie computed public aggregates from their data. A series that describes no one (the régie's hydro
plant) is read with :func:`gate.read_open`. These values never leave :mod:`regie.publication`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from regie.governance import gate
from regie.model import Series
from regie.store import Store

PURPOSE = "dpv:CombatClimateChange"  # territorial energy planning (consent.PURPOSES)
REASON = "statistical secrecy of published aggregates (décret 2020-196, INSEE dominance rule)"
HALF_HOUR = 1800


@dataclass(frozen=True, slots=True)
class Contributions:
    """Per point (a delivery point, or a series on no point) and metering step [a + i·step, + step):
    ``values`` the Σ of the point's series' mean values [W] (0 where none), ``seen`` whether it had any."""

    keys: tuple[str, ...]
    values: np.ndarray  # points × steps
    seen: np.ndarray  # points × steps, bool

    @property
    def total(self) -> np.ndarray:
        return self.values.sum(axis=0)


def point_key(store: Store, s: Series) -> tuple[str, bool]:
    """(the delivery point(s) a series counts as, whether it is personal)."""
    prms = gate.personal_prms(store, s)
    return ("+".join(prms) if prms else s.id), bool(prms)


def read(store: Store, series: Sequence[Series], a: int, b: int, step: int) -> Contributions:
    """Each point's mean power per step over [a, b), as :meth:`Store.sum_on_grid` would sum it (each series'
    mean over the readings in the step), personal series through the gate (logged, see the module docstring)."""
    n = (b - a) // step
    by_point: dict[str, list[tuple[Series, bool]]] = {}
    for s in series:
        key, personal = point_key(store, s)
        by_point.setdefault(key, []).append((s, personal))
    keys = tuple(sorted(by_point))
    values, seen = np.zeros((len(keys), n)), np.zeros((len(keys), n), dtype=bool)
    gran = "PT30M" if step % HALF_HOUR == 0 else gate.FINEST
    for k, key in enumerate(keys):
        for s, personal in by_point[key]:
            if personal:
                d = gate.read_personal(store, gate.PUBLICATION, s.id, a, b, gran, PURPOSE, reason=REASON)
                t, v, c = np.asarray(d.t, dtype=np.int64), np.asarray(d.values, dtype=float), np.asarray(d.count)
            else:
                t, v = gate.read_open(store, s.id, a, b)
                t, v, c = np.asarray(t, dtype=np.int64), np.asarray(v, dtype=float), np.ones(len(t))
            ok = np.isfinite(v)
            t, raw_sum, c = t[ok], (v * c)[ok], c[ok].astype(float)  # Σ of the raw values behind each point
            idx = (t - a) // step
            inside = (idx >= 0) & (idx < n)
            weight = np.bincount(idx[inside], weights=c[inside], minlength=n)
            sums = np.bincount(idx[inside], weights=raw_sum[inside], minlength=n)
            values[k] += np.divide(sums, weight, out=np.zeros(n), where=weight > 0)
            seen[k] |= weight > 0
    return Contributions(keys, values, seen)
