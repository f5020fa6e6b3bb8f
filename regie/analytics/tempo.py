"""The Tempo calendar: which colour each day has (BLUE, WHITE, RED), from a file, and the demo's generated one.

RTE chooses and publishes the colour of each Tempo day (RTE, "Tempo Like Supply Contract" data, whose
values are ``BLUE``, ``WHITE`` and ``RED``; the CRE's Tempo rules: 22 red days between 1 November and
31 March, never on a weekend, 43 white days, never on a Sunday, the rest blue, over a Tempo year from
1 September to 31 August). A Tempo day runs from 06:00 to 06:00 (:data:`regie.analytics.household.TEMPO_DAY_STARTS_AT`).

The file format (``regie/data/tariffs/tempo-*.csv``): UTF-8 CSV, lines starting with ``#`` are comments (the
first ones say where the colours come from), a header ``date,colour``, then one line per day: an ISO date
and one of ``BLUE``, ``WHITE``, ``RED`` (RTE's own words; ``bleu``, ``blanc``, ``rouge`` are read too). A
day missing from the file has no colour: its cost under Tempo is unknown, never guessed.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

ALIASES = {"BLUE": "BLUE", "WHITE": "WHITE", "RED": "RED", "BLEU": "BLUE", "BLANC": "WHITE", "ROUGE": "RED"}
RED_DAYS, WHITE_DAYS = 22, 43


def parse_calendar(text: str, name: str = "calendar") -> dict[date, str]:
    """Day → colour from a calendar file; ValueError naming the line and what is wrong."""
    lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not lines or [c.strip().lower() for c in lines[0][1].split(",")] != ["date", "colour"]:
        raise ValueError(f"{name}: the first line that is not a comment must be the header 'date,colour'")
    out: dict[date, str] = {}
    for (i, line), row in zip(lines[1:], csv.reader(io.StringIO("\n".join(x for _, x in lines[1:]))), strict=True):
        if len(row) != 2:
            raise ValueError(f"{name}, line {i}: expected 'date,colour', got {line!r}")
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError:
            raise ValueError(f"{name}, line {i}: {row[0]!r} is not a date (YYYY-MM-DD)") from None
        colour = ALIASES.get(row[1].strip().upper())
        if colour is None:
            raise ValueError(f"{name}, line {i}: colour {row[1]!r} is not BLUE, WHITE or RED")
        if day in out:
            raise ValueError(f"{name}, line {i}: {day} is given twice")
        out[day] = colour
    return out


def format_calendar(days: dict[date, str], comment: str) -> str:
    """A calendar as the file format above (the inverse of :func:`parse_calendar`)."""
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    return head + "date,colour\n" + "".join(f"{d.isoformat()},{days[d]}\n" for d in sorted(days))


def generated_calendar(first_year: int) -> dict[date, str]:
    """A plausible Tempo year from 1 September ``first_year`` to 31 August after, for the demo only (not RTE's
    colours): the 22 red days are the working days (Monday–Friday) from the second week of December spread
    every other working day until 22 are placed; 43 white days every other remaining non-Sunday from mid-November to
    the end of March, skipping red days; the rest blue."""
    start, end = date(first_year, 9, 1), date(first_year + 1, 9, 1)
    days = {start + timedelta(days=i): "BLUE" for i in range((end - start).days)}
    working = [d for d in sorted(days) if d >= date(first_year, 12, 8) and d.weekday() < 5]
    for d in working[::2][:RED_DAYS]:
        days[d] = "RED"
    winter = [d for d in sorted(days) if date(first_year, 11, 15) <= d < date(first_year + 1, 4, 1)
              and d.weekday() != 6 and days[d] == "BLUE"]  # fmt: skip
    for d in winter[::2][:WHITE_DAYS]:
        days[d] = "WHITE"
    return days
