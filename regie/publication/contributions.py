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
from regie.publication import compact
from regie.store import Store

PURPOSE = "dpv:CombatClimateChange"  # territorial energy planning (consent.PURPOSES)
REASON = "statistical secrecy of published aggregates (décret 2020-196, INSEE dominance rule)"
HALF_HOUR = 1800


@dataclass(frozen=True, slots=True)
class Contributions:
    """Per point (a delivery point, or a series on no point) and metering step [a + i·step, + step): the Σ of
    the point's series' mean values [W] (0 where none), and whether it had any (``seen``).

    Kept exactly in fewer bytes, by blocks of :data:`compact.BLOCK` steps (:mod:`regie.publication.compact`):
    the publication keeps each figure's contributions for the life of the process, a year × 640 points is
    90 MB in float64 and 11 MB of booleans, about a quarter of that here. Work on them a block of columns at a
    time (:meth:`columns`, :meth:`seen_in`); :attr:`values` and :attr:`seen` make full float64/bool copies."""

    keys: tuple[str, ...]
    blocks: tuple[compact.ExactBlock, ...]  # values, in grid order
    flags: tuple[compact.Flags, ...]  # seen, the same blocks of steps

    @classmethod
    def of(cls, keys: tuple[str, ...], values: np.ndarray, seen: np.ndarray) -> Contributions:
        """From dense points × steps ``values`` and ``seen``, compacted block by block."""
        values = np.asarray(values, dtype=np.float64).reshape(len(keys), -1)
        seen = np.asarray(seen, dtype=bool).reshape(len(keys), -1)
        spans = compact.widths(values.shape[1])
        return cls(tuple(keys), tuple(compact.ExactBlock.of(values[:, lo:hi]) for lo, hi in spans),
                   tuple(compact.Flags.of(seen[:, lo:hi]) for lo, hi in spans))  # fmt: skip

    @property
    def n(self) -> int:
        """Metering steps."""
        return sum(b.width for b in self.blocks)

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.blocks) + sum(f.nbytes for f in self.flags)

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """points × steps ``[lo, hi)``, float64."""
        return compact.columns(self.blocks, len(self.keys), lo, hi)

    def block(self, lo: int, hi: int) -> compact.ExactBlock | None:
        """The kept block of values that spans exactly steps ``[lo, hi)``, if there is one (to share it)."""
        start = 0
        for b in self.blocks:
            if start == lo:
                return b if start + b.width == hi else None
            start += b.width
        return None

    def seen_in(self, lo: int, hi: int) -> np.ndarray:
        """points × steps ``[lo, hi)``: whether the point had a reading."""
        return compact.columns(self.flags, len(self.keys), lo, hi, dtype=bool)

    def nonzero(self, lo: int, hi: int) -> np.ndarray:
        """points × steps ``[lo, hi)``: whether the point's contribution is not zero (drew energy)."""
        return self.columns(lo, hi) != 0

    @property
    def values(self) -> np.ndarray:
        """points × steps, float64 (a full copy: for small grids)."""
        return self.columns(0, self.n)

    @property
    def seen(self) -> np.ndarray:
        """points × steps, bool (a full copy: for small grids)."""
        return self.seen_in(0, self.n)

    @property
    def total(self) -> np.ndarray:
        """Σ over the points per step."""
        return np.concatenate([b.dense().sum(axis=0) for b in self.blocks]) if self.blocks else np.zeros(0)

    def window(self, lo: int, hi: int) -> Contributions:
        """Steps ``[lo, hi)`` only, compact too."""
        spans = compact.widths(hi - lo)
        return Contributions(self.keys, tuple(compact.ExactBlock.of(self.columns(lo + x, lo + y)) for x, y in spans),
                             tuple(compact.Flags.of(self.seen_in(lo + x, lo + y)) for x, y in spans))  # fmt: skip

    def padded(self, n: int) -> Contributions:
        """With ``n`` steps at least: zeros (not seen) after its own. The last block grows up to a full block."""
        extra = n - self.n
        if extra <= 0:
            return self
        blocks, flags = list(self.blocks), list(self.flags)
        points = len(self.keys)
        if blocks and blocks[-1].width < compact.BLOCK:
            grow = min(extra, compact.BLOCK - blocks[-1].width)
            blocks[-1] = compact.ExactBlock.of(np.hstack([blocks[-1].dense(), np.zeros((points, grow))]))
            flags[-1] = compact.Flags.of(np.hstack([flags[-1].dense(), np.zeros((points, grow), dtype=bool)]))
            extra -= grow
        for lo, hi in compact.widths(extra):
            blocks.append(compact.ExactBlock.of(np.zeros((points, hi - lo))))
            flags.append(compact.Flags.of(np.zeros((points, hi - lo), dtype=bool)))
        return Contributions(self.keys, tuple(blocks), tuple(flags))

    def with_rows(self, fresh: Contributions, at: int) -> Contributions | None:
        """These contributions with ``fresh``'s points over steps ``[at, at + fresh.n)`` replaced by its values
        (only the blocks that window falls in are rebuilt); None when ``fresh`` has a point these do not."""
        rows = {k: i for i, k in enumerate(self.keys)}
        if any(k not in rows for k in fresh.keys):
            return None
        dst = np.array([rows[k] for k in fresh.keys], dtype=np.intp)
        end_at = at + fresh.n
        blocks, flags, start = [], [], 0
        for b, f in zip(self.blocks, self.flags, strict=True):
            end = start + b.width
            x, y = max(at, start), min(end_at, end)
            if x < y and len(dst):
                values, seen = b.dense(), f.dense()
                values[dst, x - start : y - start] = fresh.columns(x - at, y - at)
                seen[dst, x - start : y - start] = fresh.seen_in(x - at, y - at)
                b, f = compact.ExactBlock.of(values), compact.Flags.of(seen)
            blocks.append(b)
            flags.append(f)
            start = end
        return Contributions(self.keys, tuple(blocks), tuple(flags))


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
    spans = compact.widths(n)
    # A point at a time, each row narrowed as soon as it is read: never a points × steps float64 matrix.
    pieces: list[list[np.ndarray]] = [[] for _ in spans]
    seen_bits: list[list[np.ndarray]] = [[] for _ in spans]
    gran = "PT30M" if step % HALF_HOUR == 0 else gate.FINEST
    for key in keys:
        values, seen = np.zeros(n), np.zeros(n, dtype=bool)
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
            values += np.divide(sums, weight, out=np.zeros(n), where=weight > 0)
            seen |= weight > 0
        for j, (lo, hi) in enumerate(spans):
            pieces[j].append(compact.narrowest(values[lo:hi]))
            seen_bits[j].append(np.packbits(seen[lo:hi]))
    blocks = tuple(compact.ExactBlock.of_rows(pieces[j], hi - lo) for j, (lo, hi) in enumerate(spans))
    flags = tuple(
        compact.Flags(np.array(seen_bits[j], dtype=np.uint8).reshape(len(keys), -(-(hi - lo) // 8)), hi - lo)
        for j, (lo, hi) in enumerate(spans)
    )
    return Contributions(keys, blocks, flags)
