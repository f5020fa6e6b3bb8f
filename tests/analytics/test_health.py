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
