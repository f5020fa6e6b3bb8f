"""Production curves of the village's plants: PV from pvlib, run-of-river hydro, a biogas engine.

- PV: pvlib's clear-sky model (Ineichen–Perez) at the site, times a stochastic clear-sky index
  (:mod:`regie.demo.weather`), split into beam and diffuse with the Erbs model, transposed to each
  roof's plane, then PVWatts DC (−0.4 %/K) and inverter models with the Faiman cell temperature; the
  valley's mountain horizon (~8° here) hides the low sun.
- Hydro: run-of-river flow of a Pyrenean torrent — low winter flow, a snow-melt peak in May–June,
  low water in late summer, autumn storms (*épisodes méditerranéens*) with a recession of a few days;
  the plant turns what exceeds the reserved flow, up to its rated flow.
- Biogas: a CHP engine near its rated power around the clock, with maintenance stops.

Plant sizes are then set so that each plant meets the annual energy the energy project gives for it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib

from regie.demo.timegrid import STEP_S, TimeGrid
from regie.demo.weather import ar1

HORIZON_DEG = 8.0
# Monthly Linke turbidity for a clean mountain atmosphere (lower in winter); pvlib's own climatology
# file needs an HDF5 reader, and these values are in its range for the eastern Pyrenees.
LINKE_BY_MONTH = np.array([2.4, 2.6, 2.9, 3.2, 3.4, 3.5, 3.5, 3.4, 3.1, 2.8, 2.5, 2.4])


class SolarSite:
    """Sun position and irradiance at one place over the grid, shared by every roof there."""

    def __init__(self, grid: TimeGrid, latitude: float, longitude: float, altitude: float, kt: np.ndarray):
        mid = pd.DatetimeIndex(grid.local + pd.Timedelta(seconds=STEP_S / 2))  # the step's middle
        loc = pvlib.location.Location(latitude, longitude, altitude=altitude, tz=str(grid.local.tz))
        self.solpos = loc.get_solarposition(mid)
        linke = pd.Series(LINKE_BY_MONTH[mid.month - 1], index=mid)
        clear = loc.get_clearsky(mid, model="ineichen", solar_position=self.solpos, linke_turbidity=linke)
        ghi = clear["ghi"].to_numpy() * kt
        sun_up = self.solpos["apparent_elevation"].to_numpy() > HORIZON_DEG
        dec = pvlib.irradiance.erbs(ghi, self.solpos["zenith"].to_numpy(), mid.dayofyear.to_numpy())
        self.ghi = ghi
        self.dni = np.where(sun_up, np.nan_to_num(dec["dni"]), 0.0)
        self.dhi = np.nan_to_num(dec["dhi"])
        self.elevation = self.solpos["apparent_elevation"].to_numpy()

    def pv_power(self, peak_w: float, tilt: float, azimuth: float, temp_air: np.ndarray) -> np.ndarray:
        """AC power [W] of a roof of ``peak_w`` Wp facing ``azimuth`` (180 = south) at ``tilt`` degrees."""
        poa = pvlib.irradiance.get_total_irradiance(
            tilt, azimuth, self.solpos["zenith"].to_numpy(), self.solpos["azimuth"].to_numpy(),
            self.dni, self.ghi, self.dhi, albedo=0.2,
        )["poa_global"]
        poa = np.nan_to_num(np.asarray(poa, dtype=float))
        cell = pvlib.temperature.faiman(poa, temp_air, wind_speed=2.0)
        dc = pvlib.pvsystem.pvwatts_dc(poa, cell, pdc0=peak_w, gamma_pdc=-0.004)
        dc = dc * 0.90  # wiring, soiling, mismatch (PVWatts' ~10 % system losses without inverter)
        ac = pvlib.inverter.pvwatts(dc, pdc0=peak_w / 1.1)
        return np.clip(np.nan_to_num(np.asarray(ac, dtype=float)), 0.0, None)


def river_flow(grid: TimeGrid, rng: np.random.Generator, melt_day: float = 140, melt_weight: float = 1.0):
    """Relative flow of a Pyrenean torrent (1 ≈ the mean), per step."""
    doy = grid.day_of_year + grid.hour / 24
    base = 0.45 + 0.25 * np.cos(2 * np.pi * (doy - 20) / 365.25)  # wetter winters, dry late summer
    melt = melt_weight * 1.6 * np.exp(-0.5 * ((doy - melt_day) / 28) ** 2)
    melt *= 1 + 0.12 * np.sin(2 * np.pi * (grid.hour - 12) / 24)  # melt peaks in the late afternoon
    storms = np.zeros(grid.n)
    n_days = int(np.ceil(grid.n * STEP_S / 86400))
    for day in range(n_days):
        month = int(grid.month[min(day * 48, grid.n - 1)])
        p = 0.05 if month in (10, 11, 3) else 0.025 if month in (12, 1, 2, 4, 5) else 0.012
        if rng.random() < p:
            start = day * 48 + int(rng.integers(0, 48))
            if start < grid.n:
                k = np.arange(grid.n - start)
                storms[start:] += rng.uniform(0.5, 2.5) * np.exp(-k / (48 * rng.uniform(2, 6)))
    noise = np.exp(ar1(rng, (grid.n,), phi=0.995, sigma=0.15))
    return (base + melt + storms) * noise


def hydro_power(flow: np.ndarray, reserved: float = 0.15, saturation_quantile: float = 0.8) -> np.ndarray:
    """Power shape of a run-of-river plant: flow above the reserved flow, capped at the rated flow."""
    usable = np.clip(flow - reserved, 0, None)
    return np.minimum(usable, np.quantile(usable, saturation_quantile))


def biogas_power(grid: TimeGrid, rng: np.random.Generator) -> np.ndarray:
    """Shape of a biogas CHP engine: ~95 % load with small drift, two maintenance stops, a few trips."""
    shape = 0.95 + 0.03 * ar1(rng, (grid.n,), phi=0.98, sigma=1.0)
    for _ in range(2):
        start = int(rng.integers(0, grid.n - 48 * 5))
        shape[start : start + int(48 * rng.uniform(2, 5))] = 0.0
    for _ in range(8):
        start = int(rng.integers(0, grid.n - 12))
        shape[start : start + int(rng.integers(2, 12))] = 0.0
    return np.clip(shape, 0.0, 1.0)
