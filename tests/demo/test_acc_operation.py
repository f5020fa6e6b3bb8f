"""The demo's ACC operation: a 250 kWp park and 15 consumers of the village, within the perimeter, with a
year of flows that make sense, stored and billed end to end."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from regie.demo import build_prats
from regie.demo.acc_operation import (
    OPERATION_ID,
    PEAK_W,
    SERIES_ID,
    add_acc_operation,
    stored_operation,
)
from regie.demo.install import install
from regie.model import ParticipantType, Role, SeriesKind, perimeter_problems
from regie.services import acc as service
from regie.store import open_store
from regie.store.operations import load_operation


@pytest.fixture(scope="module")
def demo():
    data = build_prats(seed=7)  # the village comes with its operation
    (op,) = data.operations
    return data, op


def test_the_operation_has_fifteen_consumers_of_the_village_and_the_park(demo) -> None:
    data, op = demo
    village = data
    assert len(op.consumers) == 15 and len(op.producers) == 1
    assert op.producers[0].peak_power_w == PEAK_W
    kinds = [p.type for p in op.consumers]
    assert kinds.count(ParticipantType.COMMUNE) == 3
    assert {p.priority for p in op.consumers if p.type == ParticipantType.COMMUNE} == {1}
    assert [p.name for p in op.consumers if p.type == ParticipantType.BUSINESS] == ["Boulangerie"]
    assert kinds.count(ParticipantType.HOUSEHOLD) == 11
    village_prms = {d.prm for d in village.inventory.delivery_points}
    assert all(p.prm in village_prms for p in op.consumers)
    # entries and exits during the year, one of them mid-month
    assert sorted(p.entry for p in op.consumers if p.entry.year == 2025) == [date(2025, 3, 17), date(2025, 7, 1)]
    assert [p.exit for p in op.consumers if p.exit] == [date(2025, 9, 15)]
    assert perimeter_problems(op) == []
    assert op.pmo_id in {o.id for o in data.inventory.organisations}


def test_the_park_follows_the_village_weather(demo) -> None:
    data, _ = demo
    park = data.values[SERIES_ID]
    energy_mwh = data.energy_wh(SERIES_ID) / 1e6
    assert 280 < energy_mwh < 420  # 1,100–1,700 kWh/kWp: a sunny mountain site
    assert park.max() < PEAK_W and park.min() >= 0
    roofs = np.sum([data.values[s.id] for s in data.inventory.series
                    if s.kind is SeriesKind.PRODUCTION and s.id.startswith("prod-pv-")
                    and s.id != SERIES_ID], axis=0)
    daily = lambda x: x.reshape(-1, 48)[:360].sum(axis=1)  # noqa: E731
    assert np.corrcoef(daily(park), daily(roofs))[0, 1] > 0.9  # same clouds as the village's roofs
    # the park is part of the energy project's PV phase-2 line: the roofs and the park make 1.9 GWh
    phase2 = sum(data.energy_wh(s.id) for s in data.inventory.series
                 if s.id.startswith("prod-pv-phase2") or s.id == SERIES_ID)
    assert phase2 / 1e9 == pytest.approx(1.9, rel=1e-3)
    with pytest.raises(ValueError):  # adding it twice would declare the park twice
        add_acc_operation(data, seed=7)


def test_a_june_of_the_demo_allocates_and_bills(tmp_path, demo) -> None:
    data, op = demo
    store = open_store(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    try:
        install(store, data)  # series, then the operation
        stored = load_operation(store, OPERATION_ID)
        assert stored.operation == op and stored.key == "priority"
        assert sum(stored_operation(op, "x").static_shares.values()) == pytest.approx(1.0)

        def reader(series_id: str, start: int, end: int):
            return store.read(series_id, start, end)

        run = service.bill_month(store, OPERATION_ID, "2025-06", reader)
        assert len(run.bills) == 14  # the March joiner in, the July joiner not yet, the leaver still in
        assert 0.2 < run.rates["self_consumption"] <= 1.0  # June: a 250 kWp park makes plenty of surplus
        commune = [b for b in run.bills if b.participant.type == ParticipantType.COMMUNE]
        households = [b for b in run.bills if b.participant.type == ParticipantType.HOUSEHOLD]
        # the commune is served first: a larger share of its consumption comes from the park
        share = lambda bs: sum(b.autocons_wh for b in bs) / sum(b.cons_wh for b in bs)  # noqa: E731
        assert share(commune) >= share(households)
        prices = {b.participant.type: b.bill.lines[0].unit_price_eur for b in run.bills}
        assert prices == {ParticipantType.COMMUNE: Decimal("0.1"), ParticipantType.BUSINESS: Decimal("0.12"),
                          ParticipantType.HOUSEHOLD: Decimal("0.13")}
        assert all(b.participant.role == Role.CONSUMER for b in run.bills)
    finally:
        store.close()
