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
last window's reads are kept, shared by all transformers' figures); a figure is kept per state of *the series
that feed it* (:func:`regie.store.published.series_prints`), so that a plant's or a sensor's write elsewhere
recomputes no transformer, and a write under one transformer re-reads that one series only. :data:`STATS`
counts what was really computed.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from regie.model import Series
from regie.publication import contributions as contrib
from regie.publication import ledger
from regie.store import Store
from regie.store import published as cells

_LOCK = threading.Lock()
_BASES: weakref.WeakKeyDictionary[Store, dict[str, ledger.Basis]] = weakref.WeakKeyDictionary()
#: Per store and figure: the window, series and state of their readings it was computed on, and the figure.
_FIGURES: weakref.WeakKeyDictionary[Store, dict[str, tuple[tuple, ledger.Figure]]] = weakref.WeakKeyDictionary()
#: Per store and series: the window and the series' own print it was read at, and what was read.
_READS: weakref.WeakKeyDictionary[Store, dict[str, tuple[tuple, contrib.Contributions]]] = weakref.WeakKeyDictionary()


@dataclass(slots=True)
class Stats:
    """What this process really computed: figures published in the ledger and series read through the gate (a
    figure or a read served from memory counts in neither). Why: a write must recompute the figures it feeds
    and those only, which a test and ``bench/grid_scale.py`` observe here."""

    figures: int = 0
    reads: int = 0


STATS = Stats()


def _signed(store: Store, series: Sequence[Series], negative: Collection[str], a: int, b: int, step: int,
            prints: Mapping[str, tuple[int, ...]]) -> contrib.Contributions:  # fmt: skip
    """Each point's contribution, the series in ``negative`` (injection) counted negatively. Each series is
    read once per state of its own readings and window, whichever figures (of whichever transformer) need it."""
    reads = _READS.setdefault(store, {})
    for old in [k for k, (at, _) in reads.items() if at[1:] != (a, b, step)]:  # one window at a time: bounded memory
        del reads[old]
    n = (b - a) // step
    rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for s in series:
        at = (prints.get(s.id, cells.EMPTY), a, b, step)
        if s.id not in reads or reads[s.id][0] != at:
            reads[s.id] = (at, contrib.read(store, [s], a, b, step))
            STATS.reads += 1
        c = reads[s.id][1]
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
    """``figure``'s published cells on ``[a + i·step)`` up to ``b``, brought up to date in the ledger when the
    readings of ``series`` changed (their fingerprint, as :func:`regie.store.published.fingerprint` of them)."""
    ids = tuple(sorted(s.id for s in series))
    prints = cells.series_prints(store, ids)
    at = (a, b, step, ids, tuple(sorted(negative)), cells.combine(prints.values()))
    with _LOCK:
        known = _FIGURES.setdefault(store, {})
        if figure not in known or known[figure][0] != at:  # one window per figure: bounded memory
            c = _signed(store, series, negative, a, b, step, prints)
            bases = _BASES.setdefault(store, {})
            fig, bases[figure] = ledger.publish(store, figure, step, a, c, c.values != 0, bases.get(figure))
            known[figure] = (at, fig)  # an older state of these series is never served again
            STATS.figures += 1
        return known[figure][1]
