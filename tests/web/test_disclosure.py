"""Statistical secrecy on the public face: the consumption-by-usage table and the verdicts on the headline
figures (``regie.web.disclosure``)."""

from __future__ import annotations

from collections.abc import Iterator

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
    Source,
    Territory,
)
from regie.store import open_store
from regie.web import disclosure


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
    assert reads[0].granularity == "P1M" and reads[0].decision == "allowed"
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
