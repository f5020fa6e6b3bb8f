"""Data health of a time series: stopped feeds, stuck meters, impossible values, gaps — and the alerts they raise.

A régie that governs by its figures must know when a figure rests on missing or broken data: a balance
computed over a week where a hydro plant's meter sent nothing is wrong without saying so. Every check
here returns intervals with their *since-when*, never a silent boolean, so that pages and alert channels
can say what is wrong, since when, by how much, against which threshold.

All instants are UTC unix seconds [s]; a reading stamped ``t`` with step ``step_s`` covers
``[t, t + step_s)`` (regie's storage convention, docs/architecture.md).

A series is judged only from its first reading ever: a sensor installed last week has no gaps the month
before and has not *stopped* then, it has *not started* (:class:`SeriesStatus`). The caller says when that
first reading was (``t_first`` of :func:`check_series`), since a window's readings alone cannot tell a
feed that stopped long ago from one that has not started yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np


class AlertKind(StrEnum):
    """What an alert is about; the web UI, e-mail and MQTT channels route on this."""

    OVERLOAD = "overload"  # a transformer's loading above its threshold
    LOSSES = "losses"  # a transformer's monthly losses above their threshold
    STALE = "stale"  # a series stopped arriving
    STUCK = "stuck"  # a meter repeating the same value
    OUT_OF_RANGE = "out_of_range"  # a value outside physical limits
    GAP = "gap"  # missing readings between two received ones


class SeriesStatus(StrEnum):
    """One series' state over a window, worst first: what a data-health page shows beside its alerts."""

    NOT_STARTED = "not_started"  # its first reading ever is after the window (or it has none yet)
    STOPPED = "stopped"  # an ongoing STALE alert: readings stopped arriving
    ALERTS = "alerts"  # arriving, with gaps, stuck or impossible values
    OK = "ok"


#: ``t_first`` for a series that has no reading at all yet: its first reading is after any window.
NO_READING_YET: Final[int] = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Alert:
    """A typed alert record: *what* (kind, subject), *since when* (``since``, ``until`` — ``None`` while it
    lasts), the observed ``value`` against its ``threshold`` in ``unit``.

    ``value`` is the worst value of the episode (highest loading, longest silence [s], the stuck value, the
    value furthest outside the limits, the gap length [s]).
    """

    kind: AlertKind
    subject: str
    since: int
    until: int | None
    value: float
    threshold: float
    unit: str
    message: str = ""

    @property
    def ongoing(self) -> bool:
        return self.until is None

    def as_dict(self) -> dict:
        return {"kind": self.kind.value, "subject": self.subject, "since": self.since, "until": self.until,
                "value": self.value, "threshold": self.threshold, "unit": self.unit, "message": self.message}


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open interval ``[start, end)`` of UTC seconds."""

    start: int
    end: int

    @property
    def seconds(self) -> int:
        return self.end - self.start


# --------------------------------------------------------------------------- physical limits
#: Plausibility limits per (series kind, unit): (low, high). Values outside are not physics, they are a
#: broken meter or a wrong unit. Temperatures: the French records are −41.2 °C (Mouthe, 1985, unofficial)
#: and 46.0 °C (Vérargues, 28 June 2019, Météo-France); a margin is added. Consumption is never negative
#: (Enedis publishes injection on separate curves); a PV inverter draws a few watts at night, hence
#: −100 W for production. Power highs are those of an HTA delivery point (≤ 12 MW connected load,
#: arrêté du 23 avril 2008, art. 2), doubled for margin; a transformer's own limit comes from its rating.
PHYSICAL_LIMITS: dict[tuple[str, str], tuple[float, float]] = {
    ("consumption", "W"): (0.0, 24e6),
    ("production", "W"): (-100.0, 24e6),
    ("transformer_load", "W"): (-24e6, 24e6),
    ("grid_exchange", "W"): (-24e6, 24e6),
    ("temperature", "degC"): (-50.0, 60.0),
    ("consumption", "Wh"): (0.0, 1e12),
    ("production", "Wh"): (0.0, 1e12),
    ("sensor", "V"): (0.0, 500.0),
    ("sensor", "%"): (0.0, 100.0),
}
_UNIT_LIMITS: dict[str, tuple[float, float]] = {"degC": (-50.0, 60.0), "%": (0.0, 100.0), "V": (0.0, 500.0)}


def physical_limits(kind: str, unit: str) -> tuple[float, float] | None:
    """Plausibility limits (low, high) for a series of this kind and unit, or None when none apply."""
    return PHYSICAL_LIMITS.get((kind, unit)) or _UNIT_LIMITS.get(unit)


# --------------------------------------------------------------------------- runs
def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first index, one-past-last index) of each run of True in ``mask``."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


# --------------------------------------------------------------------------- checks
def gaps(t: np.ndarray, step_s: int, start: int, end: int, tolerance: float = 1.5) -> list[Interval]:
    """Missing intervals ``[start, end)`` of a series expected every ``step_s`` [s] over [start, end).

    A gap opens one step after a reading when the next one comes later than ``tolerance × step_s`` (1.5
    lets a 10-second sensor jitter without raising gaps); a window with no reading at all is one gap.
    The trailing interval after the last reading is a gap too: whether it is *alarming* is
    :func:`staleness`'s call, since the last reading of a live feed is always a little old.
    """
    t = np.asarray(t, dtype=np.int64)
    t = t[(t >= start) & (t < end)]
    if len(t) == 0:
        return [Interval(int(start), int(end))]
    out: list[Interval] = []
    if t[0] - start > (tolerance - 1) * step_s:  # as if a reading sat one step before the window
        out.append(Interval(int(start), int(t[0])))
    d = np.diff(t)
    for i in np.flatnonzero(d > tolerance * step_s):
        out.append(Interval(int(t[i] + step_s), int(t[i + 1])))
    if end - t[-1] > tolerance * step_s:  # as if a reading sat at the window's end
        out.append(Interval(int(t[-1] + step_s), int(end)))
    return out


def staleness(
    t_last: int | None, now: int, max_age_s: int, subject: str = "", tolerance: float = 1.5
) -> Alert | None:
    """A STALE alert when the last reading is overdue at ``now``, else None.

    ``max_age_s`` [s] is the series' expected arrival interval: its step for a live feed (10 s for an
    emonTx), two days for Enedis load curves published the next day. The next reading is due at
    ``t_last + max_age_s``; the alert is raised once ``now − t_last > tolerance × max_age_s`` (1.5 by
    default, the same jitter allowance as :func:`gaps`), i.e. within one expected interval of the missed
    reading. ``since`` is the instant the missed reading was due.
    """
    if t_last is None:
        return Alert(AlertKind.STALE, subject, int(now), None, float("inf"), float(max_age_s), "s",
                     "no reading ever received")
    age = int(now) - int(t_last)
    if age <= tolerance * max_age_s:
        return None
    return Alert(AlertKind.STALE, subject, int(t_last) + int(max_age_s), None, float(age), float(max_age_s), "s",
                 f"no reading for {age} s (expected every {max_age_s} s)")


def stuck_runs(
    t: np.ndarray,
    values: np.ndarray,
    min_steps: int,
    ignore: tuple[float, ...] = (),
    atol: float = 0.0,
) -> list[tuple[Interval, float]]:
    """Runs of at least ``min_steps`` consecutive readings repeating the same value, with that value.

    A frozen meter or a sensor that lost its probe repeats its last value. ``ignore`` lists values that
    are legitimately constant (``(0.0,)`` for PV at night or a closed school's heating in summer);
    ``atol`` [unit] treats jitter within the meter's quantum as equal. The interval runs from the first to
    one past the last repeated reading's timestamp.
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(t, dtype=np.int64)
    if len(v) < max(min_steps, 2):
        return []
    same = np.abs(np.diff(v)) <= atol  # same[i]: v[i+1] repeats v[i]
    for x in ignore:
        same &= ~np.isclose(v[1:], x, atol=max(atol, 1e-12))
    starts, ends = _runs(same)
    out = []
    for a, b in zip(starts, ends, strict=True):
        n = b - a + 1  # readings in the run
        if n >= min_steps:
            last = b  # index of the last repeated reading
            end_t = int(t[last] + (t[last] - t[last - 1]))
            out.append((Interval(int(t[a]), end_t), float(v[a])))
    return out


def out_of_range(t: np.ndarray, values: np.ndarray, low: float, high: float) -> list[tuple[Interval, float]]:
    """Runs of readings outside [low, high], each with its worst value (the furthest from the limits)."""
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(t, dtype=np.int64)
    bad = (v < low) | (v > high)
    starts, ends = _runs(bad)
    out = []
    for a, b in zip(starts, ends, strict=True):
        seg = v[a:b]
        excess = np.maximum(low - seg, seg - high)
        worst = float(seg[int(np.argmax(excess))])
        end_t = int(t[b]) if b < len(t) else int(t[b - 1] + (t[b - 1] - t[b - 2] if b >= 2 else 1))
        out.append((Interval(int(t[a]), end_t), worst))
    return out


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """How to judge one series. ``max_age_s`` defaults to its step; ``stuck_steps`` 0 disables the check."""

    step_s: int
    max_age_s: int | None = None
    stuck_steps: int = 0
    stuck_ignore: tuple[float, ...] = ()
    stuck_atol: float = 0.0
    limits: tuple[float, float] | None = None
    gap_tolerance: float = 1.5
    unit: str = ""


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One series' health over a window: readings received vs expected, gaps, last reading and alerts."""

    subject: str
    start: int
    end: int
    received: int
    expected: int
    last_reading: int | None
    gaps: list[Interval]
    alerts: list[Alert]
    first_reading: int | None = None
    not_started: bool = False

    @property
    def status(self) -> SeriesStatus:
        """:class:`SeriesStatus` of the series over the window."""
        if self.not_started:
            return SeriesStatus.NOT_STARTED
        if any(a.kind is AlertKind.STALE and a.ongoing for a in self.alerts):
            return SeriesStatus.STOPPED
        return SeriesStatus.ALERTS if self.alerts else SeriesStatus.OK

    @property
    def completeness(self) -> float:
        """Share of expected readings received (1.0 when nothing was expected)."""
        return min(1.0, self.received / self.expected) if self.expected else 1.0

    @property
    def missing_seconds(self) -> int:
        return sum(g.seconds for g in self.gaps)


def check_series(
    subject: str,
    t: np.ndarray,
    values: np.ndarray,
    start: int,
    end: int,
    now: int,
    config: HealthConfig,
    t_last: int | None = None,
    t_first: int | None = None,
) -> HealthReport:
    """Every check on one series over [start, end), judged at instant ``now``.

    Parameters
    ----------
    subject : the series' id, copied into the alerts.
    t, values : the readings in [start, end) [UTC s, ascending] and their values [``config.unit``].
    start, end : the window [UTC s].
    now : the instant of judgement [UTC s]; the window is judged up to ``min(end, now)``.
    config : how to judge the series (:class:`HealthConfig`).
    t_last : the last reading ever received, when the caller knows one older than ``start``; it defaults
        to the last one in ``t``.
    t_first : the series' first reading ever [UTC s], when the caller knows it (it may lie after
        ``end``); :data:`NO_READING_YET` for a series that has none. A series whose first reading is at
        or after ``min(end, now)`` has *not started*: no gap, no STALE alert, nothing expected
        (``status`` NOT_STARTED). Otherwise the window is judged from ``max(start, t_first)``: what
        precedes a series' first reading is no gap. ``None`` (unknown) judges the whole window.

    Returns
    -------
    HealthReport. Gaps that end before ``now − max_age_s`` (closed gaps) raise GAP alerts; the trailing
    silence raises at most one STALE alert.
    """
    t = np.asarray(t, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    step = int(config.step_s)
    max_age = int(config.max_age_s or step)
    alerts: list[Alert] = []
    window_end = min(int(end), int(now))
    first: int | None = None
    begin = int(start)
    if t_first is not None:
        first = min(int(t_first), int(t[0])) if len(t) else int(t_first)
        if first >= max(window_end, int(start)):
            return HealthReport(subject, int(start), int(end), 0, 0, None, [], [],
                                None if first == NO_READING_YET else first, True)
        begin = max(int(start), first)
    found = gaps(t, step, begin, max(window_end, begin + 1), config.gap_tolerance) if window_end > begin else []
    last = int(t[-1]) if len(t) else t_last
    if t_last is not None and last is not None:
        last = max(last, int(t_last))
    if now < begin:
        stale = None
    elif last is None and first is not None:  # it spoke before the window, we don't know when it stopped
        stale = Alert(AlertKind.STALE, subject, begin, None, float(int(now) - begin), float(max_age), "s",
                      "no reading in the window; the last one is older than its start")
    else:
        stale = staleness(last, now, max_age, subject, config.gap_tolerance)
    for g in found:
        trailing = last is None or g.start >= last
        if trailing and g.end >= window_end:
            continue  # the trailing silence is staleness's to judge
        alerts.append(Alert(AlertKind.GAP, subject, g.start, g.end, float(g.seconds), float(step), "s",
                            f"{g.seconds // step} readings missing"))
    if stale is not None:
        alerts.append(stale)
    if config.stuck_steps:
        for iv, x in stuck_runs(t, v, config.stuck_steps, config.stuck_ignore, config.stuck_atol):
            n = iv.seconds // step
            ongoing = len(t) and iv.end >= int(t[-1]) + step
            alerts.append(Alert(AlertKind.STUCK, subject, iv.start, None if ongoing else iv.end, x,
                                float(config.stuck_steps), config.unit,
                                f"same value {x:g} {config.unit} for {n} readings"))
    if config.limits is not None:
        lo, hi = config.limits
        for iv, x in out_of_range(t, v, lo, hi):
            alerts.append(Alert(AlertKind.OUT_OF_RANGE, subject, iv.start, iv.end, x, hi if x > hi else lo,
                                config.unit, f"{x:g} {config.unit} outside [{lo:g}, {hi:g}]"))
    expected = max(0, (window_end - begin) // step)
    alerts.sort(key=lambda a: a.since)
    return HealthReport(subject, int(start), int(end), len(t), int(expected), last, found, alerts, first)
