"""The forecast models of the signal (regie.analytics.forecast) on histories whose future is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from regie.analytics import forecast as fc

STEP = 1800
DAY_STEPS = 48
SITE = fc.Site(42.40, 2.48, 750.0)
T0 = 1_735_689_600  # 2025-01-01T00:00:00Z, a Wednesday


def history(days: int, consumption, production=None, temperature=None) -> fc.History:
    t = T0 + STEP * np.arange(days * DAY_STEPS, dtype=np.int64)
    prod = {k: np.asarray(f(t), dtype=float) for k, f in (production or {}).items()}
    temp = None if temperature is None else np.asarray(temperature(t), dtype=float)
    return fc.History(t, STEP, np.asarray(consumption(t), dtype=float), prod, temp)


def weekly(t: np.ndarray) -> np.ndarray:
    """A load that depends on the weekday and the hour only."""
    weekday = ((t - T0) // 86_400 + 2) % 7  # T0 is a Wednesday (2)
    hour = (t % 86_400) / 3600
    return 1000 + 100 * weekday + 300 * np.sin(2 * np.pi * hour / 24)


def test_a_load_that_repeats_by_weekday_is_forecast_exactly() -> None:
    h = history(35, weekly)
    t = fc.future_grid(h.origin, 36 * 3600, STEP)
    assert fc.consumption(h, t) == pytest.approx(weekly(t))


def test_persistence_is_the_same_half_hour_of_the_last_day_known() -> None:
    h = history(10, weekly)
    t = fc.future_grid(h.origin, 36 * 3600, STEP)
    expected = weekly(np.where(t - 86_400 < h.origin, t - 86_400, t - 2 * 86_400))
    assert fc.persistence(h, h.consumption_w, t) == pytest.approx(expected)


def test_a_colder_forecast_raises_the_consumption_of_a_heated_village() -> None:
    """Consumption grows with the cold (heating degree days), the temperature changes from week to week: the fitted
    gain is positive, and a colder weather forecast gives a higher consumption than a milder one."""
    rng = np.random.default_rng(1)
    weekly_anomaly = rng.normal(0, 4, 10)

    def temp(t: np.ndarray) -> np.ndarray:
        week = (t - T0) // (7 * 86_400)
        return 8 + weekly_anomaly[week] + 3 * np.sin(2 * np.pi * (t % 86_400) / 86_400)

    def load(t: np.ndarray) -> np.ndarray:
        return 1000 + 60 * np.maximum(0, 18 - temp(t))

    h = history(60, load, temperature=temp)
    hdd = fc.rolling_hdd(h.t, h.temperature_c, STEP)
    assert fc.heating_gain(h, hdd) > 0.01
    t = fc.future_grid(h.origin, 36 * 3600, STEP)
    cold = fc.consumption(h, t, fc.Weather(temperature_c=np.full(len(t), -5.0)))
    mild = fc.consumption(h, t, fc.Weather(temperature_c=np.full(len(t), 15.0)))
    assert np.all(cold > mild)
    # the cold forecast lands nearer the load it describes than persistence's mild guess
    truth = 1000 + 60 * (18 - (-5.0))
    assert abs(cold[-1] - truth) < abs(mild[-1] - truth)


def pv_curve(k_of_day) -> callable:
    """PV power of a fleet whose output is 80 W per W/m² of clear-sky irradiance, times each day's clear-sky
    index."""

    def f(t: np.ndarray) -> np.ndarray:
        day = (t - T0) // 86_400
        return 80.0 * fc.clear_sky_ghi(t, STEP, SITE) * k_of_day(day)

    return f


def test_pv_under_a_steady_sky_is_forecast_exactly() -> None:
    h = history(20, weekly, {"pv": pv_curve(lambda d: np.full(np.shape(d), 0.6))})
    t = fc.future_grid(h.origin, 36 * 3600, STEP)
    expected = pv_curve(lambda d: np.full(np.shape(d), 0.6))(t)
    assert fc.pv(h, t, SITE) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_pv_blends_the_last_days_cloudiness_with_the_fortnights() -> None:
    """Thirteen clear days then an overcast one (clear-sky index 0.4): the forecast expects a sky between the two,
    weighted towards the last day."""
    h = history(14, weekly, {"pv": pv_curve(lambda d: np.where(d == 13, 0.4, 1.0))})
    ghi = fc.clear_sky_ghi(h.t, STEP, SITE)
    state = fc.sky_state(h, h.production_w["pv"], ghi)
    assert state.ratio == pytest.approx(80.0)
    assert state.index_last_day == pytest.approx(0.4)
    assert 0.4 < state.index_two_weeks < 1.0
    t = fc.future_grid(h.origin, 36 * 3600, STEP)
    k = fc.LAST_DAY_WEIGHT * 0.4 + (1 - fc.LAST_DAY_WEIGHT) * state.index_two_weeks
    assert fc.pv(h, t, SITE) == pytest.approx(80.0 * k * fc.clear_sky_ghi(t, STEP, SITE))
    # a forecast irradiance replaces the clear sky × index where it is given
    ghi_forecast = np.where(np.arange(len(t)) < 24, 500.0, np.nan)
    out = fc.pv(h, t, SITE, fc.Weather(ghi=ghi_forecast))
    assert out[:24] == pytest.approx(80.0 * 500.0)
    assert out[24:] == pytest.approx(80.0 * k * fc.clear_sky_ghi(t[24:], STEP, SITE))


def test_hydro_and_biogas_keep_the_last_days_mean() -> None:
    h = history(3, weekly, {"hydro": lambda t: np.where(t < T0 + 2 * 86_400, 100.0, 400.0 + (t % 3600 == 0) * 20)})
    f = fc.forecast(h, 36 * 3600, SITE)
    assert f.production_w["hydro"] == pytest.approx(np.full(72, 410.0))
    assert f.balance_w == pytest.approx(f.production_w["hydro"] - f.consumption_w)


def test_masked_steps_are_left_out_not_read_as_zero() -> None:
    """A figure secrecy hid is NaN: the weekday mean uses the weeks that were shown."""
    h = history(35, weekly)
    h.consumption_w[-7 * DAY_STEPS :] = np.nan  # the last week hidden
    t = fc.future_grid(h.origin, 36 * 3600, STEP)
    out = fc.consumption(h, t)
    assert np.all(np.isfinite(out)) and out == pytest.approx(weekly(t))


# ---------------------------------------------------------------- French public holidays are Sundays

PARIS = "Europe/Paris"
KIND_LOAD = np.array([1000.0, 1100.0, 1200.0, 1300.0, 1400.0, 1500.0, 600.0])  # Monday … Sunday [W]


def by_local_day_kind(t: np.ndarray) -> np.ndarray:
    """A village whose load depends on the kind of its local day only (a holiday draws a Sunday's load)."""
    return KIND_LOAD[fc.day_kinds(fc.local_days(t, PARIS))]


def paris(day: str, hour: int = 0) -> int:
    import pandas as pd

    return int(pd.Timestamp(f"{day} {hour:02d}:00", tz=PARIS).timestamp())


def local_history(first: str, origin: int, load) -> fc.History:
    t = np.arange(paris(first), origin, STEP, dtype=np.int64)
    return fc.History(t, STEP, load(t), {})


def test_the_day_kinds_count_french_public_holidays_as_sundays() -> None:
    days = fc.local_days(np.array([paris("2025-04-20", 12), paris("2025-04-21", 12), paris("2025-04-22", 12),
                                   paris("2025-05-01", 0), paris("2025-05-01", 23)]), PARIS)  # fmt: skip
    assert fc.day_kinds(days).tolist() == [6, 6, 1, 6, 6]  # Easter Sunday, Easter Monday, a Tuesday, 1 May


def test_a_holiday_is_forecast_as_a_sunday() -> None:
    """1 May 2025 is a Thursday: the model gives it the Sundays' load; holidays as weekdays give a Thursday's."""
    origin = paris("2025-04-30", 12)
    h = local_history("2025-03-31", origin, by_local_day_kind)  # summer time all along: local hours line up
    t = fc.future_grid(origin, 36 * 3600, STEP)
    assert fc.consumption(h, t, timezone=PARIS) == pytest.approx(by_local_day_kind(t))
    on_may_day = fc.local_days(t, PARIS) == fc.local_days(np.array([paris("2025-05-01")]), PARIS)[0]
    assert on_may_day.sum() == 48
    plain = fc.consumption(h, t)  # the model before: 1 May is a Thursday
    assert plain[on_may_day] == pytest.approx(np.full(48, KIND_LOAD[3]))


def test_a_weekday_forgets_the_holiday_among_its_references() -> None:
    """The Monday after Easter Monday: its references are the Mondays before, not Easter Monday's Sunday load."""
    origin = paris("2025-04-28")
    h = local_history("2025-03-31", origin, by_local_day_kind)
    t = fc.future_grid(origin, 24 * 3600, STEP)
    assert fc.consumption(h, t, timezone=PARIS) == pytest.approx(np.full(48, KIND_LOAD[0]))
    plain = fc.consumption(h, t)
    assert np.all(plain < KIND_LOAD[0] - 50)  # Easter Monday among the four Mondays pulls it down
