"""Renovation savings by IPMVP option C (whole facility): a weather-normalised baseline of daily use.

Why: a town that insulated a school must show what the works saved, although the winter after was not
the winter before. IPMVP option C (EVO, *International Performance Measurement and Verification
Protocol*, Core Concepts 2022, §4.8.3 "Option C: whole facility") fits a model of the facility's use
against its driver (outdoor temperature) on a *baseline period* before the works, runs it on the weather
of the *reporting period* after, and calls the difference with the metered use the avoided energy:

    avoided = adjusted baseline − actual  (IPMVP "avoided energy consumption", eq. 1 with routine
    adjustments only)

The baseline model is CalTRACK's daily change-point model (CalTRACK methods 2.0, §3 "Daily and billing
period methods", the method behind OpenEEmeter/eemeter): use per day = intercept + β_H · HDD(T_H) +
β_C · CDD(T_C), with HDD(T_H) = max(0, T_H − T) and CDD(T_C) = max(0, T − T_C) on the day's mean outdoor
temperature T [°C]. Four candidate forms (intercept only, HDD only, CDD only, HDD + CDD) are fitted by
ordinary least squares over a grid of balance points (CalTRACK §3.2.1: 30–90 °F in steps of at most
3 °F — here −1 … 32 °C by 0.5 °C, with T_H ≤ T_C); a candidate qualifies when its slopes are positive
with p-value < 0.1 and it has at least 10 days with non-zero degree days and 20 °F·day (11.1 °C·day) in
total (§3.2.2.2, §3.4.3.2); the qualified candidate with the highest adjusted R² is kept (§3.4.3.3).

Day types (optional). A school, an office or a gymnasium uses energy by its timetable as much as by the
weather: a temperature-only model of a school leaves the school-day / Wednesday / weekend / holiday
pattern in its residuals (CV(RMSE) ≈ 40 % on the schools demo). Given a label per day, the fit adds the
indicator-variable terms of IPMVP option C regressions (EVO 10100-1:2019 *Uncertainty Assessment for
IPMVP*, regression with indicator variables; ASHRAE Guideline 14-2014 Annex D): one intercept per day
type, and optionally one heating slope per day type — the daily counterpart of CalTRACK's hourly
occupancy segmentation (CalTRACK methods 2.0, §4: separate temperature responses for occupied and
unoccupied periods) and of the weekday/weekend splits of OpenEEmeter 4's daily model. The balance points
are searched on the same grid, shared by all day types; the plain candidates stay in the race. A day-type
candidate qualifies when its slopes qualify as above *and* its day-type terms are jointly significant:
the F-test of the nested models (the same temperature terms with one intercept and shared slopes) has
p < the same threshold. Selection stays by adjusted R², with p counting every intercept and slope.

Fit metrics and uncertainty follow ASHRAE Guideline 14-2014 (*Measurement of Energy, Demand, and Water
Savings*): CV(RMSE) and NMBE with n − p degrees of freedom, and the fractional savings uncertainty of its
Annex B (after Reddy & Claridge 2000), corrected for autocorrelated residuals.

Units: temperatures [°C]; use per day in the caller's unit — regie passes [Wh/day] — and savings in the
same unit summed over days [Wh]. Degree days [°C·day].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from regie.model.calendar import period_starts

ModelKind = Literal["intercept_only", "hdd_only", "cdd_only", "hdd_cdd"]

#: Candidate balance points [°C]: CalTRACK's 30–90 °F range (−1.1 … 32.2 °C), finer than its 3 °F step.
BALANCE_POINTS_C = np.round(np.arange(-1.0, 32.0 + 1e-9, 0.5), 2)
MAX_P_VALUE = 0.1
MIN_NONZERO_DD_DAYS = 10
MIN_TOTAL_DD_C = 20 / 1.8  # CalTRACK's 20 °F·day
#: A day type needs this many usable baseline days to get its own intercept [days].
MIN_DAYS_PER_TYPE = 10

#: ASHRAE Guideline 14 thresholds.
#: ``calibration``: a model is calibrated to monthly data at CV(RMSE) ≤ 15 % and |NMBE| ≤ 5 %, to hourly
#: data at CV(RMSE) ≤ 30 % and |NMBE| ≤ 10 % (G14-2014 §4.3.3.4.2.2, the thresholds FEMP and IPMVP
#: reuse). ``baseline``: the whole-building prescriptive path asks a baseline model of CV(RMSE) ≤ 20 %
#: when fewer than 12 months of reporting data will be used, 25 % for 12 to 60 months and 30 % beyond,
#: and a savings uncertainty below 50 % of the savings at 68 % confidence (G14 whole-building compliance
#: requirements, 2002 §5.2.11, kept in 2014). NMBE of an OLS fit on its own data is 0 by construction;
#: G14 asks ≤ 0.005 % there, which flags a model fitted on other data than the baseline's.
GUIDELINE_14 = {
    "calibration": {"monthly": {"cv_rmse": 0.15, "nmbe": 0.05}, "hourly": {"cv_rmse": 0.30, "nmbe": 0.10}},
    "baseline_cv_rmse": ((12, 0.20), (60, 0.25), (None, 0.30)),
    "baseline_nmbe": 0.00005,
    "max_fsu_68": 0.50,
}


def hdd(temp_c: np.ndarray, balance_point: float) -> np.ndarray:
    """Heating degree days per day at a balance point: max(0, T_H − T) [°C·day]."""
    return np.maximum(0.0, balance_point - np.asarray(temp_c, dtype=np.float64))


def cdd(temp_c: np.ndarray, balance_point: float) -> np.ndarray:
    """Cooling degree days per day at a balance point: max(0, T − T_C) [°C·day]."""
    return np.maximum(0.0, np.asarray(temp_c, dtype=np.float64) - balance_point)


def _special() -> ModuleType:
    """scipy (~14 MB resident) is imported on the first fit, not when the web server starts."""
    from scipy import special

    return special


def _p_two_sided(t_stat: np.ndarray, dof: int) -> np.ndarray:
    special = _special()
    return 2.0 * special.stdtr(dof, -np.abs(t_stat))


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student t critical value for ``confidence`` (0.68, 0.90, 0.95) at ``dof`` degrees of freedom."""
    special = _special()
    return float(special.stdtrit(dof, 1 - (1 - confidence) / 2))


@dataclass(frozen=True, slots=True)
class ChangePointModel:
    """A fitted daily change-point model and its fit statistics on the baseline days.

    ``intercept`` [unit/day], ``beta_hdd`` / ``beta_cdd`` [unit/(°C·day)], balance points [°C] (None when
    the term is absent). ``cv_rmse`` and ``nmbe`` [-] per ASHRAE Guideline 14 (n − p in the
    denominators); ``rmse`` [unit/day] with n; ``autocorrelation``: lag-1 autocorrelation ρ of the
    residuals in day order [-].

    A day-type model (module docstring) has ``day_types`` (its labels, empty for a plain model),
    ``intercepts`` (label → intercept [unit/day]) and, when the heating slope is per day type,
    ``hdd_slopes`` (label → [unit/(°C·day)]). For such a model ``intercept`` is the baseline-day-weighted
    mean of the intercepts and ``beta_hdd`` (per-type slopes) the HDD-weighted mean slope: summaries for
    display; :meth:`predict` uses the per-type values. ``kind`` names the temperature terms either way.
    """

    kind: ModelKind
    intercept: float
    beta_hdd: float = 0.0
    beta_cdd: float = 0.0
    hdd_bp: float | None = None
    cdd_bp: float | None = None
    r2: float = 0.0
    adj_r2: float = 0.0
    p_values: dict[str, float] = field(default_factory=dict)
    n: int = 0
    n_params: int = 1
    mean_use: float = float("nan")
    rmse: float = float("nan")
    cv_rmse: float = float("nan")
    nmbe: float = float("nan")
    autocorrelation: float = 0.0
    day_types: tuple[str, ...] = ()
    intercepts: dict[str, float] = field(default_factory=dict)
    hdd_slopes: dict[str, float] = field(default_factory=dict)

    def predict(self, temp_c: np.ndarray, day_type: Sequence[str] | np.ndarray | None = None) -> np.ndarray:
        """Use per day [unit/day] for days of mean outdoor temperature ``temp_c`` [°C].

        Parameters
        ----------
        temp_c : mean outdoor temperature of each day [°C]; a NaN day predicts NaN.
        day_type : each day's label, required by a day-type model (ignored by a plain one). A label the
            baseline never saw raises ValueError: there is no baseline to adjust for such a day.

        Returns
        -------
        Predicted use of each day [unit/day].
        """
        t = np.asarray(temp_c, dtype=np.float64)
        if self.day_types:
            idx = _day_type_index(self.day_types, day_type, t.shape)
            y = np.array([self.intercepts[k] for k in self.day_types])[idx]
            if self.hdd_bp is not None:
                slope = (np.array([self.hdd_slopes[k] for k in self.day_types])[idx] if self.hdd_slopes
                         else self.beta_hdd)
                y = y + slope * hdd(t, self.hdd_bp)
        else:
            y = np.full(t.shape, self.intercept)
            if self.hdd_bp is not None:
                y = y + self.beta_hdd * hdd(t, self.hdd_bp)
        if self.cdd_bp is not None:
            y = y + self.beta_cdd * cdd(t, self.cdd_bp)
        return np.where(np.isnan(t), np.nan, y)

    def guideline14(self, reporting_months: float) -> dict:
        """This baseline against the ASHRAE Guideline 14 whole-building thresholds (see GUIDELINE_14)."""
        limit = next(v for months, v in GUIDELINE_14["baseline_cv_rmse"] if months is None or reporting_months < months)
        return {
            "cv_rmse": self.cv_rmse, "cv_rmse_max": limit, "cv_rmse_ok": bool(self.cv_rmse <= limit),
            "nmbe": self.nmbe, "nmbe_max": GUIDELINE_14["baseline_nmbe"],
            "nmbe_ok": bool(abs(self.nmbe) <= GUIDELINE_14["baseline_nmbe"]),
        }


def _day_type_index(labels: tuple[str, ...], day_type: Sequence[str] | np.ndarray | None,
                    shape: tuple[int, ...]) -> np.ndarray:
    """Index into ``labels`` of each day's type; ValueError when missing, misshapen or unknown."""
    if day_type is None:
        raise ValueError(f"this model has day types {', '.join(labels)}: pass each day's type")
    d = np.asarray(day_type, dtype=str)
    if d.shape != shape:
        raise ValueError(f"day_type has shape {d.shape}, temperatures {shape}")
    known = np.isin(d, labels)
    if not known.all():
        raise ValueError(f"day types unseen in the baseline: {', '.join(sorted(set(d[~known].tolist())))}")
    order = np.argsort(labels)
    return order[np.searchsorted(np.asarray(labels)[order], d)]


@dataclass(frozen=True, slots=True)
class BaselineFit:
    """The selected model, how many candidates were tried and qualified, and data warnings."""

    model: ChangePointModel
    candidates: int
    qualified: int
    warnings: tuple[str, ...] = ()


def _finish(kind: ModelKind, coef: dict, y: np.ndarray, pred: np.ndarray, r2: float, adj: float, p: dict,
            n_params: int) -> ChangePointModel:
    n = len(y)
    resid = y - pred
    mean = float(y.mean())
    dof = max(n - n_params, 1)
    rss = float(resid @ resid)
    rho = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if n > 2 and resid.std() > 0 else 0.0
    return ChangePointModel(
        kind=kind, **coef, r2=float(r2), adj_r2=float(adj), p_values=p, n=n, n_params=n_params, mean_use=mean,
        rmse=float(np.sqrt(rss / n)), cv_rmse=float(np.sqrt(rss / dof) / mean) if mean else float("nan"),
        nmbe=float(resid.sum() / (dof * mean)) if mean else float("nan"),
        autocorrelation=0.0 if not np.isfinite(rho) else rho,
    )


def fit_baseline(
    temp_c: np.ndarray,
    use_per_day: np.ndarray,
    fit_hdd: bool = True,
    fit_cdd: bool = True,
    balance_points_c: np.ndarray = BALANCE_POINTS_C,
    max_p_value: float = MAX_P_VALUE,
    min_nonzero_days: int = MIN_NONZERO_DD_DAYS,
    min_total_dd: float = MIN_TOTAL_DD_C,
    day_type: Sequence[str] | np.ndarray | None = None,
    hdd_by_day_type: bool = True,
) -> BaselineFit:
    """Fit CalTRACK's daily change-point candidates and select one (module docstring for the method).

    Parameters
    ----------
    temp_c : mean outdoor temperature of each baseline day [°C] (days in order; NaN days are dropped).
    use_per_day : metered use of each day [unit/day] (NaN days are dropped).
    fit_hdd, fit_cdd : which terms may appear (CalTRACK fits no CDD for gas: ``fit_cdd=False``).
    balance_points_c : candidate balance points [°C].
    max_p_value : slope p-values must be below this to qualify (CalTRACK: 0.1; eemeter lets it be 1).
    min_nonzero_days, min_total_dd : degree-day sufficiency per term (CalTRACK §3.2.2.2); for a heating
        slope per day type, per day type.
    day_type : optional label of each day (e.g. ``"school"``, ``"weekend"``, ``"holiday"``); when given,
        candidates with one intercept per day type (and shared slopes) join the plain ones. ``None`` (the
        default) fits the plain CalTRACK candidates only. Each label needs ``MIN_DAYS_PER_TYPE`` usable
        days, else ValueError (merge rare labels into a neighbour).
    hdd_by_day_type : with ``day_type``, also try one heating slope per day type (a school heated to 19 °C
        on school days and kept at 12 °C in the holidays responds differently to the cold).

    Returns
    -------
    BaselineFit, whose ``model`` is the qualified candidate of highest adjusted R²; all sums are
    vectorised normal equations, so a grid of 67 × 67 HDD + CDD pairs costs milliseconds.
    """
    temp_c = np.asarray(temp_c, dtype=np.float64)
    y_all = np.asarray(use_per_day, dtype=np.float64)
    ok = np.isfinite(temp_c) & np.isfinite(y_all)
    t, y = temp_c[ok], y_all[ok]
    labels: np.ndarray | None = None
    if day_type is not None:
        labels = np.asarray(day_type, dtype=str)
        if labels.shape != temp_c.shape:
            raise ValueError(f"day_type has shape {labels.shape}, temperatures {temp_c.shape}")
        labels = labels[ok]
    n = len(y)
    warnings: list[str] = []
    if n < 3:
        raise ValueError(f"need at least 3 days with both use and temperature, got {n}")
    if n < 0.9 * 365:
        warnings.append(f"baseline has {n} usable days; CalTRACK asks 365 days with ≥ 90 % coverage")
    bps = np.asarray(balance_points_c, dtype=np.float64)
    sy, syy = y.sum(), y @ y
    tss = syy - sy * sy / n
    candidates, qualified = 1, 1
    best = _finish("intercept_only", {"intercept": float(y.mean())}, y, np.full(n, y.mean()), 0.0, 0.0, {}, 1)
    best_adj = 0.0

    def r2_adj(rss: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1 - rss / tss if tss > 0 else np.zeros_like(rss)
        return r2, 1 - (1 - r2) * (n - 1) / (n - k - 1)

    cols: dict[str, np.ndarray] = {}
    if fit_hdd:
        cols["hdd"] = np.maximum(0.0, bps[None, :] - t[:, None])
    if fit_cdd:
        cols["cdd"] = np.maximum(0.0, t[:, None] - bps[None, :])
    enough = {k: ((x > 0).sum(0) >= min_nonzero_days) & (x.sum(0) >= min_total_dd) for k, x in cols.items()}

    # single-term candidates
    for term, x in cols.items():
        sx, sxx, sxy = x.sum(0), (x * x).sum(0), x.T @ y
        det = n * sxx - sx * sx
        good = enough[term] & (det > 1e-9 * n * n)
        det_safe = np.where(good, det, 1.0)
        b1 = (n * sxy - sx * sy) / det_safe
        b0 = (sy - b1 * sx) / n
        rss = np.maximum(syy - b0 * sy - b1 * sxy, 0.0)
        dof = n - 2
        se1 = np.sqrt(rss / dof * n / det_safe)
        with np.errstate(divide="ignore", invalid="ignore"):
            p1 = _p_two_sided(np.where(se1 > 0, b1 / se1, np.inf), dof)
        r2, adj = r2_adj(rss, 1)
        candidates += len(bps)
        valid = good & (b1 > 0) & (p1 < max_p_value)
        qualified += int(valid.sum())
        if valid.any():
            i = int(np.argmax(np.where(valid, adj, -np.inf)))
            if adj[i] > best_adj:
                best_adj = float(adj[i])
                coef = {"intercept": float(b0[i]), f"beta_{term}": float(b1[i]), f"{term}_bp": float(bps[i])}
                pred = b0[i] + b1[i] * x[:, i]
                best = _finish(f"{term}_only", coef, y, pred, r2[i], adj[i], {f"beta_{term}": float(p1[i])}, 2)

    # HDD + CDD candidates, T_H ≤ T_C
    if fit_hdd and fit_cdd:
        h, c = cols["hdd"], cols["cdd"]
        sh, sc = h.sum(0), c.sum(0)
        shh, scc, shc = (h * h).sum(0), (c * c).sum(0), h.T @ c
        shy, scy = h.T @ y, c.T @ y
        kh, kc = len(bps), len(bps)
        xtx = np.empty((kh, kc, 3, 3))
        xtx[..., 0, 0] = n
        xtx[..., 0, 1] = xtx[..., 1, 0] = sh[:, None]
        xtx[..., 0, 2] = xtx[..., 2, 0] = sc[None, :]
        xtx[..., 1, 1] = shh[:, None]
        xtx[..., 2, 2] = scc[None, :]
        xtx[..., 1, 2] = xtx[..., 2, 1] = shc
        xty = np.stack(np.broadcast_arrays(np.full((kh, kc), sy), shy[:, None], scy[None, :]), axis=-1)
        pair_ok = (bps[:, None] <= bps[None, :]) & enough["hdd"][:, None] & enough["cdd"][None, :]
        det = np.linalg.det(xtx)
        scale = np.abs(xtx[..., 0, 0] * xtx[..., 1, 1] * xtx[..., 2, 2])
        pair_ok &= np.abs(det) > 1e-9 * np.maximum(scale, 1e-300)
        xtx[~pair_ok] = np.eye(3)
        inv = np.linalg.inv(xtx)
        b = np.einsum("ijkl,ijl->ijk", inv, xty)
        rss = np.maximum(syy - np.einsum("ijk,ijk->ij", b, xty), 0.0)
        dof = n - 3
        var = rss / dof
        se_h = np.sqrt(np.maximum(var * inv[..., 1, 1], 0.0))
        se_c = np.sqrt(np.maximum(var * inv[..., 2, 2], 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            ph = _p_two_sided(np.where(se_h > 0, b[..., 1] / se_h, np.inf), dof)
            pc = _p_two_sided(np.where(se_c > 0, b[..., 2] / se_c, np.inf), dof)
        r2, adj = r2_adj(rss, 2)
        candidates += int((bps[:, None] <= bps[None, :]).sum())
        valid = pair_ok & (b[..., 1] > 0) & (b[..., 2] > 0) & (ph < max_p_value) & (pc < max_p_value)
        qualified += int(valid.sum())
        if valid.any():
            i, j = np.unravel_index(int(np.argmax(np.where(valid, adj, -np.inf))), adj.shape)
            if adj[i, j] > best_adj:
                coef = {"intercept": float(b[i, j, 0]), "beta_hdd": float(b[i, j, 1]), "beta_cdd": float(b[i, j, 2]),
                        "hdd_bp": float(bps[i]), "cdd_bp": float(bps[j])}
                pred = b[i, j, 0] + b[i, j, 1] * h[:, i] + b[i, j, 2] * c[:, j]
                best = _finish("hdd_cdd", coef, y, pred, r2[i, j], adj[i, j],
                               {"beta_hdd": float(ph[i, j]), "beta_cdd": float(pc[i, j])}, 3)
                best_adj = float(adj[i, j])
    if labels is not None:
        tried, passed, model = _fit_day_types(t, y, labels, fit_hdd, fit_cdd, hdd_by_day_type, bps, max_p_value,
                                              min_nonzero_days, min_total_dd)
        candidates += tried
        qualified += passed
        if model is not None and model.adj_r2 > best_adj:
            best = model
    return BaselineFit(best, candidates, qualified, tuple(warnings))


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batched ordinary least squares: ``x`` (g, n, p) designs, ``y`` (n,) → coefficients (g, p), residual
    sums of squares (g,), standard errors (g, p) and a mask of well-posed (full-rank) designs (g,)."""
    n, p = x.shape[1:]
    xt = np.swapaxes(x, 1, 2)
    xtx = xt @ x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        good = np.linalg.cond(xtx) < 1e10
    xtx[~good] = np.eye(p)
    inv = np.linalg.inv(xtx)
    b = (inv @ (xt @ y)[:, :, None])[:, :, 0]
    resid = y[None, :] - np.einsum("gnp,gp->gn", x, b)
    rss = np.einsum("gn,gn->g", resid, resid)
    var = rss / max(n - p, 1)
    se = np.sqrt(np.maximum(var[:, None] * np.diagonal(inv, axis1=1, axis2=2), 0.0))
    return b, rss, se, good


def _fit_day_types(
    t: np.ndarray, y: np.ndarray, labels: np.ndarray, fit_hdd: bool, fit_cdd: bool, hdd_by_type: bool,
    bps: np.ndarray, max_p_value: float, min_nonzero_days: int, min_total_dd: float,
) -> tuple[int, int, ChangePointModel | None]:
    """The day-type candidates (module docstring): (tried, qualified, best qualified model or None).

    Designs are built per heating balance point and solved in batches over the cooling one; the nested
    plain model at the same balance points gives the F-test of the day-type terms.
    """
    n = len(y)
    types, inverse = np.unique(labels, return_inverse=True)
    k = len(types)
    if k < 2:
        return 0, 0, None
    counts = np.bincount(inverse, minlength=k)
    if counts.min() < MIN_DAYS_PER_TYPE:
        rare = ", ".join(f"{types[i]} ({counts[i]})" for i in np.flatnonzero(counts < MIN_DAYS_PER_TYPE))
        raise ValueError(f"day types with fewer than {MIN_DAYS_PER_TYPE} baseline days: {rare}")
    onehot = (inverse[:, None] == np.arange(k)[None, :]).astype(np.float64)  # (n, k)
    mean = float(y.mean())
    tss = float(((y - mean) ** 2).sum())
    tried = qualified = 0
    best: ChangePointModel | None = None
    best_adj = -np.inf

    def enough(x: np.ndarray) -> np.ndarray:  # degree-day sufficiency of columns (..., n)
        return ((x > 0).sum(-1) >= min_nonzero_days) & (x.sum(-1) >= min_total_dd)

    def p_value(b: np.ndarray, se: np.ndarray, dof: int) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _p_two_sided(np.where(se > 0, b / se, np.inf), dof)

    # The forms: (an HDD term, one HDD slope per day type, a CDD term); all have one intercept per type.
    forms: list[tuple[bool, bool, bool]] = [(False, False, False)]  # (hdd, hdd per type, cdd)
    if fit_hdd:
        forms.append((True, False, False))
        if hdd_by_type:
            forms.append((True, True, False))
    if fit_cdd:
        forms.append((False, False, True))
    if fit_hdd and fit_cdd:
        forms.append((True, False, True))
        if hdd_by_type:
            forms.append((True, True, True))
    for use_h, per_type, use_c in forms:
        h_range = range(len(bps)) if use_h else [None]
        for i in h_range:
            cols_u: list[np.ndarray] = [onehot]  # unrestricted: one intercept per type
            cols_r: list[np.ndarray] = [np.ones((n, 1))]  # restricted: one intercept, shared slopes
            ok_h = True
            h = None
            if i is not None:
                h = np.maximum(0.0, bps[i] - t)
                if per_type:
                    hk = onehot * h[:, None]
                    ok_h = bool(enough(hk.T).all())
                    cols_u.append(hk)
                else:
                    ok_h = bool(enough(h))
                    cols_u.append(h[:, None])
                cols_r.append(h[:, None])
            if use_c:
                j_idx = np.arange(len(bps)) if i is None else np.flatnonzero(bps >= bps[i])
                c = np.maximum(0.0, t[:, None] - bps[None, j_idx])  # (n, g)
                ok_c = enough(c.T)
            else:
                j_idx = np.array([-1])
                c = None
                ok_c = np.array([True])
            g = len(j_idx)
            tried += g
            if not ok_h or not ok_c.any():
                continue
            xu = np.concatenate(cols_u, axis=1)
            xr = np.concatenate(cols_r, axis=1)
            xu = np.broadcast_to(xu, (g, *xu.shape))
            xr = np.broadcast_to(xr, (g, *xr.shape))
            if c is not None:
                xu = np.concatenate([xu, c.T[:, :, None]], axis=2)
                xr = np.concatenate([xr, c.T[:, :, None]], axis=2)
            pu, pr = xu.shape[2], xr.shape[2]
            if n - pu < 1:
                continue
            bu, rss_u, se_u, good_u = _ols(np.ascontiguousarray(xu), y)
            _, rss_r, _, good_r = _ols(np.ascontiguousarray(xr), y)
            dof = n - pu
            slopes = slice(k, pu)  # every column after the intercepts is a degree-day slope
            p_sl = p_value(bu[:, slopes], se_u[:, slopes], dof)
            q = pu - pr
            with np.errstate(divide="ignore", invalid="ignore"):
                f = ((rss_r - rss_u) / q) / (rss_u / dof)
                p_f = np.where(rss_u > 0, _special().fdtrc(q, dof, np.maximum(f, 0.0)), 0.0)
            valid = good_u & good_r & ok_c & (p_f < max_p_value)
            if pu > k:
                valid &= (bu[:, slopes] > 0).all(1) & (p_sl < max_p_value).all(1)
            qualified += int(valid.sum())
            if not valid.any():
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                r2 = 1 - rss_u / tss if tss > 0 else np.zeros(g)
            adj = 1 - (1 - r2) * (n - 1) / (n - pu)
            m = int(np.argmax(np.where(valid, adj, -np.inf)))
            if adj[m] <= best_adj:
                continue
            best_adj = float(adj[m])
            b = bu[m]
            names = [str(x) for x in types]
            intercepts = {names[a]: float(b[a]) for a in range(k)}
            coef: dict = {"day_types": tuple(names), "intercepts": intercepts,
                          "intercept": float(b[:k] @ counts / n)}
            p = {"day_type": float(p_f[m])}
            col = k
            if h is not None:
                coef["hdd_bp"] = float(bps[i])
                if per_type:
                    coef["hdd_slopes"] = {names[a]: float(b[col + a]) for a in range(k)}
                    hk_sum = onehot.T @ h
                    coef["beta_hdd"] = float(b[col:col + k] @ hk_sum / hk_sum.sum()) if hk_sum.sum() else 0.0
                    p |= {f"beta_hdd[{names[a]}]": float(p_sl[m, a]) for a in range(k)}
                    col += k
                else:
                    coef["beta_hdd"] = float(b[col])
                    p["beta_hdd"] = float(p_sl[m, 0])
                    col += 1
            if c is not None:
                coef["cdd_bp"] = float(bps[j_idx[m]])
                coef["beta_cdd"] = float(b[col])
                p["beta_cdd"] = float(p_sl[m, col - k])
            kind: ModelKind = ("hdd_cdd" if h is not None and c is not None else "hdd_only" if h is not None
                               else "cdd_only" if c is not None else "intercept_only")
            pred = xu[m] @ b
            best = _finish(kind, coef, y, pred, r2[m], adj[m], p, pu)
    return tried, qualified, best


@dataclass(frozen=True, slots=True)
class Savings:
    """Avoided energy over the reporting period, in the use's unit summed over days.

    ``adjusted_baseline``: Σ model prediction on the reporting days' weather; ``actual``: Σ metered use on
    those days; ``avoided`` = adjusted − actual; ``fraction`` = avoided / adjusted [-]; ``days``: reporting
    days used (m); ``skipped_days``: days left out for lack of use or temperature (never silently);
    ``uncertainty``: confidence level → ± absolute uncertainty of ``avoided``; ``fsu``: the same relative
    to ``avoided`` [-] (ASHRAE G14 fractional savings uncertainty).
    """

    adjusted_baseline: float
    actual: float
    avoided: float
    fraction: float
    days: int
    skipped_days: int
    uncertainty: dict[float, float]
    fsu: dict[float, float]

    def interval(self, confidence: float) -> tuple[float, float]:
        u = self.uncertainty[confidence]
        return self.avoided - u, self.avoided + u


def savings_uncertainty(model: ChangePointModel, adjusted_baseline: float, m: int, confidence: float) -> float:
    """± absolute uncertainty of the avoided energy [unit] (ASHRAE Guideline 14-2014 Annex B, eq. B-14).

    ΔE_save = t · 1.26 · CV(RMSE) · √((n / n′) · (1 + 2 / n) · (1 / m)) · E_adjusted_baseline, with
    n baseline days, m reporting days, n′ = n (1 − ρ) / (1 + ρ) the effective number of independent
    baseline days given the residuals' lag-1 autocorrelation ρ, and t the Student value at n − p degrees
    of freedom, p the model's parameters (``n_params``: every intercept and slope, so K day types with
    one heating slope each make p = 2K). (G14 writes it as the fractional uncertainty ΔE_save / E_save
    with F = E_save / E_baseline; multiplying by E_save gives this form.) The 1.26 factor is Reddy &
    Claridge's empirical correction, derived for monthly models and applied by G14 (and eemeter) to daily
    ones.
    """
    n, p = model.n, model.n_params
    rho = min(max(model.autocorrelation, 0.0), 0.99)  # negative ρ would claim more information than n
    n_eff = n * (1 - rho) / (1 + rho)
    t = t_quantile(confidence, max(n - p, 1))
    return float(t * 1.26 * model.cv_rmse * np.sqrt((n / n_eff) * (1 + 2 / n) / m) * abs(adjusted_baseline))


def avoided_energy(
    model: ChangePointModel,
    temp_c: np.ndarray,
    use_per_day: np.ndarray,
    confidence: tuple[float, ...] = (0.68, 0.90),
    day_type: Sequence[str] | np.ndarray | None = None,
) -> Savings:
    """IPMVP option C avoided energy over the reporting days: Σ (model(T) − metered use), with uncertainty.

    Parameters
    ----------
    model : the baseline model (:func:`fit_baseline`).
    temp_c : mean outdoor temperature of each reporting day [°C].
    use_per_day : metered use of each reporting day [unit/day].
    confidence : levels of the returned uncertainties (two-sided, Student t at n − p).
    day_type : each reporting day's label, required when ``model`` has day types (same labels as the
        baseline's; a label the baseline never saw raises ValueError).

    Returns
    -------
    Savings over the days with both use and temperature; the others are counted in ``skipped_days``.
    """
    t = np.asarray(temp_c, dtype=np.float64)
    y = np.asarray(use_per_day, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(y)
    m = int(ok.sum())
    if m == 0:
        raise ValueError("no reporting day has both use and temperature")
    labels = None
    if model.day_types:
        if day_type is None:
            raise ValueError(f"this model has day types {', '.join(model.day_types)}: pass each day's type")
        labels = np.asarray(day_type, dtype=str)
        if labels.shape != t.shape:
            raise ValueError(f"day_type has shape {labels.shape}, temperatures {t.shape}")
        labels = labels[ok]
    adjusted = float(model.predict(t[ok], labels).sum())
    actual = float(y[ok].sum())
    avoided = adjusted - actual
    unc = {c: savings_uncertainty(model, adjusted, m, c) for c in confidence}
    fsu = {c: (u / abs(avoided) if avoided else float("inf")) for c, u in unc.items()}
    return Savings(adjusted, actual, avoided, avoided / adjusted if adjusted else float("nan"), m,
                   int(len(y) - m), unc, fsu)


def daily_energy(
    t: np.ndarray, power_w: np.ndarray, step_s: int, zone: ZoneInfo | str, start: int, end: int,
    min_coverage: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """Energy per local day [Wh] from an average-power series [W] at a fixed step [s].

    Returns (day starts [UTC s], one more than days; energy [Wh] per day). A day with less than
    ``min_coverage`` of its steps gets NaN rather than a low total that a model would read as savings;
    a day with a few steps missing is scaled up to its full length (mean power × day length).
    """
    t = np.asarray(t, dtype=np.int64)
    p = np.asarray(power_w, dtype=np.float64)
    ok = np.isfinite(p)
    t, p = t[ok], p[ok]
    starts = period_starts(start, end - 1, "day", zone)
    idx = np.searchsorted(starts, t, side="right") - 1
    n = len(starts) - 1
    inside = (idx >= 0) & (idx < n)
    wh = np.bincount(idx[inside], weights=p[inside] * step_s / 3600.0, minlength=n)[:n]
    count = np.bincount(idx[inside], minlength=n)[:n]
    expected = np.diff(starts) / step_s
    return starts, np.where(count >= min_coverage * expected, wh * expected / np.maximum(count, 1), np.nan)
