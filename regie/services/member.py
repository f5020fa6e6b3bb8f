"""A member's dashboard: their consumption over a calendar period and the same period last year, the local
share of it, its estimated cost under their tariff option, how similar homes compare, and the collective
self-consumption operations they take part in.

Where each figure comes from, and why:

- the member's consumption: their own series read through the gate *as the member*
  (:func:`regie.governance.gate.read_personal`, purpose dpv:ServiceProvision), so each view is in their
  access log, as every other read on ``/me``;
- the territory's self-sufficiency at each metering step: the *published* cells
  (:func:`regie.publication.balance.publication`, what the public balance sums): a step secrecy hides stays
  unknown and the member is told how much of their consumption fell on such steps;
- the cost: the regulated sale tariffs (TRV, one dated file per version in ``regie/data/tariffs``) and the
  Tempo calendar file; a day no recorded version covers is left unpriced, never priced with another's figures;
- similar homes: only the publication's frozen monthly cells of the member's subscribed-power class
  (:mod:`regie.publication.similar_homes`: at least 10 homes, none above 85 %, judged when a cell is first
  published, then frozen with the homes it counted); a month or a year, shown only when every month's cell
  is, else not shown and why. Never computed per request: two reads around a home joining the class, or two
  periods, would differ by one household.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from regie.analytics import household as hh
from regie.analytics import tariffs
from regie.analytics.tempo import parse_calendar
from regie.governance import gate
from regie.governance.acc_access import held_participant_prms
from regie.governance.accounts import Account
from regie.model import Inventory, Series, SeriesKind
from regie.publication import similar_homes as similar
from regie.publication.balance import publication
from regie.services.balance import BalanceRequestError, base_step
from regie.store import Store
from regie.store.operations import load_operation, operation_ids
from regie.store.timeseries import ArchivedYear

OWN_PURPOSE = "dpv:ServiceProvision"
TARIFF_KINDS = {"base": "trv_base", "hphc": "trv_hphc", "tempo": "trv_tempo"}
TEMPO_FILE = "tempo-demo.csv"


# ---------------------------------------------------------------- time grid


def local_midnight(d: date, zone: ZoneInfo) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())


def _bar_starts(kind: str, first: date, end: date, zone: ZoneInfo, base: int) -> list[int]:
    a, b = local_midnight(first, zone), local_midnight(end, zone)
    bar = hh.BAR_OF[kind]
    if bar == "step":
        return list(range(a, b, base))
    if bar == "day":
        return [local_midnight(first + timedelta(days=i), zone) for i in range((end - first).days)]
    return [local_midnight(date(first.year, m, 1), zone) for m in range(1, 13)]


def _bar_label(kind: str, t: int, zone: ZoneInfo) -> str:
    fmt = {"step": "%H:%M", "day": "%Y-%m-%d", "month": "%Y-%m"}[hh.BAR_OF[kind]]
    return datetime.fromtimestamp(t, zone).strftime(fmt)


# ---------------------------------------------------------------- reads


def consumption_series(store: Store, holder_id: str) -> list[Series]:
    """The holder's consumption load curves (mean power [W] at a fixed step)."""
    return [s for s in gate.personal_series(store, holder_id)
            if s.kind is SeriesKind.CONSUMPTION and s.unit == "W" and s.step is not None
            and not s.step.is_calendar]  # fmt: skip


def my_consumption(store: Store, account: Account, series: list[Series], a: int, b: int, base: int,
                   seen: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The member's consumption [Wh] per metering step over [a, b), all their consumption series summed, read
    through the gate as the member (each read logged); steps outside what they may read stay 0. ``seen``, when
    given (booleans, one per step), is set where a reading was found: a period with none is "no data", not 0 Wh."""
    n = (b - a) // base
    out = np.zeros(n)
    for s in series:
        level = gate.level_for(s, gate.Granularity("PT30M") if base % 1800 == 0 else gate.Granularity.RAW)
        try:
            d = gate.read_personal(store, account, s.id, a, b, level, OWN_PURPOSE)
        except gate.AccessDenied:
            continue
        t = np.asarray(d.t, dtype=np.int64)
        wh = np.asarray(d.values, dtype=float) * np.asarray(d.count, dtype=float) * s.step.seconds / 3600.0
        idx = (t - a) // base
        ok = (idx >= 0) & (idx < n) & np.isfinite(wh)
        out += np.bincount(idx[ok], weights=wh[ok], minlength=n)[:n]
        if seen is not None:
            seen[idx[ok]] = True
    return out


def public_self_sufficiency(store: Store, inv: Inventory, a: int, b: int, base: int) -> np.ndarray:
    """The territory's self-sufficiency per metering step over [a, b) from the published cells (NaN where the
    publication hides it or nothing was consumed).

    At the metering step this is what :func:`regie.publication.balance.public_balance` shows step by step (the
    tests hold the two equal), read straight from the cells: the balance's per-period strings cost seconds over
    a year of half-hours. A step is hidden when its consumption cell is, when a personal source's production
    cell is, or everywhere when a source may not be published at all (:mod:`regie.publication.masking`)."""
    n = (b - a) // base
    pub = publication(store, inv.territory.id)
    if pub is None or pub.base != base:
        return np.full(n, np.nan)

    def window(values: np.ndarray) -> np.ndarray:
        out = np.full(n, np.nan)
        shift = (pub.a - a) // base
        lo, hi = max(0, shift), min(n, shift + len(values))
        if hi > lo:
            out[lo:hi] = values[lo - shift : hi - shift]
        return out

    producers = {p.id: p.source.value for p in inv.producers}
    sources = {producers.get(s.producer_id or "", "other") for s in inv.series
               if s.kind is SeriesKind.PRODUCTION and s.unit == "W"}  # fmt: skip
    if sources - set(pub.production):  # a source that is not published hides the production total
        return np.full(n, np.nan)
    cons = window(pub.consumption.value)
    prod = np.zeros(n)
    for src in sources:
        prod += window(np.asarray(pub.production[src], dtype=float))
    return hh.self_sufficiency_per_step(cons * base / 3600.0, prod * base / 3600.0)


# ---------------------------------------------------------------- tariffs


@cache
def tempo_calendar() -> dict[date, str]:
    """The Tempo calendar shipped with regie (the demo's generated one: see the file's first lines)."""
    path = resources.files("regie.data") / "tariffs" / TEMPO_FILE
    return parse_calendar(path.read_text(encoding="utf-8"), TEMPO_FILE)


@dataclass(frozen=True, slots=True)
class CostView:
    option: str
    eur: float | None
    priced_wh: float
    unpriced_wh: float
    sources: tuple[str, ...]
    illustrative: bool
    missing: tuple[str, ...]  # why some days have no price


def estimate_cost(option: str, wh: np.ndarray, a: int, base: int, zone: ZoneInfo) -> CostView:
    """The energy part of the bill under the regulated tariff ``option`` (subscription not included)."""
    kind = TARIFF_KINDS[option]
    t = a + base * np.arange(len(wh), dtype=np.int64)
    local = [datetime.fromtimestamp(int(x), zone) for x in t]
    hour = np.array([x.hour + x.minute / 60 for x in local])
    days = [x.date() for x in local]
    tempo_day = [(x - timedelta(hours=hh.TEMPO_DAY_STARTS_AT)).date() for x in local]
    calendar = tempo_calendar() if option == "tempo" else {}
    colours = np.array([calendar.get(d, "") for d in tempo_day], dtype=object) if option == "tempo" else None
    price = np.full(len(wh), np.nan)
    sources: dict[str, None] = {}
    missing: dict[str, None] = {}
    illustrative = False
    ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
    versions: dict[str, tuple[tariffs.Parameters, list[int]]] = {}
    for o in np.unique(ordinals).tolist():
        try:
            p = tariffs.load_parameters(kind, date.fromordinal(o), allow_illustrative=True)
        except (LookupError, ValueError) as exc:  # one line per reason, not per day
            day = date.fromordinal(o).isoformat()
            missing[str(exc).replace(f" on {day}", "").replace(f" (asked for {day})", "")] = None
            continue
        versions.setdefault(p.file, (p, []))[1].append(o)
    for p, days_in in versions.values():
        illustrative |= p.illustrative
        sources[p.cite()] = None
        sel = np.isin(ordinals, days_in)
        price[sel] = hh.step_prices(option, hour[sel], None if colours is None else colours[sel], p.values)
    if colours is not None and np.any(colours == ""):
        missing["no Tempo colour recorded for some days (the calendar file)"] = None
    cost = hh.energy_cost(wh, price)
    eur = cost.eur if cost.priced_wh > 0 or cost.unpriced_wh == 0 else None
    return CostView(option, eur, cost.priced_wh, cost.unpriced_wh, tuple(sources), illustrative, tuple(missing))


# ---------------------------------------------------------------- similar homes


@dataclass(frozen=True, slots=True)
class Similar:
    size_class: str | None
    homes: int
    mean_wh: float | None  # per home over the period
    reason: str | None  # why not shown
    months: tuple[dict[str, Any], ...] = ()  # the published monthly cells it is made of


def _my_class(inv: Inventory, holder_id: str) -> str | None:
    held = {m.prm for m in inv.memberships if m.holder_id == holder_id and m.until is None}
    homes = [d for d in inv.delivery_points if d.prm in held and d.usage == "residential"]
    classes = {hh.size_class(d.subscribed_kva) for d in homes}
    classes.discard(None)
    return next(iter(classes)) if len(classes) == 1 else None


def similar_homes(store: Store, inv: Inventory, holder_id: str, first: date, end: date) -> Similar:
    """The mean consumption of a home of the member's size class over [first, end) (whole calendar months),
    read only from the publication's frozen monthly cells (:mod:`regie.publication.similar_homes`): shown when
    every month's cell is, else not shown and why."""
    cls = _my_class(inv, holder_id)
    if cls is None:
        return Similar(None, 0, None, "no_class")
    c = similar.compare(similar.publication(store, inv), cls, similar.months_of(first, end))
    return Similar(cls, c.homes, c.mean_wh, c.reason, c.months)


# ---------------------------------------------------------------- the dashboard


@dataclass
class Dashboard:
    """Everything ``/me``'s dashboard and ``/api/me/dashboard`` show (see the module docstring)."""

    kind: str
    anchor: date
    first: date
    end: date
    last_year: tuple[date, date]
    previous: date
    following: date
    bars: list[dict[str, Any]] = field(default_factory=list)
    consumption_wh: float = 0.0
    last_year_wh: float | None = None  # None: no reading over the same period last year
    local: hh.LocalShare | None = None
    cost: CostView | None = None
    similar: Similar | None = None
    operations: list[dict[str, str]] = field(default_factory=list)
    compare_kinds: tuple[str, ...] = ("month", "year")

    def as_dict(self) -> dict[str, Any]:
        local = None
        if self.local is not None:
            local = {"consumption_wh": round(self.local.consumption_wh, 3), "local_wh": round(self.local.local_wh, 3),
                     "unknown_wh": round(self.local.unknown_wh, 3), "unknown_steps": self.local.unknown_steps,
                     "share": self.local.share}  # fmt: skip
        cost = None
        if self.cost is not None:
            c = self.cost
            cost = {"option": c.option, "eur": None if c.eur is None else round(c.eur, 2),
                    "priced_wh": round(c.priced_wh, 3), "unpriced_wh": round(c.unpriced_wh, 3),
                    "illustrative": c.illustrative, "sources": list(c.sources), "missing": list(c.missing),
                    "subscription_included": False}  # fmt: skip
        similar = None
        if self.similar is not None:
            s = self.similar
            similar = {"size_class": s.size_class, "homes": s.homes if s.reason is None else None,
                       "mean_wh": None if s.mean_wh is None else round(s.mean_wh, 3), "masked": s.reason,
                       "months": list(s.months)}  # fmt: skip
        return {
            "period": {
                "kind": self.kind,
                "start": self.first.isoformat(),
                "end": self.end.isoformat(),
                "last_year": [d.isoformat() for d in self.last_year],
            },
            "consumption_wh": round(self.consumption_wh, 3),
            "last_year_wh": None if self.last_year_wh is None else round(self.last_year_wh, 3),
            "bars": self.bars,
            "local_share": local,
            "cost": cost,
            "similar": similar,
            "operations": self.operations,
        }


def data_end_day(store: Store, zone: ZoneInfo) -> date | None:
    """The last local day with data in the store."""
    p = store.data_period()
    if p is None:
        return None
    return datetime.fromtimestamp(int(p[1].timestamp()) - 1, zone).date()


def my_operations(store: Store, inv: Inventory, holder_id: str) -> list[dict[str, str]]:
    """The collective self-consumption operations the holder takes part in (their page: /acc/OP/me)."""
    out = []
    for op_id in operation_ids(store):
        op = load_operation(store, op_id).operation
        if held_participant_prms(inv, holder_id, op):
            out.append({"id": op.id, "name": op.name, "href": f"/acc/{op.id}/me"})
    return out


def dashboard(store: Store, account: Account, inv: Inventory, kind: str, anchor: date | None,
              option: str) -> Dashboard:  # fmt: skip
    """The member's dashboard for the ``kind`` period holding ``anchor`` (default: the last day with data)."""
    if kind not in hh.PERIOD_KINDS:
        raise ValueError(f"period: {kind!r} is not one of {', '.join(hh.PERIOD_KINDS)}")
    if option not in TARIFF_KINDS:
        raise ValueError(f"tariff option: {option!r} is not one of {', '.join(TARIFF_KINDS)}")
    zone = inv.territory.zone
    holder = account.holder_id or ""
    anchor = anchor or data_end_day(store, zone) or date.today()
    first, end = hh.period_bounds(kind, anchor)
    ly = hh.same_period_last_year(kind, anchor)
    board = Dashboard(kind, anchor, first, end, ly, hh.shift_period(kind, anchor, -1), hh.shift_period(kind, anchor, 1))
    board.operations = my_operations(store, inv, holder)
    series = consumption_series(store, holder)
    loads = [s for s in inv.series if s.unit == "W" and s.kind in (SeriesKind.CONSUMPTION, SeriesKind.PRODUCTION)]
    if not series or not loads:
        return board
    try:
        base = base_step(loads)
    except BalanceRequestError:  # no load curve at a fixed step: nothing to sum per step
        return board
    a, b = local_midnight(first, zone), local_midnight(end, zone)
    la, lb = local_midnight(ly[0], zone), local_midnight(ly[1], zone)
    wh = my_consumption(store, account, series, a, b, base)
    seen_ly = np.zeros((lb - la) // base, dtype=bool)
    try:
        wh_ly = my_consumption(store, account, series, la, lb, base, seen_ly)
    except ArchivedYear:  # last year moved to the lake (regie archive): not here to compare with
        seen_ly[:] = False
        wh_ly = np.zeros(len(seen_ly))
    board.consumption_wh = float(wh.sum())
    board.last_year_wh = float(wh_ly.sum()) if seen_ly.any() else None
    starts = _bar_starts(kind, first, end, zone, base)
    starts_ly = _bar_starts(kind, ly[0], ly[1], zone, base)
    t = a + base * np.arange(len(wh), dtype=np.int64)
    t_ly = la + base * np.arange(len(wh_ly), dtype=np.int64)
    per_bar = np.bincount(np.searchsorted(starts, t, side="right") - 1, weights=wh, minlength=len(starts))
    per_bar_ly = np.bincount(np.searchsorted(starts_ly, t_ly, side="right") - 1, weights=wh_ly,
                             minlength=len(starts_ly))  # fmt: skip
    seen_bar_ly = np.bincount(np.searchsorted(starts_ly, t_ly, side="right") - 1, weights=seen_ly,
                              minlength=len(starts_ly)) > 0  # fmt: skip
    for i, s in enumerate(starts):
        before = round(float(per_bar_ly[i]), 3) if i < len(per_bar_ly) and seen_bar_ly[i] else None
        label = _bar_label(kind, s, zone)
        board.bars.append({"label": label, "wh": round(float(per_bar[i]), 3), "last_year_wh": before})
    ss = public_self_sufficiency(store, inv, a, b, base)
    board.local = hh.local_share(wh, ss)
    board.cost = estimate_cost(option, wh, a, base, zone)
    if kind in board.compare_kinds:
        board.similar = similar_homes(store, inv, holder, first, end)
    return board


def month_bounds(month: str) -> tuple[date, date]:
    """[first day, first day of the next month) of ``YYYY-MM``; ValueError saying what is wrong."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"month: {month!r} is not YYYY-MM") from None
    return hh.period_bounds("month", first)
