"""Statistical secrecy for tables of aggregates: pure numpy/pandas, no I/O.

A table's cells are groups of delivery points (per month × per transformer, per sector, ...). A cell is
masked when

- it counts fewer than 10 delivery points (``fewer_than_10``): the threshold French law sets for
  publishing local energy data of the residential sector, lowered from 11 to 10 points by the décret
  n° 2020-196 du 4 mars 2020 (NOR TRER1924907D), which amends the articles D. 111-52 and following of the
  Code de l'énergie (data that network operators make available to public bodies, art. L. 111-73);
- one delivery point contributes more than 85 % of it (``dominance``): the dominance rule of French official
  statistics for business data (INSEE and the ministerial statistical services: a cell is confidential if
  it has fewer than 3 units or one unit above 85 % of the total), which regie applies on top of the count
  rule because a village's one bakery or sawmill is identifiable inside any group of houses;

then **secondary suppression** masks further cells (``secondary``), choosing the smallest, until no masked
cell can be computed from the published margins (row totals, column totals, grand total) by any linear
combination — not only by subtracting one row, which is the classic attack, but by solving the whole
system. The check is exact: a masked cell is *exposed* when its unit vector lies in the row space of the
equations the margins give (numpy SVD). What this does not give is *interval* protection (how narrowly
non-negativity bounds a masked cell, the "protection levels" of τ-ARGUS); the thresholds above are the
legal floor, not a guarantee against every inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FEWER_THAN_10 = "fewer_than_10"
DOMINANCE = "dominance"
SECONDARY = "secondary"


@dataclass(frozen=True, slots=True)
class SecrecyRule:
    """Thresholds, with their sources (see the module docstring)."""

    min_points: int = 10  # décret n° 2020-196 (residential aggregates: at least 10 delivery points)
    max_share: float = 0.85  # dominance: no single point above 85 % of the cell (INSEE practice)


@dataclass(frozen=True, slots=True)
class ProtectedTable:
    """A table fit for publication: masked cells are NaN in ``values`` and say why in ``reasons``.

    ``row_totals``, ``col_totals`` and ``total`` are the true totals (masked cells included), NaN where a
    margin itself had to be hidden; ``counts`` (delivery points per cell) may be published.
    """

    values: pd.DataFrame
    counts: pd.DataFrame
    reasons: pd.DataFrame
    row_totals: pd.Series
    col_totals: pd.Series
    total: float

    @property
    def masked(self) -> pd.DataFrame:
        return self.reasons.notna()


def aggregate(
    contributions: pd.DataFrame, row: str, col: str, value: str = "value", unit: str = "prm"
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(sum, number of delivery points, largest single point's contribution) per cell of ``row`` × ``col``.

    ``contributions`` has one line per reading or per point; lines of the same point in a cell are added up
    first, so a point counts once and its whole contribution is compared with the cell.
    """
    per_point = contributions.groupby([row, col, unit], observed=True)[value].sum().reset_index()
    g = per_point.groupby([row, col], observed=True)[value]
    values = g.sum().unstack(col)
    counts = g.count().unstack(col).reindex_like(values)
    largest = g.max().unstack(col).reindex_like(values)
    return values.fillna(0.0), counts.fillna(0).astype(int), largest.fillna(0.0)


def primary(values: np.ndarray, counts: np.ndarray, largest: np.ndarray, rule: SecrecyRule) -> np.ndarray:
    """Reasons (object array, None where publishable) from the count and dominance rules alone."""
    out = np.full(values.shape, None, dtype=object)
    few = (counts > 0) & (counts < rule.min_points)
    with np.errstate(invalid="ignore", divide="ignore"):
        dominated = (counts > 0) & (values > 0) & (largest > rule.max_share * values)
    out[dominated] = DOMINANCE
    out[few] = FEWER_THAN_10  # the count rule is the legal one: say it first
    return out


def exposed_cells(
    masked: np.ndarray, row_published: np.ndarray, col_published: np.ndarray, total_published: bool
) -> list[tuple[int, int]]:
    """Masked cells that the published margins determine exactly (by any linear combination)."""
    cells = list(zip(*np.nonzero(masked), strict=True))
    if not cells:
        return []
    index = {c: k for k, c in enumerate(cells)}
    eqs = []
    for i in np.nonzero(row_published)[0]:
        eqs.append([index[c] for c in cells if c[0] == i])
    for j in np.nonzero(col_published)[0]:
        eqs.append([index[c] for c in cells if c[1] == j])
    if total_published:
        eqs.append(list(range(len(cells))))
    a = np.zeros((len(eqs), len(cells)))
    for r, ks in enumerate(eqs):
        a[r, ks] = 1.0
    if not a.any():
        return []
    _, sv, vt = np.linalg.svd(a)
    rank = int((sv > 1e-9 * max(1.0, sv[0])).sum())
    null = vt[rank:].T  # columns span the null space: directions the margins cannot see
    free = np.linalg.norm(null, axis=1) > 1e-9 if null.size else np.zeros(len(cells), dtype=bool)
    return [c for c, f in zip(cells, free, strict=True) if not f]


def protect(
    values: pd.DataFrame,
    counts: pd.DataFrame,
    largest: pd.DataFrame,
    rule: SecrecyRule = SecrecyRule(),
) -> ProtectedTable:
    """Primary then secondary suppression of a table of non-negative aggregates (e.g. energy [Wh])."""
    v = values.to_numpy(dtype=float)
    n = counts.reindex_like(values).to_numpy(dtype=int)
    big = largest.reindex_like(values).to_numpy(dtype=float)
    if (v < 0).any():
        raise ValueError("secrecy rules apply to non-negative aggregates (split imports and exports)")
    reasons = primary(v, n, big, rule)
    masked = reasons != None  # noqa: E711 - element-wise on an object array
    rows, cols = v.shape
    row_pub = np.full(rows, cols > 1)  # a one-column table's row totals are its cells
    col_pub = np.full(cols, rows > 1)
    total_pub = True
    while True:
        exposed = exposed_cells(masked, row_pub, col_pub, total_pub)
        if not exposed:
            break
        i, j = exposed[0]
        # Complements: unmasked cells with at least one point (an empty cell is known to be 0), smallest first.
        cand = [(v[i, k], i, k) for k in range(cols) if not masked[i, k] and n[i, k] > 0]
        cand += [(v[k, j], k, j) for k in range(rows) if not masked[k, j] and n[k, j] > 0]
        cand.sort()
        chosen = None
        for _, a, b in cand:
            masked[a, b] = True
            if (i, j) not in exposed_cells(masked, row_pub, col_pub, total_pub):
                chosen = (a, b)
                break
            masked[a, b] = False
        if chosen is None and cand:
            chosen = (cand[0][1], cand[0][2])  # no single cell suffices: take the smallest and look again
            masked[chosen] = True
        if chosen is not None:
            reasons[chosen] = SECONDARY
            continue
        # Nothing left to mask in this row or column: hide the margins that give the cell away.
        if row_pub[i]:
            row_pub[i] = False
        elif col_pub[j]:
            col_pub[j] = False
        else:
            total_pub = False
    row_tot = pd.Series(np.where(row_pub, v.sum(axis=1), np.nan), index=values.index)
    col_tot = pd.Series(np.where(col_pub, v.sum(axis=0), np.nan), index=values.columns)
    return ProtectedTable(
        values=pd.DataFrame(np.where(masked, np.nan, v), index=values.index, columns=values.columns),
        counts=pd.DataFrame(n, index=values.index, columns=values.columns),
        reasons=pd.DataFrame(reasons, index=values.index, columns=values.columns),
        row_totals=row_tot,
        col_totals=col_tot,
        total=float(v.sum()) if total_pub else float("nan"),
    )


def protect_contributions(
    contributions: pd.DataFrame,
    row: str,
    col: str,
    value: str = "value",
    unit: str = "prm",
    rule: SecrecyRule = SecrecyRule(),
) -> ProtectedTable:
    """:func:`aggregate` then :func:`protect`: from one line per delivery point (or reading) to a safe table."""
    return protect(*aggregate(contributions, row, col, value, unit), rule=rule)


def protect_published_totals(reasons: np.ndarray, counts: np.ndarray, rule: SecrecyRule = SecrecyRule()) -> np.ndarray:
    """Secondary suppression for rows whose total is published *elsewhere*: reasons per cell, more cells masked.

    A transformer's table of who drove each peak (rows: peaks, columns: usage groups, each delivery point in
    one group) sits next to the transformer's own load at that peak, which describes no one and is published:
    the load minus the shown groups gives the sum of the masked ones (give or take a few % of losses). So the
    masked cells of a row, *together*, must pass the rule: at least ``min_points`` points (the groups are
    disjoint, so their counts add up), and no cell among them masked for dominance (one point may then
    dominate the group too). Otherwise every other cell of the row with points is masked (``secondary``):
    what is left to subtract is the whole row, all its points. ``reasons`` is not changed; a copy is returned.
    """
    out = np.array(reasons, dtype=object, copy=True)
    n = np.asarray(counts)
    for i in range(out.shape[0]):
        masked = np.array([r is not None for r in out[i]])
        if not masked.any():
            continue
        dominated = any(r == DOMINANCE for r in out[i][masked])
        if int(n[i][masked].sum()) >= rule.min_points and not dominated:
            continue
        for j in np.flatnonzero(~masked & (n[i] > 0)):
            out[i, j] = SECONDARY
    return out
