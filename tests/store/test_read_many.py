"""``Store.read_many`` gives each series' points exactly as ``Store.read`` does, in the order asked, on both
backends: the gate's aggregates read through it (a town's balance reads 30,000 curves)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from regie.model import DeliveryPoint, Inventory, Readings, Series, SeriesKind, Site, Step, Territory
from regie.store import open_store

PARIS = ZoneInfo("Europe/Paris")
PRM = "30001234567890"


def test_read_many_is_read_for_each_series_in_order(store_url: str) -> None:
    series = [Series(f"hh-{i}", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=PRM) for i in range(7)]
    series += [Series("sensor", SeriesKind.CONSUMPTION, "W", Step.parse("PT10S"), site_id="house"),
               Series("empty", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=PRM)]  # fmt: skip
    store = open_store(store_url)
    store.save_inventory(Inventory(Territory("v", "V"), sites=[Site("house", "House", "v")],
                                   delivery_points=[DeliveryPoint(PRM, "house")], series=series))  # fmt: skip
    rng = np.random.default_rng(3)
    t0 = int(datetime(2025, 3, 1, tzinfo=PARIS).timestamp())
    half_hours = t0 + 1800 * np.arange(6000, dtype=np.int64)  # ~4 months: several chunks each
    store.write([Readings(s.id, half_hours, rng.integers(0, 9000, 6000).astype(float)) for s in series[:7]])
    store.write([Readings("sensor", t0 + 10 * np.arange(30_000, dtype=np.int64), rng.normal(500, 50, 30_000))])
    ids = ["hh-3", "sensor", "empty", "hh-0", "hh-3", "hh-6", "hh-1", "hh-2", "hh-4", "hh-5"]
    start, end = t0 + 12_345, t0 + 90 * 86_400
    try:
        got = list(store.read_many(ids, start, end))
        assert len(got) == len(ids)
        for sid, (t, v) in zip(ids, got, strict=True):
            want_t, want_v = store.read(sid, start, end)
            assert np.array_equal(t, want_t) and np.array_equal(v, want_v), sid
        assert len(got[2][0]) == 0 and len(got[1][0]) > 0
        # in batches smaller than the list: the same
        with store.engine.connect() as conn:
            refs = [store.ref(s) for s in ids]
            small = list(store.timeseries.read_many(conn, refs, start, end, batch=3))
        assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(small, got, strict=True))
    finally:
        store.close()
