"""The "when to consume" signal: the forecast local balance turned into three levels, with its uncertainty (no I/O).

Why: an inhabitant (or a lamp) needs one word per half-hour, not a curve: **green** when the village's own
production is expected to exceed its consumption, **red** when the village will import, **orange** in between,
when the forecast cannot tell. The forecast's own uncertainty decides between them: each horizon's spread is
the empirical distribution of the errors the same forecast made over the recent past at the same horizon
(:func:`backtest` then :func:`error_quantiles`), so a level is as sure as the model has shown it can be.

- green: even the pessimistic balance (expected balance + the ``LOW`` quantile of past errors) is a surplus;
- red: even the optimistic balance (+ the ``HIGH`` quantile) is a deficit;
- orange: the rest (tight, or too uncertain to say).

The plain-text form (:func:`text_line`) is for microcontrollers; its grammar is in ``docs/signal.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from regie.analytics import forecast as fc

GREEN, ORANGE, RED, UNKNOWN = "green", "orange", "red", "unknown"
LETTERS = {GREEN: "G", ORANGE: "O", RED: "R", UNKNOWN: "U"}
#: Quantiles of past errors bounding the pessimistic and optimistic balance (an 80 % interval).
LOW, HIGH = 0.1, 0.9
HORIZON_S = 36 * 3600
TEXT_VERSION = "REGIE-SIGNAL/1"


@dataclass(frozen=True, slots=True)
class Backtest:
    """Forecasts made at past origins and what happened: one row per origin, one column per horizon step [W]."""

    origins: np.ndarray
    expected: np.ndarray  # forecast balance
    persisted: np.ndarray  # the persistence baseline's balance
    actual: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        """Actual minus expected balance [W]."""
        return self.actual - self.expected


Model = Callable[[fc.History, int], fc.Forecast]


def backtest(h: fc.History, origins: Sequence[int], horizon_s: int, model: Model) -> Backtest:
    """Run ``model`` (history, horizon → forecast) at each origin on what was known then, against what came."""
    n = horizon_s // h.step
    rows = [], [], [], []
    kept = []
    for origin in origins:
        past = h.before(int(origin))
        if len(past.t) == 0:
            continue
        f = model(past, horizon_s)
        rows[0].append(f.balance_w)
        rows[1].append(fc.persistence_forecast(past, horizon_s).balance_w)
        rows[2].append(fc.observed(h, f.t).balance_w)
        kept.append(int(origin))
    if not kept:
        empty = np.zeros((0, n))
        return Backtest(np.zeros(0, dtype=np.int64), empty, empty, empty)
    return Backtest(np.asarray(kept, dtype=np.int64), np.array(rows[0]), np.array(rows[1]), np.array(rows[2]))


def error_quantiles(errors: np.ndarray, q: Sequence[float] = (LOW, HIGH)) -> np.ndarray:
    """Per horizon (column), the quantiles of the errors seen at that horizon (NaN where none): shape (len(q), H)."""
    e = np.asarray(errors, dtype=float)
    out = np.full((len(q), e.shape[1] if e.ndim == 2 else 0), np.nan)
    for j in range(out.shape[1]):
        col = e[:, j][np.isfinite(e[:, j])]
        if len(col):
            out[:, j] = np.quantile(col, q)
    return out


def levels(expected: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[str]:
    """The level of each step from the expected balance and its pessimistic / optimistic bounds [W]."""
    out = []
    for e, lo, hi in zip(expected, low, high, strict=True):
        if not (np.isfinite(e) and np.isfinite(lo) and np.isfinite(hi)):
            out.append(UNKNOWN)
        elif lo >= 0:
            out.append(GREEN)
        elif hi < 0:
            out.append(RED)
        else:
            out.append(ORANGE)
    return out


@dataclass(frozen=True, slots=True)
class Skill:
    """How a backtest went: mean absolute error of the model and of persistence [W], the skill
    (1 − MAE / MAE of persistence: above 0 beats persistence), and how often each level was right."""

    forecasts: int
    steps: int
    mae_w: float
    persistence_mae_w: float
    skill: float
    green_steps: int
    green_right: float | None  # share of green steps that had a surplus
    red_steps: int
    red_right: float | None  # share of red steps that imported
    surplus_found: float | None  # share of the steps with a surplus that were announced green

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: getattr(self, k) for k in self.__slots__}


def skill(bt: Backtest, low: np.ndarray | None = None, high: np.ndarray | None = None) -> Skill:
    """Scores of a backtest. Levels are judged with error quantiles ``low`` and ``high`` [W] added to each
    forecast: per horizon (H,) or per forecast and horizon (R, H), the live signal's being the spread of the
    days before each forecast; default: the backtest's own quantiles."""
    ok = np.isfinite(bt.expected) & np.isfinite(bt.actual) & np.isfinite(bt.persisted)
    mae = float(np.mean(np.abs(bt.actual - bt.expected)[ok])) if ok.any() else float("nan")
    pmae = float(np.mean(np.abs(bt.actual - bt.persisted)[ok])) if ok.any() else float("nan")
    if low is None or high is None:
        low, high = error_quantiles(bt.errors)
    lo = np.broadcast_to(low, bt.expected.shape)
    hi = np.broadcast_to(high, bt.expected.shape)
    lv = np.array([levels(row, row + a, row + b) for row, a, b in zip(bt.expected, lo, hi, strict=True)])
    lv = lv.reshape(bt.expected.shape)
    fin = np.isfinite(bt.actual)
    green, red = (lv == GREEN) & fin, (lv == RED) & fin
    surplus = (bt.actual >= 0) & fin

    def share(num: np.ndarray, den: np.ndarray) -> float | None:
        return float(num.sum() / den.sum()) if den.sum() else None

    return Skill(
        forecasts=len(bt.origins), steps=int(ok.sum()), mae_w=mae, persistence_mae_w=pmae,
        skill=1 - mae / pmae if pmae > 0 else float("nan"),
        green_steps=int(green.sum()), green_right=share(green & surplus, green),
        red_steps=int(red.sum()), red_right=share(red & ~surplus, red),
        surplus_found=share(green & surplus, surplus),
    )  # fmt: skip


def text_line(territory: str, start: int, step: int, steps: Sequence[str], issued: int) -> str:
    """The one-line form for microcontrollers (grammar in docs/signal.md):
    ``REGIE-SIGNAL/1 <territory> <start> <step s> <issued> <letters>``, instants in UTC seconds, one letter per
    step from ``start``: G green, O orange, R red, U unknown."""
    letters = "".join(LETTERS[s] for s in steps)
    return f"{TEXT_VERSION} {territory} {int(start)} {int(step)} {int(issued)} {letters}"


def parse_text_line(line: str) -> dict[str, object]:
    """The inverse of :func:`text_line` (what a lamp does; the tests hold the two together)."""
    parts = line.strip().split(" ")
    if len(parts) != 6 or parts[0] != TEXT_VERSION:
        raise ValueError(f"not a {TEXT_VERSION} line: {line[:60]!r}")
    names = {v: k for k, v in LETTERS.items()}
    if any(c not in names for c in parts[5]):
        raise ValueError(f"unknown level letter in {parts[5]!r}: G, O, R or U")
    return {"territory": parts[1], "start": int(parts[2]), "step": int(parts[3]), "issued": int(parts[4]),
            "levels": [names[c] for c in parts[5]]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class GreenUse:
    """How much of a consumption fell in the steps the signal called green."""

    consumption_wh: float  # over the steps whose level is known
    green_wh: float
    green_steps: int
    unknown_wh: float  # consumed in steps without a level

    @property
    def share(self) -> float | None:
        return self.green_wh / self.consumption_wh if self.consumption_wh > 0 else None


def green_use(wh: np.ndarray, step_levels: Sequence[str]) -> GreenUse:
    """A member's consumption [Wh] per signal step against the level of each step: the share consumed in green
    steps, over the steps whose level is known (the rest is counted apart, never as "not green")."""
    wh = np.asarray(wh, dtype=float)
    lv = np.asarray(step_levels)
    if wh.shape != lv.shape:
        raise ValueError(f"green_use: {len(wh)} consumption steps for {len(lv)} levels")
    known = (lv != UNKNOWN) & np.isfinite(wh)
    green = (lv == GREEN) & np.isfinite(wh)
    return GreenUse(float(wh[known].sum()), float(wh[green].sum()), int((lv == GREEN).sum()),
                    float(np.nansum(wh[~known])))  # fmt: skip
