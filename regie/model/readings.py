"""A batch of readings: what every ingest adapter ends in and what the store writes atomically."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Readings:
    """Values of one series. ``t``: UTC unix seconds, interval values stamped at the *start* of their
    interval (ingest converts end-of-interval sources once); ``values`` in the series' unit; NaN = no value."""

    series_id: str
    t: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        t = np.asarray(self.t)
        v = np.asarray(self.values, dtype=np.float64)
        if t.ndim != 1 or v.ndim != 1 or len(t) != len(v):
            raise ValueError(f"series {self.series_id}: {len(t)} timestamps for {len(v)} values")
        if len(t) and not np.issubdtype(t.dtype, np.integer):
            raise ValueError(f"series {self.series_id}: timestamps must be integer unix seconds, got {t.dtype}")
        object.__setattr__(self, "t", t.astype(np.int64, copy=False))
        object.__setattr__(self, "values", v)

    def __len__(self) -> int:
        return len(self.t)
