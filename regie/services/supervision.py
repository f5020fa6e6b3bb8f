"""Grid and data supervision of a territory over a period, from the stored series.

Per HTA/BT transformer: loading against its rating, the load-duration curve, the top peaks and who drove
them (as aggregates by usage, for the governance gate), monthly losses and threshold alerts. Per series:
data health (stopped feeds, stuck meters, impossible values, gaps), each with since-when.

Every read goes through :mod:`regie.governance.gate`. A transformer's load, a plant's output and the weather
describe no one (:func:`gate.read_open`). The delivery points behind a transformer are households: losses
need only Σ downstream metered energy and the peaks only sums by usage group, so both come from
:func:`gate.read_aggregate`, which logs one entry per call and masks, by statistical secrecy, every month
or peak × group that fails the rule for a caller without a grant for every contributor (masked cells
carry their reason). Data health of a personal series needs when readings came, not what they said: its
timestamps come from :func:`gate.read_presence` (logged, no values), so the value checks (stuck meter,
impossible value) run only on series that describe no one — a personal series' entry says so
(``values_checked: false``).

Who asks: each function takes the ``caller`` (the viewer of a page, with no reason: secrecy applies even
to an admin) or, by default, :data:`SUPERVISION`, the régie itself supervising its grid (``regie
supervise``, ``regie report``, the alert channels), an admin of the gate with its stated reason, whose
figures are exact and whose reads are logged under its own name. The pure figures come from
:mod:`regie.analytics.grid` and :mod:`regie.analytics.health`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from regie.analytics import grid, health
from regie.governance import gate, secrecy
from regie.governance.accounts import Account
from regie.governance.system_accounts import SUPERVISION
from regie.model import IntervalConvention, Series, SeriesKind, Transformer
from regie.model.calendar import period_starts
from regie.publication import grid as published_grid
from regie.store import Store

#: Enedis publishes a day's load curve the next day (Data Connect, SGE R63): a series stamped by the
#: interval's end comes from Enedis and is stale only past two days; others are live feeds.
ENEDIS_MAX_AGE_S = 2 * 86_400
LOOKBACK_S = 31 * 86_400  # how far back to look for the last reading of a silent feed
STUCK_HOURS = {"temperature": 24.0, "default": 6.0}
USAGE_GROUPS = ("residential", "professional", "public", "production")
PURPOSE = "dpv:ServiceMonitoring"  # supervising the local grid (consent.PURPOSES)
SUPERVISION_REASON = "grid supervision by the régie: losses, peaks and data health"


class SupervisionRequestError(ValueError):
    """The transformer or period asked for cannot be supervised (says which and why)."""


@dataclass(frozen=True, slots=True)
class _Grid:
    a: int
    b: int
    step: int

    @property
    def n(self) -> int:
        return (self.b - self.a) // self.step

    @property
    def t(self) -> np.ndarray:
        return self.a + self.step * np.arange(self.n, dtype=np.int64)

    def place(self, t: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Raw readings onto the grid (NaN where none; a finer series is averaged per cell)."""
        out = np.full(self.n, np.nan)
        if len(t) == 0:
            return out
        idx = (np.asarray(t, dtype=np.int64) - self.a) // self.step
        ok = (idx >= 0) & (idx < self.n)
        idx, v = idx[ok], np.asarray(v, dtype=np.float64)[ok]
        s = np.bincount(idx, weights=v, minlength=self.n)
        c = np.bincount(idx, minlength=self.n)
        np.divide(s, c, out=out, where=c > 0)
        return out


def _bounds(start: datetime, end: datetime) -> tuple[int, int]:
    if start.tzinfo is None or end.tzinfo is None:
        raise SupervisionRequestError("start and end must carry a time zone")
    a, b = int(start.timestamp()), int(end.timestamp())
    if b <= a:
        raise SupervisionRequestError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    return a, b


def _load_series(series: list[Series], tr: Transformer) -> Series:
    for s in series:
        if s.kind is SeriesKind.TRANSFORMER_LOAD and s.transformer_id == tr.id and s.unit == "W":
            return s
    raise SupervisionRequestError(f"transformer {tr.id} has no load series in W")


def _clean(x: float) -> float | None:
    return round(float(x), 6) if np.isfinite(x) else None


def _who(caller: Account | None, reason: str | None) -> tuple[Account, str | None]:
    """The caller and reason to give the gate: the régie itself with its reason unless a caller is named."""
    return (SUPERVISION, SUPERVISION_REASON) if caller is None else (caller, reason)


def _usage_group(s: Series, usage: Mapping[str, str]) -> str:
    if s.kind is SeriesKind.PRODUCTION:
        return "production"
    u = usage.get(s.prm or "", "residential")
    return u if u in USAGE_GROUPS else "residential"


def transformer_report(
    store: Store,
    transformer_id: str,
    start: datetime,
    end: datetime,
    thresholds: grid.Thresholds | None = None,
    n_peaks: int = 5,
    *,
    caller: Account | None = None,
    reason: str | None = None,
    territory_id: str | None = None,
) -> dict[str, Any]:
    """Loading stats, duration curve, top peaks with contributions by usage, monthly losses and alerts.

    Downstream sums come through :func:`gate.read_aggregate` (may raise :class:`gate.AccessDenied`); a month
    or a peak × usage cell that secrecy masks for ``caller`` is ``None`` with its reason.
    """
    who, why = _who(caller, reason)
    inv = store.load_inventory(territory_id)
    zone = inv.territory.zone
    a, b = _bounds(start, end)
    th = thresholds or grid.Thresholds()
    tr = next((x for x in inv.transformers if x.id == transformer_id), None)
    if tr is None:
        raise SupervisionRequestError(f"unknown transformer {transformer_id!r}")
    load_s = _load_series(inv.series, tr)
    if load_s.step is None or load_s.step.is_calendar:
        raise SupervisionRequestError(f"load series {load_s.id} needs a fixed step")
    step = load_s.step.seconds
    a, b = a - a % step, b - b % step
    g = _Grid(a, b, step)
    t = g.t
    p_tr = g.place(*gate.read_open(store, load_s.id, a, b))
    load = grid.loading(p_tr, tr.rated_kva, tr.power_factor)
    peaks = grid.top_peaks(t, p_tr, n_peaks, 86_400, tr.rated_kva, tr.power_factor)
    peak_idx = np.array([(p.t - a) // step for p in peaks], dtype=np.int64)
    months = period_starts(a, b - 1, "month", zone)
    grp = np.searchsorted(months, t, side="right") - 1
    n_months = len(months) - 1

    # Downstream: Σ consumption − Σ injection of the points it feeds, complete steps only, as one aggregate.
    usage = {d.prm: d.usage for d in inv.delivery_points}
    feeds = set(tr.prms)
    down = [s for s in inv.series if s.prm in feeds and s.unit == "W"
            and s.kind in (SeriesKind.CONSUMPTION, SeriesKind.PRODUCTION)]  # fmt: skip
    downstream = np.full(g.n, np.nan)
    month_masks: list[str | None] = [None] * n_months
    if down:
        injection = {s.id for s in down if s.kind is SeriesKind.PRODUCTION}
        agg = gate.read_aggregate(store, who, {"downstream": [s.id for s in down]}, a, b, step, PURPOSE,
                                  rows=grp, negative=injection, reason=why)  # fmt: skip
        downstream = np.where(agg.complete[:, 0], agg.values[:, 0], np.nan)
        month_masks = [agg.reasons[m, 0] for m in range(n_months)]
        if agg.protected and any(m is None for m in month_masks):  # secrecy applies: sums of frozen cells only
            fig = published_grid.frozen(store, f"downstream:{tr.id}", down, a, b, step, injection)
            downstream = np.where(agg.complete[:, 0] & ~fig.hidden, fig.value, np.nan)
            month_masks = [why or (secrecy.SECONDARY if fig.hidden[grp == m].any() else None)
                           for m, why in enumerate(month_masks)]  # fmt: skip
    values = np.zeros((len(peaks), len(USAGE_GROUPS)))
    counts = np.zeros((len(peaks), len(USAGE_GROUPS)), dtype=np.int64)
    reasons: list[list[str | None]] = [[None] * len(USAGE_GROUPS) for _ in peaks]
    if down and len(peaks):
        rows = np.full(g.n, -1, dtype=np.int64)
        rows[peak_idx] = np.arange(len(peaks))
        by_usage = {u: [s.id for s in down if _usage_group(s, usage) == u] for u in USAGE_GROUPS}
        pk = gate.read_aggregate(store, who, by_usage, a, b, step, PURPOSE, rows=rows, reason=why)
        counts = pk.counts
        at_peaks, primary = pk.values[peak_idx], pk.reasons.copy()
        if pk.protected:  # each group's value at a peak is a frozen cell (regie.publication.grid)
            series = {s.id: s for s in down}
            for j, u in enumerate(pk.groups):
                if by_usage[u] and any(x is None for x in primary[:, j]):  # a masked group needs no reading
                    fig = published_grid.frozen(store, f"peak:{tr.id}:{u}", [series[i] for i in by_usage[u]], a, b,
                                                step)  # fmt: skip
                    at_peaks[:, j] = fig.value[peak_idx]
                    primary[:, j] = [x or y for x, y in zip(primary[:, j], fig.reason[peak_idx], strict=True)]
        # The transformer's load at each peak is published: the masked groups of a row must pass together.
        protected = secrecy.protect_published_totals(primary, counts)
        values = np.where(protected[np.arange(len(peaks))] != None, np.nan, at_peaks)  # noqa: E711
        reasons = protected.tolist()

    lo = grid.losses(p_tr, downstream, step, grp, n_months)
    m_starts = np.maximum(months[:-1], a)
    m_ends = np.minimum(months[1:], b)
    hidden = np.array([m is not None for m in month_masks], dtype=bool)

    alerts = grid.overload_alerts(tr.id, t, load, step, th.loading, th.min_steps)
    hidden_starts = set(m_starts[hidden].tolist())  # a loss alert would tell a masked month's ratio
    alerts += [x for x in grid.loss_alerts(tr.id, m_starts, m_ends, lo, th.loss_ratio) if x.since not in hidden_starts]
    stats = grid.loading_stats(load, step)
    hours, curve = grid.duration_curve(load, step)
    hours_s, curve_s = grid.sample_curve(hours, curve)

    def iso(x: int) -> str:
        return datetime.fromtimestamp(int(x), zone).isoformat()

    return {
        "transformer": tr.id,
        "name": tr.name,
        "rated_kva": tr.rated_kva,
        "power_factor": tr.power_factor,
        "delivery_points": len(tr.prms),
        "start": iso(a),
        "end": iso(b),
        "step_s": step,
        "thresholds": {"loading": th.loading, "min_steps": th.min_steps, "loss_ratio": th.loss_ratio},
        "loading": {
            "max": _clean(stats.max), "mean": _clean(stats.mean), "p95": _clean(stats.p95),
            "p99": _clean(stats.p99), "hours_over_100": stats.hours_over_100,
            "hours_over_threshold": grid.hours_above(load, step, th.loading),
            "steps": stats.steps, "missing_steps": stats.missing_steps,
        },
        "duration_curve": {"hours": [round(float(h), 3) for h in hours_s],
                           "loading": [round(float(x), 5) for x in curve_s]},
        "peaks": [{"t": iso(p.t), "power_w": p.power_w, "loading": _clean(p.loading)} for p in peaks],
        # Through the gate: rows = peaks, columns = usage groups; None where secrecy masked the cell (reasons).
        "peak_contributions": {
            "groups": list(USAGE_GROUPS),
            "values_w": [[_clean(x) for x in r] for r in np.asarray(values, dtype=np.float64).round(3)],
            "counts": np.asarray(counts).tolist(),
            "reasons": reasons,
        },
        "losses": {
            "month": [iso(x) for x in months[:-1]],
            "transformer_wh": [_clean(x) for x in lo.transformer_wh],
            "downstream_wh": [None if h else _clean(x) for x, h in zip(lo.downstream_wh, hidden, strict=True)],
            "loss_wh": [None if h else _clean(x) for x, h in zip(lo.loss_wh, hidden, strict=True)],
            "ratio": [None if h else _clean(x) for x, h in zip(lo.ratio, hidden, strict=True)],
            "coverage": [None if h else _clean(x) for x, h in zip(lo.coverage, hidden, strict=True)],
            "masked": month_masks,
            # A total over a masked month would give that month away by subtraction.
            "total_loss_wh": None if hidden.any() else _clean(float(lo.loss_wh.sum())),
            "through_wh": [_clean(x) for x in lo.through_wh],
            "total_ratio": _clean(float(lo.loss_wh.sum() / lo.through_wh.sum()))
            if lo.through_wh.sum() > 0 and not hidden.any() else None,
        },
        "alerts": [_alert_dict(x, zone) for x in alerts],
    }


def peak_contributors(
    store: Store, transformer_id: str, t: int, *, caller: Account | None = None, reason: str | None = None,
    territory_id: str | None = None,
) -> dict[str, float | str | None]:  # fmt: skip
    """Share of each usage group (residential, professional, public, production) in the transformer's load at
    step ``t`` [UTC s], read as one aggregate through the gate: a group that secrecy masks for ``caller``
    maps to the reason instead of a share; a group without points is absent. Never one point's share.
    ``territory_id``: the territory that holds the transformer (default: the store's only or first one).
    """
    who, why = _who(caller, reason)
    inv = store.load_inventory(territory_id)
    tr = next((x for x in inv.transformers if x.id == transformer_id), None)
    if tr is None:
        raise SupervisionRequestError(f"unknown transformer {transformer_id!r}")
    load_s = _load_series(inv.series, tr)
    step = load_s.step.seconds if load_s.step and not load_s.step.is_calendar else 1800
    _, p = gate.read_open(store, load_s.id, t, t + step)
    usage = {d.prm: d.usage for d in inv.delivery_points}
    feeds = set(tr.prms)
    down = [s for s in inv.series if s.prm in feeds and s.unit == "W"
            and s.kind in (SeriesKind.CONSUMPTION, SeriesKind.PRODUCTION)]  # fmt: skip
    by_usage = {u: [s.id for s in down if _usage_group(s, usage) == u] for u in USAGE_GROUPS}
    by_usage = {u: ids for u, ids in by_usage.items() if ids}
    if not by_usage:
        return {}
    injection = {s.id for s in down if s.kind is SeriesKind.PRODUCTION}
    agg = gate.read_aggregate(store, who, by_usage, t, t + step, step, PURPOSE, negative=injection, reason=why)
    reasons = secrecy.protect_published_totals(agg.reasons, agg.counts)[0]  # the load at t is published
    sums = {u: float(agg.values[0, j]) for j, u in enumerate(agg.groups) if reasons[j] is None}
    shares = grid.peak_shares(sums, float(p.mean()) if len(p) else 0.0)
    return {u: (shares.get(u) if reasons[j] is None else str(reasons[j])) for j, u in enumerate(agg.groups)}


def health_config(s: Series, overrides: Mapping[str, health.HealthConfig] | None = None) -> health.HealthConfig | None:
    """How regie judges a series by default: expected step and arrival, stuck window, physical limits."""
    if overrides and s.id in overrides:
        return overrides[s.id]
    if s.step is None:
        return None
    step = s.step.seconds or (86_400 * s.step.days or 31 * 86_400 * s.step.months)
    max_age = ENEDIS_MAX_AGE_S if s.convention is IntervalConvention.END else step
    hours = STUCK_HOURS.get(s.kind.value, STUCK_HOURS["default"])
    # Enedis curves are computed by the Linky itself: a flat stretch there is a vacant home or a plant at
    # standby, not a frozen sensor. The stuck check is for live sensors (emoncms, MQTT, thermometers).
    enedis = s.convention is IntervalConvention.END
    stuck = max(3, int(hours * 3600 // step)) if not s.step.is_calendar and not enedis else 0
    ignore = (0.0,) if s.unit in ("W", "Wh", "VA", "A") else ()  # zero power is a state: night, heating off
    return health.HealthConfig(step_s=step, max_age_s=max(max_age, step), stuck_steps=stuck, stuck_ignore=ignore,
                               stuck_atol=s.resolution / 2, limits=health.physical_limits(s.kind.value, s.unit),
                               gap_tolerance=1.1 if s.step.is_calendar else 1.5, unit=s.unit)


def data_health(
    store: Store,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    overrides: Mapping[str, health.HealthConfig] | None = None,
    *,
    caller: Account | None = None,
    territory_id: str | None = None,
) -> list[dict[str, Any]]:
    """Health of every series with a step over [start, end), judged at ``now`` (default: ``end``).

    Series that describe no one are read whole; personal series only as timestamps, in one logged
    :func:`gate.read_presence` (may raise :class:`gate.AccessDenied`): arrival, gaps and completeness are
    judged for them, stuck and impossible values are not (``values_checked`` says which).
    """
    who, _ = _who(caller, None)
    inv = store.load_inventory(territory_id)
    zone = inv.territory.zone
    a, b = _bounds(start, end)
    at = int((now or end).timestamp())
    out = []

    def iso(x: int) -> str:
        return datetime.fromtimestamp(int(x), zone).isoformat()

    judged = [(s, cfg) for s in inv.series if (cfg := health_config(s, overrides)) is not None]
    personal = [s.id for s, _ in judged if gate.is_personal(store, s)]
    presence = gate.read_presence(store, who, personal, a, b, PURPOSE, lookback=LOOKBACK_S) if personal else None
    # First readings ever (chunk metadata, no value): a sensor installed later is "not started", not "stopped".
    firsts: dict[str, int | None] = dict(store.first_readings([s.id for s, _ in judged if s.id not in personal]))
    if presence is not None:
        firsts.update(presence.first)
    for s, cfg in judged:
        if presence is not None and s.id in presence.t:
            t = presence.t[s.id]
            v = np.full(len(t), np.nan)  # never read: the value checks are switched off below
            cfg = replace(cfg, stuck_steps=0, limits=None)
            t_before = presence.last_before[s.id]
            checked = False
        else:
            t, v = gate.read_open(store, s.id, a, b)
            t_before = None
            if len(t) == 0 or t[0] > a + cfg.step_s:
                t_prev, _ = gate.read_open(store, s.id, a - LOOKBACK_S, a)
                t_before = int(t_prev[-1]) if len(t_prev) else None
            checked = True
        # A feed silent at the window's start: when did it last speak before? (None: judged from its first
        # reading ever, which health.check_series takes as t_first.)
        t_last = t_before if (len(t) == 0 or t[0] > a + cfg.step_s) else None
        first_ever = firsts.get(s.id)
        r = health.check_series(s.id, t, v, a, b, at, cfg, t_last,
                                t_first=health.NO_READING_YET if first_ever is None else first_ever)
        out.append({
            "series": s.id,
            "kind": s.kind.value,
            "unit": s.unit,
            "step_s": cfg.step_s,
            "received": r.received,
            "expected": r.expected,
            "completeness": round(r.completeness, 6),
            "last_reading": None if r.last_reading is None else iso(r.last_reading),
            "gaps": [[iso(x.start), iso(x.end)] for x in r.gaps],
            "missing_s": r.missing_seconds,
            "values_checked": checked,
            "status": r.status.value,
            "first_reading": None if r.first_reading is None else iso(r.first_reading),
            "alerts": [_alert_dict(x, zone) for x in r.alerts],
        })
    return out


def _alert_dict(x: health.Alert, zone) -> dict[str, Any]:
    d = x.as_dict()
    d["since_ts"] = x.since
    d["since"] = datetime.fromtimestamp(x.since, zone).isoformat()
    d["until"] = None if x.until is None else datetime.fromtimestamp(x.until, zone).isoformat()
    d["value"] = _clean(x.value) if np.isfinite(x.value) else None
    return d


def supervision_report(
    store: Store,
    start: datetime,
    end: datetime,
    thresholds: Mapping[str, grid.Thresholds] | None = None,
    now: datetime | None = None,
    n_peaks: int = 5,
    include_health: bool = True,
    *,
    caller: Account | None = None,
    reason: str | None = None,
    territory_id: str | None = None,
) -> dict[str, Any]:
    """The territory's supervision over [start, end): every transformer's report, every series' health,
    and all alerts in one list (most recent first) for the alert channels; ``caller`` as in
    :func:`transformer_report` (default: the régie itself); ``territory_id``: default, the store's default."""
    inv = store.load_inventory(territory_id)
    th = thresholds or {}
    transformers = [transformer_report(store, tr.id, start, end, th.get(tr.id), n_peaks, caller=caller, reason=reason,
                                       territory_id=inv.territory.id)
                    for tr in inv.transformers]  # fmt: skip
    series_health = (data_health(store, start, end, now, caller=caller, territory_id=inv.territory.id)
                     if include_health else [])  # fmt: skip
    alerts = [{**al, "source": "grid"} for r in transformers for al in r["alerts"]]
    alerts += [{**al, "source": "data_health"} for h in series_health for al in h["alerts"]]
    alerts.sort(key=lambda x: x["since_ts"], reverse=True)
    return {
        "territory": inv.territory.id,
        "timezone": inv.territory.timezone,
        "start": start.astimezone(inv.territory.zone).isoformat(),
        "end": end.astimezone(inv.territory.zone).isoformat(),
        "transformers": transformers,
        "health": series_health,
        "alerts": alerts,
    }


def weather_series(store: Store, series_id: str, start: datetime, end: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Raw readings of a series that describes no one (outdoor temperature), for the savings baseline.

    Refuses a personal series (:func:`regie.governance.gate.personal_prms`): those go through
    :func:`regie.governance.gate.read_personal`.
    """
    s = store.series(series_id)
    if gate.is_personal(store, s):
        raise SupervisionRequestError(f"series {series_id} describes a data subject: read it through the gate")
    a, b = _bounds(start, end)
    return gate.read_open(store, s.id, a, b)


def transformer_load_profile(
    store: Store, transformer_id: str, start: datetime, end: datetime, territory_id: str | None = None
) -> dict[str, Any]:
    """Loading of a transformer per local day — highest and mean [-] — for a year-long chart against its rating.

    A transformer load is an aggregate of the dozens of points it feeds, not personal data. ``territory_id``:
    the territory that holds the transformer (default: the store's only or first one).
    """
    inv = store.load_inventory(territory_id)
    zone = inv.territory.zone
    tr = next((x for x in inv.transformers if x.id == transformer_id), None)
    if tr is None:
        raise SupervisionRequestError(f"unknown transformer {transformer_id!r}")
    load_s = _load_series(inv.series, tr)
    a, b = _bounds(start, end)
    t, p = gate.read_open(store, load_s.id, a, b)
    load = grid.loading(np.asarray(p, dtype=np.float64), tr.rated_kva, tr.power_factor)
    days = period_starts(a, b - 1, "day", zone)
    n = len(days) - 1
    idx = np.searchsorted(days, t, side="right") - 1
    ok = (idx >= 0) & (idx < n) & np.isfinite(load)
    peak, total = np.full(n, -np.inf), np.zeros(n)
    np.maximum.at(peak, idx[ok], load[ok])
    np.add.at(total, idx[ok], load[ok])
    count = np.bincount(idx[ok], minlength=n)[:n]
    return {
        "transformer": tr.id,
        "day": [datetime.fromtimestamp(int(x), zone).date().isoformat() for x in days[:-1]],
        "max": [_clean(x) if c else None for x, c in zip(peak, count, strict=True)],
        "mean": [_clean(x / c) if c else None for x, c in zip(total, count, strict=True)],
    }
