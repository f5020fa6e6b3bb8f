"""Degree days on known temperatures: Météo-France and COSTIC methods, local days across DST."""

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.analytics import degree_days as dd
from regie.model.calendar import period_starts

PARIS = ZoneInfo("Europe/Paris")


def test_meteo_method_by_hand() -> None:
    tn = np.array([2.0, 10.0, 15.0, 20.0, -4.0])
    tx = np.array([8.0, 20.0, 25.0, 30.0, 2.0])
    # means 5, 15, 20, 25, -1
    assert dd.heating_degree_days(tn, tx).tolist() == [13.0, 3.0, 0.0, 0.0, 19.0]
    assert dd.cooling_degree_days(tn, tx).tolist() == [0.0, 0.0, 2.0, 7.0, 0.0]
    assert dd.heating_degree_days(tn, tx, base=16.0).tolist() == [11.0, 1.0, 0.0, 0.0, 17.0]
    assert np.isnan(dd.heating_degree_days(np.array([np.nan]), np.array([5.0]))[0])


def test_costic_method_by_hand() -> None:
    tn = np.array([2.0, 10.0, 18.0, 12.0])
    tx = np.array([8.0, 20.0, 26.0, 18.0])
    # S ≥ Tx: S − mean; S ≤ Tn: 0; in between: (S − Tn)(0.08 + 0.42 (S − Tn)/(Tx − Tn)); S = Tx counts as above
    assert dd.heating_degree_days(tn, tx, method="costic") == pytest.approx([13.0, 8 * (0.08 + 0.42 * 0.8), 0.0, 3.0])
    cool = dd.cooling_degree_days(tn, tx, method="costic")
    assert cool == pytest.approx([0.0, 2 * (0.08 + 0.42 * 0.2), 4.0, 0.0])
    with pytest.raises(ValueError, match="method"):
        dd.heating_degree_days(tn, tx, method="degree-hours")


def test_costic_counts_heating_on_a_mild_day_the_meteo_method_misses() -> None:
    tn, tx = np.array([12.0]), np.array([26.0])  # mean 19 °C: no DJU "météo", but cold nights
    assert dd.heating_degree_days(tn, tx)[0] == 0.0
    assert dd.heating_degree_days(tn, tx, method="costic")[0] == pytest.approx(6 * (0.08 + 0.42 * 6 / 14))


def half_hours(start: datetime, end: datetime) -> np.ndarray:
    return np.arange(int(start.timestamp()), int(end.timestamp()), 1800, dtype=np.int64)


def test_daily_temperature_on_local_days_across_dst() -> None:
    t = half_hours(datetime(2025, 3, 29, tzinfo=PARIS), datetime(2025, 4, 1, tzinfo=PARIS))
    local_hour = np.array([datetime.fromtimestamp(int(x), PARIS).hour for x in t])
    temp = np.where(local_hour < 12, 4.0, 10.0) + np.where(local_hour == 15, 2.0, 0.0)
    d = dd.daily_temperature(t, temp, PARIS, step_s=1800)
    assert d.days == 3
    assert d.count.tolist() == [48, 46, 48]  # the spring-forward day has 46 half-hours
    assert d.tmin.tolist() == [4.0] * 3 and d.tmax.tolist() == [12.0] * 3
    assert d.midrange.tolist() == [8.0] * 3
    assert dd.heating_degree_days(d.tmin, d.tmax).tolist() == [10.0] * 3


def test_autumn_day_has_50_half_hours_and_sparse_days_are_nan() -> None:
    t = half_hours(datetime(2025, 10, 25, tzinfo=PARIS), datetime(2025, 10, 28, tzinfo=PARIS))
    temp = np.full(len(t), 9.0)
    keep = np.ones(len(t), dtype=bool)
    keep[48 + 50 : 48 + 50 + 30] = False  # the third day keeps 18 of 48 readings
    d = dd.daily_temperature(t[keep], temp[keep], PARIS, start=int(t[0]), end=int(t[-1]) + 1800, step_s=1800)
    assert d.count.tolist() == [48, 50, 18]
    assert d.tmin[:2].tolist() == [9.0, 9.0] and np.isnan(d.tmin[2])
    loose = dd.daily_temperature(t[keep], temp[keep], PARIS, start=int(t[0]), end=int(t[-1]) + 1800)
    assert loose.tmin[2] == 9.0  # without a step, no coverage rule


def test_monthly_sums_of_a_known_winter() -> None:
    a, b = datetime(2025, 1, 1, tzinfo=PARIS), datetime(2025, 3, 1, tzinfo=PARIS)
    t = half_hours(a, b)
    temp = np.where(t < int(datetime(2025, 2, 1, tzinfo=PARIS).timestamp()), 5.0, 8.0)
    temp = temp + 3.0 * np.sin(np.arange(len(t)) * 2 * np.pi / 48)  # a daily swing of ± 3 °C
    d = dd.daily_temperature(t, temp, PARIS, step_s=1800)
    hdd = dd.heating_degree_days(d.tmin, d.tmax)
    months = period_starts(int(a.timestamp()), int(b.timestamp()) - 1, "month", PARIS)
    total, count = dd.sum_by_period(d.start[:-1], hdd, months)
    assert count.tolist() == [31, 28]
    assert total == pytest.approx([31 * 13.0, 28 * 10.0], abs=0.05)
