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
from dataclasses import dataclass

import numpy as np

from regie.governance import secrecy
from regie.publication import rule as secrecy_rule
from regie.publication.contributions import Contributions
from regie.store import Store
from regie.store import published as cells


@dataclass(frozen=True, slots=True)
class Basis:
    """Each point's contribution at the published version of each cell of a grid ``[a + i·step)``."""

    a: int
    step: int
    keys: tuple[str, ...]
    values: np.ndarray  # points × cells

    def on(self, keys: tuple[str, ...], a: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(values of ``keys`` on the grid of ``n`` cells from ``a``, 0 for a key it does not know; which of
        those cells it covers)."""
        out, covered = np.zeros((len(keys), n)), np.zeros(n, dtype=bool)
        shift = (self.a - a) // self.step
        lo, hi = max(0, shift), min(n, shift + self.values.shape[1])
        if hi <= lo:
            return out, covered
        row = {k: i for i, k in enumerate(self.keys)}
        have = [(i, row[k]) for i, k in enumerate(keys) if k in row]
        if have:
            dst, src = (np.array(x) for x in zip(*have, strict=True))
            out[dst, lo:hi] = self.values[src, lo - shift : hi - shift]
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


def _differs(published: np.ndarray, now: np.ndarray) -> np.ndarray:
    return secrecy_rule.changed(published[None, :], now[None, :])[0]


def publish(
    store: Store,
    figure: str,
    step: int,
    a: int,
    contributions: Contributions,
    counted: np.ndarray,
    basis: Basis | None,
    rule: secrecy.SecrecyRule = secrecy_rule.RULE,
    now: int | None = None,
) -> tuple[Figure, Basis]:
    """Bring ``figure``'s cells on ``[a + i·step)`` (one per column of ``contributions``) up to date in the
    ledger; return what is published and the basis to keep for the next call (see the module docstring)."""
    at = int(time.time()) if now is None else int(now)
    after = contributions.values
    n = after.shape[1]
    t = a + step * np.arange(n, dtype=np.int64)
    stored = cells.latest(store, figure, step, a, a + step * n)
    at_idx = (stored.t - a) // step
    pub = np.full(n, np.nan)
    version = np.zeros(n, dtype=np.int64)
    reason = np.full(n, None, dtype=object)
    pub[at_idx], version[at_idx] = stored.value, stored.version
    reason[at_idx] = np.array(stored.reason, dtype=object)
    primary = secrecy_rule.cell_reasons(after, counted, rule, contributions.seen)
    total_now = after.sum(axis=0)

    # Each point's contribution at the published version: the kept basis where it covers the cell, else today's.
    keys = tuple(sorted(set(contributions.keys) | set(basis.keys if basis else ())))
    if keys == tuple(contributions.keys):
        aligned = after  # the usual case: the same points as last time (no copy of a year × points matrix)
    else:
        now_rows = {k: i for i, k in enumerate(contributions.keys)}
        aligned = np.zeros((len(keys), n))
        mine = [(i, now_rows[k]) for i, k in enumerate(keys) if k in now_rows]
        if mine:
            dst, src = (np.array(x) for x in zip(*mine, strict=True))
            aligned[dst] = after[src]
    if basis is not None and basis.keys == keys and basis.a == a and basis.values.shape[1] == n:
        before = basis.values.copy()  # the usual case: same points, same period
    else:
        before = aligned.copy()
        if basis is not None:
            kept, covered = basis.on(keys, a, n)
            before[:, covered] = kept[:, covered]
    shown = version > 0
    shown &= ~np.isnan(pub)
    # Whatever the basis cannot explain is booked on one unknown point (e.g. after a restart).
    unexplained = np.where(shown, pub - before.sum(axis=0), 0.0)

    new = version == 0
    moved = shown & _differs(np.where(shown, pub, 0.0), total_now)
    revisable = moved & (primary == None)  # noqa: E711 - element-wise on an object array
    ok = secrecy_rule.change_reasons(
        np.vstack([before[:, revisable], unexplained[None, revisable]]),
        np.vstack([aligned[:, revisable], np.zeros((1, int(revisable.sum())))]),
        rule,
    )
    revise = np.zeros(n, dtype=bool)
    revise[np.flatnonzero(revisable)[ok == None]] = True  # noqa: E711
    unhide = (version > 0) & np.isnan(pub) & (primary == None)  # noqa: E711
    rows: list[tuple[int, int, float | None, str | None, int]] = []
    points = np.asarray(counted, dtype=bool).sum(axis=0)
    for i in np.flatnonzero(new | revise | unhide).tolist():
        show = primary[i] is None
        rows.append((int(t[i]), int(version[i]) + 1, float(total_now[i]) if show else None,
                     None if show else str(primary[i]), int(points[i])))  # fmt: skip
    changed_now = new | revise | unhide
    before[:, changed_now] = aligned[:, changed_now]
    if rows:
        cells.append(store, figure, step, rows, at)
        # Serve what is on record, which is ours unless another process published some of these cells first
        # (never our own twin of a stored version: the two would differ by what changed in between). Where the
        # record differs from what we computed, the basis is ours and the gap goes to the unknown point.
        stored = cells.latest(store, figure, step, a, a + step * n)
        at_idx = (stored.t - a) // step
        pub[at_idx], version[at_idx] = stored.value, stored.version
        reason[at_idx] = np.array(stored.reason, dtype=object)
    live = before.any(axis=1)
    kept_basis = Basis(a, step, tuple(k for k, x in zip(keys, live, strict=True) if x),
                       before if live.all() else before[live])  # fmt: skip
    largest, total = np.zeros(n), np.zeros(n)
    for lo in range(0, n, 2048):  # by slices: no second year × points matrix
        absolute = np.abs(after[:, lo : lo + 2048])
        largest[lo : lo + 2048] = absolute.max(axis=0, initial=0.0)
        total[lo : lo + 2048] = absolute.sum(axis=0)
    return Figure(
        figure=figure, step=step, t=t, value=pub, reason=reason, version=version, points=points,
        largest=largest, total=total, withheld=moved & ~revise,
    ), kept_basis  # fmt: skip
