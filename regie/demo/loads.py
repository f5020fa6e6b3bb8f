"""Consumption curves built from standard load profiles, varied per delivery point.

Shapes come from the BDEW standard load profiles as demandlib implements them (H0 dynamic for
households, G0–G6 for trades, L0 for farms), computed with the French public holidays of the year
(``holidays``). Each household then gets its own size, heating, hot-water heater and habits, so that 600
curves differ the way real Linky curves do:

- electric space heating (resistive or heat pump) follows the heating degree-hours of the outdoor
  temperature, with a morning and evening peak and a night setback;
- an electric water heater (*cumulus*) switched on by the off-peak signal (*heures creuses*, 22:00–06:00
  in this demo, as Enedis relays most of them) draws ~2–3 kW for a few hours a night;
- second homes — many in a mountain village — are occupied during school holidays and summer only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import holidays
import numpy as np

from regie.demo.timegrid import STEP_S, TimeGrid, on_grid
from regie.demo.weather import ar1

WH_PER_W_STEP = STEP_S / 3600


def standard_profiles(year: int, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """demandlib's BDEW profiles for ``year`` with French holidays, as average power [W] per quarter hour
    for 1 MWh a year (local wall-clock index from 1 January 00:00)."""
    from demandlib import bdew

    # demandlib 0.2.2 calls warnings.simplefilter("error") for the whole process: keep that inside.
    with warnings.catch_warnings():
        slp = bdew.ElecSlp(year, holidays=holidays.France(years=year))
    frame = slp.get_profiles(*names)
    return {n: frame[n].to_numpy() / frame[n].sum() * 1e6 * 4 for n in names}  # MWh share → W per 15 min


def scale_to_energy(power_w: np.ndarray, energy_wh: float | np.ndarray) -> np.ndarray:
    """Rescale curves (last axis = time) so that each one's energy over the grid is ``energy_wh``."""
    total = power_w.sum(axis=-1, keepdims=True) * WH_PER_W_STEP
    target = np.asarray(energy_wh, dtype=np.float64)
    if target.ndim:
        target = target[..., None]
    return power_w * np.divide(target, total, out=np.zeros_like(total), where=total > 0)


@dataclass(frozen=True, slots=True)
class Household:
    occupants: int
    heating: str  # "electric", "heat_pump" or "other" (wood, fuel oil: not on the meter)
    water_heater: bool
    second_home: bool
    annual_wh: float  # what the household consumes in a year, all uses


def draw_households(n: int, rng: np.random.Generator) -> list[Household]:
    """Households of a mountain village: sizes, heating systems, second homes."""
    occupants = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.30, 0.36, 0.15, 0.13, 0.06])
    heating = rng.choice(["electric", "heat_pump", "other"], size=n, p=[0.34, 0.14, 0.52])
    second = rng.random(n) < 0.22
    water = rng.random(n) < 0.62
    out = []
    for i in range(n):
        base = 1400 + 650 * occupants[i]  # appliances, lighting, cooking [kWh/yr]
        base *= rng.lognormal(0.0, 0.25)
        heat = {"electric": 8500, "heat_pump": 3200, "other": 0}[heating[i]] * rng.lognormal(0.0, 0.3)
        dhw = (900 + 350 * occupants[i]) if water[i] else 0
        factor = 0.3 if second[i] else 1.0
        out.append(Household(int(occupants[i]), str(heating[i]), bool(water[i]), bool(second[i]),
                             (base + heat + dhw) * factor * 1000))
    return out


def second_home_occupancy(grid: TimeGrid) -> np.ndarray:
    """1 when a second home is occupied (summer, Christmas, February holidays of zone C), else 0."""
    doy = grid.day_of_year
    summer = (doy >= 186) & (doy <= 243)
    christmas = (doy >= 354) | (doy <= 4)
    winter_break = (doy >= 46) & (doy <= 59)
    weekend = grid.weekday >= 5
    return (summer | christmas | winter_break | (weekend & (grid.month >= 5) & (grid.month <= 9))).astype(float)


_BLOCK = 128  # households generated together: ~18 MB per array of a block's year of half-hours


def household_curves(
    households: list[Household], grid: TimeGrid, temp_c: np.ndarray, h0: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Average power [W] per household (rows) and step (columns)."""
    n, steps = len(households), grid.n
    hour = grid.hour
    base_shape = on_grid(h0, grid)  # W for 1 MWh/yr
    # habits: each household shifts the standard day by up to ±1 h and adds its own noise
    shifts = rng.integers(-2, 3, n)
    idx = (np.arange(steps)[None, :] - shifts[:, None]) % steps
    appliances = base_shape[idx] * np.exp(ar1(rng, (n, steps), phi=0.55, sigma=0.35))
    # occasional bursts (oven, washing machine): ~1 step in 25
    bursts = (rng.random((n, steps)) < 0.04) * rng.uniform(600, 2200, (n, steps))

    # heating: degree-hours under 17 °C, a day shape with setback at night
    degree = np.clip(17.0 - temp_c, 0, None)
    day_shape = 0.75 + 0.35 * np.exp(-((hour - 7.5) ** 2) / 3) + 0.3 * np.exp(-((hour - 19.5) ** 2) / 5)
    heat_shape = degree * day_shape
    heat_noise = np.exp(ar1(rng, (n, steps), phi=0.8, sigma=0.25))

    # water heater on the off-peak signal: starts between 22:00 and 23:30, 1.5–4 h a night
    start = rng.choice([22.0, 22.5, 23.0, 23.5], n)
    length = rng.uniform(1.5, 3.5, n)
    since_start = (hour[None, :] - start[:, None]) % 24
    winter_longer = 1 + 0.3 * np.cos(2 * np.pi * (grid.day_of_year - 15) / 365.25)
    dhw_on = since_start < (length[:, None] * winter_longer[None, :])

    occupancy = second_home_occupancy(grid)
    # Each household's mix of appliances, heating and water heater, weighted by its usage (a usage it lacks
    # weighs 0: adding 0 changes no value); computed for blocks of households at once, not one by one.
    second = np.array([h.second_home for h in households])
    occupants = np.array([h.occupants for h in households], dtype=float)
    w = np.stack([1400 + 650 * occupants,
                  np.array([{"electric": 8500.0, "heat_pump": 3200.0}.get(h.heating, 0.0) for h in households]),
                  np.where([h.water_heater for h in households], 900 + 350 * occupants, 0.0)])  # fmt: skip
    w = w / w.sum(axis=0)
    annual = np.array([h.annual_wh for h in households], dtype=float)
    frost_guard = np.where(second, 60.0, 0.0)[:, None]  # a vacant house keeps a few devices on
    curves = np.empty((n, steps))
    for a in range(0, n, _BLOCK):
        b = min(n, a + _BLOCK)
        occ = np.where(second[a:b, None], occupancy[None, :], 1.0)
        mix = scale_to_energy(appliances[a:b] * occ + bursts[a:b] * occ, 1.0) * w[0, a:b, None]
        mix += scale_to_energy(heat_shape * heat_noise[a:b] * occ + 1e-9, 1.0) * w[1, a:b, None]
        mix += scale_to_energy(dhw_on[a:b] * occ + 1e-9, 1.0) * w[2, a:b, None]
        curves[a:b] = scale_to_energy(mix, annual[a:b]) + frost_guard[a:b]
    return curves


def trade_curves(
    profiles: list[np.ndarray], annual_wh: np.ndarray, grid: TimeGrid, rng: np.random.Generator
) -> np.ndarray:
    """Shops, restaurants, workshops: their standard profile with their own noise [W]."""
    shapes = np.stack([on_grid(p, grid) for p in profiles])
    noise = np.exp(ar1(rng, shapes.shape, phi=0.7, sigma=0.15))
    return scale_to_energy(shapes * noise, annual_wh)


def spa_curve(grid: TimeGrid, annual_wh: float, rng: np.random.Generator) -> np.ndarray:
    """A thermal spa: pumps, pools and treatments at a steady load during the thermal season
    (early April to late November), a lower base outside it [W]."""
    doy = grid.day_of_year
    season = (doy >= 91) & (doy <= 330)
    hour = grid.hour
    open_hours = (hour >= 7) & (hour < 20)
    shape = np.where(season, 1.0 + 0.25 * open_hours, 0.35)
    shape = shape * np.exp(ar1(rng, (grid.n,), phi=0.9, sigma=0.05))
    return scale_to_energy(shape, annual_wh)


def street_lighting_curve(solar_elevation_deg: np.ndarray, grid: TimeGrid, annual_wh: float) -> np.ndarray:
    """Public lighting: on from dusk to 23:30 and from 05:30 to dawn (the commune's night cut) [W]."""
    hour = grid.hour
    dark = solar_elevation_deg < -4
    on = dark & ~((hour >= 23.5) | (hour < 5.5))
    return scale_to_energy(on.astype(float), annual_wh)
