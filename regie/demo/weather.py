"""A plausible year of weather for a mountain village of the eastern Pyrenees (Prats-de-Mollo, ~750 m).

Not a climate record: a stochastic year whose statistics resemble the place (Météo-France normals for
the Vallespir: mean ~10 °C, January ~3 °C, July ~19 °C, ~2,400 h of sunshine a year). Temperature drives
electric heating; the clear-sky index (measured irradiance / clear-sky irradiance) drives PV, so that
production has cloudy days, broken-cloud afternoons and sunny weeks instead of a clear-sky curve.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from regie.demo.timegrid import TimeGrid

# Daily weather regimes: clear, broken clouds, overcast. Rows: today, columns: tomorrow (persistence).
_TRANSITIONS = np.array([[0.72, 0.20, 0.08], [0.35, 0.40, 0.25], [0.25, 0.35, 0.40]])
# Share of clear days by month (sunnier in summer), used to tilt the chain's first column.
_CLEAR_BY_MONTH = np.array([0.50, 0.50, 0.42, 0.36, 0.38, 0.50, 0.62, 0.56, 0.48, 0.40, 0.42, 0.48])


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """A stationary AR(1) series: x[t] = phi·x[t-1] + e[t], with standard deviation ``sigma``."""
    return ar1(rng, (n,), phi, sigma)


def ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float, sigma: float) -> np.ndarray:
    """AR(1) noise along the last axis (scipy's IIR filter, so 600 households cost one call)."""
    e = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), shape)
    e[..., 0] = rng.normal(0.0, sigma, shape[:-1])
    zi = np.zeros((*shape[:-1], 1))
    return lfilter([1.0], [1.0, -phi], e, axis=-1, zi=zi)[0]


def temperature(grid: TimeGrid, rng: np.random.Generator) -> np.ndarray:
    """Outdoor air temperature [°C] per step: seasonal cycle, daily cycle (min ~6 h, max ~15 h),
    and multi-day weather anomalies."""
    doy = grid.day_of_year
    seasonal = 10.5 - 8.2 * np.cos(2 * np.pi * (doy - 18) / 365.25)
    daily_amplitude = 4.0 + 1.5 * np.sin(2 * np.pi * (doy - 80) / 365.25)
    daily = -daily_amplitude * np.cos(2 * np.pi * (grid.hour - 4.5) / 24) * 0.9
    days = np.unique(doy, return_inverse=True)[1]
    anomaly = _ar1(rng, days.max() + 1, phi=0.8, sigma=3.0)[days]
    return seasonal + daily + anomaly + rng.normal(0, 0.3, grid.n)


def clear_sky_index(grid: TimeGrid, rng: np.random.Generator) -> np.ndarray:
    """Ratio of global horizontal irradiance to its clear-sky value, per step (0.05 … 1.05)."""
    day_index = np.unique(grid.local_date(), return_inverse=True)[1]
    n_days = day_index.max() + 1
    first_month = grid.month[np.unique(day_index, return_index=True)[1]]  # each day's month (one pandas call)
    regime = np.empty(n_days, dtype=np.int64)
    regime[0] = 0
    u = rng.random(n_days)
    for d in range(1, n_days):
        p = _TRANSITIONS[regime[d - 1]].copy()
        p[0] = 0.5 * p[0] + 0.5 * _CLEAR_BY_MONTH[first_month[d] - 1]
        p /= p.sum()
        regime[d] = np.searchsorted(np.cumsum(p), u[d])
    level = np.select(
        [regime == 0, regime == 1, regime == 2],
        [rng.uniform(0.92, 1.0, n_days), rng.uniform(0.55, 0.85, n_days), rng.uniform(0.12, 0.38, n_days)],
    )
    k = level[day_index]
    # Broken clouds: strong step-to-step variability; clear days: almost none.
    spread = np.array([0.02, 0.22, 0.08])[regime][day_index]
    k = k + spread * _ar1(rng, grid.n, phi=0.6, sigma=1.0)
    return np.clip(k, 0.05, 1.05)
