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

Fit metrics and uncertainty follow ASHRAE Guideline 14-2014 (*Measurement of Energy, Demand, and Water
Savings*): CV(RMSE) and NMBE with n − p degrees of freedom, and the fractional savings uncertainty of its
Annex B (after Reddy & Claridge 2000), corrected for autocorrelated residuals.

Units: temperatures [°C]; use per day in the caller's unit — regie passes [Wh/day] — and savings in the
same unit summed over days [Wh]. Degree days [°C·day].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from scipy import special

from regie.model.calendar import period_starts

ModelKind = Literal["intercept_only", "hdd_only", "cdd_only", "hdd_cdd"]

#: Candidate balance points [°C]: CalTRACK's 30–90 °F range (−1.1 … 32.2 °C), finer than its 3 °F step.
BALANCE_POINTS_C = np.round(np.arange(-1.0, 32.0 + 1e-9, 0.5), 2)
MAX_P_VALUE = 0.1
MIN_NONZERO_DD_DAYS = 10
MIN_TOTAL_DD_C = 20 / 1.8  # CalTRACK's 20 °F·day

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


def _p_two_sided(t_stat: np.ndarray, dof: int) -> np.ndarray:
    return 2.0 * special.stdtr(dof, -np.abs(t_stat))


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student t critical value for ``confidence`` (0.68, 0.90, 0.95) at ``dof`` degrees of freedom."""
    return float(special.stdtrit(dof, 1 - (1 - confidence) / 2))


@dataclass(frozen=True, slots=True)
class ChangePointModel:
    """A fitted daily change-point model and its fit statistics on the baseline days.

    ``intercept`` [unit/day], ``beta_hdd`` / ``beta_cdd`` [unit/(°C·day)], balance points [°C] (None when
    the term is absent). ``cv_rmse`` and ``nmbe`` [-] per ASHRAE Guideline 14 (n − p in the
    denominators); ``rmse`` [unit/day] with n; ``autocorrelation``: lag-1 autocorrelation ρ of the
    residuals in day order [-].
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

    def predict(self, temp_c: np.ndarray) -> np.ndarray:
        """Use per day [unit/day] for days of mean outdoor temperature ``temp_c`` [°C]."""
        t = np.asarray(temp_c, dtype=np.float64)
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
) -> BaselineFit:
    """Fit CalTRACK's daily change-point candidates and select one (module docstring for the method).

    Parameters
    ----------
    temp_c : mean outdoor temperature of each baseline day [°C] (days in order; NaN days are dropped).
    use_per_day : metered use of each day [unit/day] (NaN days are dropped).
    fit_hdd, fit_cdd : which terms may appear (CalTRACK fits no CDD for gas: ``fit_cdd=False``).
    balance_points_c : candidate balance points [°C].
    max_p_value : slope p-values must be below this to qualify (CalTRACK: 0.1; eemeter lets it be 1).
    min_nonzero_days, min_total_dd : degree-day sufficiency per term (CalTRACK §3.2.2.2).

    Returns
    -------
    BaselineFit, whose ``model`` is the qualified candidate of highest adjusted R²; all sums are
    vectorised normal equations, so a grid of 67 × 67 HDD + CDD pairs costs milliseconds.
    """
    temp_c = np.asarray(temp_c, dtype=np.float64)
    y_all = np.asarray(use_per_day, dtype=np.float64)
    ok = np.isfinite(temp_c) & np.isfinite(y_all)
    t, y = temp_c[ok], y_all[ok]
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
    return BaselineFit(best, candidates, qualified, tuple(warnings))


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
    of freedom. (G14 writes it as the fractional uncertainty ΔE_save / E_save with F = E_save / E_baseline;
    multiplying by E_save gives this form.) The 1.26 factor is Reddy & Claridge's empirical correction,
    derived for monthly models and applied by G14 (and eemeter) to daily ones.
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
) -> Savings:
    """IPMVP option C avoided energy over the reporting days: Σ (model(T) − metered use), with uncertainty."""
    t = np.asarray(temp_c, dtype=np.float64)
    y = np.asarray(use_per_day, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(y)
    m = int(ok.sum())
    if m == 0:
        raise ValueError("no reporting day has both use and temperature")
    adjusted = float(model.predict(t[ok]).sum())
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
