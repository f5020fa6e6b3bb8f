"""The time-series store contract: every backend (SQLite, PostgreSQL) passes these same tests."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regie.model import DeliveryPoint, Inventory, Readings, Series, SeriesKind, Site, Step, Territory
from regie.store import Store, StoreError, open_store
from regie.store import codec as codec_module

PARIS = ZoneInfo("Europe/Paris")
PRM = "30001234567890"
HALF_HOUR = 1800


def ts(*args: int) -> int:
    """Local Paris wall time → UTC seconds."""
    return int(datetime(*args, tzinfo=PARIS).timestamp())


def inventory() -> Inventory:
    return Inventory(
        Territory("village", "Village"),
        sites=[Site("house", "House", "village")],
        delivery_points=[DeliveryPoint(PRM, "house")],
        series=[
            Series("load", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=PRM),
            Series("other", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=PRM),
            Series("temp", SeriesKind.TEMPERATURE, "degC", Step.parse("PT30M"), resolution=0.1),
            Series("sensor", SeriesKind.CONSUMPTION, "W", Step.parse("PT10S"), site_id="house"),
            Series("index", SeriesKind.CONSUMPTION, "Wh", Step.parse("PT30M"), prm=PRM),
        ],
    )


@pytest.fixture
def store(store_url: str):
    s = open_store(store_url)
    s.save_inventory(inventory())
    yield s
    s.close()


def half_hours(start: int, n: int) -> np.ndarray:
    return start + HALF_HOUR * np.arange(n, dtype=np.int64)


def test_round_trip_is_exact(store: Store) -> None:
    t = half_hours(ts(2025, 1, 1), 5000)
    w = np.random.default_rng(1).integers(0, 12_000, len(t)).astype(float)
    temp = np.round(np.random.default_rng(2).normal(8, 6, len(t)), 1)
    assert store.write([Readings("load", t, w), Readings("temp", t, temp)]) == 2 * len(t)
    rt, rw = store.read("load", int(t[0]), int(t[-1]) + 1)
    np.testing.assert_array_equal(rt, t)
    np.testing.assert_array_equal(rw, w)
    _, rtemp = store.read("temp", int(t[0]), int(t[-1]) + 1)
    np.testing.assert_array_equal(rtemp, temp)  # 0.1 °C values come back exactly, not 23.400000000000002


def test_range_is_half_open(store: Store) -> None:
    t = half_hours(ts(2025, 6, 1), 10)
    store.write([Readings("load", t, np.arange(10.0))])
    rt, rv = store.read("load", int(t[2]), int(t[5]))
    np.testing.assert_array_equal(rt, t[2:5])
    np.testing.assert_array_equal(rv, [2, 3, 4])


def test_same_reading_twice_is_stored_once(store: Store) -> None:
    t = half_hours(ts(2025, 2, 1), 3000)
    v = np.full(len(t), 500.0)
    store.write([Readings("load", t, v)])
    store.write([Readings("load", t, v)])
    store.write([Readings("load", t[:10], v[:10]), Readings("load", t[:10], v[:10])])
    rt, _ = store.read("load", 0, 2**32)
    assert len(rt) == len(t)
    assert store.count_points() == len(t)
    assert store.read_rollup("load", "day", 0, 2**32).count.sum() == len(t)


def test_later_value_wins_and_rollups_follow(store: Store) -> None:
    t = half_hours(ts(2025, 3, 3), 48)
    store.write([Readings("load", t, np.full(48, 100.0))])
    store.write([Readings("load", t[5:6], np.array([1100.0]))])
    _, v = store.read("load", int(t[0]), int(t[-1]) + 1)
    assert v[5] == 1100 and v.sum() == 47 * 100 + 1100
    day = store.read_rollup("load", "day", int(t[0]), int(t[-1]) + 1)
    assert day.sum.tolist() == [47 * 100 + 1100] and day.max.tolist() == [1100] and day.min.tolist() == [100]
    month = store.read_rollup("load", "month", ts(2025, 3, 1), ts(2025, 4, 1))
    assert month.sum.tolist() == [47 * 100 + 1100]


def test_out_of_order_equals_in_order(store: Store) -> None:
    t = half_hours(ts(2025, 1, 20), 6000)
    v = np.random.default_rng(3).integers(0, 9000, len(t)).astype(float)
    order = np.random.default_rng(4).permutation(len(t))
    for part in np.array_split(order, 7):
        store.write([Readings("load", t[part], v[part])])
    store.write([Readings("other", t, v)])
    for level in ("day", "month"):
        a = store.read_rollup("load", level, 0, 2**32)
        b = store.read_rollup("other", level, 0, 2**32)
        for x, y in zip((a.t, a.count, a.sum, a.min, a.max), (b.t, b.count, b.sum, b.min, b.max), strict=True):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(store.read("load", 0, 2**32)[1], v)


@pytest.mark.parametrize(
    ("day", "expected"),
    [((2025, 3, 30), 46), ((2025, 10, 26), 50), ((2025, 6, 1), 48)],
    ids=["spring-forward-46", "fall-back-50", "ordinary-48"],
)
def test_local_days_on_dst_changes(store: Store, day: tuple[int, int, int], expected: int) -> None:
    start = ts(*day) - 2 * 86400
    t = half_hours(start, 5 * 48)
    store.write([Readings("load", t, np.ones(len(t)))])
    d = store.read_rollup("load", "day", ts(*day), ts(*day) + 86400 + 7200)  # window reaches past 23/25 h
    assert d.t[0] == ts(*day)
    assert d.count[0] == expected
    # the hourly view of the same day (computed from raw for a 30-min series) has 23, 24 or 25 hours
    h = store.read_rollup("load", "hour", int(d.t[0]), int(d.t[1]))
    assert len(h.t) == expected // 2


def test_hour_rollup_materialised_for_fine_series(store: Store) -> None:
    start = ts(2025, 4, 1)
    t = start + 10 * np.arange(3 * 360, dtype=np.int64)  # three hours of 10-second data
    v = np.arange(len(t), dtype=float)
    store.write([Readings("sensor", t, v)])
    h = store.read_rollup("sensor", "hour", start, start + 3 * 3600)
    assert h.count.tolist() == [360, 360, 360]
    np.testing.assert_array_equal(h.sum, [v[i * 360 : (i + 1) * 360].sum() for i in range(3)])
    np.testing.assert_array_equal(h.mean, [v[i * 360 : (i + 1) * 360].mean() for i in range(3)])


def test_energy_series_rollup_sums(store: Store) -> None:
    t = half_hours(ts(2025, 5, 1), 48 * 31)
    store.write([Readings("index", t, np.full(len(t), 250.0))])
    m = store.read_rollup("index", "month", ts(2025, 5, 1), ts(2025, 6, 1))
    assert m.sum.tolist() == [250 * 48 * 31]


def test_a_bad_batch_writes_nothing(store: Store) -> None:
    t = half_hours(ts(2025, 1, 1), 100)
    store.write([Readings("load", t, np.full(100, 7.0))])
    bad_value = np.full(100, 9.0)
    bad_value[50] = np.inf
    for batch in (
        [Readings("load", t, np.full(100, 8.0)), Readings("temp", t, bad_value)],
        [Readings("load", t, np.full(100, 8.0)), Readings("nope", t, np.ones(100))],
        [Readings("load", t, np.full(100, 8.0)), Readings("other", t + 10**10, np.ones(100))],
    ):
        with pytest.raises(StoreError):
            store.write(batch)
    np.testing.assert_array_equal(store.read("load", 0, 2**32)[1], np.full(100, 7.0))
    assert len(store.read("temp", 0, 2**32)[0]) == 0
    assert store.read_rollup("load", "day", 0, 2**32).sum.sum() == 700


def test_a_crash_mid_write_loses_nothing_committed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    t = half_hours(ts(2025, 1, 1), 10_000)  # spans several chunks
    store.write([Readings("load", t, np.full(len(t), 3.0))])
    real = codec_module.encode
    calls = {"n": 0}

    def failing_encode(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(codec_module, "encode", failing_encode)
    with pytest.raises(RuntimeError):
        store.write([Readings("load", t, np.full(len(t), 4.0))])
    monkeypatch.setattr(codec_module, "encode", real)
    np.testing.assert_array_equal(store.read("load", 0, 2**32)[1], np.full(len(t), 3.0))


def test_nan_means_no_value(store: Store) -> None:
    t = half_hours(ts(2025, 1, 1), 4)
    store.write([Readings("load", t, np.array([1.0, np.nan, 3.0, np.nan]))])
    rt, rv = store.read("load", 0, 2**32)
    np.testing.assert_array_equal(rt, t[[0, 2]])
    np.testing.assert_array_equal(rv, [1, 3])


def test_sum_on_grid(store: Store) -> None:
    t = half_hours(ts(2025, 1, 1), 48 * 3)
    a = np.random.default_rng(5).integers(0, 5000, len(t)).astype(float)
    b = np.random.default_rng(6).integers(0, 5000, len(t)).astype(float)
    store.write([Readings("load", t, a), Readings("other", t[48:], b[48:])])
    total, present = store.sum_on_grid(["load", "other"], int(t[0]), int(t[-1]) + HALF_HOUR, HALF_HOUR)
    np.testing.assert_array_equal(total, a + np.where(np.arange(len(t)) >= 48, b, 0))
    assert present.tolist() == [1] * 48 + [2] * 96
    hourly, _ = store.sum_on_grid(["load"], int(t[0]), int(t[-1]) + HALF_HOUR, 3600)
    np.testing.assert_allclose(hourly, a.reshape(-1, 2).mean(axis=1))


def test_concurrent_writers_lose_nothing(store_url: str, store: Store) -> None:
    t = half_hours(ts(2025, 1, 1), 4000)
    errors: list[BaseException] = []

    def writer(part: np.ndarray) -> None:
        s = open_store(store_url)
        try:
            for chunk in np.array_split(part, 20):
                s.write([Readings("load", t[chunk], t[chunk].astype(float) % 1000)])
        except BaseException as exc:
            errors.append(exc)
        finally:
            s.close()

    parts = [np.arange(len(t))[i::2] for i in range(2)]
    threads = [threading.Thread(target=writer, args=(p,)) for p in parts]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)  # SQLite's busy timeout is 30 s a transaction: alive after this means stuck
    assert not any(th.is_alive() for th in threads) and not errors
    rt, rv = store.read("load", 0, 2**32)
    np.testing.assert_array_equal(rt, t)
    np.testing.assert_array_equal(rv, t.astype(float) % 1000)
    assert store.read_rollup("load", "day", 0, 2**32).count.sum() == len(t)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(
        st.lists(st.tuples(st.integers(0, 3000), st.integers(-50_000, 50_000)), min_size=1, max_size=40),
        min_size=1,
        max_size=5,
    )
)
def test_store_behaves_like_a_dict(store: Store, writes: list[list[tuple[int, int]]]) -> None:
    """Any sequence of writes reads back as a dict {instant: last value}, and day rollups agree."""
    base = ts(2025, 10, 20)
    model: dict[int, float] = dict(zip(*store.read("other", 0, 2**32), strict=True))
    for batch in writes:
        t = np.array([base + HALF_HOUR * i for i, _ in batch], dtype=np.int64)
        v = np.array([float(x) for _, x in batch])
        store.write([Readings("other", t, v)])
        model.update(zip(t.tolist(), v.tolist(), strict=True))
    rt, rv = store.read("other", 0, 2**32)
    assert dict(zip(rt.tolist(), rv.tolist(), strict=True)) == model
    days = store.read_rollup("other", "day", 0, 2**32)
    assert days.count.sum() == len(model) and days.sum.sum() == sum(model.values())
