"""Statistical secrecy on the public face: the consumption-by-usage table and the verdicts on the headline
figures (``regie.web.disclosure``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from governance_world import World, build_world

from regie.governance import audit, secrecy
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Producer,
    Readings,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
)
from regie.store import open_store
from regie.web import disclosure
from regie.web.app import create_app

PARIS = ZoneInfo("Europe/Paris")
PT30M = Step.parse("PT30M")


def lines(spec: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    """Per-point lines: {(month, usage): [value of point 1, value of point 2, ...]}."""
    rows = []
    for (month, usage), values in spec.items():
        rows += [(month, usage, f"{usage}-{i}", v) for i, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["month", "usage", "prm", "value"])


def test_a_cell_of_nine_points_is_masked_and_cannot_be_recovered() -> None:
    per_point = lines({
        ("2025-01", "residential"): [100.0] * 12, ("2025-01", "professional"): [100.0] * 11,
        ("2025-01", "public"): [50.0] * 9,
        ("2025-02", "residential"): [100.0] * 12, ("2025-02", "professional"): [100.0] * 11,
        ("2025-02", "public"): [50.0] * 9,
    })  # fmt: skip
    t = disclosure.usage_table(per_point)
    assert [c.masked for c in t.cells["public"]] == [secrecy.FEWER_THAN_10] * 2
    assert all(c.value_wh is None for c in t.cells["public"])
    # the public column summed over the year is still 9 points: its total is hidden too
    assert t.usage_totals_wh["public"] is None
    # no published month total minus published cells gives a masked cell back
    for i in range(2):
        published = [t.cells[u][i].value_wh for u in t.usages]
        if t.month_totals_wh[i] is not None:
            assert sum(v is None for v in published) != 1


def test_a_dominated_cell_is_masked() -> None:
    per_point = lines({("2025-01", "professional"): [10_000.0] + [10.0] * 11, ("2025-01", "residential"): [5.0] * 20})
    t = disclosure.usage_table(per_point)
    assert t.cells["professional"][0].masked == secrecy.DOMINANCE


def test_consumption_verdict() -> None:
    assert not disclosure.consumption_verdict(lines({("m", "residential"): [1.0] * 9})).publishable
    dominated = disclosure.consumption_verdict(lines({("m", "residential"): [1000.0] + [1.0] * 20}))
    assert (dominated.publishable, dominated.reason) == (False, secrecy.DOMINANCE)
    assert disclosure.consumption_verdict(lines({("m", "residential"): [1.0] * 10})).publishable


def test_the_regies_own_plants_are_published_by_choice_but_rooftops_are_personal() -> None:
    prms = [f"3000300000{i:04d}" for i in range(5)]
    inv = Inventory(
        Territory("t", "T"),
        delivery_points=[DeliveryPoint(p, "s", usage="production") for p in prms],
        producers=[Producer("hydro", "Hydro", Source.HYDRO, 1e6, prm=prms[0])]
        + [Producer(f"pv{i}", "PV", Source.PV, 3e3, prm=prms[i]) for i in range(1, 5)],
        organisations=[Organisation("regie", "Régie", OrganisationKind.REGIE)],
        persons=[Person(f"p{i}", "P") for i in range(1, 5)],
        memberships=[Membership("regie", prms[0], pd.Timestamp("2020-01-01").date())]
        + [Membership(f"p{i}", prms[i], pd.Timestamp("2020-01-01").date()) for i in range(1, 5)],
    )
    verdicts = {v.figure: v for v in disclosure.production_verdicts(inv)}
    assert verdicts["production:hydro"].publishable
    assert not verdicts["production:pv"].publishable
    assert verdicts["production:pv"].reason == secrecy.FEWER_THAN_10


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'w.sqlite'}")
    yield build_world(store)
    store.close()


def test_the_public_routes_mask_a_three_house_territory(world: World) -> None:
    with TestClient(world.app()) as client:
        table = client.get("/api/territory/consumption-by-usage").json()
        verdicts = {v["figure"]: v for v in client.get("/api/territory/disclosure").json()}
    assert table["months"] == ["2025-01", "2025-02"]
    assert [c["masked"] for c in table["cells"]["residential"]] == ["fewer_than_10"] * 2
    assert table["total_wh"] is None and table["usage_totals_wh"]["residential"] is None
    assert verdicts["consumption"]["publishable"] is False
    assert verdicts["consumption"]["points"] == 3
    assert verdicts["production:hydro"]["publishable"] is True


def test_the_regie_reads_per_point_totals_through_the_gate_and_each_member_sees_it(world: World) -> None:
    with TestClient(world.app()) as client:
        client.get("/api/territory/consumption-by-usage")
        client.get("/api/territory/disclosure")  # cached: no second read
    reads = [a for a in audit.accesses_to(world.store, "bob") if a.caller == disclosure.STATISTICS.username]
    assert len(reads) == 1
    # at 30 minutes: the balance's steps are judged one by one (count and dominance per step)
    assert reads[0].granularity == "PT30M" and reads[0].decision == "allowed"
    assert reads[0].reason.startswith("admin: statistical secrecy")


def _determined(t: disclosure.UsageTableOut, target: set[tuple[int, str]]) -> bool:
    """Whether the published figures give the sum of ``target`` cells by some linear combination."""
    cells = [(i, u) for i in range(len(t.months)) for u in t.usages]
    col = {c: k for k, c in enumerate(cells)}
    rows = []
    for c in cells:  # a published cell is known
        if t.cells[c[1]][c[0]].value_wh is not None:
            rows.append([1.0 if x == c else 0.0 for x in cells])
    for i, v in enumerate(t.month_totals_wh):
        if v is not None:
            rows.append([1.0 if x[0] == i else 0.0 for x in cells])
    for u, v in t.usage_totals_wh.items():
        if v is not None:
            rows.append([1.0 if x[1] == u else 0.0 for x in cells])
    if t.total_wh is not None:
        rows.append([1.0] * len(cells))
    a = np.array(rows) if rows else np.zeros((0, len(cells)))
    v = np.zeros(len(cells))
    v[[col[c] for c in target]] = 1.0
    return bool(len(a)) and np.linalg.matrix_rank(np.vstack([a, v])) == np.linalg.matrix_rank(a)


def test_no_combination_of_published_figures_gives_a_small_column_back() -> None:
    per_point = lines({
        (m, u): values
        for m in ("2025-01", "2025-02", "2025-03")
        for u, values in (("residential", [100.0] * 15), ("professional", [100.0] * 12), ("public", [40.0] * 4))
    })  # fmt: skip
    t = disclosure.usage_table(per_point)
    public = {(i, "public") for i in range(3)}
    assert not _determined(t, public), "the 4 public buildings' total can be computed from what is published"
    for i in range(3):  # nor any single masked cell
        for u in t.usages:
            if t.cells[u][i].masked:
                assert not _determined(t, {(i, u)})
    # while what is safe stays published
    assert all(c.value_wh is not None for c in t.cells["residential"])
    assert any(v is not None for v in [*t.month_totals_wh, t.total_wh, *t.usage_totals_wh.values()])


# ---------------------------------------------------------------- the territory balance: /api/balance and /


def hidden_text(html: str, testid: str) -> str:
    """The text of the element with this data-testid (no-break spaces made plain)."""
    m = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</p>', html, re.S)
    assert m, testid
    return " ".join(re.sub(r"<[^>]+>", "", m.group(1)).replace("\u00a0", " ").split())


def test_a_three_house_territory_hides_consumption_and_rates_on_the_api_and_the_page(world: World) -> None:
    with TestClient(world.app()) as client:
        b = client.get("/api/balance").json()
        daily = client.get("/api/balance", params={"step": "P1D"}).json()
        html = client.get("/").text
        english = client.get("/", params={"lang": "en"}).text
    t, p = b["totals"], b["periods"]
    for figure in ("consumption", "self_consumed", "coverage", "self_sufficiency", "self_consumption"):
        assert t["masked"][figure] == "fewer_than_10"
        assert p["masked"][figure] == ["fewer_than_10"] * 2
    assert t["consumption_wh"] is None and t["self_consumed_wh"] is None and t["coverage"] is None
    assert p["consumption_wh"] == [None, None] and p["self_sufficiency"] == [None, None]
    # the régie's hydro plant is published by its owner's choice: 300 W over January–February (1416 h)
    assert t["production_wh"] == pytest.approx(300 * 1416) and "production" not in t["masked"]
    assert t["production_by_source_wh"] == {"hydro": pytest.approx(300 * 1416)}
    assert all(v is None for v in daily["periods"]["consumption_wh"]) and len(daily["periods"]["start"]) == 59
    assert hidden_text(html, "value-consumption") == "masqué — moins de 10 points de livraison"
    assert hidden_text(html, "value-self-sufficiency") == "masqué — moins de 10 points de livraison"
    assert hidden_text(english, "value-coverage") == "hidden — fewer than 10 delivery points"
    assert 'data-testid="secrecy-notice"' in html
    assert "2,12" not in html  # 1500 W × 1416 h = 2.12 MWh: nowhere on the page
    assert hidden_text(html, "value-production") == "424,8 kWh"
    months = html.split('data-testid="monthly-table"')[1]
    assert months.count('data-masked="fewer_than_10"') == 3 * 4  # two months and the total × consumption and rates


def dominated_world(store) -> None:
    """Twelve households, one drawing 90 % of the consumption, and a hydro plant on a point held by the régie."""
    prms = [f"3000400000{i:04d}" for i in range(13)]
    inv = Inventory(
        Territory("t", "Dominé"),
        sites=[Site("s", "S", "t")],
        delivery_points=[DeliveryPoint(p, "s") for p in prms[:12]] + [DeliveryPoint(prms[12], "s", usage="production")],
        producers=[Producer("h", "Hydro", Source.HYDRO, 1e6, prm=prms[12])],
        organisations=[Organisation("regie", "Régie", OrganisationKind.REGIE)],
        persons=[Person(f"p{i}", "P") for i in range(12)],
        memberships=[Membership(f"p{i}", prms[i], date(2020, 1, 1)) for i in range(12)]
        + [Membership("regie", prms[12], date(2020, 1, 1))],
        series=[Series(f"c{i}", SeriesKind.CONSUMPTION, "W", PT30M, prm=prms[i]) for i in range(12)]
        + [Series("h", SeriesKind.PRODUCTION, "W", PT30M, producer_id="h")],
    )
    store.save_inventory(inv)
    a, b = (int(datetime(2025, m, 1, tzinfo=PARIS).timestamp()) for m in (1, 2))
    t = np.arange(a, b, 1800, dtype=np.int64)
    # one point at 9900 W, eleven at 100 W: 9900 / 11 000 = 90 % of every step
    store.write([Readings("c0", t, np.full(len(t), 9900.0))]
                + [Readings(f"c{i}", t, np.full(len(t), 100.0)) for i in range(1, 12)]
                + [Readings("h", t, np.full(len(t), 500.0))])  # fmt: skip


def test_a_territory_dominated_by_one_point_hides_consumption_and_keeps_the_regies_plant(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'd.sqlite'}")
    dominated_world(store)
    with TestClient(create_app(store)) as client:
        b = client.get("/api/balance").json()
        steps = client.get("/api/balance", params={"start": "2025-01-10", "end": "2025-01-11", "step": "PT30M"}).json()
        html = client.get("/").text
        verdicts = {v["figure"]: v for v in client.get("/api/territory/disclosure").json()}
    store.close()
    assert b["totals"]["masked"]["consumption"] == "dominance" and b["totals"]["consumption_wh"] is None
    assert b["totals"]["masked"]["self_sufficiency"] == "dominance"
    assert steps["periods"]["masked"]["consumption"] == ["dominance"] * 48
    assert b["totals"]["production_by_source_wh"]["hydro"] == pytest.approx(500 * 744)
    assert "production:hydro" not in b["totals"]["masked"]
    assert hidden_text(html, "value-consumption") == "masqué — dominé par un seul point"
    assert "dominé par un seul point" in html.split('data-testid="monthly-table"')[1]
    assert (verdicts["consumption"]["publishable"], verdicts["consumption"]["reason"]) == (False, "dominance")
    assert verdicts["production:hydro"]["publishable"]


def screen(points: list[int], share: list[float]) -> disclosure.StepScreen:
    """A screen of steps of 1 s from t = 0: so many points, the largest making ``share`` of a total of 1 W."""
    pts, largest = np.array(points), np.array(share)
    total = np.ones(len(pts))
    few = (pts > 0) & (pts < 10)
    return disclosure.StepScreen(0, 1, pts, largest, total, few, largest > 0.85 * total, int(pts.max()))


def test_a_period_holding_a_failing_step_is_hidden_so_no_subtraction_gives_the_step_back() -> None:
    s = screen([12, 12, 4, 12, 12], [0.1] * 5)
    # the step of 4 points is hidden, and so is every period that holds it (else [0, 5) − [0, 2) − [3, 5) = step 2)
    assert s.judge([0, 0, 3, 2], [2, 5, 5, 3]) == [None, "secondary", None, "fewer_than_10"]
    dominated = screen([12, 12, 12], [0.1, 0.95, 0.1])
    # a period whose own largest point stays under 85 % is hidden as secondary, one that would not be as dominance
    assert dominated.judge([0, 1], [3, 2]) == ["secondary", "dominance"]
    assert dominated.judge([10], [20]) == [None]  # no step there: nothing to hide


def test_a_hidden_source_hides_the_production_total_and_the_rates() -> None:
    balance = {
        "start": "2025-01-01T00:00:00+01:00", "end": "2025-01-01T01:00:00+01:00", "sources": ["hydro", "pv"],
        "totals": {"consumption_wh": 10.0, "production_wh": 6.0, "production_by_source_wh": {"hydro": 5.0, "pv": 1.0},
                   "self_consumed_wh": 6.0, "coverage": 0.6, "self_sufficiency": 0.6, "self_consumption": 1.0},
        "periods": {"start": ["2025-01-01T00:00:00+01:00"], "consumption_wh": [10.0], "production_total_wh": [6.0],
                    "production_wh": {"hydro": [5.0], "pv": [1.0]}, "self_consumed_wh": [6.0], "coverage": [0.6],
                    "self_sufficiency": [0.6], "self_consumption": [1.0]},
    }  # fmt: skip
    verdicts = [disclosure.Verdict("production:hydro", 1, True, "régie"),
                disclosure.Verdict("production:pv", 4, False, secrecy.FEWER_THAN_10)]  # fmt: skip
    out = disclosure.mask_balance(balance, None, verdicts)
    t = out["totals"]
    assert t["production_by_source_wh"] == {"hydro": 5.0, "pv": None} and t["consumption_wh"] == 10.0
    assert t["masked"] == {
        "production:pv": "fewer_than_10",
        "production": "secondary",
        "self_consumed": "secondary",
        "coverage": "secondary",
        "self_sufficiency": "secondary",
        "self_consumption": "secondary",
    }
    assert out["periods"]["production_wh"]["pv"] == [None] and out["periods"]["coverage"] == [None]
    assert balance["totals"]["production_wh"] == 6.0  # the service's figures are left alone
