"""Balance figures on hand-checked vectors."""

import numpy as np
import pytest

from regie.analytics import balance as bal

HALF_HOUR = 1800


def test_rates_are_per_step_not_from_totals() -> None:
    # Night: 1 kW used, nothing produced. Day: 1 kW used, 3 kW produced.
    cons = np.array([1000.0, 1000.0])
    prod = {"pv": np.array([0.0, 3000.0])}
    t = bal.totals(cons, prod, HALF_HOUR)
    assert t.consumption_wh == 1000 and t.production_wh == 1500
    assert t.coverage == pytest.approx(1.5)  # annual-style coverage says 150 %
    assert t.self_consumed_wh == 500
    assert t.self_sufficiency == pytest.approx(0.5)  # but only half the consumption is met at the time
    assert t.self_consumption == pytest.approx(1 / 3)


def test_sources_add_before_matching() -> None:
    cons = np.array([2000.0])
    t = bal.totals(cons, {"hydro": np.array([1000.0]), "pv": np.array([1500.0])}, 3600)
    assert t.production_by_source_wh == {"hydro": 1000, "pv": 1500}
    assert t.self_consumed_wh == 2000 and t.self_sufficiency == 1.0 and t.self_consumption == pytest.approx(0.8)


def test_no_value_counts_as_zero_and_empty_rates_are_none() -> None:
    t = bal.totals(np.array([np.nan]), {"pv": np.array([np.nan])}, HALF_HOUR)
    assert t.consumption_wh == 0 and t.coverage is None and t.self_sufficiency is None


def test_grouped_matches_per_step_then_sums() -> None:
    cons = np.array([1000.0, 1000.0, 500.0, 500.0])
    prod = {"hydro": np.array([0.0, 2000.0, 500.0, 0.0])}
    g = bal.grouped(cons, prod, HALF_HOUR, np.array([0, 0, 1, 1]), 2)
    np.testing.assert_allclose(g["consumption_wh"], [1000, 500])
    np.testing.assert_allclose(g["production_total_wh"], [1000, 250])
    np.testing.assert_allclose(g["self_consumed_wh"], [500, 250])  # not min(1000, 1000) = 1000 for group 0
    r = bal.rates(g["consumption_wh"], g["production_total_wh"], g["self_consumed_wh"])
    np.testing.assert_allclose(r["self_sufficiency"], [0.5, 0.5])
    np.testing.assert_allclose(r["coverage"], [1.0, 0.5])
