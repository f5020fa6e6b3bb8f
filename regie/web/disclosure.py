"""What the public may see of the territory's aggregates: statistical secrecy applied (décret n° 2020-196).

The rule (see :mod:`regie.governance.secrecy` for its sources): an aggregate of delivery points is
published when it counts at least 10 points and no single point makes more than 85 % of it; otherwise the
cell is masked, with the reason, and further cells are masked so that no masked cell can be recovered from
the published totals (secondary suppression).

How regie applies it to the public face:

- **Consumption by usage and month** (``/api/territory/consumption-by-usage``): a table of residential,
  professional and public consumption per month, protected cell by cell with :func:`secrecy.protect`; its
  margins are published only when neither they nor any row's, column's or the table's group of masked cells
  that they give by subtraction fails the rule (:func:`_safe_margins`: ``protect`` alone publishes them all).
- **The whole territory's consumption** (the headline of the territory page and ``/api/balance``): one cell
  of every consumption point. :func:`territory_disclosure` says whether it passes the same rule; a village
  passes it easily, a test territory of two houses does not. (The territory page and ``/api/balance``
  belong to the spine; masking them when this verdict fails is their owner's one-line change.)
- **Production by source**: a plant held by the régie, the commune or another public body is published by
  its owner's own choice (the régie publishes its own hydro plant's output; no one's privacy is at stake).
  A source with any plant held by a *person* (rooftop PV) is personal data: its row obeys the count rule.

The per-point monthly totals behind the dominance rule are personal data: they are read through the gate
(:func:`regie.governance.gate.read_personal`) by the régie's statistics account, with the purpose "territorial
energy planning" and a stated reason, so each data subject sees in their access log that the régie computed
aggregates from their data. They are computed once per process and data period, and never leave this module.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from regie.governance import secrecy
from regie.governance.accounts import Account, Role
from regie.governance.gate import read_personal
from regie.model import Inventory, OrganisationKind, SeriesKind
from regie.store import Store
from regie.web import queries
from regie.web.api import load_inventory
from regie.web.deps import StoreDep

router = APIRouter(prefix="/api/territory", tags=["territory"])

#: The régie itself, computing aggregates for publication: an admin of the gate, always with its reason.
STATISTICS = Account(-2, "regie-statistics", Role.ADMIN)
PURPOSE = "dpv:CombatClimateChange"  # territorial energy planning
REASON = "statistical secrecy of published aggregates (décret 2020-196, INSEE dominance rule)"
USAGES = ("residential", "professional", "public")
PUBLIC_OWNERS = (OrganisationKind.REGIE, OrganisationKind.COMMUNE, OrganisationKind.PUBLIC_BODY)
_LOCK = threading.Lock()
RULE = secrecy.SecrecyRule()


def monthly_per_point(store: Store, inv: Inventory) -> pd.DataFrame:
    """One line per (month, usage, delivery point): its consumption [Wh], read through the gate at P1M."""
    period = queries.data_period(store, inv)
    columns = ["month", "usage", "prm", "value"]
    if period is None:
        return pd.DataFrame(columns=columns)
    usage = {d.prm: d.usage for d in inv.delivery_points}
    zone = inv.territory.zone
    a, b = int(period.first.timestamp()), int(period.end.timestamp())
    rows: list[tuple[str, str, str, float]] = []
    for s in inv.series:
        if s.kind is not SeriesKind.CONSUMPTION or s.prm is None or usage.get(s.prm) not in USAGES:
            continue
        d = read_personal(store, STATISTICS, s.id, a, b, "P1M", PURPOSE, reason=REASON)
        if d.unit == "W" and s.step is not None and not s.step.is_calendar:
            wh = d.values * d.count * s.step.seconds / 3600.0
        elif d.unit == "Wh":
            wh = d.values
        else:
            continue
        for t, v in zip(d.t.tolist(), wh.tolist(), strict=True):
            if np.isfinite(v):
                rows.append((datetime.fromtimestamp(int(t), zone).strftime("%Y-%m"), usage[s.prm], s.prm, max(v, 0.0)))
    return pd.DataFrame(rows, columns=columns)


def _cached(request: Request, store: Store, inv: Inventory) -> pd.DataFrame:
    """Per-point monthly totals, computed once per process and data period (each computation is logged)."""
    key = (store.data_period(), len(inv.series), len(inv.memberships))
    with _LOCK:
        cache: dict[Any, pd.DataFrame] = getattr(request.app.state, "disclosure_cache", {})
        if key not in cache:
            cache = {key: monthly_per_point(store, inv)}
            request.app.state.disclosure_cache = cache
        return cache[key]


# ---------------------------------------------------------------- consumption by usage


class CellOut(BaseModel):
    value_wh: float | None = Field(description="None when masked")
    points: int = Field(description="delivery points in the cell")
    masked: str | None = Field(description="why the cell is hidden: fewer_than_10, dominance or secondary")


class UsageTableOut(BaseModel):
    months: list[str] = Field(description="YYYY-MM, in the territory's zone")
    usages: list[str]
    cells: dict[str, list[CellOut]] = Field(description="by usage, one cell per month")
    month_totals_wh: list[float | None] = Field(description="None where a total had to be hidden")
    usage_totals_wh: dict[str, float | None]
    total_wh: float | None
    min_points: int
    max_share: float


def usage_table(per_point: pd.DataFrame, rule: secrecy.SecrecyRule = RULE) -> UsageTableOut:
    """The protected month × usage table (pure: from per-point lines to what may be published)."""
    if per_point.empty:
        return UsageTableOut(months=[], usages=[], cells={}, month_totals_wh=[], usage_totals_wh={}, total_wh=None,
                             min_points=rule.min_points, max_share=rule.max_share)  # fmt: skip
    t = secrecy.protect_contributions(per_point, "month", "usage", "value", "prm", rule)
    usages = [u for u in USAGES if u in t.values.columns]
    months = [str(m) for m in t.values.index]

    def num(x: float) -> float | None:
        return None if pd.isna(x) else float(x)

    cells = {
        u: [
            CellOut(value_wh=num(t.values.at[m, u]), points=int(t.counts.at[m, u]),
                    masked=t.reasons.at[m, u] if isinstance(t.reasons.at[m, u], str) else None)
            for m in t.values.index
        ]
        for u in usages
    }  # fmt: skip
    # A margin is itself an aggregate, and so is anything the published figures give by subtraction: the sum
    # of a row's or a column's masked cells, or of all of them (e.g. the months' totals minus the other columns'
    # totals give the last column's total). Margins are hidden until no such group that fails the primary rule
    # (a column of 4 public buildings summed over the year is still 4 points) can be computed.
    shown = _safe_margins(per_point, t, usages, rule)
    return UsageTableOut(
        months=months, usages=usages, cells=cells,
        month_totals_wh=[num(t.row_totals[m]) if ("month", m) in shown else None for m in t.values.index],
        usage_totals_wh={u: num(t.col_totals[u]) if ("usage", u) in shown else None for u in usages},
        total_wh=num(t.total) if ("total", "") in shown else None,
        min_points=rule.min_points, max_share=rule.max_share,
    )  # fmt: skip


def _safe_margins(
    per_point: pd.DataFrame, t: secrecy.ProtectedTable, usages: list[str], rule: secrecy.SecrecyRule
) -> set[tuple[str, str]]:
    """The margins that may be published: ("month", m), ("usage", u), ("total", "")."""
    months = list(t.values.index)
    masked = [(m, u) for m in months for u in usages if isinstance(t.reasons.at[m, u], str)]
    margins = {("month", m) for m in months if not pd.isna(t.row_totals[m])}
    margins |= {("usage", u) for u in usages if not pd.isna(t.col_totals[u])}
    margins |= {("total", "")} if not pd.isna(t.total) else set()
    # A margin must pass the rule itself.
    margins = {g for g in margins if _passes(_lines(per_point, g), rule)}
    if not masked:
        return margins
    index = {c: k for k, c in enumerate(masked)}

    def vector(cells: list[tuple[str, str]]) -> np.ndarray:
        v = np.zeros(len(masked))
        v[[index[c] for c in cells if c in index]] = 1.0
        return v

    def cells_of(g: tuple[str, str]) -> list[tuple[str, str]]:
        kind, key = g
        return [c for c in masked if kind == "total" or c[0 if kind == "month" else 1] == key]

    # Groups of masked cells an attacker would want: each row's, each column's, all of them; keep the failing ones.
    groups = [[c for c in masked if c[0] == m] for m in months] + [[c for c in masked if c[1] == u] for u in usages]
    groups.append(masked)
    failing = []
    for cells in groups:
        lines = per_point[[(m, u) in set(cells) for m, u in zip(per_point["month"], per_point["usage"], strict=True)]]
        if cells and not _passes(lines, rule):
            failing.append(vector(cells))

    def determined(v: np.ndarray, published: set[tuple[str, str]]) -> bool:
        rows = [vector(cells_of(g)) for g in published]
        a = np.array([r for r in rows if r.any()]) if any(r.any() for r in rows) else np.zeros((0, len(masked)))
        if not len(a):
            return False
        return np.linalg.matrix_rank(np.vstack([a, v])) == np.linalg.matrix_rank(a)

    order = sorted(margins, key=lambda g: {"total": 0, "usage": 1, "month": 2}[g[0]])
    for v in failing:
        while determined(v, margins):
            candidates = [g for g in order if g in margins]
            fix = next((g for g in candidates if not determined(v, margins - {g})), candidates[0])
            margins.discard(fix)
    return margins


def _lines(per_point: pd.DataFrame, margin: tuple[str, str]) -> pd.DataFrame:
    kind, key = margin
    return per_point if kind == "total" else per_point[per_point[kind] == key]


def _passes(lines: pd.DataFrame, rule: secrecy.SecrecyRule) -> bool:
    """Whether one aggregate of these lines passes the count and dominance rules."""
    per_point = lines.groupby("prm")["value"].sum()
    total = float(per_point.sum())
    if int((per_point > 0).sum()) < rule.min_points:
        return False
    return not (total > 0 and float(per_point.max()) > rule.max_share * total)


@router.get(
    "/consumption-by-usage",
    response_model=UsageTableOut,
    summary="Monthly consumption by usage (residential, professional, public), under statistical secrecy",
    responses={404: {"description": "no territory"}},
)
def get_consumption_by_usage(request: Request, store: StoreDep) -> UsageTableOut:
    inv = load_inventory(store)
    return usage_table(_cached(request, store, inv))


# ---------------------------------------------------------------- the territory page's figures


class VerdictOut(BaseModel):
    figure: str = Field(description="consumption, or production:<source>")
    points: int = Field(description="delivery points (consumption) or plants (production)")
    publishable: bool
    reason: str = Field(description="why it may or may not be published")


@dataclass(frozen=True, slots=True)
class Verdict:
    figure: str
    points: int
    publishable: bool
    reason: str


def consumption_verdict(per_point: pd.DataFrame, rule: secrecy.SecrecyRule = RULE) -> Verdict:
    """Whether the whole territory's consumption may be published: count and dominance over the period."""
    totals = per_point.groupby("prm")["value"].sum() if not per_point.empty else pd.Series(dtype=float)
    n, total = int((totals > 0).sum()), float(totals.sum())
    if n < rule.min_points:
        return Verdict("consumption", n, False, secrecy.FEWER_THAN_10)
    if total > 0 and float(totals.max()) > rule.max_share * total:
        return Verdict("consumption", n, False, secrecy.DOMINANCE)
    return Verdict("consumption", n, True, "at least 10 delivery points, none above 85 %")


def production_verdicts(inv: Inventory, rule: secrecy.SecrecyRule = RULE) -> list[Verdict]:
    """Per source: published by choice when every plant is held by a public owner, else the count rule."""
    persons = {p.id for p in inv.persons}
    public_orgs = {o.id for o in inv.organisations if o.kind in PUBLIC_OWNERS}
    holders: dict[str, set[str]] = {}
    for m in inv.memberships:
        if m.until is None:
            holders.setdefault(m.prm, set()).add(m.holder_id)
    out = []
    by_source: dict[str, list[Any]] = {}
    for p in inv.producers:
        by_source.setdefault(p.source.value, []).append(p)
    for source, plants in sorted(by_source.items()):
        held = [holders.get(p.prm or "", set()) for p in plants]
        personal = any(h & persons for h in held)
        if not personal:
            owners = set().union(*held) if held else set()
            reason = "plants of the régie or public bodies: published by their owner's choice"
            if owners - public_orgs:
                reason = "plants of organisations, none held by a person: not personal data"
            out.append(Verdict(f"production:{source}", len(plants), True, reason))
        elif len(plants) < rule.min_points:
            out.append(Verdict(f"production:{source}", len(plants), False, secrecy.FEWER_THAN_10))
        else:
            out.append(Verdict(f"production:{source}", len(plants), True, "at least 10 plants"))
    return out


def territory_disclosure(request: Request, store: Store, inv: Inventory) -> list[Verdict]:
    return [consumption_verdict(_cached(request, store, inv)), *production_verdicts(inv)]


@router.get(
    "/disclosure",
    response_model=list[VerdictOut],
    summary="Whether each headline figure of the territory may be published under statistical secrecy",
    responses={404: {"description": "no territory"}},
)
def get_disclosure(request: Request, store: StoreDep) -> list[VerdictOut]:
    inv = load_inventory(store)
    return [
        VerdictOut(figure=v.figure, points=v.points, publishable=v.publishable, reason=v.reason)
        for v in territory_disclosure(request, store, inv)
    ]
