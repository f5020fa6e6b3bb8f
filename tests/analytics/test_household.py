"""A household's dashboard figures, pure: calendar periods, the local share per step, prices per step, the
Tempo calendar file."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import numpy as np
import pytest

from regie.analytics import household as hh
from regie.analytics.tempo import format_calendar, generated_calendar, parse_calendar


@pytest.mark.parametrize(
    ("kind", "anchor", "first", "end"),
    [
        ("day", date(2025, 3, 30), date(2025, 3, 30), date(2025, 3, 31)),
        ("week", date(2025, 1, 1), date(2024, 12, 30), date(2025, 1, 6)),  # ISO week 1 of 2025 starts in 2024
        ("month", date(2024, 2, 29), date(2024, 2, 1), date(2024, 3, 1)),
        ("year", date(2025, 12, 31), date(2025, 1, 1), date(2026, 1, 1)),
    ],
)
def test_calendar_periods(kind: str, anchor: date, first: date, end: date) -> None:
    assert hh.period_bounds(kind, anchor) == (first, end)
    assert hh.period_bounds(kind, hh.shift_period(kind, anchor, 1))[0] == end
    assert hh.period_bounds(kind, hh.shift_period(kind, anchor, -1))[1] == first


def test_same_period_last_year() -> None:
    assert hh.same_period_last_year("day", date(2024, 2, 29)) == (date(2023, 2, 28), date(2023, 3, 1))
    assert hh.same_period_last_year("month", date(2025, 3, 17)) == (date(2024, 3, 1), date(2024, 4, 1))
    # ISO week 53 of 2020: 2019 had 52 weeks, so the last one
    first, end = hh.same_period_last_year("week", date(2020, 12, 31))
    assert first.isocalendar()[:2] == (2019, 52) and end - first == timedelta(days=7)
    assert hh.same_period_last_year("week", date(2025, 8, 20))[0] == date(2024, 8, 19)  # week 34, Mondays
    with pytest.raises(ValueError, match="period: 'fortnight'"):
        hh.period_bounds("fortnight", date(2025, 1, 1))


def test_local_share_sums_per_step_and_keeps_hidden_steps_apart() -> None:
    cons = np.array([100.0, 200.0, 300.0, 0.0, 50.0])
    ss = np.array([0.5, 1.0, np.nan, np.nan, 0.2])
    s = hh.local_share(cons, ss)
    assert s.local_wh == pytest.approx(100 * 0.5 + 200 * 1.0 + 50 * 0.2)
    assert (s.consumption_wh, s.unknown_wh, s.unknown_steps) == (650.0, 300.0, 1)  # a step with 0 Wh counts nothing
    assert s.share == pytest.approx(260 / 350)
    # the annual rate applied to the annual total is NOT the same figure: the per-step sum is what is shown
    assert hh.local_share(np.array([10.0, 90.0]), np.array([1.0, 0.0])).share == pytest.approx(0.1)
    assert hh.local_share(np.array([1.0]), np.array([np.nan])).share is None
    with pytest.raises(ValueError, match="2 steps"):
        hh.local_share(np.zeros(2), np.zeros(3))


def test_self_sufficiency_per_step() -> None:
    ss = hh.self_sufficiency_per_step(np.array([100.0, 100.0, 0.0, np.nan]), np.array([30.0, 250.0, 5.0, 1.0]))
    assert ss[:2].tolist() == [0.3, 1.0] and np.isnan(ss[2:]).all()


def test_prices_per_step_by_option() -> None:
    hours = np.array([0.0, 5.5, 6.0, 12.0, 21.5, 22.0, 23.5])
    hp_hc = hh.step_prices("hphc", hours, None, {"hp": 2.0, "hc": 1.0})
    assert hp_hc.tolist() == [1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    assert hh.step_prices("base", hours, None, {"base": 0.2}).tolist() == [0.2] * 7
    colours = np.array(["RED", "RED", "RED", "BLUE", "WHITE", "WHITE", ""], dtype=object)
    tempo = hh.step_prices("tempo", hours, colours, {"red_hc": 3, "red_hp": 4, "blue_hp": 5, "white_hp": 6,
                                                     "white_hc": 7, "blue_hc": 8})  # fmt: skip
    assert tempo[:6].tolist() == [3, 3, 4, 5, 6, 7] and np.isnan(tempo[6])  # a day without colour: no price
    cost = hh.energy_cost(np.array([1000.0, 2000.0, 500.0]), np.array([0.2, np.nan, 0.1]))
    assert (cost.eur, cost.priced_wh, cost.unpriced_wh) == (pytest.approx(0.25), 1500.0, 2000.0)
    with pytest.raises(ValueError, match="tariff option: 'ejp'"):
        hh.step_prices("ejp", hours, None, {})


def test_size_classes() -> None:
    assert [hh.size_class(k) for k in (3, 6, 9, 12, 15, 36, None)] == [
        "up to 6 kVA", "up to 6 kVA", "9 to 12 kVA", "9 to 12 kVA", "more than 12 kVA", "more than 12 kVA", None,
    ]  # fmt: skip


def test_generated_tempo_year_follows_the_rules() -> None:
    days = generated_calendar(2024)
    assert min(days) == date(2024, 9, 1) and max(days) == date(2025, 8, 31)
    assert Counter(days.values()) == {"BLUE": 300, "WHITE": 43, "RED": 22}
    reds = [d for d, c in days.items() if c == "RED"]
    assert all(d.weekday() < 5 and (d.month >= 11 or d.month <= 3) for d in reds)  # weekdays, 1 Nov – 31 Mar
    assert all(d.weekday() != 6 for d, c in days.items() if c == "WHITE")  # never on a Sunday


def test_tempo_file_round_trip_and_errors() -> None:
    days = {date(2025, 1, 6): "RED", date(2025, 1, 7): "WHITE"}
    text = format_calendar(days, "two days\nfor a test")
    assert text.startswith("# two days\n# for a test\ndate,colour\n")
    assert parse_calendar(text) == days
    assert parse_calendar("date,colour\n2025-01-08,bleu\n") == {date(2025, 1, 8): "BLUE"}
    with pytest.raises(ValueError, match="header 'date,colour'"):
        parse_calendar("day,color\n")
    with pytest.raises(ValueError, match="line 3: colour 'GREEN'"):
        parse_calendar("# c\ndate,colour\n2025-01-08,GREEN\n", "t.csv")
    with pytest.raises(ValueError, match="line 3: 2025-01-08 is given twice"):
        parse_calendar("date,colour\n2025-01-08,RED\n2025-01-08,RED\n")
    with pytest.raises(ValueError, match="line 2: '8/1/2025' is not a date"):
        parse_calendar("date,colour\n8/1/2025,RED\n")


def test_the_shipped_demo_calendar_is_the_generated_one() -> None:
    from importlib import resources

    shipped = parse_calendar((resources.files("regie.data") / "tariffs" / "tempo-demo.csv").read_text("utf-8"))
    assert shipped == {**generated_calendar(2024), **generated_calendar(2025)}
