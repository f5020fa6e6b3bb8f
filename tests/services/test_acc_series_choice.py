"""A delivery point with a daily energy series and a load curve (Enedis Data Connect's daily and curve data for
the same point): the allocation takes the load curve at the operation's step, or the finest power series."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest
from _acc_store import PARIS, PRM_A, PT15M, PT30M, build

from regie.model import Participant, Readings, Series, SeriesKind, Step
from regie.model.operation import Role
from regie.services import acc as service
from regie.store.operations import load_operation

P1D, PT10M = Step.parse("P1D"), Step.parse("PT10M")
ANNA = Participant(PRM_A, Role.CONSUMER, date(2024, 1, 1))


def _with(*series: Series):
    from _acc_store import inventory

    inv = inventory()
    return replace(inv, series=[*(s for s in inv.series if s.prm != PRM_A), *series])


def _curve(sid: str, unit: str, step: Step) -> Series:
    return Series(sid, SeriesKind.CONSUMPTION, unit, step, prm=PRM_A)


def test_the_load_curve_at_the_operation_s_step_is_chosen_over_a_daily_series() -> None:
    daily, curve = _curve("daily", "Wh", P1D), _curve("curve", "W", PT30M)
    for order in ((daily, curve), (curve, daily)):
        assert service.participant_series(_with(*order), ANNA, PT30M).id == "curve"
    fine = _curve("fine", "W", PT10M)  # no curve at the step: the finest power series that divides it
    assert service.participant_series(_with(daily, fine, _curve("q", "Wh", PT15M)), ANNA, PT30M).id == "fine"
    assert service.participant_series(_with(daily, _curve("q", "Wh", PT15M)), ANNA, PT30M).id == "q"
    assert service.participant_series(_with(daily), ANNA, PT30M).id == "daily"  # alone: load_curves says why


@pytest.mark.parametrize(("series", "said"), [
    ((_curve("d1", "Wh", P1D), _curve("d2", "Wh", P1D)), r"\(d1, d2\): none is a load curve"),
    ((_curve("a", "W", PT30M), _curve("b", "W", PT30M)), r"\(a, b\): choose one"),
])  # fmt: skip
def test_no_load_curve_or_two_alike_are_named(series, said: str) -> None:
    with pytest.raises(service.AccRequestError, match=said):
        service.participant_series(_with(*series), ANNA, PT30M)


def test_an_operation_allocates_when_a_point_also_has_daily_energy(store_url: str) -> None:
    store = build(store_url)
    try:
        inv = store.load_inventory("village")
        store.save_inventory(replace(inv, series=[*inv.series, _curve("anna-daily", "Wh", P1D)]))
        days = np.array([int(datetime(2025, 6, d, tzinfo=PARIS).timestamp()) for d in (1, 2, 3)], dtype=np.int64)
        store.write([Readings("anna-daily", days, np.full(3, 1.0))])  # not the curve: 1 Wh a day
        op = load_operation(store, "acc-test").operation
        start, end = (service._midnight(d, PARIS) for d in (date(2025, 6, 2), date(2025, 6, 3)))
        curves = service.load_curves(store, op, start, end, lambda s, a, b: store.read(s, a, b), "village")
        anna = [p.prm for p in curves.consumers].index(PRM_A)
        assert np.allclose(curves.consumption[:, anna], 10_000.0)  # 20 kW over each half-hour
    finally:
        store.close()
