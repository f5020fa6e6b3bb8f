"""Second demo territory: a town's three schools, followed with low-cost sensors (issue #6).

Modelled on what Lorient does with emoncms: each school's consumption and one school's PV roof are
metered; the town publishes them live and must prove what a renovation saved. Two years of hourly data
(emoncms PHPFina-style feeds), the last weeks also at 10 seconds (emonTx posting to the emoncms API),
and the outdoor temperature.

- ``ecole-merville`` is renovated during the 2025 All Saints holiday (insulation, windows, controls):
  its heating need drops by ``HEATING_CUT`` (25 %) from then on — the IPMVP option C case;
- ``ecole-bois-du-chateau`` has a 36 kWp PV roof, self-consumed first, surplus injected;
- ``ecole-kerentrech`` is unchanged: the control.

School names are Lorient's quarters; the buildings, their sizes and their curves are invented. Heating
is electric (heat pumps), on from mid-October to April (the French *saison de chauffe*), at 19 °C when
occupied, 16 °C at night and weekends, frost protection in holidays; schools follow the four-day week
and the zone B holiday calendar (Académie de Rennes) as published by the Ministry of Education for
2024–2027, with French public holidays from ``holidays``. The 10-second series are kind SENSOR: the same
energy as the hourly feeds, so they must never be added to a balance twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
from scipy.signal import lfilter

from regie.demo import weather
from regie.demo.data import DemoData
from regie.demo.production import SolarSite
from regie.demo.timegrid import TimeGrid
from regie.model import (
    DeliveryPoint,
    IntervalConvention,
    Inventory,
    Meter,
    Organisation,
    OrganisationKind,
    Producer,
    Readings,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
)

ZONE = "Europe/Paris"
LAT, LON, ALT = 47.748, -3.370, 10.0
HEATING_CUT = 0.25
WORKS = (date(2025, 10, 18), date(2025, 11, 3))  # All Saints holiday 2025, zone B
FAST_STEP_S = 10
PT1H, PT10S = Step.parse("PT1H"), Step.parse("PT10S")

# Zone B school holidays [first day off, first day back) (Ministère de l'Éducation nationale calendar).
SCHOOL_HOLIDAYS = [
    (date(2024, 7, 6), date(2024, 9, 2)), (date(2024, 10, 19), date(2024, 11, 4)),
    (date(2024, 12, 21), date(2025, 1, 6)), (date(2025, 2, 8), date(2025, 2, 24)),
    (date(2025, 4, 5), date(2025, 4, 22)), (date(2025, 7, 5), date(2025, 9, 1)),
    (date(2025, 10, 18), date(2025, 11, 3)), (date(2025, 12, 20), date(2026, 1, 5)),
    (date(2026, 2, 14), date(2026, 3, 2)), (date(2026, 4, 11), date(2026, 4, 27)),
    (date(2026, 7, 4), date(2026, 9, 1)), (date(2026, 10, 17), date(2026, 11, 2)),
    (date(2026, 12, 19), date(2027, 1, 4)),
]


@dataclass(frozen=True, slots=True)
class School:
    id: str
    name: str
    prm: str
    floor_m2: float
    heat_loss_w_per_k: float  # building heat-loss coefficient seen by the heating [W/K]
    base_occupied_w: float  # lighting, IT, kitchen, ventilation when open
    base_closed_w: float
    pv_wp: float = 0.0
    renovated: bool = False


SCHOOLS = (
    School("ecole-merville", "Groupe scolaire de Merville", "25000000000011", 2400, 2600, 14_000, 2_500,
           renovated=True),
    School("ecole-bois-du-chateau", "École du Bois-du-Château", "25000000000012", 1800, 1700, 10_000, 1_800,
           pv_wp=36_000),
    School("ecole-kerentrech", "École de Kerentrech", "25000000000013", 1500, 1500, 8_000, 1_500),
)
PV_PRM = "25000000000022"


@dataclass(frozen=True, slots=True)
class SchoolsData:
    """The schools demo: ``hourly`` (a :class:`DemoData`: two years at PT1H, W and °C), and the recent
    weeks at 10 s (``fast_t`` UTC s, ``fast`` series id → W) of the SENSOR series. ``without_works``:
    the renovated school's hourly power [W] had it not been renovated (same weather, days and noise) —
    the truth an IPMVP estimate is checked against; never written to a store."""

    hourly: DemoData
    fast_t: np.ndarray
    fast: dict[str, np.ndarray]
    works: tuple[date, date]
    without_works: dict[str, np.ndarray]

    @property
    def inventory(self) -> Inventory:
        return self.hourly.inventory

    def readings(self, chunk_days: int = 7) -> Iterator[Readings]:
        """Every series as ``Readings`` batches (the 10-second ones a week at a time), for ``Store.write``."""
        for sid, v in self.hourly.values.items():
            yield Readings(sid, self.hourly.t, v)
        n = chunk_days * 86_400 // FAST_STEP_S
        for sid, v in self.fast.items():
            for i in range(0, len(self.fast_t), n):
                yield Readings(sid, self.fast_t[i : i + n], v[i : i + n])


def _grid(start: date, end: date, step_s: int) -> TimeGrid:
    tz = ZoneInfo(ZONE)
    a, b = pd.Timestamp(start, tz=tz), pd.Timestamp(end, tz=tz)
    t = np.arange(int(a.timestamp()), int(b.timestamp()), step_s, dtype=np.int64)
    return TimeGrid(t=t, local=pd.to_datetime(t, unit="s", utc=True).tz_convert(tz), year=start.year)


def _temperature(grid: TimeGrid, rng: np.random.Generator) -> np.ndarray:
    """Lorient's oceanic climate [°C]: mean ~12 °C, January ~7 °C, August ~18 °C, small daily swing."""
    doy = grid.day_of_year
    seasonal = 12.2 - 5.6 * np.cos(2 * np.pi * (doy - 22) / 365.25)
    daily = -(2.6 + 1.2 * np.sin(2 * np.pi * (doy - 80) / 365.25)) * np.cos(2 * np.pi * (grid.hour - 4.5) / 24)
    days = np.unique(grid.local_date(), return_inverse=True)[1]
    anomaly = weather.ar1(rng, (int(days.max()) + 1,), phi=0.8, sigma=2.4)[days]
    return seasonal + daily + anomaly + rng.normal(0, 0.25, grid.n)


def _calendar(grid: TimeGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(school open now, school day, heating season) per step."""
    d = grid.local.tz_localize(None).normalize()
    dates = d.date
    fr = holidays.France(years=range(grid.local[0].year, grid.local[-1].year + 1))
    off = np.array([x in fr for x in dates])
    for a, b in SCHOOL_HOLIDAYS:
        off |= (d >= pd.Timestamp(a)) & (d < pd.Timestamp(b))
    school_day = (~off) & np.isin(grid.weekday, (0, 1, 3, 4))  # the four-day week: no Wednesday
    open_now = school_day & (grid.hour >= 7.5) & (grid.hour < 17.5)
    month, day = grid.local.month.to_numpy(), grid.local.day.to_numpy()
    season = (month <= 4) | (month >= 11) | ((month == 10) & (day >= 15))
    return open_now, school_day, season


def _school_power(s: School, grid: TimeGrid, temp: np.ndarray, open_now: np.ndarray, school_day: np.ndarray,
                  season: np.ndarray, works: tuple[date, date], noise: np.ndarray, renovated: bool) -> np.ndarray:
    """Average electric power [W]: heating (heat pump, COP ~3) + everything else, per step."""
    h = grid.hour
    preheat = school_day & (h >= 5.5) & (h < 7.5)  # the heating starts two hours before the children
    setpoint = np.where(open_now | preheat, 19.0, np.where(school_day | (grid.weekday < 5), 16.0, 15.0))
    in_holidays = ~school_day & (grid.weekday < 5) & ~np.isin(grid.weekday, (2,))
    setpoint = np.where(in_holidays, 12.0, setpoint)
    gains = np.where(open_now, 3.0, 0.5)  # people, lighting, sun: degrees of free heat
    need = s.heat_loss_w_per_k * np.maximum(0.0, setpoint - gains - temp)
    need = np.where(season, need, 0.0) * (1 + 0.6 * preheat)  # morning boost
    local_day = grid.local.tz_localize(None).normalize()
    if renovated:
        after = local_day >= pd.Timestamp(works[1])
        during = (local_day >= pd.Timestamp(works[0])) & ~after
        need = np.where(after, need * (1 - HEATING_CUT), need)
        need = np.where(during, 0.0, need)  # the site is closed, heating off
    cop = np.clip(2.4 + 0.08 * temp, 2.0, 4.0)
    heat = need / cop
    other = np.where(open_now, s.base_occupied_w, s.base_closed_w)
    return np.clip((heat + other) * noise, 0.3 * s.base_closed_w, None)


def _fast(t_fast: np.ndarray, t_slow: np.ndarray, slow_w: np.ndarray, step_s: int, rng: np.random.Generator,
          flicker: float) -> np.ndarray:
    """10-second samples around a coarser average-power curve: its shape plus AR(1) flicker [W]."""
    mid = t_slow + step_s / 2
    base = np.interp(t_fast, mid, slow_w)
    e = rng.normal(0, flicker * np.sqrt(1 - 0.98**2), len(t_fast))
    wobble = lfilter([1.0], [1.0, -0.98], e)
    return np.round(np.clip(base * (1 + wobble), 0, None))


def build_schools(seed: int = 7, start: date = date(2024, 11, 1), end: date = date(2026, 11, 1),
                  fast_weeks: int = 3, works: tuple[date, date] = WORKS) -> SchoolsData:
    """Generate the schools' inventory, two years of hourly readings and the last weeks at 10 seconds."""
    r_weather, r_sky, r_load, r_fast = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    grid = _grid(start, end, 1800)
    temp = _temperature(grid, r_weather)
    kt = weather.clear_sky_index(grid, r_sky) * 0.92  # Brittany: a little cloudier than the Pyrenees
    open_now, school_day, season = _calendar(grid)

    territory = Territory("lorient-ecoles", "Ville de Lorient — écoles", ZONE, LAT, LON)
    inv = Inventory(territory)
    town = Organisation("ville-lorient", "Ville de Lorient", OrganisationKind.COMMUNE)
    inv.organisations.append(town)
    half_hourly: dict[str, np.ndarray] = {}
    counterfactual: dict[str, np.ndarray] = {}
    for k, s in enumerate(SCHOOLS):
        site = Site(s.id, s.name, territory.id, LAT + 0.004 * (k - 1), LON + 0.006 * (k - 1), ALT)
        inv.sites.append(site)
        inv.delivery_points.append(DeliveryPoint(s.prm, site.id, "C4", 72.0, "public"))
        inv.meters.append(Meter(f"emontx-{s.id}", "emontx", prm=s.prm))
        noise = 1 + weather.ar1(r_load, (grid.n,), phi=0.7, sigma=0.08)
        p = _school_power(s, grid, temp, open_now, school_day, season, works, noise, s.renovated)
        if s.renovated:  # the same school, same weather, same days, had the works not been done
            counterfactual[f"cons-{s.id}"] = _school_power(s, grid, temp, open_now, school_day, season,
                                                           (works[0], works[0]), noise, False)
        if s.pv_wp:
            sun = SolarSite(grid, site.latitude, site.longitude, ALT, kt)
            pv = sun.pv_power(s.pv_wp, 15.0, 190.0, temp)
            inv.delivery_points.append(DeliveryPoint(PV_PRM, site.id, "P4", 36.0, "production"))
            inv.producers.append(Producer(f"pv-{s.id}", f"Toiture PV — {s.name}", Source.PV, s.pv_wp, PV_PRM, site.id))
            # Metered apart: the school's whole draw (a CT on the main board) and the roof's output.
            half_hourly[f"prod-pv-{s.id}"] = pv
            inv.series.append(Series(f"prod-pv-{s.id}", SeriesKind.PRODUCTION, "W", PT1H, IntervalConvention.START,
                                     1.0, f"Production PV {s.name}", prm=PV_PRM, producer_id=f"pv-{s.id}",
                                     site_id=site.id))
        half_hourly[f"cons-{s.id}"] = p
        inv.series.append(Series(f"cons-{s.id}", SeriesKind.CONSUMPTION, "W", PT1H, IntervalConvention.START, 1.0,
                                 f"Consommation {s.name}", prm=s.prm, site_id=site.id))
    station = Site("meteo-lorient", "Station météo (toit de l'hôtel de ville)", territory.id, LAT, LON, ALT + 20)
    inv.sites.append(station)
    inv.series.append(Series("temp-lorient", SeriesKind.TEMPERATURE, "degC", PT1H, IntervalConvention.START, 0.1,
                             "Température extérieure", site_id=station.id))
    half_hourly["temp-lorient"] = temp

    t_hour = grid.t[::2]
    values = {}
    for sid, v in half_hourly.items():
        hourly = 0.5 * (v[0::2] + v[1::2])
        values[sid] = np.round(hourly, 1) if sid.startswith("temp") else np.rint(hourly)

    # The last weeks at 10 s, as the emonTx nodes post them (SENSOR: live view, never in a balance).
    fast_start = int(t_hour[-1]) + 3600 - fast_weeks * 7 * 86_400
    t_fast = np.arange(fast_start, int(t_hour[-1]) + 3600, FAST_STEP_S, dtype=np.int64)
    fast: dict[str, np.ndarray] = {}
    sel = grid.t >= fast_start - 1800
    for sid, v in half_hourly.items():
        if sid.startswith("temp"):
            continue
        fid = f"live-{sid}"
        fast[fid] = _fast(t_fast, grid.t[sel], v[sel], 1800, r_fast, 0.25 if "pv" in sid else 0.06)
        src = next(x for x in inv.series if x.id == sid)
        inv.series.append(Series(fid, SeriesKind.SENSOR, "W", PT10S, IntervalConvention.INSTANT, 1.0,
                                 f"{src.name} (temps réel)", site_id=src.site_id))
    inv.check()
    without_works = {sid: 0.5 * (v[0::2] + v[1::2]) for sid, v in counterfactual.items()}
    return SchoolsData(DemoData(inv, t_hour, values), t_fast, fast, works, without_works)


#: The day types of :func:`day_types`, as the schools are run (the setpoints of ``_school_power``):
#: ``school`` a Monday, Tuesday, Thursday or Friday of term (open 7:30–17:30, 19 °C, preheated);
#: ``wednesday`` any Wednesday (no class in the four-day week; the town's accueil de loisirs keeps the
#: buildings at 16 °C, in term and in holidays alike); ``weekend`` Saturday and Sunday (15 °C);
#: ``holiday`` a Monday, Tuesday, Thursday or Friday of school holidays or a public holiday (12 °C).
DAY_TYPES = ("school", "wednesday", "weekend", "holiday")


def day_types(start: date, end: date) -> np.ndarray:
    """The schools' type of each local day in [start, end), one of :data:`DAY_TYPES`.

    For IPMVP option C models with day-type terms (:func:`regie.analytics.savings.fit_baseline`'s
    ``day_type``). Follows the same calendar as the generator: the four-day week, the zone B school
    holidays of :data:`SCHOOL_HOLIDAYS` (Ministère de l'Éducation nationale, Académie de Rennes) and
    French public holidays (``holidays.France``).

    Parameters
    ----------
    start, end : first day and the day after the last, local dates (Europe/Paris).

    Returns
    -------
    Array of ``(end − start).days`` labels (``str``), one per day in order.
    """
    days = pd.date_range(pd.Timestamp(start), periods=max((end - start).days, 0), freq="D")
    if len(days) == 0:
        return np.array([], dtype=str)
    fr = holidays.France(years=range(days[0].year, days[-1].year + 1))
    off = np.array([d in fr for d in days.date])
    for a, b in SCHOOL_HOLIDAYS:
        off |= (days >= pd.Timestamp(a)) & (days < pd.Timestamp(b))
    wd = days.weekday.to_numpy()
    return np.select([wd == 2, wd >= 5, off], ["wednesday", "weekend", "holiday"], "school").astype(str)
