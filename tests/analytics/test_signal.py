"""The signal's levels, error spread, scores and text line (regie.analytics.signal)."""

from __future__ import annotations

import numpy as np
import pytest

from regie.analytics import forecast as fc
from regie.analytics import signal as sig

STEP = 1800
T0 = 1_735_689_600


def test_levels_follow_the_pessimistic_and_optimistic_balance() -> None:
    expected = np.array([500.0, 50.0, -50.0, -500.0, np.nan])
    low, high = expected - 100, expected + 100
    assert sig.levels(expected, low, high) == [sig.GREEN, sig.ORANGE, sig.ORANGE, sig.RED, sig.UNKNOWN]


def test_error_quantiles_are_per_horizon_and_skip_missing_errors() -> None:
    errors = np.array([[-10.0, 0.0], [0.0, np.nan], [10.0, 4.0]])
    q = sig.error_quantiles(errors, (0.0, 0.5, 1.0))
    assert q[:, 0] == pytest.approx([-10, 0, 10])
    assert q[:, 1] == pytest.approx([0, 2, 4])
    assert np.isnan(sig.error_quantiles(np.full((3, 1), np.nan))).all()


def square_history(days: int) -> fc.History:
    """Production 1700 W from 12:00 to 24:00 UTC, 300 W before; consumption 1000 W: the same every day."""
    t = T0 + STEP * np.arange(days * 48, dtype=np.int64)
    afternoon = (t % 86_400) >= 43_200
    return fc.History(t, STEP, np.full(len(t), 1000.0), {"hydro": np.where(afternoon, 1700.0, 300.0)})


def test_a_perfect_model_scores_perfectly_and_its_levels_are_right() -> None:
    h = square_history(30)

    def oracle(past: fc.History, horizon: int) -> fc.Forecast:
        return fc.observed(h, fc.future_grid(past.origin, horizon, past.step))

    origins = [T0 + d * 86_400 + 6 * 3600 for d in range(10, 25)]
    bt = sig.backtest(h, origins, sig.HORIZON_S, oracle)
    assert bt.expected.shape == (15, 72) and np.all(bt.errors == 0)
    s = sig.skill(bt)
    assert s.mae_w == 0 and s.persistence_mae_w == 0 and np.isnan(s.skill)  # no skill claimed over a perfect baseline
    assert s.green_right == 1.0 and s.red_right == 1.0 and s.surplus_found == 1.0
    assert s.green_steps == s.red_steps == 15 * 36


def test_a_model_worse_than_persistence_has_a_negative_skill() -> None:
    h = square_history(30)

    def flat(past: fc.History, horizon: int) -> fc.Forecast:
        t = fc.future_grid(past.origin, horizon, past.step)
        return fc.Forecast(t, np.full(len(t), 1000.0), {"hydro": np.full(len(t), 1000.0)})

    bt = sig.backtest(h, [T0 + d * 86_400 for d in range(5, 20)], sig.HORIZON_S, flat)
    s = sig.skill(bt)
    assert s.persistence_mae_w == 0 and s.mae_w == pytest.approx(700.0)
    assert np.isnan(s.skill)  # persistence is perfect here: no skill can be computed, and none is claimed
    # against a noisy truth persistence errs too, and the flat model still loses
    noisy = fc.History(h.t, STEP, h.consumption_w + np.random.default_rng(0).normal(0, 50, len(h.t)), h.production_w)
    s = sig.skill(sig.backtest(noisy, [T0 + d * 86_400 for d in range(5, 20)], sig.HORIZON_S, flat))
    assert s.skill < 0


def test_the_text_line_round_trips_and_refuses_what_is_not_one() -> None:
    line = sig.text_line("prats", 1_750_000_000, 1800, [sig.GREEN, sig.ORANGE, sig.RED, sig.UNKNOWN], 1_750_000_100)
    assert line == "REGIE-SIGNAL/1 prats 1750000000 1800 1750000100 GORU"
    parsed = sig.parse_text_line(line + "\n")
    assert parsed == {"territory": "prats", "start": 1_750_000_000, "step": 1800, "issued": 1_750_000_100,
                      "levels": [sig.GREEN, sig.ORANGE, sig.RED, sig.UNKNOWN]}  # fmt: skip
    with pytest.raises(ValueError, match="not a REGIE-SIGNAL/1 line"):
        sig.parse_text_line("REGIE-SIGNAL/2 prats 1 1800 1 G")
    with pytest.raises(ValueError, match="unknown level letter"):
        sig.parse_text_line("REGIE-SIGNAL/1 prats 1 1800 1 GX")
