"""Collective self-consumption (ACC): allocation keys, flows, key files and reconciliation.

At each metering step t, with P the operation's production and C_i the consumption of consumer i, the
production allocated to consumer i is A_i = min(C_i, k_i · P), with Σ_i A_i ≤ P and Σ_i A_i ≤ Σ_i C_i
(Code de l'énergie, art. L315-2 and L315-4; regulatory part, book III, ch. V, section 1: "à chaque pas
de mesure, la quantité autoconsommée totale ne peut excéder la somme des productions [...] ni la somme
des consommations"). The keys k_i are sent by the PMO (art. D315-6); failing that, production is shared
*au prorata* of consumption (default dynamic key, art. D315-6 al. 2).

The keys Enedis implements (Enedis, "Modalités de mise en œuvre d'une opération d'autoconsommation
collective", Enedis-OPE-CF_07E, and "Modalités spécifiques aux points de connexion participant à une
opération d'ACC", Enedis-NOI-CF_110E): *statique*, *dynamique par défaut*, *dynamique simple* (one
coefficient per consumer and step, on pooled production) and *full dynamique* (one coefficient per
producer–consumer pair and step). The *priority* key here is computed by regie and sent as dynamic-simple
coefficients (:func:`dynamic_keys`).

Conventions: arrays hold energy per step [Wh] (a load curve in W works the same: every rule is linear),
production ``(n_steps,)`` pooled or ``(n_steps, n_producers)``, consumption ``(n_steps, n_consumers)``.
NaN (no value) and negative values count as 0; ``active`` (``(n_steps, n_consumers)`` booleans, see
``regie.model.operation.activity_mask``) removes a consumer from a step: it gets nothing and counts in
nothing. Output names are Enedis's: CONS, AUTOCONS, COMPLEMENT for consumers; PROD, AUTOPROD, SURPLUS for
producers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

#: Slack allowed on key sums for float rounding (keys are fractions of 1).
_KEY_SLACK = 1e-9

Share = Literal["weight", "consumption"]


# --------------------------------------------------------------------------------------------- inputs


def _consumption(consumption: np.ndarray, active: np.ndarray | None) -> np.ndarray:
    """Consumption as float64 with NaN and negatives set to 0 and inactive cells zeroed.

    Clean input with no inactive cell is returned as is (no copy: one read to check it, no write), so the
    caller's array may be shared by the :class:`Allocation`; anything else is copied once.
    """
    c = np.asarray(consumption, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"consumption must be shaped (n_steps, n_consumers), got {c.shape}")
    mask = None
    if active is not None:
        mask = np.asarray(active, dtype=bool)
        if mask.shape != c.shape:
            raise ValueError(f"active mask shaped {mask.shape} does not match consumption {c.shape}")
        if mask.all():
            mask = None
    if mask is None:
        return c if c.size == 0 or c.min() >= 0 else np.fmax(c, 0.0)  # min is NaN if any NaN: then clean
    out = np.zeros_like(c)
    np.fmax(c, 0.0, out=out, where=mask)  # fmax drops NaN; inactive cells stay 0
    return out


def _production(production: np.ndarray, n_steps: int) -> np.ndarray:
    """Production as (n_steps, n_producers) float64, NaN (a gap) and negatives set to 0."""
    p = np.asarray(production, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2 or p.shape[0] != n_steps:
        raise ValueError(f"production must be shaped ({n_steps},) or ({n_steps}, n_producers), got {p.shape}")
    return np.fmax(p, 0.0)


def _row_sum(x: np.ndarray) -> np.ndarray:
    """Σ over the last axis of a 2-D array; a matrix-vector product reads memory faster than ``sum``."""
    return x @ np.ones(x.shape[1]) if x.ndim == 2 and x.shape[1] else x.sum(axis=-1)


def _pooled(prod: np.ndarray) -> np.ndarray:
    return prod[:, 0].copy() if prod.shape[1] == 1 else prod.sum(axis=1)


def _check_keys(keys: np.ndarray, axis: int, what: str) -> np.ndarray:
    k = np.nan_to_num(np.asarray(keys, dtype=np.float64))
    if (k < 0).any():
        raise ValueError(f"{what}: keys are fractions in [0, 1], found a negative one")
    total = k.sum(axis=axis)
    if (total > 1 + _KEY_SLACK).any():
        where = np.unravel_index(int(np.argmax(total)), total.shape) if total.ndim else ()
        raise ValueError(f"{what}: keys sum to {float(np.max(total)):.6f} > 1 (at index {where}); "
                         "keys are fractions of production, at most 100 % in all")
    return k


# -------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Allocation:
    """Flows of an operation under one key, per step, with Enedis's names [Wh].

    ``cons`` (CONS) and ``autocons`` (AUTOCONS) are ``(n_steps, n_consumers)``; ``prod`` (PROD) and
    ``autoprod`` (AUTOPROD) are ``(n_steps, n_producers)``. ``cons`` is the consumption that counts: NaN,
    negatives and inactive cells are 0.
    """

    key: str
    cons: np.ndarray
    autocons: np.ndarray
    prod: np.ndarray
    autoprod: np.ndarray

    @property
    def complement(self) -> np.ndarray:
        """COMPLEMENT = CONS − AUTOCONS [Wh]: what each consumer's own supplier bills."""
        return self.cons - self.autocons

    @property
    def surplus(self) -> np.ndarray:
        """SURPLUS = PROD − AUTOPROD [Wh]: production injected but not allocated (sold elsewhere)."""
        return self.prod - self.autoprod

    @property
    def production(self) -> np.ndarray:
        """Pooled production P per step [Wh]."""
        return _pooled(self.prod)

    def totals(self) -> dict[str, np.ndarray]:
        """Totals over all steps per participant [Wh]: CONS, AUTOCONS, COMPLEMENT (per consumer) and PROD,
        AUTOPROD, SURPLUS (per producer)."""
        cons, auto = self.cons.sum(axis=0), self.autocons.sum(axis=0)
        prod, autoprod = self.prod.sum(axis=0), self.autoprod.sum(axis=0)
        return {"CONS": cons, "AUTOCONS": auto, "COMPLEMENT": cons - auto,
                "PROD": prod, "AUTOPROD": autoprod, "SURPLUS": prod - autoprod}

    @property
    def self_consumption_rate(self) -> float | None:
        """Taux d'autoconsommation Σ AUTOCONS / Σ PROD (None without production)."""
        p = float(self.prod.sum())
        return float(self.autocons.sum()) / p if p > 0 else None

    @property
    def self_production_rate(self) -> float | None:
        """Taux d'autoproduction Σ AUTOCONS / Σ CONS (None without consumption)."""
        c = float(self.cons.sum())
        return float(self.autocons.sum()) / c if c > 0 else None


def _finish(key: str, cons: np.ndarray, autocons: np.ndarray, prod: np.ndarray, pooled: np.ndarray,
            autoprod: np.ndarray | None = None, allocated: np.ndarray | None = None) -> Allocation:
    """Wrap a key's result; producers share AUTOPROD pro rata of their production unless given.

    ``allocated`` is Σ_i AUTOCONS per step when the key already knows it (saves a pass over the array).
    """
    if autoprod is None:
        total = _row_sum(autocons) if allocated is None else allocated
        if prod.shape[1] == 1:
            autoprod = np.minimum(total, prod[:, 0])[:, None]
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                used = np.where(pooled > 0, total / pooled, 0.0)
            autoprod = np.minimum(prod * np.minimum(used, 1.0)[:, None], prod)
    return Allocation(key=key, cons=cons, autocons=autocons, prod=prod, autoprod=autoprod)


# ----------------------------------------------------------------------------------------------- keys


def default_dynamic(production: np.ndarray, consumption: np.ndarray, active: np.ndarray | None = None) -> Allocation:
    """Default dynamic key: production shared pro rata of consumption at each step (art. D315-6 al. 2).

    k_i = C_i / ΣC, so A_i = P · C_i / ΣC when ΣC ≥ P, else A_i = C_i (everyone is fully served).

    Parameters
    ----------
    production : (n_steps,) or (n_steps, n_producers) [Wh]
    consumption : (n_steps, n_consumers) [Wh]
    active : (n_steps, n_consumers) bool, optional

    Examples
    --------
    P = 12, C = (10, 5, 1) → A = (7.5, 3.75, 0.75), surplus 0.
    """
    cons = _consumption(consumption, active)
    prod = _production(production, cons.shape[0])
    p = _pooled(prod)
    total = _row_sum(cons)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(total > p, p / total, 1.0)  # total > p ≥ 0 ⇒ no division by 0
    return _finish("default_dynamic", cons, cons * ratio[:, None], prod, p, allocated=np.minimum(total, p))


def static(production: np.ndarray, consumption: np.ndarray, shares: np.ndarray | Sequence[float],
           active: np.ndarray | None = None) -> Allocation:
    """Static key: fixed shares s_i of production, A_i = min(C_i, s_i · P) (Enedis *clé statique*).

    What a consumer does not use of its share is surplus: it is *not* given to the others. An inactive
    consumer's share is surplus too (the PMO sends new shares when someone leaves).

    Parameters
    ----------
    shares : (n_consumers,) fractions of production, Σ ≤ 1

    Examples
    --------
    P = 12, C = (10, 5, 1), shares (0.5, 0.3, 0.2) → A = (6, 3.6, 1), surplus 1.4.
    """
    cons = _consumption(consumption, active)
    prod = _production(production, cons.shape[0])
    k = _check_keys(shares, axis=-1, what="static key")
    if k.shape != (cons.shape[1],):
        raise ValueError(f"static key: {k.shape[0] if k.ndim else 1} shares for {cons.shape[1]} consumers")
    p = _pooled(prod)
    return _finish("static", cons, np.minimum(cons, p[:, None] * k[None, :]), prod, p)


def dynamic_simple(production: np.ndarray, consumption: np.ndarray, shares: np.ndarray,
                   active: np.ndarray | None = None) -> Allocation:
    """Dynamic simple key: shares per step sent by the PMO, applied to pooled production.

    A_i(t) = min(C_i(t), s_i(t) · P(t)); unused shares are surplus (Enedis *clé dynamique simple*).
    This is also what the grid operator computes from the key file regie sends (:func:`dynamic_keys`).

    Parameters
    ----------
    shares : (n_steps, n_consumers) fractions of production, each row Σ ≤ 1; NaN counts as 0
    """
    cons = _consumption(consumption, active)
    prod = _production(production, cons.shape[0])
    k = _check_keys(shares, axis=1, what="dynamic simple key")
    if k.shape != cons.shape:
        raise ValueError(f"dynamic simple key: shares shaped {k.shape}, consumption {cons.shape}")
    p = _pooled(prod)
    return _finish("dynamic_simple", cons, np.minimum(cons, p[:, None] * k), prod, p)


def full_dynamic(production: np.ndarray, consumption: np.ndarray, coefficients: np.ndarray,
                 active: np.ndarray | None = None) -> Allocation:
    """Full dynamic key: a coefficient per (producer j, consumer i) pair and step (Enedis *full dynamique*).

    Consumer i is offered Σ_j k_ji · P_j. When that exceeds C_i, every pair's part is scaled by the same
    factor so that A_i = C_i; the rest stays with its producer as surplus. AUTOPROD_j is Σ_i of the pair
    allocations, so producers are credited with what *their* coefficients gave, not pro rata.

    Parameters
    ----------
    production : (n_steps, n_producers) [Wh]
    coefficients : (n_producers, n_consumers) fixed, or (n_steps, n_producers, n_consumers); for each
        producer and step Σ_i k_ji ≤ 1
    """
    cons = _consumption(consumption, active)
    prod = _production(production, cons.shape[0])
    n, m = prod.shape
    k = _check_keys(coefficients, axis=-1, what="full dynamic key")
    if k.shape not in ((m, cons.shape[1]), (n, m, cons.shape[1])):
        raise ValueError(f"full dynamic key: coefficients shaped {k.shape}, expected ({m}, {cons.shape[1]}) "
                         f"or ({n}, {m}, {cons.shape[1]}) for {m} producers and {cons.shape[1]} consumers")
    pair = prod[:, :, None] * k  # (n, m, k): offered by producer j to consumer i
    offered = pair.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = np.where(offered > cons, cons / offered, 1.0)
    pair *= scale[:, None, :]
    autocons = np.minimum(pair.sum(axis=1), cons)
    autoprod = np.minimum(pair.sum(axis=2), prod)
    return _finish("full_dynamic", cons, autocons, prod, _pooled(prod), autoprod)


def _waterfill(available: np.ndarray, cons: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Share ``available`` (r,) among consumers (r, k) by ``weights`` (r, k) > 0, capped at consumption.

    Finds the level λ with Σ_i min(C_i, λ·w_i) = available (rows are those where ΣC > available), by
    rounds: give every open consumer λ·w_i with λ = remaining / Σ open weights; those whose need is met
    take exactly C_i and close; the rest is shared again among those still short. Each round closes at
    least one consumer in every unfinished row, so it ends in at most k rounds; unfinished rows shrink
    round by round, which keeps it fast.
    """
    out = np.empty_like(cons)
    rows = np.arange(cons.shape[0])
    rem = available.astype(np.float64, copy=True)
    c, w = cons, weights
    open_ = np.ones(cons.shape, dtype=bool)
    wsum = w.sum(axis=1)
    for _ in range(cons.shape[1] + 1):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lam = np.where(wsum > 0, rem / wsum, 0.0)
        fill = lam[:, None] * w
        met = open_ & (c <= fill)
        going_on = met.any(axis=1)
        done = ~going_on
        if done.any():
            out[rows[done]] = np.where(open_[done], fill[done], c[done])
        if not going_on.any():
            break
        met = met[going_on]
        c, w, rows = c[going_on], w[going_on], rows[going_on]
        rem = np.maximum(rem[going_on] - (c * met).sum(axis=1), 0.0)
        wsum = np.maximum(wsum[going_on] - (w * met).sum(axis=1), 0.0)
        open_ = open_[going_on] & ~met
    return out


def priority(production: np.ndarray, consumption: np.ndarray, levels: np.ndarray | Sequence[int],
             weights: np.ndarray | Sequence[float] | None = None, *, share: Share = "weight",
             active: np.ndarray | None = None) -> Allocation:
    """Priority key: levels served in turn; inside a level, production shared by weight or by consumption.

    At each step, level 1 takes what it needs of P (all of it if short); what is left goes to level 2,
    and so on. Inside a level, ``share="weight"`` gives each consumer λ·w_i capped at C_i, and what a
    served consumer leaves goes to those still short in the same level (water-filling, so the level uses
    min(remaining P, Σ C) exactly); ``share="consumption"`` is the default key inside the level.
    regie sends the result to the grid operator as dynamic-simple keys (:func:`dynamic_keys`).

    Parameters
    ----------
    levels : (n_consumers,) int, 1 served first
    weights : (n_consumers,) or (n_steps, n_consumers) > 0; equal shares if None

    Examples
    --------
    P = 1, B (level 1) uses 0.4, C (level 2) uses 0.8 → B gets 0.4, C gets 0.6 and buys 0.2 from its
    supplier.
    """
    cons = _consumption(consumption, active)
    prod = _production(production, cons.shape[0])
    n, k = cons.shape
    lv = np.asarray(levels)
    if lv.shape != (k,):
        raise ValueError(f"priority key: {lv.size} levels for {k} consumers")
    if weights is None:
        w = np.ones(k)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape not in ((k,), (n, k)):
            raise ValueError(f"priority key: weights shaped {w.shape}, expected ({k},) or ({n}, {k})")
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise ValueError("priority key: weights must be positive numbers")
    if share not in ("weight", "consumption"):
        raise ValueError(f"priority key: share is 'weight' or 'consumption', got {share!r}")
    p = _pooled(prod)
    values, pos = np.unique(lv, return_inverse=True)  # pos[i]: rank of consumer i's level, 0 first
    onehot = np.zeros((k, values.size))
    onehot[np.arange(k), pos] = 1.0
    needs = cons @ onehot  # (n, n_levels): one read of the whole array
    cum = np.cumsum(needs, axis=1)
    cut = (cum <= p[:, None]).sum(axis=1)  # levels fully served at each step
    autocons = cons * (pos[None, :] < cut[:, None])
    before = np.concatenate([np.zeros((n, 1)), cum[:, :-1]], axis=1)  # need of the levels served first
    for rank in range(values.size):
        rows = np.flatnonzero(cut == rank)
        left = p[rows] - before[rows, rank]
        rows, left = rows[left > 0], left[left > 0]
        if not rows.size:
            continue
        cols = np.flatnonzero(pos == rank)
        c = cons[np.ix_(rows, cols)]
        if share == "consumption":
            got = c * (left / needs[rows, rank])[:, None]
        else:
            wl = np.broadcast_to(w[cols], c.shape) if w.ndim == 1 else w[np.ix_(rows, cols)]
            got = _waterfill(left, c, wl)
        autocons[np.ix_(rows, cols)] = got
    return _finish("priority", cons, autocons, prod, p, allocated=np.minimum(cum[:, -1], p))


# ------------------------------------------------------------------------------------------ key files


def dynamic_keys(allocation: Allocation, decimals: int = 1) -> np.ndarray:
    """Per-step keys that make the grid operator reproduce an allocation, in units of 10^-decimals %.

    k_i = A_i / P, floored to the file's resolution (0.1 % by default, so ``333`` means 33.3 %) so that
    a row never sums above 100 %. Steps without production get 0 everywhere. Applied by the grid operator
    (A'_i = min(C_i, k_i · P), :func:`dynamic_simple`) the keys give each consumer at most its regie
    allocation, and less by under one resolution unit of P: with many consumers, ask for more decimals.

    Returns
    -------
    (n_steps, n_consumers) int64; divide by 10**decimals for percent.
    """
    full = 100 * 10**decimals
    p = allocation.production
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frac = np.where(p[:, None] > 0, allocation.autocons / p[:, None], 0.0)
    # Σ A ≤ P holds to float precision of the consumptions, which is not precision of P when P is tiny:
    # never let a row of shares exceed 1 before flooring.
    total = frac.sum(axis=1, keepdims=True)
    frac = np.where(total > 1, frac / np.where(total > 1, total, 1.0), frac)
    units = np.floor(frac * full + 1e-9).astype(np.int64)  # 1e-9: don't lose a unit to float noise
    np.clip(units, 0, full, out=units)
    over = units.sum(axis=1) - full
    for t in np.flatnonzero(over > 0):  # float noise: at most one unit per consumer; take from the largest
        order = np.argsort(units[t])[::-1]
        for j in range(int(over[t])):
            units[t, order[j % len(order)]] -= 1
    return units


def format_keys_csv(step_starts: np.ndarray, prms: Sequence[str], keys: np.ndarray, *, decimals: int = 1,
                    zone: ZoneInfo | str = "Europe/Paris", sep: str = ";") -> str:
    """The key file the PMO sends: one row per step, one column per consumer PRM, shares in %.

    ``step_starts`` are UTC unix seconds, written as local ISO 8601 times with their offset so DST days
    stay unambiguous; ``keys`` come from :func:`dynamic_keys` with the same ``decimals``. The column
    layout is regie's: check it against the template of the grid operator's current PMO portal.
    """
    keys = np.asarray(keys)
    if keys.shape != (len(step_starts), len(prms)):
        raise ValueError(f"keys shaped {keys.shape} for {len(step_starts)} steps and {len(prms)} PRMs")
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    when = pd.to_datetime(np.asarray(step_starts, dtype=np.int64), unit="s", utc=True).tz_convert(tz)
    frame = pd.DataFrame(keys / 10**decimals, columns=list(prms))
    frame.insert(0, "horodate", when.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d\d)$", r":\1", regex=True))
    return frame.to_csv(sep=sep, index=False, float_format=f"%.{decimals}f", lineterminator="\n")


# ------------------------------------------------------------------------------------- reconciliation


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """regie's flows against the grid operator's, per participant [Wh].

    ``*_diff`` are Σ over steps of (regie − grid operator); ``max_step_diff`` the largest absolute
    difference at one step; ``steps_off`` how many steps differ by more than the tolerance; ``missing``
    how many steps the grid operator gave no value for. ``passed`` is True when no step is off and no
    value is missing.
    """

    autocons_diff: np.ndarray
    complement_diff: np.ndarray
    surplus_diff: np.ndarray | None
    max_step_diff: np.ndarray
    steps_off: np.ndarray
    missing: np.ndarray
    surplus_steps_off: np.ndarray | None
    tolerance_wh: float

    @property
    def passed(self) -> bool:
        ok = not self.steps_off.any() and not self.missing.any()
        return ok and (self.surplus_steps_off is None or not self.surplus_steps_off.any())


def reconcile(allocation: Allocation, autocons: np.ndarray, complement: np.ndarray,
              surplus: np.ndarray | None = None, *, tolerance_wh: float = 1.0,
              relative: float = 0.0) -> Reconciliation:
    """Compare regie's allocation with the AUTOCONS / COMPLEMENT / SURPLUS curves of the grid operator.

    Per step a value is off when |regie − grid| > ``tolerance_wh`` + ``relative`` · P(t): the grid
    operator rounds to whole Wh, and applying floored keys (:func:`dynamic_keys`) may cost up to one key
    unit of P per consumer, hence the relative part (0.001 for keys at 0.1 %); a producer's SURPLUS may
    then be off by that much per consumer.

    Parameters
    ----------
    autocons, complement : (n_steps, n_consumers) [Wh], NaN where the grid operator gave nothing
    surplus : (n_steps, n_producers) [Wh], optional
    """
    shape = allocation.autocons.shape
    grid_a = np.asarray(autocons, dtype=np.float64)
    grid_c = np.asarray(complement, dtype=np.float64)
    if grid_a.shape != shape or grid_c.shape != shape:
        raise ValueError(f"grid operator curves shaped {grid_a.shape} / {grid_c.shape}, regie's {shape}")
    tol = tolerance_wh + relative * allocation.production[:, None]
    da = allocation.autocons - grid_a
    dc = allocation.complement - grid_c
    missing = (np.isnan(grid_a) | np.isnan(grid_c)).sum(axis=0)
    da0, dc0 = np.nan_to_num(da), np.nan_to_num(dc)
    worst = np.maximum(np.abs(da0), np.abs(dc0))
    s_diff = s_off = None
    if surplus is not None:
        grid_s = np.asarray(surplus, dtype=np.float64)
        if grid_s.shape != allocation.prod.shape:
            raise ValueError(f"surplus shaped {grid_s.shape}, regie's {allocation.prod.shape}")
        ds = allocation.surplus - grid_s
        s_diff = np.nansum(ds, axis=0)
        s_tol = tolerance_wh + relative * shape[1] * allocation.production[:, None]  # one unit per consumer
        s_off = ((np.abs(np.nan_to_num(ds)) > s_tol) | np.isnan(grid_s)).sum(axis=0)
    return Reconciliation(
        autocons_diff=da0.sum(axis=0),
        complement_diff=dc0.sum(axis=0),
        surplus_diff=s_diff,
        max_step_diff=worst.max(axis=0) if worst.size else np.zeros(shape[1]),
        steps_off=(worst > tol).sum(axis=0),
        missing=missing,
        surplus_steps_off=s_off,
        tolerance_wh=tolerance_wh,
    )


# -------------------------------------------------------------------------------------------- periods


def period_totals(values: np.ndarray, step_starts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum per-step values [Wh] into periods ``[edges[i], edges[i+1])`` (UTC seconds, sorted).

    Use ``regie.model.calendar.period_starts`` for local days or months: a DST day then has 46 or 50
    half-hours (92 or 100 quarter-hours), each counted once. Returns ``(len(edges) - 1, ...)``.
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(step_starts, dtype=np.int64)
    e = np.asarray(edges, dtype=np.int64)
    if t.size > 1 and (np.diff(t) < 0).any():
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
    idx = np.searchsorted(t, e, side="left")
    out = np.zeros((len(e) - 1, *v.shape[1:]))
    starts, ends = idx[:-1], idx[1:]
    full = np.flatnonzero(ends > starts)
    if full.size:  # reduceat sums from each start to the next one; slice so the last stops at its end
        lo = starts[full[0]]
        out[full] = np.add.reduceat(v[lo : ends[full[-1]]], starts[full] - lo, axis=0)
    return out
