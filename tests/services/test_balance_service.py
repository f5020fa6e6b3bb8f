"""The territory balance read from a real store, on both backends."""

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.model import (
    DeliveryPoint,
    Inventory,
    Producer,
    Readings,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
)
from regie.services.balance import BalanceRequestError, territory_balance
from regie.store import open_store

PARIS = ZoneInfo("Europe/Paris")
PT30M = Step.parse("PT30M")


@pytest.fixture
def store(store_url: str):
    inv = Inventory(
        Territory("t", "T"),
        sites=[Site("s", "S", "t")],
        delivery_points=[DeliveryPoint("30000000000001", "s"), DeliveryPoint("30000000000002", "s")],
        producers=[Producer("h", "Hydro", Source.HYDRO, 1e5), Producer("pv", "PV", Source.PV, 1e5)],
        series=[
            Series("c1", SeriesKind.CONSUMPTION, "W", PT30M, prm="30000000000001"),
            Series("c2", SeriesKind.CONSUMPTION, "W", PT30M, prm="30000000000002"),
            Series("h", SeriesKind.PRODUCTION, "W", PT30M, producer_id="h"),
            Series("pv", SeriesKind.PRODUCTION, "W", PT30M, producer_id="pv"),
        ],
    )
    s = open_store(store_url)
    s.save_inventory(inv)
    a = int(datetime(2025, 3, 1, tzinfo=PARIS).timestamp())
    b = int(datetime(2025, 5, 1, tzinfo=PARIS).timestamp())
    t = np.arange(a, b, 1800, dtype=np.int64)
    night = ((t // 1800) % 48) < 24
    s.write([
        Readings("c1", t, np.full(len(t), 600.0)),
        Readings("c2", t, np.full(len(t), 400.0)),
        Readings("h", t, np.full(len(t), 300.0)),
        Readings("pv", t, np.where(night, 0.0, 1400.0)),
    ])
    yield s
    s.close()


def test_month_figures(store) -> None:
    r = territory_balance(store, datetime(2025, 3, 1, tzinfo=PARIS), datetime(2025, 5, 1, tzinfo=PARIS),
                          Step.parse("P1M"))
    hours = 31 * 24 - 1 + 30 * 24  # March loses an hour at the DST change
    assert r["periods"]["start"] == ["2025-03-01T00:00:00+01:00", "2025-04-01T00:00:00+02:00"]
    assert r["totals"]["consumption_wh"] == pytest.approx(1000 * hours)
    assert r["totals"]["production_by_source_wh"]["hydro"] == pytest.approx(300 * hours)
    # matched per step: nights 300 of 1000, days 1000 of 1000
    ss = r["totals"]["self_sufficiency"]
    assert 0.6 < ss < 0.7 and r["totals"]["coverage"] == pytest.approx(1.0, abs=0.02)
    assert r["sources"] == ["hydro", "pv"]


def test_steps_and_errors(store) -> None:
    a, b = datetime(2025, 3, 30, tzinfo=PARIS), datetime(2025, 3, 31, tzinfo=PARIS)
    assert len(territory_balance(store, a, b, PT30M)["periods"]["start"]) == 46
    assert len(territory_balance(store, a, b, Step.parse("PT1H"))["periods"]["start"]) == 23
    assert len(territory_balance(store, a, b, Step.parse("P1D"))["periods"]["start"]) == 1
    with pytest.raises(BalanceRequestError, match="multiple"):
        territory_balance(store, a, b, Step.parse("PT10M"))
    with pytest.raises(BalanceRequestError, match="after"):
        territory_balance(store, b, a, PT30M)
