"""Similar homes on the ledger (regie.publication.similar_homes), on the member village (member_world.py):
the cells equal an independent sum of the stored readings; a class of fewer than 10 homes is hidden, and the
smallest passing class beside it too (secondary), so the usage table's residential month minus the shown classes
gives no small group back; and an attacker who reads everything ``/api/me/dashboard`` shows — every month and
year the picker offers, before and after a home joins the class, a household's correction, a home leaving and a
member's erasure, with their own consumption — recovers no household's month, where the per-request sum did."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest
from fastapi.testclient import TestClient
from member_world import END, FAST, HOLDERS, HOMES, KVA, PARIS, PRMS, SECRET, START, World, build, home_power

from regie.governance import audit
from regie.governance.accounts import CLI_ADMIN
from regie.governance.rights import erase_member
from regie.model import DeliveryPoint, Membership, Person, Readings, Series, SeriesKind, Site, Step
from regie.publication import similar_homes as similar
from regie.store import Store, open_store
from regie.store import published as cells
from regie.web import auth
from regie.web.app import create_app

SMALL, MIDDLE, LARGE = "up to 6 kVA", "9 to 12 kVA", "more than 12 kVA"
MONTHS_2025 = [date(2025, m, 1) for m in range(1, 13)]
TOLERANCE_WH = 1.0


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'bourg.sqlite'}")
    yield build(store)
    store.close()


def _ts(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=PARIS).timestamp())


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def client_of(world: World, who: str) -> TestClient:
    app = create_app(world.store)
    app.state.secret, app.state.password_hasher = SECRET, FAST
    client = TestClient(app, follow_redirects=False, headers={"Accept-Language": "en"})
    client.cookies.set(auth.PLAIN_COOKIE, world.sessions[who])
    return client


def truth(store: Store, series_id: str, first: date, end: date) -> float:
    """A series' energy [Wh] over [first, end) local, from the stored readings (30-minute mean powers)."""
    _, w = store.read(series_id, _ts(first), _ts(end))
    return float(np.sum(np.asarray(w, dtype=float)) * 0.5)


def class_ids(store: Store, size_class: str) -> list[str]:
    """The consumption series of the homes of a class today, from the inventory read independently."""
    inv = store.load_inventory()
    held = {m.prm for m in inv.memberships if m.until is None}
    kva = {"up to 6 kVA": (0, 6), "9 to 12 kVA": (6, 12), "more than 12 kVA": (12, 1e9)}[size_class]
    prms = {d.prm for d in inv.delivery_points if d.prm in held and kva[0] < (d.subscribed_kva or 0) <= kva[1]}
    return [s.id for s in inv.series if s.prm in prms and s.kind is SeriesKind.CONSUMPTION]


# ---------------------------------------------------------------- the cells


def test_cells_equal_an_independent_sum_of_the_readings(world: World) -> None:
    store = world.store
    pub = similar.publication(store, store.load_inventory())
    small = pub.classes[SMALL]
    assert small.figure == "similar:up-to-6-kva:P1M"
    ids = class_ids(store, SMALL)
    assert len(ids) == 12
    for i, month in enumerate(small.months()):
        first = date(int(month[:4]), int(month[5:]), 1)
        expected = sum(truth(store, s, first, _next_month(first)) for s in ids)
        assert small.reason[i] is None and small.homes[i] == 12
        assert small.value[i] == pytest.approx(expected, abs=1e-6)
    # what the ledger holds is what was computed, and the dashboard's figure is made of it
    stored = cells.latest(store, small.figure, similar.MONTH, small.first, small.first + 24)
    np.testing.assert_array_equal(stored.value, small.value)
    api = client_of(world, "alice").get("/api/me/dashboard", params={"period": "month", "on": "2025-09-09"}).json()
    september = sum(truth(store, s, date(2025, 9, 1), date(2025, 10, 1)) for s in ids)
    assert api["similar"]["homes"] == 12 and api["similar"]["mean_wh"] == pytest.approx(september / 12, abs=1e-3)
    year = client_of(world, "alice").get("/api/me/dashboard", params={"period": "year", "on": "2025-02-02"}).json()
    means = [sum(truth(store, s, m, _next_month(m)) for s in ids) / 12 for m in MONTHS_2025]
    assert year["similar"]["mean_wh"] == pytest.approx(sum(means), abs=1e-2) and len(year["similar"]["months"]) == 12


def test_every_read_behind_the_cells_is_in_the_households_access_log(world: World) -> None:
    store = world.store
    similar.publication(store, store.load_inventory())
    reads = [a for a in audit.accesses_to(store, "h16") if a.caller == "regie-publication"]
    assert reads and all(a.decision == "allowed" and a.purpose == "dpv:CombatClimateChange" for a in reads)


def test_fewer_than_10_homes_hidden_and_the_smallest_class_beside_them_too(world: World) -> None:
    store = world.store
    pub = similar.publication(store, store.load_inventory())
    middle, large, small = pub.classes[MIDDLE], pub.classes[LARGE], pub.classes[SMALL]
    assert set(middle.reason) == {"fewer_than_10"} and np.isnan(middle.value).all()
    # ten homes of 36 kVA pass by themselves, but shown with the usage table's residential month they would give
    # the three homes of 12 kVA back: hidden as secondary (the smallest class that passes)
    assert set(large.reason) == {"secondary"} and np.isnan(large.value).all()
    assert set(small.reason) == {None}
    zoe = client_of(world, "zoe").get("/api/me/dashboard", params={"period": "month", "on": "2025-09-01"}).json()
    assert zoe["similar"] == {"size_class": MIDDLE, "homes": None, "mean_wh": None, "masked": "fewer_than_10",
                              "months": [{"month": "2025-09", "homes": None, "mean_wh": None,
                                          "masked": "fewer_than_10"}]}  # fmt: skip
    # the attacker's subtraction: residential month (public) minus the shown class = thirteen homes, not three
    table = client_of(world, "alice").get("/api/territory/consumption-by-usage").json()
    k = table["months"].index("2025-09")
    residential = table["cells"]["residential"][k]["value_wh"]
    rest = residential - float(small.value[small.months().index("2025-09")])
    others = class_ids(store, MIDDLE) + class_ids(store, LARGE)
    assert len(others) == 13
    assert rest == pytest.approx(sum(truth(store, s, date(2025, 9, 1), date(2025, 10, 1)) for s in others), abs=1e-3)


# ---------------------------------------------------------------- the attacker


def _join(store: Store, i: int) -> str:
    """A new 6 kVA home (class "up to 6 kVA") with its whole history: a home joining the class."""
    inv = store.load_inventory()
    h, prm = f"h{i:02d}", f"3000300000{i:04d}"
    series = Series(f"c-{h}", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=prm)
    store.save_inventory(replace(
        inv, sites=[*inv.sites, Site(f"site-{h}", h, "bourg")],
        delivery_points=[*inv.delivery_points, DeliveryPoint(prm, f"site-{h}", subscribed_kva=6.0)],
        persons=[*inv.persons, Person(h, h.upper(), f"{h}@example.org")],
        memberships=[*inv.memberships, Membership(h, prm, date(2023, 1, 1))], series=[*inv.series, series]))
    t = np.arange(int(START.timestamp()), int(END.timestamp()), 1800, dtype=np.int64)
    store.write([Readings(series.id, t, home_power(i, t) + 333.0)])
    return series.id


def _correct(store: Store, holder: str) -> None:
    """One household's September 2025 re-delivered with 250 W more (an import or correction of one home)."""
    t = np.arange(_ts(date(2025, 9, 1)), _ts(date(2025, 10, 1)), 1800, dtype=np.int64)
    i = HOLDERS.index(holder) + 1
    store.write([Readings(f"c-{holder}", t, home_power(i, t) + 250.0)])


def _leave(store: Store, holder: str) -> None:
    """A home leaves the class: its holder's membership ends (moved out; the delivery point is held by no one)."""
    inv = store.load_inventory()
    ms = [replace(m, until=date(2025, 12, 31)) if m.holder_id == holder else m for m in inv.memberships]
    store.save_inventory(replace(inv, memberships=ms))


def _observe(world: World, state: int) -> list[tuple[str, float]]:
    """Every figure of similar homes the API shows alice (class "up to 6 kVA") for every period the picker offers
    in 2025 — each month, the year, and a week and a day (never compared) — as Σ over homes (mean × homes, what
    an attacker multiplies back), with her own consumption of each month."""
    client = client_of(world, "alice")
    out: list[tuple[str, float]] = []
    for m in MONTHS_2025:
        body = client.get("/api/me/dashboard", params={"period": "month", "on": m.isoformat()}).json()
        s = body["similar"]
        assert s["masked"] is None, s
        out.append((f"state {state} group {m:%Y-%m}", s["mean_wh"] * s["homes"]))
        out.append((f"state {state} own {m:%Y-%m}", body["consumption_wh"]))
    year = client.get("/api/me/dashboard", params={"period": "year", "on": "2025-06-15"}).json()["similar"]
    out.append((f"state {state} year mean", year["mean_wh"]))
    out += [(f"state {state} year cell {r['month']}", r["mean_wh"] * r["homes"]) for r in year["months"]]
    for kind in ("week", "day"):
        assert client.get("/api/me/dashboard", params={"period": kind, "on": "2025-09-10"}).json()["similar"] is None
    return out


def _naive(store: Store, state: int) -> list[tuple[str, float]]:
    """What the per-request comparison computed (Σ over the class's homes *today*): the positive control."""
    ids = class_ids(store, SMALL)
    return [(f"state {state} naive {m:%Y-%m}", sum(truth(store, s, m, _next_month(m)) for s in ids))
            for m in MONTHS_2025]  # fmt: skip


def _leaks(observed: list[tuple[str, float]], secrets: dict[str, float]) -> list[str]:
    """Each figure, and each difference of two figures, that equals a secret (one household's month, or one
    household's change) to within a Wh."""
    values = np.array([v for _, v in observed])
    names = [n for n, _ in observed]
    i, j = np.triu_indices(len(values), k=1)
    gaps = np.abs(values[i] - values[j])
    found = []
    for what, secret in secrets.items():
        found += [f"{names[k]} = {what}" for k in np.flatnonzero(np.abs(values - secret) < TOLERANCE_WH)]
        hits = np.flatnonzero(np.abs(gaps - secret) < TOLERANCE_WH)
        found += [f"{names[i[k]]} - {names[j[k]]} = {what}" for k in hits]
    return found


def test_differencing_attacker_recovers_no_households_month(world: World) -> None:
    store = world.store
    observed, naive = _observe(world, 0), _naive(store, 0)
    newcomer = _join(store, HOMES + 1)  # state 1: a home joins the class with its whole history
    observed += _observe(world, 1)
    naive += _naive(store, 1)
    _correct(store, "h02")  # state 2: one household's September corrected
    observed += _observe(world, 2)
    naive += _naive(store, 2)
    _leave(store, "h03")  # state 3: a home leaves the class
    observed += _observe(world, 3)
    naive += _naive(store, 3)
    h04 = {m: truth(store, "c-h04", m, _next_month(m)) for m in MONTHS_2025}  # before it is gone
    erase_member(store, CLI_ADMIN, "h04")  # state 4: a member's erasure (their readings deleted)
    observed += _observe(world, 4)
    naive += _naive(store, 4)

    secrets: dict[str, float] = {}
    for m in MONTHS_2025:
        end = _next_month(m)
        secrets[f"newcomer's {m:%Y-%m}"] = truth(store, newcomer, m, end)
        secrets[f"h03's {m:%Y-%m}"] = truth(store, "c-h03", m, end)
        secrets[f"h04's {m:%Y-%m}"] = h04[m]
        for i in (2, *range(5, 13)):  # every other home of the class, as it is now
            secrets.setdefault(f"h{i:02d}'s {m:%Y-%m}", truth(store, f"c-h{i:02d}", m, end))
    secrets["h02's correction"] = 250.0 * 24 * 30
    t = np.arange(_ts(date(2025, 9, 1)), _ts(date(2025, 10, 1)), 1800, dtype=np.int64)
    secrets["h02's September before"] = float(home_power(2, t).sum() * 0.5)

    # the control: the same attacker on the per-request sum recovers each of them
    control = _leaks(naive, secrets)
    assert any("newcomer's 2025-03" in x for x in control) and any("h03's 2025-07" in x for x in control)
    assert any("h02's correction" in x for x in control) and any("h04's 2025-11" in x for x in control)
    # the ledger's cells: nothing moved, nothing isolates a home
    assert _leaks(observed, secrets) == []
    group = {n.split(" ", 2)[2]: v for n, v in observed if n.startswith("state 0 group")}
    for state in (1, 2, 3, 4):
        later = {n.split(" ", 2)[2]: v for n, v in observed if n.startswith(f"state {state} group")}
        assert later == group  # frozen: the same twelve homes, the same values
    assert len(KVA) == len(PRMS) == HOMES


def test_a_plant_writing_does_not_recompute_the_homes_cells_but_a_home_writing_does(world: World) -> None:
    """The cells are kept per state of the homes' readings only: a plant's live feed writing every few seconds
    must not cost one gate read per home at the next dashboard view (cells.fingerprint(store, series))."""
    store = world.store
    inv = store.load_inventory()
    first = similar.publication(store, inv)
    t = np.array([_ts(END) + 1800], dtype=np.int64)
    store.write([Readings("pv", t, np.array([1234.0]))])
    assert similar.publication(store, inv) is first
    store.write([Readings(class_ids(store, SMALL)[0], t, np.array([456.0]))])
    again = similar.publication(store, inv)
    assert again is not first
    before = first.classes[SMALL].value
    np.testing.assert_array_equal(again.classes[SMALL].value[: len(before)], before)  # frozen all the same
