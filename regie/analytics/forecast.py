"""Short-term forecasts of a territory's consumption and production, from its own past (no I/O).

Why: the "when to consume" signal (:mod:`regie.analytics.signal`) needs the local balance of the next hours.
The models are deliberately simple, explainable in one sentence each, and measured (``bench/signal.py``):

- **Consumption**: the same weekday of the last ``weeks`` weeks (a village's load repeats by weekday; a French
  public holiday is a Sunday, :mod:`regie.model.public_holidays`), in two ways blended: the last day known
  carried to each future step by the ratio of those weeks' weekdays (this Monday = yesterday × their Monday /
  their Sunday), and their plain mean. Each is scaled by the heating degree days forecast against its
  reference's: electric heating follows the cold, with a factor fitted on the recent past (:func:`heating_gain`).
  Degree days are the French convention of :mod:`regie.analytics.degree_days`, over the trailing 24 hours of
  each step.
- **PV**: an irradiance forecast when one is given; otherwise the clear-sky irradiance (pvlib's Ineichen model)
  times a clear-sky index blended from the last day's (weather persists from one day to the next) and the last
  two weeks' (it does not persist for long). Irradiance becomes power through the fleet's own ratio of power to
  clear-sky irradiance on its clearest recent steps, so no plant's orientation needs to be known.
- **Hydro, biogas and other sources**: persistence of the last day's mean power (a river and an engine change
  over days, not half-hours).

Everything is on a regular grid of ``step`` seconds; ``t`` holds the start of each step [UTC s]; a missing or
masked value is NaN.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from regie.analytics import degree_days
from regie.model.public_holidays import is_french_public_holiday

DAY = 86_400
WEEK = 7 * DAY
#: Weeks of the same weekday averaged for consumption.
WEEKS = 4
#: Weight of "the last day, carried by the weekdays' shape" against "the weekdays' mean" (measured on the demo year,
#: docs/signal.md: the anchored form alone 53 kW MAE, the weekly mean 68 kW, the blend 50 kW, persistence 60 kW).
ANCHORED_WEIGHT = 0.7
#: Linke turbidity of a clean rural atmosphere, the middle of pvlib's range for southern France; one constant
#: keeps the model free of pvlib's HDF5 climatology file, and the fitted ratio absorbs the rest.
LINKE_TURBIDITY = 3.0
#: Steps whose clear-sky irradiance is below this [W/m²] say nothing about the sky (dawn, dusk, night).
MIN_CLEAR_GHI = 50.0
#: Weight of the last day's clear-sky index against the two weeks' (tomorrow resembles today). On the demo year
#: (docs/signal.md) 0.5 gave a PV MAE of 108 kW, 0.7 104 kW, 1.0 103 kW; 0.7 leaves room for real skies, whose
#: day-to-day persistence is weaker than the demo's weather chain.
LAST_DAY_WEIGHT = 0.7
PV = "pv"
#: Days of fitting the heating gain (:func:`heating_gain`).
FIT_DAYS = 28
#: Days of history the models read: the heating fit's days and the weeks of reference before them.
NEEDED_DAYS = FIT_DAYS + 7 * WEEKS + 1


@dataclass(frozen=True, slots=True)
class Site:
    """Where the territory is, for the sun's position."""

    latitude: float
    longitude: float
    altitude: float = 0.0
    #: Where days start and which days are holidays (French public holidays count as Sundays); None: every day
    #: is its weekday, in UTC (the model before holidays, kept for comparison in bench/signal.py).
    timezone: str | None = "Europe/Paris"


@dataclass(frozen=True, slots=True)
class History:
    """A territory's public past on a regular grid, up to the forecast's origin (excluded)."""

    t: np.ndarray  # start of each step [UTC s]
    step: int  # [s]
    consumption_w: np.ndarray
    production_w: dict[str, np.ndarray]  # by source
    temperature_c: np.ndarray | None = None

    @property
    def origin(self) -> int:
        """The first instant the history does not cover."""
        return int(self.t[-1]) + self.step if len(self.t) else 0

    def tail(self, seconds: int) -> History:
        """The last ``seconds`` of the history (what the models read; the rest costs time for nothing)."""
        start = int(np.searchsorted(self.t, self.origin - seconds))
        temp = None if self.temperature_c is None else self.temperature_c[start:]
        return History(self.t[start:], self.step, self.consumption_w[start:],
                       {k: v[start:] for k, v in self.production_w.items()}, temp)  # fmt: skip

    def before(self, origin: int) -> History:
        """The same history cut at ``origin`` (what was known then)."""
        n = int(np.searchsorted(self.t, origin))
        temp = None if self.temperature_c is None else self.temperature_c[:n]
        return History(self.t[:n], self.step, self.consumption_w[:n], {k: v[:n] for k, v in self.production_w.items()},
                       temp)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Weather:
    """A weather forecast on the future grid: global horizontal irradiance [W/m²] and air temperature [°C]
    (NaN where the forecast says nothing)."""

    ghi: np.ndarray | None = None
    temperature_c: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Forecast:
    """Expected mean power per future step [W]."""

    t: np.ndarray
    consumption_w: np.ndarray
    production_w: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def production_total_w(self) -> np.ndarray:
        return np.sum(list(self.production_w.values()), axis=0) if self.production_w else np.zeros(len(self.t))

    @property
    def balance_w(self) -> np.ndarray:
        """Production minus consumption: positive is a local surplus."""
        return self.production_total_w - self.consumption_w


def future_grid(origin: int, horizon_s: int, step: int) -> np.ndarray:
    """Starts of the steps of [origin, origin + horizon) [UTC s]."""
    return origin + step * np.arange(horizon_s // step, dtype=np.int64)


def _at(h: History, values: np.ndarray, when: np.ndarray) -> np.ndarray:
    """``values`` of the history at instants ``when`` (NaN outside it or off its grid)."""
    i = (np.asarray(when, dtype=np.int64) - (int(h.t[0]) if len(h.t) else 0)) // h.step
    ok = (i >= 0) & (i < len(h.t))
    out = np.full(len(i), np.nan)
    out[ok] = values[i[ok]]
    return out


def _latest_same_time(h: History, when: np.ndarray, period: int) -> np.ndarray:
    """For each instant, the latest instant of the history at the same offset modulo ``period``."""
    lag = np.ceil((when - h.origin + 1) / period).astype(np.int64).clip(min=1)
    return when - lag * period


def persistence(h: History, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The plain baseline: each future step gets the value of the same time of day on the last day known."""
    return _at(h, values, _latest_same_time(h, t, DAY))


def _nanmean(stack: np.ndarray) -> np.ndarray:
    n = np.sum(np.isfinite(stack), axis=0)
    s = np.nansum(stack, axis=0)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan)


SUNDAY = 6
#: How far back a day's references are looked for [days]: the ``weeks`` latest days of its kind, with room for
#: holidays in between (a Sunday-kind day has more of them, a weekday loses one per holiday).
_LOOK_BACK_WEEKS = 3
_EPOCH = date(1970, 1, 1).toordinal()


def local_days(t: np.ndarray, timezone: str) -> np.ndarray:
    """The local calendar day of each instant, as days since 1970-01-01."""
    idx = pd.DatetimeIndex(pd.to_datetime(np.asarray(t, dtype=np.int64), unit="s", utc=True)).tz_convert(timezone)
    return idx.tz_localize(None).as_unit("s").asi8 // DAY


def day_kinds(days: np.ndarray) -> np.ndarray:
    """The kind of each day (days since 1970-01-01): its weekday, Monday 0 … Sunday 6, a French public holiday
    counting as a Sunday (people are home, shops and schools closed)."""
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(days.min()), int(days.max())
    table = np.array([SUNDAY if is_french_public_holiday(date.fromordinal(_EPOCH + n)) else (n + 3) % 7
                      for n in range(lo, hi + 1)], dtype=np.int64)  # fmt: skip
    return table[days - lo]


def _same_weekday_refs(h: History, values: np.ndarray, t: np.ndarray, weeks: int,
                       timezone: str | None = None) -> np.ndarray:  # fmt: skip
    """Values at the same time on the ``weeks`` latest days known of the same kind, one row per week: a day's
    references are the latest ordinary days (not holidays) of its weekday, a holiday's the latest Sundays
    (:func:`day_kinds`). Holidays are never references: on the demo year (docs/signal.md) letting them stand for
    Sundays gave a balance MAE of 143.8 kW, leaving them out 142.9 kW. Without a ``timezone``: the same weekday
    in UTC, holidays or not."""
    if timezone is None:
        first = _latest_same_time(h, t, WEEK)
        return np.stack([_at(h, values, first - k * WEEK) for k in range(weeks)])
    t = np.asarray(t, dtype=np.int64)
    refs = np.full((weeks, len(t)), np.nan)
    if len(t) == 0:
        return refs
    day = local_days(t, timezone)
    back = 7 * (weeks + _LOOK_BACK_WEEKS)
    lo = int(day.min()) - back
    table = day_kinds(np.arange(lo, int(day.max()) + 1))  # the kind of day lo + i
    kind_t = table[day - lo]
    found = np.zeros(len(t), dtype=np.int64)
    for d in range(1, back + 1):
        cand = t - d * DAY  # the same UTC time d days before (the same local time but in DST weeks)
        weekday = (day - d + 3) % 7  # 1970-01-01 was a Thursday (3)
        ordinary = table[day - d - lo] == weekday  # not a holiday
        take = (cand < h.origin) & ordinary & (weekday == kind_t) & (found < weeks)
        if take.any():
            refs[found[take], np.flatnonzero(take)] = _at(h, values, cand[take])
            found[take] += 1
    return refs


def rolling_hdd(h_t: np.ndarray, temp_c: np.ndarray, step: int) -> np.ndarray:
    """Heating degree days (Météo-France method, base 18 °C) of the 24 hours ending at each step."""
    n = max(1, DAY // step)
    s = pd.Series(temp_c)
    tn = s.rolling(n, min_periods=n // 2).min().to_numpy()
    tx = s.rolling(n, min_periods=n // 2).max().to_numpy()
    return degree_days.heating_degree_days(tn, tx)


def _future_temperature(h: History, t: np.ndarray, weather: Weather | None) -> np.ndarray:
    """The forecast's temperature where given, else the same time of the last day known (persistence)."""
    persisted = _at(h, h.temperature_c, _latest_same_time(h, t, DAY))
    if weather is None or weather.temperature_c is None:
        return persisted
    return np.where(np.isfinite(weather.temperature_c), weather.temperature_c, persisted)


def heating_gain(h: History, hdd: np.ndarray, weeks: int = WEEKS, fit_days: int = FIT_DAYS) -> float:
    """Relative change of consumption per heating degree day of difference with the reference weeks, fitted by
    least squares on the last ``fit_days`` days of the history (0 when the data cannot tell)."""
    n = min(len(h.t), fit_days * DAY // h.step)
    if n == 0:
        return 0.0
    t = h.t[-n:]
    refs = np.stack([_at(h, h.consumption_w, t - (k + 1) * WEEK) for k in range(weeks)])
    href = np.stack([_at(h, hdd, t - (k + 1) * WEEK) for k in range(weeks)])
    ref, dd = _nanmean(refs), hdd[-n:] - _nanmean(href)
    rel = h.consumption_w[-n:] / ref - 1
    ok = np.isfinite(rel) & np.isfinite(dd) & (ref > 0)
    den = float(np.sum(dd[ok] ** 2))
    if ok.sum() < DAY // h.step or den < 1e-6:
        return 0.0
    return max(0.0, float(np.sum(rel[ok] * dd[ok]) / den))


def consumption(h: History, t: np.ndarray, weather: Weather | None = None, weeks: int = WEEKS,
                timezone: str | None = None) -> np.ndarray:  # fmt: skip
    """The last day known, carried to each future step by the same weekdays of the last weeks, blended with those
    weeks' mean; both scaled by the heating degree days forecast against theirs (module docstring). With a
    ``timezone``, French public holidays are Sundays (:func:`_same_weekday_refs`)."""
    prev = _latest_same_time(h, t, DAY)
    weekly = _nanmean(_same_weekday_refs(h, h.consumption_w, t, weeks, timezone))
    weekly_prev = _nanmean(_same_weekday_refs(h, h.consumption_w, prev, weeks, timezone))
    last = _at(h, h.consumption_w, prev)
    with np.errstate(divide="ignore", invalid="ignore"):
        anchored = last * np.where(weekly_prev > 0, weekly / weekly_prev, 1.0)
    if h.temperature_c is not None and np.isfinite(h.temperature_c).any():
        hdd = rolling_hdd(h.t, h.temperature_c, h.step)
        gain = heating_gain(h, hdd, weeks)
        if gain:
            temps = np.concatenate([h.temperature_c, _future_temperature(h, t, weather)])
            hdd_f = rolling_hdd(np.concatenate([h.t, t]), temps, h.step)[len(h.t) :]
            hdd_ref = _nanmean(_same_weekday_refs(h, hdd, t, weeks, timezone))
            anchored = anchored * _factor(gain, hdd_f - _at(h, hdd, prev))
            weekly = weekly * _factor(gain, hdd_f - hdd_ref)
    blend = ANCHORED_WEIGHT * anchored + (1 - ANCHORED_WEIGHT) * weekly
    return np.where(np.isfinite(blend), blend, np.where(np.isfinite(anchored), anchored, weekly))


def _factor(gain: float, dd: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(dd), np.clip(1 + gain * dd, 0.5, 2.0), 1.0)


def clear_sky_ghi(t: np.ndarray, step: int, site: Site) -> np.ndarray:
    """Clear-sky global horizontal irradiance [W/m²] at the middle of each step (pvlib, Ineichen–Perez)."""
    t = np.asarray(t, dtype=np.int64)
    if len(t) == 0:
        return np.zeros(0)
    out = np.empty(len(t))
    block = (t // _BLOCK_S).astype(np.int64)
    for b in np.unique(block):  # computed by blocks of 64 days, kept: backtests ask for the same days again
        sel = block == b
        out[sel] = _clear_sky_block(int(b), step, site)[(t[sel] - int(b) * _BLOCK_S) // step]
    return out


_BLOCK_S = 64 * DAY
#: Clear-sky blocks kept, most recently used last (a backtest asks for the same days again).
_KEPT_BLOCKS = 32
_BLOCKS: OrderedDict[tuple[int, int, Site], np.ndarray] = OrderedDict()
_BLOCKS_LOCK = threading.Lock()  # pages compute signals on several threads


def clear_sky_blocks(a: int, b: int) -> list[int]:
    """The clear-sky blocks that cover the instants [a, b) [UTC s] (see :func:`clear_sky_block`)."""
    return list(range(a // _BLOCK_S, (max(a, b - 1)) // _BLOCK_S + 1))


def knows_clear_sky(block: int, step: int, site: Site) -> bool:
    """Whether :func:`clear_sky_ghi` has this block already, so that asking for it computes nothing."""
    with _BLOCKS_LOCK:
        return (block, step, site) in _BLOCKS


def remember_clear_sky(block: int, step: int, site: Site, ghi: np.ndarray) -> np.ndarray:
    """Keep a block computed elsewhere (e.g. :func:`clear_sky_block` in a child process, which spares the caller
    pvlib's memory: :mod:`regie.services.clear_sky`); return it, read-only."""
    ghi = np.array(ghi, dtype=float)
    if ghi.shape != (_BLOCK_S // step,):
        raise ValueError(f"clear-sky block {block}: {ghi.shape[0]} values for {_BLOCK_S // step} steps")
    ghi.flags.writeable = False
    with _BLOCKS_LOCK:
        _BLOCKS[(block, step, site)] = ghi
        while len(_BLOCKS) > _KEPT_BLOCKS:
            _BLOCKS.popitem(last=False)
    return ghi


def _clear_sky_block(block: int, step: int, site: Site) -> np.ndarray:
    key = (block, step, site)
    with _BLOCKS_LOCK:
        ghi = _BLOCKS.get(key)
        if ghi is not None:
            _BLOCKS.move_to_end(key)
            return ghi
    return remember_clear_sky(block, step, site, clear_sky_block(block, step, site))


def clear_sky_block(block: int, step: int, site: Site) -> np.ndarray:
    """Clear-sky GHI [W/m²] at the middle of each step of the 64 days of ``block`` (pvlib, Ineichen–Perez)."""
    import pvlib

    t = block * _BLOCK_S + step * np.arange(_BLOCK_S // step, dtype=np.int64)
    mid = pd.DatetimeIndex(pd.to_datetime(t + step // 2, unit="s", utc=True))
    loc = pvlib.location.Location(site.latitude, site.longitude, altitude=site.altitude)
    cs = loc.get_clearsky(mid, model="ineichen", linke_turbidity=LINKE_TURBIDITY)
    return np.nan_to_num(cs["ghi"].to_numpy(dtype=float))


@dataclass(frozen=True, slots=True)
class SkyState:
    """What the recent past says about the PV fleet: power per clear-sky irradiance on clear steps [W per W/m²],
    and the clear-sky index of the last day and of the last two weeks."""

    ratio: float
    index_last_day: float
    index_two_weeks: float

    @property
    def index(self) -> float:
        return LAST_DAY_WEIGHT * self.index_last_day + (1 - LAST_DAY_WEIGHT) * self.index_two_weeks


def sky_state(h: History, pv_w: np.ndarray, ghi_cs: np.ndarray, days: int = 14) -> SkyState | None:
    """The fleet's ratio (a high quantile of power / clear-sky irradiance: its clearest steps) and the clear-sky
    indices, from the last ``days`` days; None without daylight data."""
    n = min(len(pv_w), days * DAY // h.step)
    p, g = pv_w[-n:], ghi_cs[-n:]
    ok = np.isfinite(p) & (g > MIN_CLEAR_GHI)
    if ok.sum() < 8:
        return None
    ratio = float(np.quantile(p[ok] / g[ok], 0.95))
    if ratio <= 0:
        return SkyState(0.0, 0.0, 0.0)

    def index(k: int) -> float:
        sel = ok[-k:]
        expected = float(np.sum(ratio * g[-k:][sel]))
        return float(np.sum(p[-k:][sel]) / expected) if expected > 0 else 1.0

    return SkyState(ratio, index(DAY // h.step), index(n))


def pv(h: History, t: np.ndarray, site: Site, weather: Weather | None = None) -> np.ndarray:
    """PV power [W]: the forecast irradiance, else clear sky × the recent clear-sky index, times the fleet's ratio."""
    values = h.production_w[PV]
    ghi_past = clear_sky_ghi(h.t[-14 * DAY // h.step :], h.step, site)
    state = sky_state(h, values[-len(ghi_past) :], ghi_past)
    if state is None:
        return persistence(h, values, t)
    ghi_cs = clear_sky_ghi(t, h.step, site)
    expected = ghi_cs * state.index
    if weather is not None and weather.ghi is not None:
        expected = np.where(np.isfinite(weather.ghi), weather.ghi, expected)
    return state.ratio * np.clip(expected, 0.0, None)


def steady(h: History, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Persistence of the last day's mean power (hydro, biogas): the same value for every future step."""
    last = values[-DAY // h.step :]
    level = float(np.nanmean(last)) if np.isfinite(last).any() else np.nan
    return np.full(len(t), level)


def forecast(h: History, horizon_s: int, site: Site, weather: Weather | None = None) -> Forecast:
    """Consumption and production by source over [origin, origin + horizon) (module docstring)."""
    h = h.tail(NEEDED_DAYS * DAY)
    t = future_grid(h.origin, horizon_s, h.step)
    prod = {src: pv(h, t, site, weather) if src == PV else steady(h, v, t) for src, v in h.production_w.items()}
    return Forecast(t, consumption(h, t, weather, timezone=site.timezone), prod)


def observed(h: History, t: np.ndarray) -> Forecast:
    """What actually happened on the grid ``t`` (for backtests): the history read at those steps."""
    return Forecast(t, _at(h, h.consumption_w, t), {k: _at(h, v, t) for k, v in h.production_w.items()})


def persistence_forecast(h: History, horizon_s: int) -> Forecast:
    """The plain persistence forecast of every figure (the baseline of ``bench/signal.py``)."""
    t = future_grid(h.origin, horizon_s, h.step)
    return Forecast(t, persistence(h, h.consumption_w, t), {k: persistence(h, v, t) for k, v in h.production_w.items()})
