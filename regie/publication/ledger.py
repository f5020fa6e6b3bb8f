"""The ledger of published cells: first publication freezes a cell, a revision is a new version that the
secrecy rule over time allowed (:mod:`regie.publication.rule`). Rows live in ``published_cell``
(:mod:`regie.store.published`) and are never updated: what was shown once stays on record.

:func:`publish` brings one figure's cells up to date with the store:

- a cell never published is judged by the cell rule and stored (its value, or NULL and why it is hidden);
- a hidden cell that now passes is shown (nothing was shown before: there is nothing to subtract from);
- a shown cell whose value moved gets a new version only if the *difference* passes the rule; else the
  published value stays and the cell is counted as ``withheld``.

To know who moved, the ledger keeps in memory each point's contribution at the published version of each
cell (:class:`Basis`). A process that starts without it (a restart) takes the current contributions as the
basis and books the whole gap between the published value and today's sum on one unknown point, so that
difference can never be published: safe, at the cost of keeping older values until the process that saw
them publish... never. The basis holds personal data only in memory, never in the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from regie.governance import secrecy
from regie.publication import compact
from regie.publication import rule as secrecy_rule
from regie.publication.contributions import Contributions
from regie.store import Store
from regie.store import published as cells

#: Cells per block of a :class:`Basis`, and per slice of :func:`publish`'s work: a year at 30 min is 18 blocks,
#: and no step of the work holds more than a block of any points × cells matrix.
BLOCK = compact.BLOCK
_Block = compact.ExactBlock  # a block of the basis, exactly (int16 rows, wider rows apart)


@dataclass(frozen=True, slots=True)
class Basis:
    """Each point's contribution at the published version of each cell of a grid ``[a + i·step)``, kept by
    blocks of :data:`BLOCK` cells in the narrowest types that give back the float64 values bit for bit
    (:class:`_Block`): the basis lives as long as the process, and a year of 30-min cells for 640 points would
    be 90 MB in float64."""

    a: int
    step: int
    keys: tuple[str, ...]
    blocks: tuple[_Block, ...]  # ≤ BLOCK cells each, in grid order

    @classmethod
    def of(cls, a: int, step: int, keys: tuple[str, ...], values: np.ndarray) -> Basis:
        """A basis from a dense points × cells float64 matrix, compacted block by block."""
        n = values.shape[1]
        return cls(a, step, keys, tuple(_Block.of(values[:, i : i + BLOCK]) for i in range(0, n, BLOCK)))

    def replaced(self, part: Basis) -> Basis:
        """This basis with the cells ``part`` covers replaced by ``part``'s (0 for a point ``part`` does not
        know). Only the blocks those cells fall in are rebuilt: the usual live-edge refresh touches one."""
        i0 = (part.a - self.a) // self.step
        i1 = i0 + part.n
        blocks, start = [], 0
        for b in self.blocks:
            end = start + b.width
            x, y = max(i0, start), min(i1, end)
            if x < y:
                dense = b.dense()
                dense[:, x - start : y - start] = part.on(self.keys, self.a + x * self.step, y - x)[0]
                b = _Block.of(dense)
            blocks.append(b)
            start = end
        return replace(self, blocks=tuple(blocks))

    @property
    def n(self) -> int:
        """Cells on the grid."""
        return sum(b.width for b in self.blocks)

    @property
    def values(self) -> np.ndarray:
        """points × cells, float64 (a full copy: for tests and small grids)."""
        return self.columns(0, self.n)

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """points × cells ``[lo, hi)`` of the grid, float64."""
        return compact.columns(self.blocks, len(self.keys), lo, hi)

    def on(self, keys: tuple[str, ...], a: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(values of ``keys`` on the grid of ``n`` cells from ``a``, 0 for a key it does not know; which of
        those cells it covers)."""
        out, covered = np.zeros((len(keys), n)), np.zeros(n, dtype=bool)
        shift = (self.a - a) // self.step
        lo, hi = max(0, shift), min(n, shift + self.n)
        if hi <= lo:
            return out, covered
        row = {k: i for i, k in enumerate(self.keys)}
        have = [(i, row[k]) for i, k in enumerate(keys) if k in row]
        if have:
            dst, src = (np.array(x) for x in zip(*have, strict=True))
            out[dst, lo:hi] = self.columns(lo - shift, hi - shift)[src]
        covered[lo:hi] = True
        return out, covered


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure's published base cells over a grid ``t`` (cell starts, UTC s): ``value`` (NaN where hidden),
    ``reason`` (None where shown), ``version``, and from today's data ``points`` (contributors), ``largest``
    and ``total`` of the absolute contributions (to say why a longer period is hidden), ``withheld`` (a newer
    value exists that the rule did not let out)."""

    figure: str
    step: int
    t: np.ndarray
    value: np.ndarray
    reason: np.ndarray
    version: np.ndarray
    points: np.ndarray
    largest: np.ndarray
    total: np.ndarray
    withheld: np.ndarray

    @property
    def hidden(self) -> np.ndarray:
        return np.isnan(self.value)


def _same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    return x.shape == y.shape and np.array_equal(x.view(np.uint64), y.view(np.uint64))


def _differs(published: np.ndarray, now: np.ndarray) -> np.ndarray:
    return secrecy_rule.changed(published[None, :], now[None, :])[0]


def publish(
    store: Store,
    figure: str,
    step: int,
    a: int,
    contributions: Contributions,
    counted: np.ndarray | Callable[[int, int], np.ndarray],
    basis: Basis | None,
    rule: secrecy.SecrecyRule = secrecy_rule.RULE,
    now: int | None = None,
    withhold: np.ndarray | None = None,
) -> tuple[Figure, Basis]:
    """Bring ``figure``'s cells on ``[a + i·step)`` (one per column of ``contributions``) up to date in the
    ledger; return what is published and the basis to keep for the next call (see the module docstring).
    ``withhold``: per cell, a reason the caller hides it for besides the rule (secondary suppression across
    figures, :mod:`regie.publication.similar_homes`), or None; it keeps a cell not yet shown hidden.

    ``counted`` says which points count as contributors of each cell: points × cells booleans, or a function
    of the cells ``[lo, hi)`` giving them a block at a time (e.g. :meth:`Contributions.nonzero`)."""
    at = int(time.time()) if now is None else int(now)
    n = contributions.n
    counted_in = (lambda lo, hi: counted[:, lo:hi]) if isinstance(counted, np.ndarray) else counted
    t = a + step * np.arange(n, dtype=np.int64)
    stored = cells.latest(store, figure, step, a, a + step * n)
    at_idx = (stored.t - a) // step
    pub = np.full(n, np.nan)
    version = np.zeros(n, dtype=np.int64)
    reason = np.full(n, None, dtype=object)
    pub[at_idx], version[at_idx] = stored.value, stored.version
    reason[at_idx] = np.array(stored.reason, dtype=object)
    slices = [slice(lo, min(lo + BLOCK, n)) for lo in range(0, n, BLOCK)]
    # Column by column (a cell is judged on its own column), a block at a time: no points × cells matrix whole.
    primary = np.full(n, None, dtype=object)
    total_now, largest, total = np.zeros(n), np.zeros(n), np.zeros(n)
    points = np.zeros(n, dtype=np.int64)
    for s in slices:
        after, count = contributions.columns(s.start, s.stop), np.asarray(counted_in(s.start, s.stop), dtype=bool)
        primary[s] = secrecy_rule.cell_reasons(after, count, rule, contributions.seen_in(s.start, s.stop))
        total_now[s] = after.sum(axis=0)
        points[s] = count.sum(axis=0)
        absolute = np.abs(after)
        largest[s] = absolute.max(axis=0, initial=0.0)
        total[s] = absolute.sum(axis=0)
    if withhold is not None:
        primary = np.where(primary == None, withhold, primary)  # noqa: E711 - element-wise on an object array

    # Each point's contribution at the published version: the kept basis where it covers the cell, else today's.
    keys = tuple(sorted(set(contributions.keys) | set(basis.keys if basis else ())))
    now_rows = {k: i for i, k in enumerate(contributions.keys)}
    mine = [(i, now_rows[k]) for i, k in enumerate(keys) if k in now_rows]
    dst, src = (np.array(x, dtype=np.intp) for x in zip(*mine, strict=True)) if mine else (None, None)

    def aligned(s: slice) -> np.ndarray:
        after = contributions.columns(s.start, s.stop)
        if keys == tuple(contributions.keys):
            return after  # the usual case: the same points as last time
        out = np.zeros((len(keys), s.stop - s.start))
        if dst is not None:
            out[dst] = after[src]
        return out

    same_grid = basis is not None and basis.keys == keys and basis.a == a and basis.n == n

    def before_of(s: slice, now_s: np.ndarray) -> np.ndarray:
        if same_grid:  # the usual case: same points, same period
            return basis.columns(s.start, s.stop)
        out = now_s.copy()
        if basis is not None:
            kept, covered = basis.on(keys, a + s.start * step, s.stop - s.start)
            out[:, covered] = kept[:, covered]
        return out

    shown = version > 0
    shown &= ~np.isnan(pub)
    new = version == 0
    moved = shown & _differs(np.where(shown, pub, 0.0), total_now)
    revisable = moved & (primary == None)  # noqa: E711 - element-wise on an object array
    unhide = (version > 0) & np.isnan(pub) & (primary == None)  # noqa: E711
    revise = np.zeros(n, dtype=bool)
    blocks: list[_Block] = []
    live = np.zeros(len(keys), dtype=bool)
    for s in slices:
        now_s = aligned(s)
        before = before_of(s, now_s)
        # Whatever the basis cannot explain is booked on one unknown point (e.g. after a restart).
        unexplained = np.where(shown[s], pub[s] - before.sum(axis=0), 0.0)
        rev = revisable[s]
        ok = secrecy_rule.change_reasons(
            np.vstack([before[:, rev], unexplained[None, rev]]),
            np.vstack([now_s[:, rev], np.zeros((1, int(rev.sum())))]),
            rule,
        )
        revise[np.flatnonzero(rev)[ok == None] + s.start] = True  # noqa: E711
        changed_now = new[s] | revise[s] | unhide[s]
        before[:, changed_now] = now_s[:, changed_now]
        live |= before.any(axis=1)
        # Where the basis is today's contributions (a first publication, every cell not revised since), the
        # basis shares their block instead of keeping a second copy.
        same = contributions.block(s.start, s.stop) if keys == tuple(contributions.keys) else None
        blocks.append(same if same is not None and _same_bits(before, now_s) else _Block.of(before))
    rows: list[tuple[int, int, float | None, str | None, int]] = []
    for i in np.flatnonzero(new | revise | unhide).tolist():
        show = primary[i] is None
        rows.append((int(t[i]), int(version[i]) + 1, float(total_now[i]) if show else None,
                     None if show else str(primary[i]), int(points[i])))  # fmt: skip
    if rows:
        cells.append(store, figure, step, rows, at)
        # Serve what is on record, which is ours unless another process published some of these cells first
        # (never our own twin of a stored version: the two would differ by what changed in between). Where the
        # record differs from what we computed, the basis is ours and the gap goes to the unknown point.
        stored = cells.latest(store, figure, step, a, a + step * n)
        at_idx = (stored.t - a) // step
        pub[at_idx], version[at_idx] = stored.value, stored.version
        reason[at_idx] = np.array(stored.reason, dtype=object)
    kept_basis = Basis(a, step, tuple(k for k, x in zip(keys, live, strict=True) if x),
                       tuple(blocks if live.all() else (b.take(live) for b in blocks)))  # fmt: skip
    return Figure(
        figure=figure, step=step, t=t, value=pub, reason=reason, version=version, points=points,
        largest=largest, total=total, withheld=moved & ~revise,
    ), kept_basis  # fmt: skip
