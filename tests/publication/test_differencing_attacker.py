"""The differencing attacker: it provokes changes, collects every publication it can get, subtracts every pair.

It plays an outsider who saves everything public — ``/api/balance`` at every step (PT30M, PT1H, P1D, P1M),
over the whole period and over overlapping windows, and the consumption-by-usage table (its cells and
margins) — and an operator who saves the transformer's table (its monthly downstream energy, who drove each
peak). Between collections it provokes what issue 18 names: a member's erasure, a correction
touching one household, a new household's data, an import of one household's next day; then a correction of
every household (which the rule lets out, so the attacker has a real revision to work on).

Then it subtracts: every pair of published figures over the same interval (two states), and over nested
intervals sharing a bound (two windows, two granularities, two states), and compares each difference with
the truth it reads from the store at every state: a difference that equals the change (or the value) of
fewer than 10 delivery points, of a group one point dominates (> 85 %), or of one point alone, is a leak.
A transformer row whose masked groups together count fewer than 10 points is one too (its load is public).

A small generated territory (:mod:`publication_world`) keeps it fast enough for CI.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from publication_world import DAY1, HOUSEHOLDS, add_household, build, grid, household_curve

from regie.governance.accounts import CLI_ADMIN, Account, Role
from regie.governance.rights import erase_member
from regie.model import Readings, SeriesKind
from regie.services.supervision import transformer_report
from regie.store import Store, open_store
from regie.web.app import create_app

STEPS = ("PT30M", "PT1H", "P1D", "P1M")
DAYS = 3  # the truth's grid: two days, and a third one that a single household's import opens
TOLERANCE_WH = 1e-3
MIN_POINTS, MAX_SHARE = 10, 0.85


@dataclass(frozen=True)
class Observation:
    state: int
    lo: int  # UTC s
    hi: int
    wh: float


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'attacker.sqlite'}")
    build(s)
    yield s
    s.close()


def truth(store: Store, t: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each consumption point's energy per half-hour [Wh] on the attacker's grid ``t``, read from the store."""
    t = grid(DAYS) if t is None else t
    out = {}
    for s in store.load_inventory().series:
        if s.kind is SeriesKind.CONSUMPTION:
            ts, v = store.read(s.id, int(t[0]), int(t[-1]) + 1800)
            wh = np.zeros(len(t))
            wh[(ts - t[0]) // 1800] = v / 2
            out[s.id] = wh
    return out


def windows(day1: datetime) -> list[tuple[str | None, str | None]]:
    iso = lambda d: d.isoformat()  # noqa: E731
    h = timedelta(hours=1)
    return [(None, None), (iso(day1), iso(day1 + 24 * h)), (iso(day1 + 6 * h), iso(day1 + 30 * h)),
            (iso(day1 + 12 * h), iso(day1 + 36 * h)), (iso(day1 + 30 * h), iso(day1 + 48 * h))]  # fmt: skip


def collect(client: TestClient, state: int, asks: list[tuple[str | None, str | None, str]] | None = None,
            ) -> list[Observation]:  # fmt: skip
    """Every consumption figure the public API gives at this state, as (interval, energy); ``asks`` are the
    (start, end, step) requests (default: every step over every window of :func:`windows`)."""
    out = []
    asks = asks or [(start, end, step) for start, end in windows(DAY1) for step in STEPS]
    for start, end, step in asks:
        params = {"step": step} | ({"start": start, "end": end} if start else {})
        r = client.get("/api/balance", params=params)
        assert r.status_code == 200, r.text
        b = r.json()
        a, z = (int(datetime.fromisoformat(b[k]).timestamp()) for k in ("start", "end"))
        starts = [int(datetime.fromisoformat(x).timestamp()) for x in b["periods"]["start"]]
        bounds = [max(x, a) for x in starts] + [z]
        for i, v in enumerate(b["periods"]["consumption_wh"]):
            if v is not None:
                out.append(Observation(state, bounds[i], min(bounds[i + 1], z), v))
        if b["totals"]["consumption_wh"] is not None:
            out.append(Observation(state, a, z, b["totals"]["consumption_wh"]))
    return out


def leaks_in(d: float, contributions: np.ndarray) -> str | None:
    """Why a difference ``d`` that equals Σ ``contributions`` (one per point) isolates too little, or None."""
    c = np.abs(contributions[np.abs(contributions) > TOLERANCE_WH])
    if abs(d) <= TOLERANCE_WH or not len(c):
        return None
    if abs(d - contributions.sum()) > 10 * TOLERANCE_WH + 1e-9 * abs(d):  # not this group's change
        return None
    if len(c) < MIN_POINTS:
        return f"{len(c)} points"
    if c.max() > MAX_SHARE * c.sum():
        return f"one point makes {c.max() / c.sum():.0%}"
    return None


def attack(observations: list[Observation], truths: list[dict[str, np.ndarray]], t0: int | None = None,
           ) -> list[str]:  # fmt: skip
    """Every pair of observations over the same or nested intervals sharing a bound, against every pair of
    states' truth (each on the half-hour grid from ``t0``); returns the leaks found."""
    t0 = int(grid(DAYS)[0]) if t0 is None else t0
    points = sorted({k for tr in truths for k in tr})
    n_cells = len(next(iter(truths[0].values())))
    # cumulative truth per state × point on the half-hour grid: any interval's energy in one subtraction
    cum = np.zeros((len(truths), len(points), n_cells + 1))
    for s, tr in enumerate(truths):
        for p, key in enumerate(points):
            if key in tr:
                cum[s, p, 1:] = np.cumsum(tr[key])

    def energy(lo: int, hi: int) -> np.ndarray:  # states × points
        i, j = (lo - t0) // 1800, (hi - t0) // 1800
        return cum[:, :, j] - cum[:, :, i]

    by_bound: dict[tuple[str, int], list[Observation]] = defaultdict(list)
    for o in observations:
        by_bound[("lo", o.lo)].append(o)
        by_bound[("hi", o.hi)].append(o)
    found = []
    seen: set[tuple[int, int, int, int, int, int]] = set()
    for group in by_bound.values():
        for x in group:
            for y in group:
                if (y.hi - y.lo) < (x.hi - x.lo) or (x is y):
                    continue  # y is the longer (or equal) one
                key = (x.state, x.lo, x.hi, y.state, y.lo, y.hi)
                if key in seen:
                    continue
                seen.add(key)
                d = y.wh - x.wh
                if abs(d) <= TOLERANCE_WH:
                    continue
                ex, ey = energy(x.lo, x.hi), energy(y.lo, y.hi)
                for si in range(len(truths)):
                    for sj in range(len(truths)):
                        c = ey[sj] - ex[si]
                        why = leaks_in(d, c)
                        if why is None:
                            single = np.abs(c - d) <= TOLERANCE_WH * 10
                            single |= np.abs(ey[sj] - d) <= TOLERANCE_WH * 10
                            if single.any() and (np.abs(c) > TOLERANCE_WH).sum() > 1:
                                why = f"one point's value ({points[int(np.argmax(single))]})"
                        if why:
                            found.append(f"states {x.state}->{y.state} [{x.lo},{x.hi})→[{y.lo},{y.hi}) "
                                         f"truths {si}->{sj}: {why}")  # fmt: skip
    return found


def transformer_rows(store: Store) -> list[str]:
    """Rows of the transformer's peak table whose masked groups, given by load − shown groups, are too few."""
    viewer = Account(0, "operator", Role.ADMIN)  # no stated reason: secrecy applies
    r = transformer_report(store, "tr1", DAY1, DAY1 + timedelta(days=DAYS), caller=viewer)
    pc = r["peak_contributions"]
    bad = []
    for i, (counts, why) in enumerate(zip(pc["counts"], pc["reasons"], strict=True)):
        masked = sum(n for n, w in zip(counts, why, strict=True) if w)
        every = all(w for n, w in zip(counts, why, strict=True) if n)
        if masked and masked < MIN_POINTS and not every:
            bad.append(f"peak {i}: load minus the shown groups gives {masked} masked points")
    return bad


def grid_observations(store: Store, state: int) -> list[Observation]:
    """What an operator without grants saves of the transformer's table: the monthly downstream energy, and each
    usage group's power at each peak, as (interval, energy). Production is constant across the attacker's
    states, so a difference of two states is one of consumption alone, which :func:`attack` checks."""
    viewer = Account(0, "operator", Role.ADMIN)  # no stated reason: secrecy applies
    r = transformer_report(store, "tr1", DAY1, DAY1 + timedelta(days=DAYS), caller=viewer)
    a, b = (int(datetime.fromisoformat(r[k]).timestamp()) for k in ("start", "end"))
    months = [int(datetime.fromisoformat(m).timestamp()) for m in r["losses"]["month"]]
    bounds = [max(m, a) for m in months] + [b]
    out = [Observation(state, bounds[i], bounds[i + 1], v)
           for i, v in enumerate(r["losses"]["downstream_wh"]) if v is not None]  # fmt: skip
    pc = r["peak_contributions"]
    for p, row in zip(r["peaks"], pc["values_w"], strict=True):
        t = int(datetime.fromisoformat(p["t"]).timestamp())
        out += [Observation(state, t, t + 1800, v / 2) for g, v in zip(pc["groups"], row, strict=True)
                if v is not None and g == "residential"]  # fmt: skip
    return out


def usage_figures(client: TestClient, state: int) -> list[tuple[int, frozenset[tuple[str, str]], float]]:
    """Every figure of the public usage table at this state: (state, the (month, usage) cells it sums, Wh)."""
    r = client.get("/api/territory/consumption-by-usage")
    assert r.status_code == 200, r.text
    t = r.json()
    out = []
    for u, cells in t["cells"].items():
        out += [(state, frozenset({(m, u)}), c["value_wh"]) for m, c in zip(t["months"], cells, strict=True)]
        out.append((state, frozenset((m, u) for m in t["months"]), t["usage_totals_wh"][u]))
    for m, v in zip(t["months"], t["month_totals_wh"], strict=True):
        out.append((state, frozenset((m, u) for u in t["usages"]), v))
    out.append((state, frozenset((m, u) for m in t["months"] for u in t["usages"]), t["total_wh"]))
    return [o for o in out if o[2] is not None and o[1]]


def usage_truth(store: Store) -> dict[tuple[str, str], dict[str, float]]:
    """Each consumption point's energy [Wh] per (month, usage), read from the store."""
    inv = store.load_inventory()
    usage = {d.prm: d.usage for d in inv.delivery_points}
    prm_of = {s.id: s.prm for s in inv.series}
    zone = inv.territory.zone
    t = grid(DAYS)
    months = np.array([datetime.fromtimestamp(int(x), zone).strftime("%Y-%m") for x in t])
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for sid, wh in truth(store).items():
        for m in np.unique(months).tolist():
            out[(m, usage.get(prm_of.get(sid), "?"))][sid] = float(wh[months == m].sum())
    return out


def usage_attack(figures: list[tuple[int, frozenset[tuple[str, str]], float]],
                 truths: list[dict[tuple[str, str], dict[str, float]]]) -> list[str]:  # fmt: skip
    """Every pair of usage-table figures whose cells are nested (the same cell at two states, a margin minus a
    cell, a margin of one state minus cells of another), against every pair of states' truth."""
    points = sorted({p for tr in truths for cell in tr.values() for p in cell})

    def energy(state: int, cells: frozenset[tuple[str, str]]) -> np.ndarray:
        v = np.zeros(len(points))
        for cell in cells:
            for p, wh in truths[state].get(cell, {}).items():
                v[points.index(p)] += wh
        return v

    found = []
    for x in figures:
        for y in figures:
            if x is y or not x[1] <= y[1] or (x[1] == y[1] and x[0] >= y[0]):
                continue
            d = y[2] - x[2]
            if abs(d) <= TOLERANCE_WH:
                continue
            for si in range(len(truths)):
                for sj in range(len(truths)):
                    c = energy(sj, y[1]) - energy(si, x[1])
                    why = leaks_in(d, c)
                    if why:
                        found.append(f"usage cells {sorted(x[1])}@{x[0]} → {sorted(y[1])}@{y[0]} "
                                     f"truths {si}->{sj}: {why}")  # fmt: skip
    return found


def test_the_differencing_attacker_finds_nothing(store: Store) -> None:
    t1, t2 = grid(1), grid(1, DAY1 + timedelta(days=1))
    changes = [
        lambda: erase_member(store, CLI_ADMIN, "p03"),  # a member's erasure
        lambda: store.write([Readings("c05", t1, household_curve(5, t1) * 1.5)]),  # a correction of one household
        lambda: add_household(store, HOUSEHOLDS, grid(2)),  # a new household's data
        lambda: store.write([Readings("c07", grid(1, DAY1 + timedelta(days=2)), household_curve(7, t1))]),  # day 3
        lambda: store.write([Readings(f"c{i:02d}", t2, household_curve(i, t2) * 1.1)
                             for i in range(HOUSEHOLDS) if i != 3]),  # every household corrected
    ]
    observations, truths, rows, usages, usage_truths, grids = [], [], [], [], [], []
    with TestClient(create_app(store)) as client:
        for state in range(len(changes) + 1):
            if state:
                changes[state - 1]()
            truths.append(truth(store))
            observations += collect(client, state)
            rows += transformer_rows(store)
            usages += usage_figures(client, state)
            usage_truths.append(usage_truth(store))
            grids += grid_observations(store, state)
    assert len({o.state for o in observations}) == len(changes) + 1, "every state publishes something"
    last = {(o.lo, o.hi): o.wh for o in observations if o.state == len(changes)}
    assert any(o.state == 0 and last.get((o.lo, o.hi), o.wh) != o.wh for o in observations), (
        "the correction of every household is published: the attacker has revisions to work on")
    leaks = attack(observations, truths)
    assert not leaks, f"{len(leaks)} differences isolate too little, e.g. {leaks[:5]}"
    assert not rows, rows
    assert {f[0] for f in usages} == set(range(len(changes) + 1)), "the usage table is published at every state"
    leaks = usage_attack(usages, usage_truths)
    assert not leaks, f"{len(leaks)} differences of the usage table isolate too little, e.g. {leaks[:5]}"
    assert {o.state for o in grids} == set(range(len(changes) + 1)), "the transformer's table shows figures"
    leaks = attack(grids, truths)
    assert not leaks, f"{len(leaks)} differences of the transformer's table isolate too little, e.g. {leaks[:5]}"


def test_the_differencing_attacker_finds_nothing_in_the_transformers_table(store: Store) -> None:
    """The operator's side without an erasure first (after one, the erased household's series has no readings
    and no step is complete: the downstream energy shows 0 and there is nothing to subtract)."""
    t1, t2 = grid(1), grid(1, DAY1 + timedelta(days=1))
    changes = [
        lambda: store.write([Readings("c05", t1, household_curve(5, t1) * 1.5)]),  # a correction of one household
        lambda: store.write([Readings("c07", t2, household_curve(7, t2) * 0.5)]),  # another one's second day
        lambda: store.write([Readings(f"c{i:02d}", t2, household_curve(i, t2) * 1.1)
                             for i in range(HOUSEHOLDS)]),  # every household corrected
    ]
    grids, truths = [], []
    for state in range(len(changes) + 1):
        if state:
            changes[state - 1]()
        truths.append(truth(store))
        grids += grid_observations(store, state)
    assert {o.state for o in grids} == set(range(len(changes) + 1)), "the transformer's table shows figures"
    revised = {o.wh for o in grids if o.hi - o.lo > 1800}
    assert len(revised) > 1, "the correction of every household is published: a revision to work on"
    leaks = attack(grids, truths)
    assert not leaks, f"{len(leaks)} differences of the transformer's table isolate too little, e.g. {leaks[:5]}"


@pytest.mark.slow
def test_the_differencing_attacker_finds_nothing_on_the_demo(demo_year, tmp_path) -> None:
    """The demo year (600 households): a member's erasure, one household's correction, a newcomer's data; the
    attacker saves a week at PT30M and PT1H, overlapping days, and the month at P1D and P1M."""
    store = open_store(demo_year.copy(tmp_path))
    zone = store.load_inventory().territory.zone
    month = datetime(2025, 6, 1, tzinfo=zone)
    t = np.arange(int(month.timestamp()), int(datetime(2025, 7, 1, tzinfo=zone).timestamp()), 1800, dtype=np.int64)
    day = lambda k, h=0: (month + timedelta(days=k, hours=h)).isoformat()  # noqa: E731
    asks = [(day(10), day(17), "PT30M"), (day(10), day(17), "PT1H"), (day(11, 6), day(12, 6), "PT30M"),
            (day(0), day(30), "P1D"), (day(0), day(30), "P1M"), (day(3), day(20), "P1D")]  # fmt: skip
    sid = "cons-hh-0002"
    changes = [
        lambda: erase_member(store, CLI_ADMIN, "p0001"),
        lambda: store.write([Readings(sid, t, np.asarray(store.read(sid, int(t[0]), int(t[-1]) + 1800)[1]) * 1.3)]),
        lambda: store.write([Readings("cons-hh-0003", t[: 48 * 7], np.full(48 * 7, 777.7))]),
    ]
    observations, truths = [], []
    with TestClient(create_app(store)) as client:
        for state in range(len(changes) + 1):
            if state:
                changes[state - 1]()
            truths.append(truth(store, t))
            observations += collect(client, state, asks)
    store.close()
    assert observations, "the demo's month is published"
    leaks = attack(observations, truths, int(t[0]))
    assert not leaks, f"{len(leaks)} differences isolate too little, e.g. {leaks[:5]}"
