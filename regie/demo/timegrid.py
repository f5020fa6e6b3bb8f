"""The demo's time grid: every half-hour of a local calendar year, as UTC instants.

A local year in Europe/Paris has 17,520 half-hours (the 23-hour spring day and the 25-hour autumn day
cancel out). Standard load profiles are tabulated in local wall-clock time, so each UTC step is mapped
to its local wall-clock position: the skipped spring hour is never read, the repeated autumn hour is
read twice — as a household repeats its habits at the same clock time.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

STEP_S = 1800


@dataclass(frozen=True, slots=True)
class TimeGrid:
    t: np.ndarray  # UTC unix seconds, start of each step
    local: pd.DatetimeIndex  # aware local time of each step start
    year: int

    @property
    def n(self) -> int:
        return len(self.t)

    @property
    def wall_minutes(self) -> np.ndarray:
        """Minutes since local 1 January 00:00, by the wall clock (repeats in autumn, jumps in spring)."""
        naive = self.local.tz_localize(None)
        return ((naive - pd.Timestamp(self.year, 1, 1)) // pd.Timedelta(minutes=1)).to_numpy()

    @property
    def hour(self) -> np.ndarray:
        """Local decimal hour of the step's middle."""
        mid = self.local + pd.Timedelta(minutes=15)
        return mid.hour.to_numpy() + mid.minute.to_numpy() / 60

    @property
    def day_of_year(self) -> np.ndarray:
        return self.local.dayofyear.to_numpy()

    @property
    def month(self) -> np.ndarray:
        return self.local.month.to_numpy()

    @property
    def weekday(self) -> np.ndarray:
        return self.local.weekday.to_numpy()

    def local_date(self) -> np.ndarray:
        return self.local.tz_localize(None).normalize().to_numpy()


def year_grid(year: int, zone: str = "Europe/Paris") -> TimeGrid:
    tz = ZoneInfo(zone)
    start = pd.Timestamp(year, 1, 1, tz=tz)
    end = pd.Timestamp(year + 1, 1, 1, tz=tz)
    t = np.arange(int(start.timestamp()), int(end.timestamp()), STEP_S, dtype=np.int64)
    local = pd.to_datetime(t, unit="s", utc=True).tz_convert(tz)
    return TimeGrid(t=t, local=local, year=year)


def on_grid(profile_15min: np.ndarray, grid: TimeGrid) -> np.ndarray:
    """Average power of a 15-minute profile tabulated from local 1 January 00:00 (demandlib's index),
    read on the grid's half-hours by wall-clock position. Any leading axes are kept."""
    q = grid.wall_minutes // 15
    q = np.clip(q, 0, profile_15min.shape[-1] - 2)
    return 0.5 * (profile_15min[..., q] + profile_15min[..., q + 1])
