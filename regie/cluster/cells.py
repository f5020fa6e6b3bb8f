"""Points onto a step grid inside a worker: Σ over series of each one's mean in a cell, as the gate sums them.

:func:`regie.governance.gate.read_aggregate` gives, per cell, the sum over a group's series of each series'
mean of its points in that cell (a series without a point adds nothing; the cell is *complete* when every
series had one). A worker holds one group's rows as a pandas frame and does the same with two bincounts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def sum_of_means(frame: pd.DataFrame, start: int, step: int, n: int, sign: np.ndarray | None = None,
                 n_series: int | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(Σ_series ± mean of the series' points in cell i, number of series with a point in cell i) for the
    cells [start + i·step, + step), i < n. ``frame`` has ``code`` (series index), ``t`` and ``value``;
    ``sign[code]`` is +1 or -1 (default +1)."""
    code = frame["code"].to_numpy(np.int64)
    cell = (frame["t"].to_numpy(np.int64) - start) // step
    ok = (cell >= 0) & (cell < n)
    code, cell, v = code[ok], cell[ok], frame["value"].to_numpy(np.float64)[ok]
    k = int(n_series if n_series is not None else (code.max() + 1 if len(code) else 0))
    key = code * n + cell
    count = np.bincount(key, minlength=k * n).reshape(k, n)
    total = np.bincount(key, weights=v, minlength=k * n).reshape(k, n)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    if sign is not None:
        mean *= np.asarray(sign, dtype=np.float64)[:k, None]
    return mean.sum(axis=0), (count > 0).sum(axis=0)
