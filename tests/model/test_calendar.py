from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.model.calendar import period_starts

PARIS = ZoneInfo("Europe/Paris")


def at(*a: int) -> int:
    return int(datetime(*a, tzinfo=PARIS).timestamp())


@pytest.mark.parametrize(("day", "hours"), [((2025, 3, 30), 23), ((2025, 10, 26), 25), ((2025, 7, 14), 24)])
def test_one_instant_gives_its_whole_local_day(day: tuple[int, int, int], hours: int) -> None:
    t = at(*day, 7)
    edges = period_starts(t, t, "day", PARIS)
    assert edges.tolist() == [at(*day), at(*day) + hours * 3600]


def test_months_follow_the_local_calendar() -> None:
    edges = period_starts(at(2025, 1, 15), at(2025, 12, 31, 23, 30), "month", PARIS)
    assert len(edges) == 13
    assert edges[0] == at(2025, 1, 1) and edges[-1] == at(2026, 1, 1)
    assert np.diff(edges).min() == 28 * 86400 and (np.diff(edges) == 31 * 86400 - 3600).sum() == 1  # March


def test_hours_across_the_autumn_change() -> None:
    edges = period_starts(at(2025, 10, 26), at(2025, 10, 26, 23), "hour", PARIS)
    assert len(edges) - 1 == 25
