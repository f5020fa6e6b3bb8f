"""French public holidays ("jours fériés"), for the forecasts that treat them like Sundays.

Why here and not the ``holidays`` package: the list is short and fixed by law, and the forecast needs it pure
and fast for any year. Source: Code du travail, article L3133-1 (Légifrance): 1 January,
Easter Monday, 1 May, 8 May, Ascension Day, Whit Monday, 14 July, Assumption (15 August), All Saints' Day
(1 November), 11 November, Christmas Day. Easter Sunday and Whit Sunday are Sundays anyway. Not included:
Alsace-Moselle's Good Friday and 26 December (article L3134-13) and the overseas departments' days of the abolition of
slavery (a date set per department): a territory there would need its own list.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous "Meeus/Jones/Butcher" algorithm, valid for every Gregorian year)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


@cache
def french_public_holidays(year: int) -> frozenset[date]:
    """The eleven public holidays of metropolitan France in ``year`` (Code du travail, art. L3133-1)."""
    easter = easter_sunday(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    movable = [easter + timedelta(days=1), easter + timedelta(days=39), easter + timedelta(days=50)]
    return frozenset([date(year, m, d) for m, d in fixed] + movable)


def is_french_public_holiday(day: date) -> bool:
    return day in french_public_holidays(day.year)
