"""Heating and cooling degree days (degrés-jours unifiés, DJU), French conventions.

Why: a winter's heating bill says nothing until it is set against how cold the winter was. Degree days
are the standard yardstick: French heating contracts (marchés d'exploitation de chauffage, P1 clauses),
the tertiary decree's climate correction and renovation M&V all use them.

Two methods of the French profession, both on a daily minimum Tn and maximum Tx [°C] and a base S [°C]
(18 °C by convention: the outdoor temperature below which a building needs heating):

- **Météo-France ("méthode météo")**: mean M = (Tn + Tx) / 2; heating DJ = max(0, S − M), cooling
  DJ = max(0, M − S). Météo-France, *Degrés-jours unifiés*, fiche méthode (the DJU it publishes).
- **COSTIC ("méthode des professionnels de l'énergie")**, which accounts for the part of the day spent
  below the base when S falls between Tn and Tx. Heating: S ≥ Tx → S − M; S ≤ Tn → 0; otherwise
  (S − Tn) × (0.08 + 0.42 × (S − Tn) / (Tx − Tn)). Cooling, mirrored: S ≤ Tn → M − S; S ≥ Tx → 0;
  otherwise (Tx − S) × (0.08 + 0.42 × (Tx − S) / (Tx − Tn)). COSTIC, *Degrés-jours unifiés*, the method
  recommended by the French ministry's *Guide de rédaction des clauses techniques des marchés publics
  d'exploitation de chauffage* (2007).

Days are the territory's *local* calendar days (Europe/Paris: 23 or 25 hours at DST changes), Tn and Tx
taken over the readings of the day. Météo-France's climatological day takes Tn over 18 h UTC (D−1) →
18 h UTC (D) and Tx over 06 h UTC (D) → 06 h UTC (D+1); the difference on a monthly sum is small and a
régie's own thermometer is read on its own days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from regie.model.calendar import period_starts

Method = Literal["meteo", "costic"]
BASE_C = 18.0


@dataclass(frozen=True, slots=True)
class DailyTemperature:
    """Per local day: start [UTC s] (``start[i]`` to ``start[i + 1]``, one more than the days), Tn, Tx and
    mean of the readings [°C], readings counted; NaN for a day with too few readings."""

    start: np.ndarray
    tmin: np.ndarray
    tmax: np.ndarray
    tmean: np.ndarray
    count: np.ndarray

    @property
    def days(self) -> int:
        return len(self.tmin)

    @property
    def midrange(self) -> np.ndarray:
        """(Tn + Tx) / 2 [°C], the daily mean of the French convention."""
        return (self.tmin + self.tmax) / 2


def daily_temperature(
    t: np.ndarray,
    temp_c: np.ndarray,
    zone: ZoneInfo | str,
    start: int | None = None,
    end: int | None = None,
    step_s: int | None = None,
    min_coverage: float = 0.8,
) -> DailyTemperature:
    """Daily Tn, Tx, mean [°C] from a temperature series over the local days covering [start, end).

    Parameters
    ----------
    t : reading instants [UTC s], sorted.
    temp_c : air temperature [°C]; NaN readings are ignored.
    zone : the territory's time zone.
    start, end : window [UTC s]; default: the span of ``t``.
    step_s : the series' step [s]; with it, a day with fewer than ``min_coverage`` of its expected readings
        gets NaN (a Tx taken on four morning readings is not the day's Tx).
    """
    t = np.asarray(t, dtype=np.int64)
    v = np.asarray(temp_c, dtype=np.float64)
    ok = np.isfinite(v)
    t, v = t[ok], v[ok]
    a = int(start if start is not None else t[0])
    b = int(end if end is not None else t[-1] + 1)
    starts = period_starts(a, b - 1, "day", zone)
    sel = (t >= starts[0]) & (t < starts[-1])
    t, v = t[sel], v[sel]
    bounds = np.searchsorted(t, starts)
    count = np.diff(bounds)
    n = len(count)
    tmin, tmax, tmean = (np.full(n, np.nan) for _ in range(3))
    full = count > 0
    if step_s:
        full &= count >= min_coverage * np.diff(starts) / step_s
    idx = bounds[:-1][count > 0]
    if len(idx):
        keep = full[count > 0]
        tmin[full] = np.minimum.reduceat(v, idx)[keep]
        tmax[full] = np.maximum.reduceat(v, idx)[keep]
        tmean[full] = (np.add.reduceat(v, idx) / count[count > 0])[keep]
    return DailyTemperature(starts, tmin, tmax, tmean, count)


def heating_degree_days(
    tmin: np.ndarray, tmax: np.ndarray, base: float = BASE_C, method: Method = "meteo"
) -> np.ndarray:
    """Heating degree days per day [°C·day] from daily Tn and Tx [°C], base ``base`` [°C].

    ``method`` is ``"meteo"`` (Météo-France: max(0, S − (Tn + Tx)/2)) or ``"costic"`` (see module doc).
    NaN in, NaN out.
    """
    tn, tx = np.asarray(tmin, dtype=np.float64), np.asarray(tmax, dtype=np.float64)
    mean = (tn + tx) / 2
    if method == "meteo":
        return np.where(np.isnan(mean), np.nan, np.maximum(0.0, base - mean))
    if method != "costic":
        raise ValueError(f"unknown degree-day method {method!r}: 'meteo' or 'costic'")
    with np.errstate(divide="ignore", invalid="ignore"):
        partial = (base - tn) * (0.08 + 0.42 * (base - tn) / (tx - tn))
    out = np.where(base >= tx, base - mean, np.where(base <= tn, 0.0, partial))
    return np.where(np.isnan(mean), np.nan, out)


def cooling_degree_days(
    tmin: np.ndarray, tmax: np.ndarray, base: float = BASE_C, method: Method = "meteo"
) -> np.ndarray:
    """Cooling degree days per day [°C·day] from daily Tn and Tx [°C], base ``base`` [°C].

    ``"meteo"``: max(0, (Tn + Tx)/2 − S); ``"costic"``: the mirror of the heating formula (module doc).
    """
    tn, tx = np.asarray(tmin, dtype=np.float64), np.asarray(tmax, dtype=np.float64)
    mean = (tn + tx) / 2
    if method == "meteo":
        return np.where(np.isnan(mean), np.nan, np.maximum(0.0, mean - base))
    if method != "costic":
        raise ValueError(f"unknown degree-day method {method!r}: 'meteo' or 'costic'")
    with np.errstate(divide="ignore", invalid="ignore"):
        partial = (tx - base) * (0.08 + 0.42 * (tx - base) / (tx - tn))
    out = np.where(base <= tn, mean - base, np.where(base >= tx, 0.0, partial))
    return np.where(np.isnan(mean), np.nan, out)


def sum_by_period(day_start: np.ndarray, values: np.ndarray, period_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ of daily values per period (month, heating season) and the number of days that had a value.

    ``day_start`` [UTC s] of each day, ``period_start`` [UTC s] with one more entry than periods. A month
    with missing days says so through its count instead of silently being low.
    """
    d = np.asarray(day_start, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    idx = np.searchsorted(period_start, d, side="right") - 1
    n = len(period_start) - 1
    ok = (idx >= 0) & (idx < n) & np.isfinite(v)
    total = np.bincount(idx[ok], weights=v[ok], minlength=n)[:n]
    count = np.bincount(idx[ok], minlength=n)[:n]
    return total, count
