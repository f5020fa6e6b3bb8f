"""French public holidays (Code du travail, art. L3133-1), checked against the ``holidays`` package, a maintained
and independent list (the demo's load profiles use it)."""

from __future__ import annotations

from datetime import date

import holidays

from regie.model.public_holidays import easter_sunday, french_public_holidays, is_french_public_holiday


def test_2025_has_the_eleven_days_of_the_code_du_travail() -> None:
    assert sorted(french_public_holidays(2025)) == [
        date(2025, 1, 1), date(2025, 4, 21), date(2025, 5, 1), date(2025, 5, 8), date(2025, 5, 29),
        date(2025, 6, 9), date(2025, 7, 14), date(2025, 8, 15), date(2025, 11, 1), date(2025, 11, 11),
        date(2025, 12, 25),
    ]  # fmt: skip
    assert is_french_public_holiday(date(2025, 4, 21)) and not is_french_public_holiday(date(2025, 4, 22))


def test_easter_on_dates_known_by_heart() -> None:
    assert [easter_sunday(y) for y in (2000, 2008, 2019, 2024, 2038)] == [
        date(2000, 4, 23), date(2008, 3, 23), date(2019, 4, 21), date(2024, 3, 31), date(2038, 4, 25)]  # fmt: skip


def test_the_same_days_as_the_holidays_package_from_2008_to_2040() -> None:
    """From 2008 on: Whit Monday was the "journée de solidarité" worked day of 2005–2007 in that package."""
    for year in range(2008, 2041):
        assert french_public_holidays(year) == frozenset(holidays.France(years=year)), year
