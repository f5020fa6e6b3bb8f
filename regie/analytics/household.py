"""A household's figures on its own dashboard: calendar periods, the local share of its consumption, its
estimated cost under a tariff option, and the size class it is compared in. Pure: arrays and dates in,
numbers out (the reads and the published figures come from :mod:`regie.services.member`).

The local share follows the definition of self-sufficiency (docs/architecture.md): it is computed *per
metering step*, never from totals — at each step the household's consumption times the territory's
self-sufficiency at that step (Σ min(production, consumption) / Σ consumption of the step), then summed. A
step whose self-sufficiency the publication hides (statistical secrecy) is not guessed: its consumption is
counted apart as "share unknown".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

PERIOD_KINDS = ("day", "week", "month", "year")
#: What one bar of the chart is, per period kind.
BAR_OF = {"day": "step", "week": "day", "month": "day", "year": "month"}
#: Off-peak hours of the HP/HC and Tempo options when the delivery point's own are not known: 22:00–06:00 local
#: time, the Tempo option's fixed off-peak hours (CRE, "option Tempo": heures creuses de 22 h à 6 h).
OFF_PEAK = (22.0, 6.0)
#: A Tempo day runs from 06:00 to 06:00 the next day (RTE, Tempo: "la couleur s'applique de 6 h à 6 h").
TEMPO_DAY_STARTS_AT = 6.0
TEMPO_COLOURS = ("BLUE", "WHITE", "RED")


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def period_bounds(kind: str, anchor: date) -> tuple[date, date]:
    """The calendar period of ``kind`` holding ``anchor``: [first day, day after the last). A week is an ISO
    week (Monday to Sunday)."""
    if kind == "day":
        return anchor, anchor + timedelta(days=1)
    if kind == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=7)
    if kind == "month":
        first = anchor.replace(day=1)
        return first, _add_months(first, 1)
    if kind == "year":
        return date(anchor.year, 1, 1), date(anchor.year + 1, 1, 1)
    raise ValueError(f"period: {kind!r} is not one of {', '.join(PERIOD_KINDS)}")


def same_period_last_year(kind: str, anchor: date) -> tuple[date, date]:
    """The same period one year earlier: the same date (29 February → 28), the same ISO week number (the last
    week when the year before had only 52), the same month, the previous year."""
    if kind == "week":
        year, week, _ = anchor.isocalendar()
        weeks_before = date(year - 1, 12, 28).isocalendar()[1]
        return period_bounds("week", date.fromisocalendar(year - 1, min(week, weeks_before), 1))
    try:
        before = anchor.replace(year=anchor.year - 1)
    except ValueError:  # 29 February
        before = anchor.replace(year=anchor.year - 1, day=28)
    return period_bounds(kind, before)


def shift_period(kind: str, anchor: date, by: int) -> date:
    """The anchor of the period ``by`` periods after (negative: before) the one holding ``anchor``."""
    first, _ = period_bounds(kind, anchor)
    if kind == "day":
        return first + timedelta(days=by)
    if kind == "week":
        return first + timedelta(days=7 * by)
    if kind == "month":
        return _add_months(first, by)
    return date(first.year + by, 1, 1)


@dataclass(frozen=True, slots=True)
class LocalShare:
    """Σ over steps of my consumption × the territory's self-sufficiency at that step [Wh]."""

    consumption_wh: float  # all my consumption over the period
    local_wh: float  # the part that came from the territory's own production, over the steps where it is known
    unknown_wh: float  # my consumption over the steps whose self-sufficiency is hidden
    unknown_steps: int

    @property
    def share(self) -> float | None:
        """local / consumption over the steps where the self-sufficiency is known (None when none is)."""
        known = self.consumption_wh - self.unknown_wh
        return self.local_wh / known if known > 0 else None


def local_share(consumption_wh: np.ndarray, self_sufficiency: np.ndarray) -> LocalShare:
    """My local share from my consumption per metering step [Wh] and the territory's self-sufficiency at the
    same steps (a fraction in [0, 1], NaN where it is hidden). Steps where I consumed nothing count for
    nothing whatever their self-sufficiency."""
    cons = np.nan_to_num(np.asarray(consumption_wh, dtype=float))
    ss = np.asarray(self_sufficiency, dtype=float)
    if cons.shape != ss.shape:
        raise ValueError(f"consumption has {cons.shape[0]} steps, self-sufficiency {ss.shape[0]}")
    unknown = np.isnan(ss) & (cons != 0)
    local = float(np.sum(cons[~unknown] * np.nan_to_num(ss[~unknown])))
    return LocalShare(float(cons.sum()), local, float(cons[unknown].sum()), int(unknown.sum()))


def self_sufficiency_per_step(consumption_wh: np.ndarray, production_wh: np.ndarray) -> np.ndarray:
    """min(production, consumption) / consumption per step; NaN where either is hidden (NaN) or nothing was
    consumed."""
    c = np.asarray(consumption_wh, dtype=float)
    p = np.asarray(production_wh, dtype=float)
    out = np.full(c.shape, np.nan)
    ok = np.isfinite(c) & np.isfinite(p) & (c > 0)
    out[ok] = np.minimum(p[ok], c[ok]) / c[ok]
    return out


# ---------------------------------------------------------------- cost under a tariff option

OPTIONS = ("base", "hphc", "tempo")


def off_peak(local_hour: np.ndarray, hours: tuple[float, float] = OFF_PEAK) -> np.ndarray:
    """Whether each step (its start, in local decimal hours) falls in the off-peak hours [from, to) (which
    may run past midnight)."""
    h = np.asarray(local_hour, dtype=float)
    a, b = hours
    return (h >= a) | (h < b) if a > b else (h >= a) & (h < b)


def step_prices(option: str, local_hour: np.ndarray, tempo_colour: np.ndarray | None,
                prices: Mapping[str, float]) -> np.ndarray:  # fmt: skip
    """EUR/kWh of each step under ``option`` from the option's prices (``base``; ``hp``, ``hc``; ``blue_hp``,
    ``blue_hc``, ``white_hp``... for Tempo); NaN where a price or a Tempo colour is missing."""
    h = np.asarray(local_hour, dtype=float)
    out = np.full(h.shape, np.nan)
    if option == "base":
        out[:] = prices.get("base", np.nan)
        return out
    hc = off_peak(h)
    if option == "hphc":
        out[hc], out[~hc] = prices.get("hc", np.nan), prices.get("hp", np.nan)
        return out
    if option == "tempo":
        colours = np.asarray(tempo_colour if tempo_colour is not None else [""] * len(h), dtype=object)
        for colour in TEMPO_COLOURS:
            c = colours == colour
            low = colour.lower()
            out[c & hc], out[c & ~hc] = prices.get(f"{low}_hc", np.nan), prices.get(f"{low}_hp", np.nan)
        return out
    raise ValueError(f"tariff option: {option!r} is not one of {', '.join(OPTIONS)}")


@dataclass(frozen=True, slots=True)
class Cost:
    """The energy part of a bill [EUR, taxes included as the regulated prices are]: the steps with a price,
    and the consumption of the steps without one (a day no recorded tariff or Tempo colour covers)."""

    eur: float
    priced_wh: float
    unpriced_wh: float


def energy_cost(consumption_wh: np.ndarray, price_eur_per_kwh: np.ndarray) -> Cost:
    """Σ consumption × price over the steps that have a price."""
    c = np.nan_to_num(np.asarray(consumption_wh, dtype=float))
    p = np.asarray(price_eur_per_kwh, dtype=float)
    priced = np.isfinite(p)
    return Cost(float(np.sum(c[priced] / 1000.0 * p[priced])), float(c[priced].sum()), float(c[~priced].sum()))


# ---------------------------------------------------------------- similar homes

#: Subscribed power classes [kVA] of a residential delivery point (Enedis's standard steps: 3, 6, 9, 12, 15,
#: 18, 24, 30, 36 kVA), grouped by what they say of a home: a small one, a usual one, an electrically
#: heated or large one.
SIZE_CLASSES = (("up to 6 kVA", 0.0, 6.0), ("9 to 12 kVA", 6.0, 12.0), ("more than 12 kVA", 12.0, float("inf")))


def size_class(subscribed_kva: float | None) -> str | None:
    """The size class of a delivery point from its subscribed power (None when unknown)."""
    if subscribed_kva is None:
        return None
    for name, lo, hi in SIZE_CLASSES:
        if lo < subscribed_kva <= hi:
            return name
    return None
