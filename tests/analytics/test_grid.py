"""Transformer supervision: loading, duration curve, declustered peaks, losses, alerts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.analytics import grid
from regie.analytics.health import AlertKind
from regie.model.calendar import period_starts

PARIS = ZoneInfo("Europe/Paris")
STEP = 1800


def year_grid() -> np.ndarray:
    a = int(datetime(2025, 1, 1, tzinfo=PARIS).timestamp())
    b = int(datetime(2026, 1, 1, tzinfo=PARIS).timestamp())
    return np.arange(a, b, STEP, dtype=np.int64)


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=PARIS).timestamp())


def test_loading_is_power_over_rated_apparent_power() -> None:
    p = np.array([0.0, 95_000.0, -47_500.0, np.nan])
    x = grid.loading(p, rated_kva=100, power_factor=0.95)
    assert x[:3] == pytest.approx([0.0, 1.0, 0.5])
    assert np.isnan(x[3])
    with pytest.raises(ValueError):
        grid.loading(p, 0, 0.9)


def test_duration_curve_and_hours_above() -> None:
    load = np.array([0.2, 1.3, 0.9, np.nan, 1.1, 0.5])
    hours, curve = grid.duration_curve(load, STEP)
    assert curve.tolist() == [1.3, 1.1, 0.9, 0.5, 0.2]  # sorted down, missing step left out
    assert hours.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5]
    assert grid.hours_above(load, STEP, 1.0) == 1.0
    assert grid.hours_above(load, STEP, 0.8) == 1.5
    stats = grid.loading_stats(load, STEP)
    assert stats.max == 1.3 and stats.missing_steps == 1 and stats.hours_over_100 == 1.0
    h, c = grid.sample_curve(np.arange(1000.0), np.arange(1000.0)[::-1], points=50)
    assert len(h) <= 51 and c[0] == 999.0


def test_top_peaks_are_separate_events_at_the_right_times() -> None:
    t = year_grid()
    p = np.full(len(t), 20_000.0)
    # One very cold evening: five half-hours all higher than anything else in the year.
    for k, w in enumerate([90_000, 95_000, 99_000, 97_000, 93_000]):
        p[np.searchsorted(t, ts(2025, 1, 15, 18, 0)) + k] = w
    # Other events, each lower than the whole cold evening.
    events = {ts(2025, 2, 3, 19, 30): 80_000, ts(2025, 12, 22, 7, 0): 85_000, ts(2025, 3, 30, 20, 0): 70_000,
              ts(2025, 7, 10, 14, 0): -75_000}  # PV backflow counts by magnitude
    for when, w in events.items():
        p[np.searchsorted(t, when)] = w
    peaks = grid.top_peaks(t, p, n=5, min_separation_s=86_400, rated_kva=100, power_factor=0.95)
    assert [pk.t for pk in peaks] == [ts(2025, 1, 15, 19, 0), ts(2025, 12, 22, 7, 0), ts(2025, 2, 3, 19, 30),
                                      ts(2025, 7, 10, 14, 0), ts(2025, 3, 30, 20, 0)]
    assert peaks[0].power_w == 99_000 and peaks[0].loading == pytest.approx(99 / 95)
    assert peaks[3].power_w == -75_000
    # Without declustering, the same evening fills the podium.
    close = grid.top_peaks(t, p, n=3, min_separation_s=0)
    assert all(abs(pk.t - ts(2025, 1, 15, 19, 0)) <= 2 * STEP for pk in close)


def test_peaks_skip_missing_steps() -> None:
    t = np.arange(0, 10 * 86_400, STEP, dtype=np.int64)
    p = np.where(np.arange(len(t)) % 48 == 40, 5000.0, 100.0)
    p[40] = np.nan
    peaks = grid.top_peaks(t, p, n=20)
    assert len(peaks) == 9 + 1 and all(np.isfinite(pk.power_w) for pk in peaks)


def test_peak_shares_are_raw_per_point_shares() -> None:
    shares = grid.peak_shares({"a": 30_000.0, "b": 60_000.0, "c": -5_000.0}, 100_000.0)
    assert list(shares) == ["b", "a", "c"]
    assert shares == pytest.approx({"b": 0.6, "a": 0.3, "c": -0.05})


def test_losses_by_local_month_with_known_losses() -> None:
    t = year_grid()
    rng = np.random.default_rng(1)
    net = rng.uniform(-20_000, 80_000, len(t))  # consumption − PV injection below the transformer
    no_load, lv = 300.0, 0.025
    transformer = net * (1 + lv * np.sign(net)) + no_load
    months = period_starts(int(t[0]), int(t[-1]), "month", PARIS)
    group = np.searchsorted(months, t, side="right") - 1
    r = grid.losses(transformer, net, STEP, group, 12)
    hours = np.bincount(group, minlength=12) * 0.5
    expected = lv * np.bincount(group, weights=np.abs(net), minlength=12) * 0.5 + no_load * hours
    assert r.loss_wh == pytest.approx(expected, rel=1e-9)
    assert hours[2] == 31 * 24 - 1 and hours[9] == 31 * 24 + 1  # March and October, DST
    assert r.ratio == pytest.approx(expected / r.through_wh)
    assert (r.coverage == 1).all()


def test_losses_leave_out_steps_missing_on_either_side() -> None:
    tr = np.full(10, 1100.0)
    down = np.full(10, 1000.0)
    tr[2] = np.nan
    down[7] = np.nan
    r = grid.losses(tr, down, 3600, np.zeros(10, dtype=int), 1)
    assert r.loss_wh[0] == pytest.approx(8 * 100.0)  # never 1100 Wh of "losses" from a missing meter
    assert r.coverage[0] == pytest.approx(0.8)


def test_overload_alerts_are_episodes_with_since_and_until() -> None:
    t = np.arange(0, 20 * STEP, STEP, dtype=np.int64)
    load = np.full(20, 0.7)
    load[3:6] = [1.05, 1.2, 1.1]
    load[10] = 1.01
    load[18:] = 1.3  # runs to the end of the data: may still be going on
    alerts = grid.overload_alerts("tr-x", t, load, STEP, 1.0)
    assert [(a.since, a.until) for a in alerts] == [(3 * STEP, 6 * STEP), (10 * STEP, 11 * STEP), (18 * STEP, None)]
    assert alerts[0].value == 1.2 and alerts[0].threshold == 1.0 and alerts[0].kind is AlertKind.OVERLOAD
    assert alerts[2].ongoing
    assert len(grid.overload_alerts("tr-x", t, load, STEP, 1.0, min_steps=2)) == 2
    assert grid.overload_alerts("tr-x", t, load, STEP, 1.5) == []


def test_loss_alerts_need_enough_data() -> None:
    r = grid.Losses(np.array([1e6, 1e6]), np.array([1e6, 1e6]), np.array([8.5e5, 9e5]), np.array([1.5e5, 1e5]),
                    np.array([0.15, 0.10]), np.array([1.0, 0.5]))
    alerts = grid.loss_alerts("tr-x", [0, 100], [100, 200], r, 0.08)
    assert len(alerts) == 1 and alerts[0].since == 0 and alerts[0].value == pytest.approx(0.15)
