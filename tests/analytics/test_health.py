"""Data health: gaps, stopped feeds, stuck meters, impossible values — always with since-when."""

import numpy as np
import pytest

from regie.analytics import health
from regie.analytics.health import AlertKind, HealthConfig, Interval


def test_gaps_are_exact_half_open_intervals() -> None:
    t = np.array([0, 10, 20, 50, 60, 70, 80], dtype=np.int64)
    assert health.gaps(t, 10, 0, 90) == [Interval(30, 50)]
    # leading and trailing holes, a window with nothing at all
    assert health.gaps(t, 10, -30, 120) == [Interval(-30, 0), Interval(30, 50), Interval(90, 120)]
    assert health.gaps(np.array([], dtype=np.int64), 10, 0, 100) == [Interval(0, 100)]
    # a 10-second sensor's jitter is not a gap
    jitter = np.array([0, 11, 19, 31, 40], dtype=np.int64)
    assert health.gaps(jitter, 10, 0, 50) == []


def test_no_silent_gaps_received_plus_missing_is_the_window() -> None:
    rng = np.random.default_rng(3)
    full = np.arange(0, 48 * 3600, 1800, dtype=np.int64)
    keep = full[rng.random(len(full)) > 0.2]
    missing = sum(g.seconds for g in health.gaps(keep, 1800, 0, 48 * 3600, tolerance=1.0))
    assert missing + 1800 * len(keep) == 48 * 3600


def test_a_stopped_feed_raises_within_one_expected_interval() -> None:
    last = 1_000_000
    assert health.staleness(last, last + 15, 10, "emontx") is None  # half a step of network jitter
    a = health.staleness(last, last + 16, 10, "emontx")
    assert a is not None and a.kind is AlertKind.STALE and a.since == last + 10 and a.ongoing
    assert a.value == 16 and a.threshold == 10
    never = health.staleness(None, 500, 10, "new")
    assert never is not None and never.since == 500


def test_stuck_meter_found_but_not_pv_at_night() -> None:
    t = np.arange(0, 48 * 1800, 1800, dtype=np.int64)
    pv = np.where((np.arange(48) > 14) & (np.arange(48) < 38), np.linspace(100, 3000, 48), 0.0)
    assert health.stuck_runs(t, pv, 6, ignore=(0.0,)) == []
    assert len(health.stuck_runs(t, pv, 6)) == 2  # the nights, when zeros are not declared legitimate
    v = np.arange(48, dtype=float)
    v[10:20] = 7.0
    runs = health.stuck_runs(t, v, 6)
    assert runs == [(Interval(10 * 1800, 20 * 1800), 7.0)]
    assert health.stuck_runs(t, v, 11) == []
    noisy = 20.0 + np.tile([0.0, 0.04], 24)
    assert len(health.stuck_runs(t, noisy, 6, atol=0.05)) == 1


def test_values_outside_physical_limits() -> None:
    t = np.arange(0, 10 * 600, 600, dtype=np.int64)
    temp = np.array([5, 6, 85.0, 90.0, 7, 8, -60, 9, 10, 11])
    found = health.out_of_range(t, temp, *health.physical_limits("temperature", "degC"))
    assert found == [(Interval(1200, 2400), 90.0), (Interval(3600, 4200), -60.0)]
    assert health.physical_limits("consumption", "W")[0] == 0.0
    assert health.physical_limits("sensor", "degC") == (-50.0, 60.0)
    assert health.physical_limits("sensor", "") is None


def test_check_series_reports_everything_with_since_when() -> None:
    step = 10
    t = np.arange(0, 1000, step, dtype=np.int64)
    t = np.delete(t, np.s_[20:30])  # a 100-second hole
    v = np.linspace(100, 200, len(t))
    v[50:60] = 150.0  # stuck
    v[5] = -5.0  # impossible consumption
    cfg = HealthConfig(step_s=step, stuck_steps=8, limits=(0.0, 1e6), unit="W")
    r = health.check_series("s", t, v, 0, 2000, now=1200, config=cfg)
    kinds = [(a.kind, a.since) for a in r.alerts]
    assert (AlertKind.GAP, 200) in kinds
    assert (AlertKind.OUT_OF_RANGE, 50) in kinds
    assert (AlertKind.STALE, 1000) in kinds  # last reading at 990, due again at 1000
    stuck = [a for a in r.alerts if a.kind is AlertKind.STUCK]
    assert len(stuck) == 1 and stuck[0].value == 150.0
    assert r.expected == 120 and r.received == 90 and r.completeness == pytest.approx(0.75)
    assert r.gaps[0] == Interval(200, 300) and r.gaps[-1] == Interval(1000, 1200)
    assert [a.since for a in r.alerts] == sorted(a.since for a in r.alerts)
    healthy = health.check_series("s", np.arange(0, 1000, step), np.arange(100.0), 0, 1000, now=1005,
                                  config=HealthConfig(step_s=step))
    assert healthy.alerts == [] and healthy.gaps == []


def test_alert_as_dict_is_plain_data() -> None:
    a = health.staleness(0, 100, 10, "x")
    d = a.as_dict()
    assert d["kind"] == "stale" and d["until"] is None and d["since"] == 10


def test_a_series_that_starts_after_the_window_has_not_started_not_stopped() -> None:
    """The schools' 10-second sensors exist for the last weeks only: a month before, they had not started."""
    step, day = 10, 86_400
    cfg = HealthConfig(step_s=step, stuck_steps=30, limits=(0.0, 1e6), unit="W")
    empty = np.array([], dtype=np.int64)
    first = 40 * day  # the sensor's first reading ever, after the window [0, 30 days)
    r = health.check_series("live", empty, np.array([]), 0, 30 * day, now=60 * day, config=cfg, t_first=first)
    assert r.status is health.SeriesStatus.NOT_STARTED and r.not_started
    assert r.alerts == [] and r.gaps == [] and r.missing_seconds == 0
    assert r.expected == 0 and r.received == 0 and r.completeness == 1.0
    assert r.first_reading == first and r.last_reading is None
    # judged before its first reading (now < t_first): not started either, even inside the window
    early = health.check_series("live", empty, np.array([]), 0, 30 * day, now=20 * day, config=cfg, t_first=25 * day)
    assert early.status is health.SeriesStatus.NOT_STARTED and early.alerts == []
    # a series with no reading at all yet
    never = health.check_series("new", empty, np.array([]), 0, 30 * day, now=60 * day, config=cfg,
                                t_first=health.NO_READING_YET)
    assert never.status is health.SeriesStatus.NOT_STARTED and never.first_reading is None and never.alerts == []
    # without t_first the caller knows nothing: the silence is judged as before (a STALE alert, no silent gap)
    unknown = health.check_series("live", empty, np.array([]), 0, 30 * day, now=60 * day, config=cfg)
    assert unknown.status is health.SeriesStatus.STOPPED and unknown.gaps == [Interval(0, 30 * day)]


def test_gaps_before_the_first_reading_ever_are_not_gaps() -> None:
    step = 10
    cfg = HealthConfig(step_s=step)
    t = np.arange(5000, 10_000, step, dtype=np.int64)
    t = np.delete(t, np.s_[100:110])  # a real 100-second hole after the start
    r = health.check_series("live", t, np.ones(len(t)), 0, 10_000, now=10_005, config=cfg, t_first=5000)
    assert r.gaps == [Interval(6000, 6100)] and [a.kind for a in r.alerts] == [AlertKind.GAP]
    assert r.expected == 500 and r.received == 490 and r.completeness == pytest.approx(0.98)
    assert r.first_reading == 5000 and r.status is health.SeriesStatus.ALERTS and r.start == 0
    # the same readings without t_first: the leading 5000 s are a gap, as before
    blind = health.check_series("live", t, np.ones(len(t)), 0, 10_000, now=10_005, config=cfg)
    assert blind.gaps[0] == Interval(0, 5000) and blind.expected == 1000
    # a feed that started before the window and ran to its end is OK
    full = np.arange(0, 10_000, step, dtype=np.int64)
    ok = health.check_series("s", full, np.ones(len(full)), 0, 10_000, now=10_005, config=cfg, t_first=-86_400)
    assert ok.status is health.SeriesStatus.OK and ok.first_reading == -86_400 and ok.expected == 1000


def test_a_series_that_started_then_stopped_is_stopped() -> None:
    step = 10
    cfg = HealthConfig(step_s=step)
    t = np.arange(5000, 6000, step, dtype=np.int64)
    r = health.check_series("live", t, np.ones(len(t)), 0, 10_000, now=10_000, config=cfg, t_first=5000)
    assert r.status is health.SeriesStatus.STOPPED
    stale = [a for a in r.alerts if a.kind is AlertKind.STALE]
    assert len(stale) == 1 and stale[0].since == 6000 and stale[0].ongoing
    # it spoke before the window, not in it, and the caller doesn't know when it last did: stopped, since
    # (at least) the window's start, never "no reading ever received"
    empty = np.array([], dtype=np.int64)
    old = health.check_series("s", empty, np.array([]), 20_000, 30_000, now=30_000, config=cfg, t_first=1000)
    assert old.status is health.SeriesStatus.STOPPED and old.first_reading == 1000
    a = old.alerts[0]
    assert a.kind is AlertKind.STALE and a.since == 20_000 and "ever" not in a.message
    # and with its last reading known, since when it was due
    known = health.check_series("s", empty, np.array([]), 20_000, 30_000, now=30_000, config=cfg, t_last=15_000,
                                t_first=1000)
    assert known.status is health.SeriesStatus.STOPPED and known.alerts[-1].since == 15_010


def test_the_schools_live_sensors_a_month_before_they_start() -> None:
    """Issue 6: the schools' 10-second SENSOR series exist for the last weeks only."""
    from regie.demo.schools import FAST_STEP_S, build_schools

    d = build_schools(seed=7, fast_weeks=1)
    t_first = int(d.fast_t[0])
    cfg = HealthConfig(step_s=FAST_STEP_S, unit="W")
    now = int(d.fast_t[-1]) + FAST_STEP_S
    month = 31 * 86_400
    a, b = t_first - month - 86_400, t_first - 86_400  # a month ending the day before the first reading
    for sid in d.fast:
        r = health.check_series(sid, np.array([], dtype=np.int64), np.array([]), a, b, now, cfg, t_first=t_first)
        assert r.status is health.SeriesStatus.NOT_STARTED and r.alerts == [] and r.gaps == []
    # a month that ends with the sensors' first week: judged from their first reading, complete, no gap
    sid = next(iter(d.fast))
    a2 = t_first - 3 * 7 * 86_400
    r = health.check_series(sid, d.fast_t, d.fast[sid], a2, now, now, cfg, t_first=t_first)
    assert r.status is health.SeriesStatus.OK and r.gaps == [] and r.completeness == 1.0
    assert r.expected == len(d.fast_t) == r.received
