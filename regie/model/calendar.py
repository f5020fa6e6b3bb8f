"""Local calendar periods (hours, days, months) as UTC instants.

Days and months are counted in the territory's zone: in Europe/Paris the last Sunday of March has 23
hours (46 half-hours) and the last Sunday of October 25 hours (50 half-hours). Everything here works on
int64 UTC unix seconds so that callers can bin millions of timestamps with ``np.searchsorted``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

Level = Literal["hour", "day", "month"]
LEVELS: tuple[Level, ...] = ("hour", "day", "month")
_FREQ = {"hour": "h", "day": "D", "month": "MS"}
_NOMINAL_SECONDS = {"hour": 3600, "day": 86400, "month": 31 * 86400}


def nominal_seconds(level: Level) -> int:
    """Longest length of a period of this level [s] (a month is taken as 31 days)."""
    return _NOMINAL_SECONDS[level]


def _floor_local(ts: pd.Timestamp, level: Level) -> pd.Timestamp:
    if level == "hour":
        # Whole-hour UTC offsets: local hours start on UTC hours. Floor in UTC, since flooring in local
        # time raises in the repeated hour of the autumn DST change (2026-10-25 02:00 is ambiguous).
        return ts.tz_convert("UTC").floor("h").tz_convert(ts.tz)
    day = ts.normalize()
    return day.replace(day=1) if level == "month" else day


def period_starts(t_min: int, t_max: int, level: Level, zone: ZoneInfo | str) -> np.ndarray:
    """UTC starts [s] of every local period of ``level`` that intersects [t_min, t_max], plus the end of
    the last one, so that period i is ``[starts[i], starts[i + 1])``."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    lo = _floor_local(pd.Timestamp(int(t_min), unit="s", tz="UTC").tz_convert(tz), level)
    hi = _floor_local(pd.Timestamp(int(t_max), unit="s", tz="UTC").tz_convert(tz), level)
    if level == "hour":
        idx = pd.date_range(lo.tz_convert("UTC"), hi.tz_convert("UTC"), freq="h")
        starts = idx.as_unit("s").asi8
        return np.append(starts, starts[-1] + 3600)
    # Build local wall dates then localise: a date_range in local time steps over DST correctly.
    # Step on naive wall dates: adding 24 h to an aware 25-hour day would land on the same date.
    end = hi.tz_localize(None) + (pd.offsets.MonthBegin(1) if level == "month" else pd.offsets.Day(1))
    naive = pd.date_range(lo.tz_localize(None), end, freq=_FREQ[level])
    return naive.tz_localize(tz).as_unit("s").asi8


def local_bounds(start: datetime, end: datetime) -> tuple[int, int]:
    """UTC unix seconds of two aware datetimes, checked to be in order."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a time zone")
    a, b = int(start.timestamp()), int(end.timestamp())
    if b <= a:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    return a, b


def local_year(t: int, zone: ZoneInfo | str) -> int:
    """The local calendar year an instant falls in."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return datetime.fromtimestamp(int(t), tz).year
