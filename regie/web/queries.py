"""What the API and the pages both need to know about a store: the territory's summary, its data period, and
how to read a period and a step from a request. Errors say what was wrong and why (ValueError / LookupError).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from regie.model import Inventory, SeriesKind, Step
from regie.store import Store

#: Instants outside these years are refused: they are typos, and the calendar code cannot count months there.
MIN_YEAR, MAX_YEAR = 1970, 2099
#: The longest period one balance request may cover; a longer one is a typo or an attempt to exhaust memory.
MAX_SPAN = timedelta(days=20 * 366)
DEFAULT_STEP = Step.parse("P1M")


class QueryError(ValueError):
    """A query parameter is malformed (HTTP 422)."""


@dataclass(frozen=True, slots=True)
class DataPeriod:
    """The stored data: first and last instants (starts of their intervals) and the end of the last interval."""

    first: datetime
    last: datetime
    end: datetime


def metering_step(inv: Inventory) -> Step | None:
    """The step the balance sums at: the coarsest fixed step among consumption and production load curves."""
    kinds = (SeriesKind.CONSUMPTION, SeriesKind.PRODUCTION)
    steps = {
        s.step.seconds for s in inv.series if s.kind in kinds and s.unit == "W" and s.step and not s.step.is_calendar
    }
    return Step(seconds=max(steps)) if steps else None


def data_period(store: Store, inv: Inventory) -> DataPeriod | None:
    """The stored period in the territory's zone, or None when nothing is stored yet.

    ``first`` and ``end`` are widened to the metering step, so that they are valid bounds of a balance even
    when another series (a thermometer every 10 minutes) starts or stops off that grid.
    """
    period = store.data_period()
    if period is None:
        return None
    zone = inv.territory.zone
    step = metering_step(inv)
    n = step.seconds if step else 1
    a, b = (int(d.timestamp()) for d in period)
    first = datetime.fromtimestamp(a - a % n, zone)
    end = datetime.fromtimestamp(b - b % n + (n if step else 0), zone)
    return DataPeriod(first=first, last=datetime.fromtimestamp(b, zone), end=end)


def parse_instant(name: str, text: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 date or date-time; a naive one is read in the territory's zone, a date means its midnight."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(
            f"{name}: {text!r} is not an ISO 8601 date or date-time (expected e.g. 2025-03-01, "
            "2025-03-01T12:30 or 2025-03-01T11:30:00Z)"
        ) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise QueryError(f"{name}: year {value.year} is outside {MIN_YEAR}–{MAX_YEAR}")
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def parse_step(text: str) -> Step:
    """An ISO 8601 duration such as PT30M, PT1H, P1D or P1M."""
    try:
        return Step.parse(text)
    except ValueError as exc:
        raise QueryError(f"step: {exc}") from None


def balance_query(
    store: Store, inv: Inventory, start: str | None, end: str | None, step: str | None
) -> tuple[datetime, datetime, Step]:
    """Period and step of a balance request; missing bounds default to the stored data period, step to P1M.

    Raises QueryError (malformed input), LookupError (nothing stored) or ValueError (a period too long).
    """
    zone = inv.territory.zone
    a = parse_instant("start", start, zone) if start else None
    b = parse_instant("end", end, zone) if end else None
    s = parse_step(step) if step else DEFAULT_STEP
    if a is None or b is None:
        period = data_period(store, inv)
        if period is None:
            raise LookupError("no data stored yet for this territory: give both start and end, or ingest data first")
        a = a or period.first
        b = b or period.end
    if b - a > MAX_SPAN:
        raise ValueError(f"the period asked for ({(b - a).days} days) is longer than {MAX_SPAN.days} days")
    return a.astimezone(zone), b.astimezone(zone), s
