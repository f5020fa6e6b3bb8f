"""Two territories in one store: an admin or operator of one reads nothing of the other through the gate
(each refusal logged), an admin of every territory reads both; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from two_territories import A, B, World, build

from regie.governance import audit, gate, territories
from regie.governance.covered import holders_over
from regie.store import open_store

PURPOSE = "dpv:CombatClimateChange"


@pytest.fixture
def world(store_url: str):
    store = open_store(store_url)
    yield build(store)
    store.close()


def _last(world: World) -> dict:
    return audit.entries(world.store)[-1].entry


@pytest.mark.parametrize(("who", "own", "other"), [("admin-v", "v-c1", "m-c1"), ("admin-m", "m-c1", "v-c1")])
def test_a_scoped_admin_reads_its_own_territory_and_is_refused_the_other(world: World, who, own, other) -> None:
    caller = world.accounts[who]
    mine = gate.read_personal(world.store, caller, own, A, B, "P1D", PURPOSE, reason="billing check")
    assert len(mine.t) == 31
    with pytest.raises(gate.AccessDenied, match=r"runs territory \w+ only; series .* another territory"):
        gate.read_personal(world.store, caller, other, A, B, "P1D", PURPOSE, reason="billing check")
    logged = _last(world)
    assert (logged["kind"], logged["decision"], logged["caller"], logged["series"]) == ("access", "refused", who, other)
    assert gate.allowed_granularity(world.store, caller, other, A, B, PURPOSE, reason="x") is None


def test_a_prm_of_the_other_territory_is_found_and_refused(world: World) -> None:
    """Reading by PRM looks in the PRM's own territory (not the store's first) — and still refuses a stranger."""
    root, admin_v = world.accounts["root"], world.accounts["admin-v"]
    got = gate.read_personal(world.store, root, "30010000000003", A, B, "P1D", PURPOSE, category="consumption",
                             reason="check")  # fmt: skip
    assert got.series == "v-c3"
    with pytest.raises(gate.AccessDenied):
        gate.read_personal(world.store, world.accounts["admin-m"], "30010000000003", A, B, "P1D", PURPOSE,
                           category="consumption", reason="check")  # fmt: skip
    assert gate.read_personal(world.store, admin_v, "30010000000003", A, B, "P1D", PURPOSE, category="consumption",
                              reason="check").series == "v-c3"  # fmt: skip


def test_aggregates_and_presence_of_another_territory_are_refused_and_logged(world: World) -> None:
    groups = {"households": [f"v-c{i}" for i in range(1, 11)]}
    for who in ("admin-m", "op-m"):
        caller = world.accounts[who]
        with pytest.raises(gate.AccessDenied, match="another territory"):
            gate.read_aggregate(world.store, caller, groups, A, B, B - A, PURPOSE, reason="check")
        assert (_last(world)["decision"], _last(world)["caller"]) == ("refused", who)
        with pytest.raises(gate.AccessDenied, match="another territory"):
            gate.read_presence(world.store, caller, groups["households"], A, B, PURPOSE)
        assert _last(world)["decision"] == "refused"
    # its own territory: the operator of the mont régie supervises it (secrecy applies, 10 points: shown)
    own = gate.read_aggregate(world.store, world.accounts["op-m"], {"h": [f"m-c{i}" for i in range(1, 11)]},
                              A, B, B - A, PURPOSE)  # fmt: skip
    assert own.values[0, 0] == pytest.approx(2500.0)
    mixed = {"both": ["v-c1", "m-c1"]}
    with pytest.raises(gate.AccessDenied, match="v-c1 belongs to another territory"):
        gate.read_aggregate(world.store, world.accounts["admin-m"], mixed, A, B, B - A, PURPOSE, reason="x")


def test_an_admin_of_every_territory_reads_both(world: World) -> None:
    root = world.accounts["root"]
    for sid in ("v-c1", "m-c1"):
        assert gate.read_personal(world.store, root, sid, A, B, "P1D", PURPOSE, reason="check").values.size == 31
    agg = gate.read_aggregate(world.store, root, {"all": ["v-c1", "m-c1"]}, A, B, B - A, PURPOSE, reason="check")
    assert agg.values[0, 0] == pytest.approx(350.0)


def test_what_each_admin_sees_of_territories_and_accounts(world: World) -> None:
    s = world.store
    assert [t.id for t in territories.visible(s, world.accounts["root"])] == ["mont", "vallee"]
    assert [t.id for t in territories.visible(s, world.accounts["admin-v"])] == ["vallee"]
    seen = {a.username for a in territories.accounts_seen_by(s, world.accounts["admin-m"])}
    assert seen == {"admin-m", "op-m"}
    assert {a.username for a in territories.accounts_seen_by(s, world.accounts["root"])} == set(world.accounts)
    assert territories.of_series(s, "m-h") == "mont" and territories.of_prm(s, "30010000000001") == "vallee"
    # the main territory is the one whose data came first, and a territory added later does not change it
    assert territories.main_territory(s) == "vallee"
    territories.create_territory(s, world.accounts["root"], territories.territory_from("aaa", "Added later"))
    assert s.territory_id() == "aaa" and territories.main_territory(s) == "vallee"


def test_a_holder_of_the_second_territory_keeps_their_rights(world: World) -> None:
    """What export and erasure find of a person, and who an aggregate covered, look in every territory (vallee is
    not the store's default: mont comes first)."""
    assert world.store.territory_id() == "mont"
    assert [s.id for s in gate.personal_series(world.store, "v-p3")] == ["v-c3"]
    assert holders_over(world.store, ["30010000000003", "30020000000004"], A, B) == ["m-p4", "v-p3"]
    assert gate.persons_described(world.store, [world.store.series("v-c1"), world.store.series("v-h")]) == {"v-c1"}
    gate.read_aggregate(world.store, world.accounts["admin-v"], {"g": [f"v-c{i}" for i in range(1, 11)]}, A, B,
                        B - A, PURPOSE, reason="check")  # fmt: skip
    seen = [r.caller for r in audit.accesses_to(world.store, "v-p3")]
    assert "admin-v" in seen  # the member sees the aggregate read in their access log
