"""The grid tables over time: a transformer's downstream energy and who drove its peaks, from frozen cells.

Issue 18 ("secrecy over time"): a supervisor without a grant for every household (secrecy applies to them)
saved a transformer's monthly downstream energy before and after one household's correction, and the
difference was that household's energy. The grid pages now show such a caller sums of the publication's
ledger cells (:mod:`regie.publication.ledger`), one per metering step and figure, under the same rule as the
balance (:mod:`regie.publication.rule`): ``downstream:<transformer>`` (Σ consumption − Σ injection of the
points it feeds) and ``peak:<transformer>:<usage group>``. A month is shown only when every cell in it is; a
revision only when its difference passes the rule. The régie itself (an admin with its stated reason, or a
caller entitled to every contributor) still gets exact figures: it is not the one the rule protects against.

Each point's contribution is read through the gate by the publication's account
(:func:`regie.publication.contributions.read`, logged), once per series for every figure of the window (the
last window's reads are kept); a figure is kept per state of the store, window and series, so a page shown
again reads nothing twice.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Sequence

import numpy as np

from regie.model import Series
from regie.publication import contributions as contrib
from regie.publication import ledger
from regie.store import Store
from regie.store import published as cells

_LOCK = threading.Lock()
_BASES: weakref.WeakKeyDictionary[Store, dict[str, ledger.Basis]] = weakref.WeakKeyDictionary()
_FIGURES: weakref.WeakKeyDictionary[Store, dict[tuple, ledger.Figure]] = weakref.WeakKeyDictionary()
_READS: weakref.WeakKeyDictionary[Store, dict[tuple, contrib.Contributions]] = weakref.WeakKeyDictionary()


def _signed(store: Store, series: Sequence[Series], negative: Collection[str], a: int, b: int, step: int,
            state: tuple[int, ...]) -> contrib.Contributions:  # fmt: skip
    """Each point's contribution, the series in ``negative`` (injection) counted negatively. Each series is
    read once per state of the store and window, whichever figures of the transformer need it."""
    reads = _READS.setdefault(store, {})
    for old in [k for k in reads if k[0] != state or k[2:] != (a, b, step)]:  # one window at a time: bounded memory
        del reads[old]
    n = (b - a) // step
    rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for s in series:
        key = (state, s.id, a, b, step)
        if key not in reads:
            reads[key] = contrib.read(store, [s], a, b, step)
        c = reads[key]
        sign = -1.0 if s.id in negative else 1.0
        for k, v, seen in zip(c.keys, c.values, c.seen, strict=True):
            total, any_seen = rows.get(k, (np.zeros(n), np.zeros(n, dtype=bool)))
            rows[k] = (total + sign * v, any_seen | seen)
    keys = tuple(sorted(rows))
    if not keys:
        return contrib.Contributions.of((), np.zeros((0, n)), np.zeros((0, n), dtype=bool))
    return contrib.Contributions.of(keys, np.vstack([rows[k][0] for k in keys]), np.vstack([rows[k][1] for k in keys]))


def frozen(store: Store, figure: str, series: Sequence[Series], a: int, b: int, step: int,
           negative: Collection[str] = ()) -> ledger.Figure:  # fmt: skip
    """``figure``'s published cells on ``[a + i·step)`` up to ``b``, brought up to date in the ledger."""
    key = (cells.fingerprint(store), figure, a, b, step, tuple(sorted(s.id for s in series)), tuple(sorted(negative)))
    with _LOCK:
        known = _FIGURES.setdefault(store, {})
        if key not in known:
            c = _signed(store, series, negative, a, b, step, key[0])
            bases = _BASES.setdefault(store, {})
            for old in [k for k in known if k[0] != key[0]]:  # older states of the store are never served again
                del known[old]
            known[key], bases[figure] = ledger.publish(store, figure, step, a, c, c.values != 0, bases.get(figure))
        return known[key]
