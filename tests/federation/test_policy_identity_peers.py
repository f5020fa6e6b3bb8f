"""The ODRL subset, key rotation and endorsements, adding a peer by fingerprint, the hub's secrecy, the admin
page and a member's grant to a peer: in one process, no network."""

from __future__ import annotations

import json

import pytest

from regie.federation import catalogue, events, hub, identity, peers, policy
from regie.governance import consent
from regie.governance.accounts import CLI_ADMIN
from regie.store import Store, open_store
from regie.store import federation as rows

T = 1_800_000_000


@pytest.fixture
def store(tmp_path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'r.sqlite'}")


def test_the_odrl_subset() -> None:
    p = policy.offer("u", "a", "t", purpose="dpv:ResearchAndDevelopment", until=T, grant_id="g1", assignee="b")
    ok = policy.evaluate(p, "odrl:use", purpose="dpv:ResearchAndDevelopment", at=T - 1)
    assert ok.permitted and ok.duties == (("odrl:delete", T),)
    assert not policy.evaluate(p, "odrl:use", purpose="dpv:ServiceProvision", at=T - 1).permitted
    assert "ended" in policy.evaluate(p, "odrl:use", purpose="dpv:ResearchAndDevelopment", at=T).reason
    assert policy.evaluate(p, "odrl:distribute", purpose=None, at=T - 1).reason == "odrl:distribute is prohibited"
    odd = json.loads(json.dumps(p).replace("odrl:lt", "odrl:gteq"))
    assert "outside the subset" in policy.evaluate(odd, "odrl:use", purpose="dpv:ResearchAndDevelopment",
                                                   at=T - 1).reason  # fmt: skip
    assert not policy.evaluate({"@type": "odrl:Set"}, "odrl:use", purpose=None, at=0).permitted
    broken = {"@type": "odrl:Offer", "odrl:permission": "use it all"}
    assert policy.evaluate(broken, "odrl:use", purpose=None, at=0).reason == "a malformed policy"
    public = policy.offer("u", "a", "t", purpose=None, until=None, grant_id=None, redistribute=True)
    assert policy.evaluate(public, "odrl:distribute", purpose=None, at=T).permitted
    assert policy.deadline(public) is None


def _doc(tmp_path, name: str = "b") -> dict:
    return identity.well_known(tmp_path / name, f"http://{name}.example", audit_public_pem=None)


def test_rotation_keeps_the_old_key_until_its_end_and_endorses_the_new(tmp_path) -> None:
    first = identity.load_or_create(tmp_path / "b", now=T)
    old = first.current
    ring = identity.rotate(tmp_path / "b", overlap_days=30, now=T + 10)
    assert ring.current.key_id != old.key_id and ring.current.endorsed_by == old.key_id
    ended = next(e for e in ring.entries if e.key_id == old.key_id)
    assert ended.not_after == T + 10 + 30 * 86400
    assert [e.key_id for e in ring.published(T + 20)] == [ring.current.key_id, old.key_id]
    assert [e.key_id for e in ring.published(T + 31 * 86400)] == [ring.current.key_id]
    assert oct((tmp_path / "b" / "keys" / "federation" / f"{ring.current.key_id}.pem").stat().st_mode)[-3:] == "600"
    # a peer that trusts the old key learns the new one; a key endorsed by no trusted key is not learnt
    doc = identity.well_known(tmp_path / "b", "http://b.example", audit_public_pem=None, now=T + 20)
    trusted = peers.trusted_from(doc, [old])
    assert [e.key_id for e in trusted] == [old.key_id, ring.current.key_id]
    stranger = identity.load_or_create(tmp_path / "x").current
    assert [e.key_id for e in peers.trusted_from(doc, [stranger])] == [stranger.key_id]


def test_a_peer_is_added_only_with_the_right_fingerprint_and_is_suspended_at_will(store, tmp_path) -> None:
    doc = _doc(tmp_path)
    with pytest.raises(peers.PeerError, match="fingerprint"):
        peers.add(store, "admin", url="http://b.example", key_fingerprint="00" * 16, doc=doc)
    p = peers.add(store, "admin", url="http://b.example", key_fingerprint=doc["currentKey"], doc=doc, peer_id="b",
                  send=("personal",), receive=("public",))  # fmt: skip
    assert p.status == "active" and p.send == {"personal"}
    assert peers.set_status(store, "b", "suspended", "admin").status == "suspended"
    assert [e["decision"] for e in events.logged(store, action="peer_added")] == ["refused", "allowed"]
    assert events.logged(store, action="peer_suspended")[0]["actor"] == "admin"
    with pytest.raises(peers.PeerError, match="unknown kind"):
        peers.set_flows(store, "b", "admin", send=("everything",), receive=())


def _received(store: Store, peer: str, seq: int, t: int, value: float | None, points: int) -> None:
    body = {"figure": "c", "step": 86400, "t": t, "version": 1, "value": value, "points": points,
            "reason": None if value is not None else "fewer_than_10"}  # fmt: skip
    assert rows.receive(store, peer, seq, seq - 1, f"{peer}{seq}", "data", "public:c:86400", None, None,
                        json.dumps(body), T)[0] == "stored"  # fmt: skip


def test_the_hub_hides_what_a_village_hid_and_what_counts_too_few(store, tmp_path) -> None:
    for name in ("a", "b"):
        doc = _doc(tmp_path, name)
        peers.add(store, "admin", url=f"http://{name}.example", key_fingerprint=doc["currentKey"], doc=doc,
                  peer_id=name)  # fmt: skip
    _received(store, "a", 1, 0, 10.0, 12)
    _received(store, "b", 1, 0, 20.0, 12)
    _received(store, "a", 2, 86400, None, 3)
    _received(store, "b", 2, 86400, 5.0, 40)
    _received(store, "a", 3, 172800, 1.0, 4)
    _received(store, "b", 3, 172800, 1.0, 5)
    _received(store, "a", 4, 259200, 1.0, 40)
    cells = hub.regional(store, "c", 86400)
    assert [(c.value, c.reason) for c in cells] == [
        (30.0, None),
        (None, "hidden_in_a_village"),
        (None, "fewer_than_10"),
        (None, "incomplete"),
    ]
    assert rows.receive(store, "a", 4, 3, "a4", "data", "public:c:86400", None, None, "{}", T)[0] == "duplicate"
    assert rows.receive(store, "a", 6, 5, "a6", "data", "public:c:86400", None, None, "{}", T)[0] == "gap"


def test_a_members_grant_to_a_peer_appears_in_its_catalogue_only(store, tmp_path) -> None:
    from datetime import date

    from regie.model import DeliveryPoint, Inventory, Membership, Person, Series, SeriesKind, Site, Step, Territory

    prm = "30002000000001"
    store.save_inventory(Inventory(
        Territory("t", "T"), sites=[Site("h", "h", "t")], delivery_points=[DeliveryPoint(prm, "h")],
        persons=[Person("alice", "Alice")], memberships=[Membership("alice", prm, date(2024, 1, 1))],
        series=[Series("c", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=prm)],
    ))  # fmt: skip
    for name, send in (("b", ("personal",)), ("c", ("public", "personal"))):
        doc = _doc(tmp_path, name)
        peers.add(store, "admin", url=f"http://{name}.example", key_fingerprint=doc["currentKey"], doc=doc,
                  peer_id=name, send=send)  # fmt: skip
    g = consent.grant(store, CLI_ADMIN, subject_id="alice", recipient_kind="peer", recipient_id="b",
                      categories=["consumption"], prms=[prm], granularity="P1D", data_start=0, data_end=None,
                      purpose="dpv:ResearchAndDevelopment", expires_at=T + 86400 * 300, now=T - 86400)  # fmt: skip
    b, c = rows.peer(store, "b"), rows.peer(store, "c")
    assert [d.id for d in catalogue.datasets(store, b, now=T)] == [f"grant:{g.id}"]
    assert [d.id for d in catalogue.datasets(store, c, now=T)] == []  # the grant names b, not c
    doc = catalogue.document(store, "http://a.example", b, now=T)
    pol = doc["dcat:dataset"][0]["odrl:hasPolicy"]
    assert pol["regie:consent"] == g.id and pol["odrl:assignee"] == "http://b.example"
    consent.withdraw(store, g.id, CLI_ADMIN, now=T)
    assert catalogue.datasets(store, b, now=T + 1) == []


def test_the_inbox_refuses_what_is_malformed_and_keeps_order(store, tmp_path) -> None:
    from regie.federation import inbox

    doc = _doc(tmp_path, "a")
    p = peers.add(store, "admin", url="http://a.example", key_fingerprint=doc["currentKey"], doc=doc, peer_id="a",
                  receive=("public",))  # fmt: skip
    ok = {"seq": 1, "prev": 0, "key": "k1", "kind": "data", "dataset": "public:c:86400", "body": {"t": 0}}
    results = inbox.accept_all(store, p, [ok, {**ok, "seq": 2, "prev": 1, "key": "k2", "kind": "delete"}, ok])
    assert [r["status"] for r in results] == ["stored", "refused"]  # a deletion names its grant; nothing after
    assert "names the grant" in results[1]["error"]
    personal = {**ok, "seq": 2, "prev": 1, "key": "k2", "dataset": "grant:g", "grant": "g"}
    assert inbox.accept_all(store, p, [personal])[0]["code"] == 403  # a does not send personal data here
    assert inbox.accept_all(store, p, [{**ok, "seq": 5, "prev": 4, "key": "k5"}])[0]["code"] == 409  # a gap
    assert inbox.accept_all(store, p, [ok])[0]["status"] == "duplicate"
    assert [r.seq for r in rows.received(store, "a")] == [1]
    assert len(events.logged(store, action="refused_message")) == 3
