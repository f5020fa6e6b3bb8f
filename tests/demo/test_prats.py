"""The Prats demo year: deterministic, shaped like the place, and consistent with its own grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regie.demo import build_prats
from regie.demo.timegrid import year_grid
from regie.model import SeriesKind


@pytest.fixture(scope="module")
def demo():
    return build_prats(seed=7)


def _local(demo) -> pd.DatetimeIndex:
    return pd.to_datetime(demo.t, unit="s", utc=True).tz_convert("Europe/Paris")


def _sum(demo, predicate) -> np.ndarray:
    return np.sum([demo.values[s.id] for s in demo.inventory.series if predicate(s)], axis=0)


def test_grid_has_the_dst_days_of_the_year() -> None:
    g = year_grid(2025)
    per_day = pd.Series(1, index=g.local.tz_localize(None).normalize()).groupby(level=0).size()
    assert len(g.t) == 17520
    assert per_day[pd.Timestamp("2025-03-30")] == 46  # spring forward: 23 hours
    assert per_day[pd.Timestamp("2025-10-26")] == 50  # fall back: 25 hours
    assert set(per_day.drop([pd.Timestamp("2025-03-30"), pd.Timestamp("2025-10-26")])) == {48}


def test_same_seed_same_year_other_seed_other_year(demo) -> None:
    again = build_prats(seed=7)
    other = build_prats(seed=8)
    for sid in ("cons-hh-0001", "prod-pv-phase2-01", "prod-hydro-municipal", "temp-prats"):
        np.testing.assert_array_equal(demo.values[sid], again.values[sid])
        assert not np.array_equal(demo.values[sid], other.values[sid])


def test_households_are_each_their_own(demo) -> None:
    homes = [s for s in demo.inventory.series if s.id.startswith("cons-hh-")]
    assert len(homes) == 600
    assert len({s.prm for s in homes}) == 600
    annual = np.array([demo.energy_wh(s.id) for s in homes]) / 1000
    assert 1000 < np.median(annual) < 9000  # kWh a year
    assert np.percentile(annual, 95) > 3 * np.percentile(annual, 5)  # small flats and electric-heated houses
    curves = np.stack([demo.values[s.id] for s in homes[:50]])
    assert len({c.tobytes() for c in curves}) == 50
    assert (curves >= 0).all()


def test_winter_consumption_exceeds_summer(demo) -> None:
    cons = pd.Series(_sum(demo, lambda s: s.kind is SeriesKind.CONSUMPTION), index=_local(demo))
    monthly = cons.resample("MS").mean()
    assert monthly.iloc[0] > 1.3 * monthly.iloc[6]  # January vs July: electric heating


def test_pv_is_dark_at_night_and_varies_with_clouds(demo) -> None:
    pv = pd.Series(_sum(demo, lambda s: s.producer_id is not None and "pv" in s.producer_id), index=_local(demo))
    night = (pv.index.hour >= 23) | (pv.index.hour < 4)
    assert (pv[night] == 0).all()
    daily = pv.resample("D").sum()
    summer = daily["2025-06-01":"2025-08-31"]
    assert summer.min() < 0.5 * summer.max()  # overcast days, not a clear-sky curve


def test_hydro_follows_snow_melt_and_low_water(demo) -> None:
    hydro = pd.Series(_sum(demo, lambda s: s.producer_id is not None and "hydro" in s.producer_id),
                      index=_local(demo))
    monthly = hydro.resample("MS").mean()
    assert monthly.iloc[4] > 2 * monthly.iloc[7]  # May (melt) vs August (low water)


def test_transformer_load_is_what_it_feeds_plus_losses(demo) -> None:
    inv = demo.inventory
    by_prm = {s.prm: s for s in inv.series if s.prm is not None}
    for tr in inv.transformers:
        net = np.sum([demo.values[by_prm[p].id] * (-1 if by_prm[p].kind is SeriesKind.PRODUCTION else 1)
                      for p in tr.prms], axis=0)
        load = demo.values[f"load-{tr.id}"]
        fed = float(np.abs(net).sum())
        losses = float((load - net).sum())
        assert 0.0 < losses / fed < 0.08, tr.id  # a few percent
    assert 8 <= len(inv.transformers) <= 12
