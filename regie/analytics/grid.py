"""Supervision of HTA/BT substation transformers: loading, load-duration curve, peaks, losses, alerts.

A village régie owns its low-voltage grid: an overloaded transformer ages fast (IEC 60076-7 loading
guide: insulation ageing doubles every ~6 K of hot-spot temperature) and a rising loss ratio is energy
bought and never billed. These functions turn a transformer's active-power series and the metered curves
of the delivery points it feeds into the figures the régie acts on.

Conventions: instants are UTC unix seconds [s] at the start of each step; power is the average active
power over the step [W] (positive from HTA to BT; negative when the PV below pushes power back up);
energy [Wh] = power × step. Loading is a ratio (1.0 = the rated apparent power).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from regie.analytics.health import Alert, AlertKind

WH_PER_WS = 1 / 3600


# --------------------------------------------------------------------------- loading
def loading(power_w: np.ndarray, rated_kva: float, power_factor: float) -> np.ndarray:
    """Transformer loading per step: |P| / (S_r × cos φ) [-].

    Parameters
    ----------
    power_w : array of average active power through the transformer [W]; NaN for a missing step.
    rated_kva : rated apparent power S_r [kVA] (IEC 60076-1 §3.4.7).
    power_factor : assumed cos φ of the load [-]: only active power is metered, so apparent power is
        estimated as |P| / cos φ.

    Returns
    -------
    Loading [-] per step, NaN where the power is missing.
    """
    if not rated_kva > 0 or not 0 < power_factor <= 1:
        raise ValueError(f"need rated_kva > 0 and 0 < power_factor <= 1, got {rated_kva}, {power_factor}")
    return np.abs(np.asarray(power_w, dtype=np.float64)) / (rated_kva * 1000.0 * power_factor)


@dataclass(frozen=True, slots=True)
class LoadingStats:
    """Loading summary over a period: peak, mean, 95th/99th percentiles [-], and hours above 100 % [h]."""

    max: float
    mean: float
    p95: float
    p99: float
    hours_over_100: float
    steps: int
    missing_steps: int


def loading_stats(load: np.ndarray, step_s: float) -> LoadingStats:
    """Summary of a loading series (NaN steps counted as missing, never as zero)."""
    x = np.asarray(load, dtype=np.float64)
    ok = x[np.isfinite(x)]
    if len(ok) == 0:
        nan = float("nan")
        return LoadingStats(nan, nan, nan, nan, 0.0, len(x), len(x))
    p95, p99 = np.percentile(ok, [95, 99])
    return LoadingStats(float(ok.max()), float(ok.mean()), float(p95), float(p99),
                        hours_above(x, step_s, 1.0), len(x), int(len(x) - len(ok)))


# --------------------------------------------------------------------------- duration curve
def duration_curve(load: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Load-duration curve: loading sorted from highest to lowest, against cumulated hours.

    Returns ``(hours, loading)`` where ``hours[i]`` [h] is how long the loading was at least
    ``loading[i]`` [-]. Missing steps are left out (the curve then spans fewer than 8,760 h).
    """
    x = np.asarray(load, dtype=np.float64)
    x = np.sort(x[np.isfinite(x)])[::-1]
    return np.arange(1, len(x) + 1) * (step_s / 3600.0), x


def hours_above(load: np.ndarray, step_s: float, threshold: float) -> float:
    """Hours [h] with loading strictly above ``threshold`` [-] (1.0 = rated power)."""
    x = np.asarray(load, dtype=np.float64)
    return float(np.count_nonzero(np.nan_to_num(x, nan=-np.inf) > threshold) * step_s / 3600.0)


def sample_curve(hours: np.ndarray, load: np.ndarray, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A duration curve thinned to about ``points`` points for a chart, keeping the first (peak) point."""
    if len(hours) <= points:
        return hours, load
    idx = np.unique(np.concatenate(([0], np.linspace(0, len(hours) - 1, points).round().astype(int))))
    return hours[idx], load[idx]


# --------------------------------------------------------------------------- peaks
@dataclass(frozen=True, slots=True)
class Peak:
    """One peak: start of its step [UTC s], average power over the step [W], loading [-]."""

    t: int
    power_w: float
    loading: float


def top_peaks(
    t: np.ndarray,
    power_w: np.ndarray,
    n: int = 5,
    min_separation_s: int = 86_400,
    rated_kva: float | None = None,
    power_factor: float = 1.0,
) -> list[Peak]:
    """The ``n`` highest steps of |P|, at least ``min_separation_s`` apart [s], highest first.

    Why the separation: the five highest half-hours of a year are usually one cold evening; the régie
    wants five *events*. Greedy selection in decreasing |P|: a step within ``min_separation_s`` of an
    already chosen peak is skipped (the classic "declustering" of extreme-value analysis).
    """
    t = np.asarray(t, dtype=np.int64)
    p = np.asarray(power_w, dtype=np.float64)
    mag = np.nan_to_num(np.abs(p), nan=-np.inf)
    order = np.argsort(-mag, kind="stable")
    chosen: list[int] = []
    for i in order:
        if not np.isfinite(mag[i]) or len(chosen) >= n:
            break
        if all(abs(int(t[i]) - int(t[j])) >= min_separation_s for j in chosen):
            chosen.append(int(i))
    denom = rated_kva * 1000.0 * power_factor if rated_kva else None
    return [Peak(int(t[i]), float(p[i]), float(abs(p[i]) / denom) if denom else float("nan")) for i in chosen]


def peak_shares(downstream_w: Mapping[str, float], transformer_w: float) -> dict[str, float]:
    """Share of the transformer's load at one step carried by each delivery point [-], largest first.

    ``downstream_w`` maps a PRM to its net power at the peak step [W] (consumption − injection). The
    shares are *personal data* (a household's consumption at a given half-hour): this function returns
    them raw; only the governance layer may let them out, as aggregates where statistical secrecy holds
    (≥ 10 points, none above 85 %, docs/architecture.md). The residual (losses, unmetered use) is not attributed.
    """
    if not transformer_w:
        return {k: float("nan") for k in downstream_w}
    shares = {k: float(v) / float(transformer_w) for k, v in downstream_w.items() if np.isfinite(v)}
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


# --------------------------------------------------------------------------- losses
@dataclass(frozen=True, slots=True)
class Losses:
    """Losses per period (local month, typically): arrays, one value per period.

    ``transformer_wh``: energy through the transformer [Wh]; ``downstream_wh``: Σ metered net energy of
    the delivery points it feeds [Wh]; ``loss_wh`` = transformer − downstream [Wh]; ``ratio`` = loss /
    energy through the transformer [-] (NaN when nothing flowed); ``coverage`` = share of the period's
    steps where both sides had data [-] (steps missing on either side are left out of both sums);
    ``through_wh``: Σ |P| × step, the energy through the transformer in either direction [Wh].
    """

    transformer_wh: np.ndarray
    through_wh: np.ndarray
    downstream_wh: np.ndarray
    loss_wh: np.ndarray
    ratio: np.ndarray
    coverage: np.ndarray


def losses(
    transformer_w: np.ndarray,
    downstream_w: np.ndarray,
    step_s: float,
    group: np.ndarray,
    n_groups: int,
) -> Losses:
    """Technical + non-technical losses estimated as transformer energy − Σ downstream metered energy.

    Parameters
    ----------
    transformer_w : average active power through the transformer per step [W], NaN where missing.
    downstream_w : Σ over the delivery points it feeds of (consumption − injection) per step [W], NaN
        where any of them is missing (a partial sum would inflate losses).
    step_s : step [s].
    group : period index of each step (e.g. local month), in [0, n_groups).
    n_groups : number of periods.

    Notes
    -----
    The balance method of the energy regulator's loss studies (CRE, *délibération* on TURPE losses:
    losses = energy injected into a network − energy withdrawn from it). The ratio is taken on the
    absolute energy through the transformer, which stays meaningful when PV makes the flow reverse.
    """
    tr = np.asarray(transformer_w, dtype=np.float64)
    ds = np.asarray(downstream_w, dtype=np.float64)
    both = np.isfinite(tr) & np.isfinite(ds)
    g = np.asarray(group, dtype=np.int64)
    k = step_s * WH_PER_WS

    def by(x: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=np.where(both, x, 0.0), minlength=n_groups)[:n_groups]

    tr_wh, ds_wh, through = by(tr * k), by(ds * k), by(np.abs(tr) * k)
    steps = np.bincount(g, minlength=n_groups)[:n_groups]
    used = np.bincount(g, weights=both.astype(np.float64), minlength=n_groups)[:n_groups]
    loss = tr_wh - ds_wh
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(through > 0, loss / through, np.nan)
        coverage = np.where(steps > 0, used / steps, np.nan)
    return Losses(tr_wh, through, ds_wh, loss, ratio, coverage)


# --------------------------------------------------------------------------- alerts
@dataclass(frozen=True, slots=True)
class Thresholds:
    """Per-transformer alert thresholds.

    ``loading``: loading above which an OVERLOAD alert opens [-] (1.0 = rated power; IEC 60076-7 allows
    short normal-cyclic overloads up to 1.5, so a régie may set 1.2 for a warning-only transformer);
    ``min_steps``: how many consecutive steps above it make an episode (1 = any step);
    ``loss_ratio``: monthly loss ratio above which a LOSSES alert opens [-] (French distribution losses
    are about 6 % of injected energy, Enedis; a BT substation and its feeders rarely exceed 8 %).
    """

    loading: float = 1.0
    min_steps: int = 1
    loss_ratio: float = 0.08


def overload_alerts(
    subject: str, t: np.ndarray, load: np.ndarray, step_s: int, threshold: float, min_steps: int = 1
) -> list[Alert]:
    """One OVERLOAD alert per episode of ≥ ``min_steps`` consecutive steps with loading > ``threshold``.

    ``since`` is the start of the first step above, ``until`` the end of the last one (None when the
    episode runs to the end of the data: it may still be going on); ``value`` the episode's peak loading.
    """
    t = np.asarray(t, dtype=np.int64)
    x = np.nan_to_num(np.asarray(load, dtype=np.float64), nan=-np.inf)
    over = np.concatenate(([False], x > threshold, [False]))
    d = np.diff(over.astype(np.int8))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    out = []
    for a, b in zip(starts, ends, strict=True):
        if b - a < min_steps:
            continue
        peak = float(x[a:b].max())
        until = None if b == len(x) else int(t[b - 1] + step_s)
        hours = (b - a) * step_s / 3600
        out.append(Alert(AlertKind.OVERLOAD, subject, int(t[a]), until, peak, float(threshold), "ratio",
                         f"loading up to {peak:.0%} for {hours:g} h (threshold {threshold:.0%})"))
    return out


def loss_alerts(subject: str, period_starts: Sequence[int], period_ends: Sequence[int], result: Losses,
                threshold: float, min_coverage: float = 0.9) -> list[Alert]:
    """One LOSSES alert per period whose loss ratio exceeds ``threshold`` [-], when the period's data
    coverage is at least ``min_coverage`` (a loss figure on half the data is not evidence)."""
    out = []
    for i, r in enumerate(result.ratio):
        if np.isfinite(r) and r > threshold and result.coverage[i] >= min_coverage:
            out.append(Alert(AlertKind.LOSSES, subject, int(period_starts[i]), int(period_ends[i]), float(r),
                             float(threshold), "ratio", f"losses {r:.1%} of energy through (threshold "
                             f"{threshold:.0%}), {result.loss_wh[i] / 1000:.0f} kWh"))
    return out
