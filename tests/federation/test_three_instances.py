"""Two villages and a regional hub, three `regie serve` processes on loopback, each with its own store.

What must hold (issue 16): consented data arrives once; non-consented data never leaves; a withdrawn grant
stops the flow and the peer deletes; a peer killed for the length of 1,000 messages receives them all after
its restart, in order, none twice; a wrong key, a replayed nonce, a modified body or an expired signature is
refused (and logged); a rewritten log is caught by a witness; the hub's regional figures hold no personal
curve and hide what a village hid; a rotated key does not break a peer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from instances import DAYS, PRMS, Instance, hub, last_midnight, village, wait_for
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from regie.cli import app
from regie.federation import agreements, client, courier, events, identity, peers, witness
from regie.federation import signatures as sig
from regie.governance import audit, consent, log_head
from regie.governance.accounts import CLI_ADMIN
from regie.governance.keys import key_id
from regie.store import federation as rows
from regie.store import published
from regie.store.schema import access_log, audit_checkpoint

PURPOSE = "dpv:ResearchAndDevelopment"
FIGURE, STEP = "consumption", 86400


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Iterator[dict[str, Instance]]:
    root = tmp_path_factory.mktemp("federation")
    a, b, h = village(root / "a", "a"), village(root / "b", "b"), hub(root / "hub")
    # Public cells of each village's publication (as regie.publication.ledger keeps them): five days; one of
    # village a's is hidden (fewer than 10 points).
    day0 = last_midnight() - 5 * 86400
    published.append(a.store, FIGURE, STEP, [(day0 + i * 86400, 1, None if i == 2 else 1000.0 + i,
                                              "fewer_than_10" if i == 2 else None, 4 if i == 2 else 12)
                                             for i in range(5)], now=day0)  # fmt: skip
    published.append(b.store, FIGURE, STEP, [(day0 + i * 86400, 1, 2000.0 + i, None, 15) for i in range(5)], now=day0)
    b.args = ("--courier-every", "1")  # b pushes by itself (it sends the hub its public cells); the others are
    # pushed by the tests, which choose what is delivered when
    every = {"a": a, "b": b, "hub": h}
    try:
        for inst in every.values():
            inst.launch()
        for inst in every.values():
            inst.started()
        # Peering: each admin types the other's URL and the fingerprint read to them out of band.
        _peer(a, b, "b", send=("personal", "heads"), receive=("heads",))
        _peer(b, a, "a", send=("heads",), receive=("personal", "heads"))
        for v, name in ((a, "a"), (b, "b")):
            _peer(h, v, name, send=(), receive=("public", "heads"))
            _peer(v, h, "hub", send=("public", "heads"), receive=())
        yield every
    finally:
        for inst in every.values():
            inst.stop()


def _peer(at: Instance, other: Instance, pid: str, *, send: tuple, receive: tuple) -> None:
    peers.add(at.store, "admin", url=other.url, key_fingerprint=other.ring().current.key_id, peer_id=pid,
              send=send, receive=receive)  # fmt: skip


def _call(frm: Instance, to: Instance, pid: str, method: str, path: str, payload: dict | None = None) -> dict:
    p = rows.peer(frm.store, pid)
    body = json.dumps(payload).encode() if payload is not None else b""
    return client.call(method, to.url + path, frm.ring(), peers.key_lookup(p), body).json()


def _push(inst: Instance, **kw) -> dict[str, int]:
    courier.produce(inst.store)
    return courier.deliver(inst.store, inst.ring(), inst.url, force=True, **kw)


def _grant(a: Instance, who: str, days: int) -> consent.Grant:
    end = last_midnight()
    return consent.grant(
        a.store, CLI_ADMIN, subject_id=who, recipient_kind="peer", recipient_id="b", categories=["consumption"],
        prms=[PRMS[who]], granularity="P1D", data_start=end - days * 86400, data_end=None, purpose=PURPOSE,
        expires_at=consent.add_years(int(time.time()), 1),
    )  # fmt: skip


def test_the_hub_adds_up_public_aggregates_secrecy_applied_again(region) -> None:
    a, h = region["a"], region["hub"]
    dataset = f"public:{FIGURE}:{STEP}"
    for v in ("a", "b"):
        offered = [d["@id"] for d in _call(h, region[v], v, "GET", "/federation/catalogue")["dcat:dataset"]]
        assert offered == [dataset]  # public aggregates only: no grant names the hub
        assert _call(h, region[v], v, "POST", "/federation/subscribe", {"dataset": dataset})["dataset"] == dataset
    assert _push(a) == {"b": 0, "hub": 5}
    # b's own courier (regie serve --courier-every 1) queues and delivers its cells once the hub subscribed
    assert wait_for(lambda: len(rows.received(h.store, "b")) == 5)
    cells = httpx.get(f"{h.url}/federation/regional", params={"figure": FIGURE, "step": STEP}).json()["cells"]
    assert [c["reason"] for c in cells] == [None, None, "hidden_in_a_village", None, None]
    assert [c["value"] for c in cells] == [3000.0, 3002.0, None, 3006.0, 3008.0]
    assert all(c["villages"] == ["a", "b"] and c["points"] in (27, 19) for c in cells)
    got = rows.received(h.store)
    assert {r.dataset for r in got} == {dataset} and all(r.grant_id is None for r in got)
    assert _push(a) == {"b": 0, "hub": 0}  # nothing new: nothing sent twice


def test_consented_data_arrives_once_after_1000_messages_missed(region) -> None:
    a, b = region["a"], region["b"]
    g = _grant(a, "alice", DAYS)
    offered = [d["@id"] for d in _call(b, a, "a", "GET", "/federation/catalogue")["dcat:dataset"]]
    assert offered == [f"grant:{g.id}"]  # b receives no public data from a; bob and carol granted nothing
    policy = _call(b, a, "a", "GET", "/federation/catalogue")["dcat:dataset"][0]["odrl:hasPolicy"]
    assert policy["regie:consent"] == g.id and policy["odrl:prohibition"] == [{"odrl:action": "odrl:distribute"}]
    agreements.subscribe(b.store, b.ring(), rows.peer(b.store, "a"), f"grant:{g.id}")  # the policy is kept
    with pytest.raises(client.PeerRefused, match="403"):  # bob's data is offered to no one
        _call(b, a, "a", "POST", "/federation/subscribe", {"dataset": "grant:" + "0" * 32})

    b.stop()  # killed for the length of 1,000 messages
    assert courier.produce(a.store) == DAYS
    assert courier.deliver(a.store, a.ring(), a.url, force=True) == {"b": 0, "hub": 0}
    waiting = [m for m in rows.outbox(a.store, "b") if m.state == "pending"]
    assert len(waiting) == DAYS and waiting[0].attempts == 1 and "unreachable" not in (waiting[0].body or "")
    b.start()
    assert courier.deliver(a.store, a.ring(), a.url, force=True)["b"] == DAYS
    assert _push(a) == {"b": 0, "hub": 0}  # a second push: nothing new, nothing again

    got = [r for r in rows.received(b.store, "a") if r.dataset == f"grant:{g.id}"]
    assert len(got) == DAYS and len({r.delivery_key for r in got}) == DAYS
    assert [r.seq for r in got] == sorted(r.seq for r in got) == list(range(got[0].seq, got[0].seq + DAYS))
    bodies = [json.loads(r.body) for r in got]
    days = [x["day"] for x in bodies]
    assert days == sorted(days) and len(set(days)) == DAYS
    assert {x["series"] for x in bodies} == {"c-alice"} and {x["granularity"] for x in bodies} == {"P1D"}
    assert np.allclose([v for x in bodies for v in x["values"]], 100.0)  # daily means of alice's 100 W
    assert all(r.grant_id == g.id and r.received_at > 0 and json.loads(r.policy)["regie:consent"] == g.id for r in got)
    # Nothing of bob's or carol's left a: the gate logged reads as b of alice's series only.
    reads = [e.entry for e in audit.entries(a.store, kind="access") if e.entry["caller"] == "peer:b"]
    assert reads and {e["series"] for e in reads} == {"c-alice"} and {e["decision"] for e in reads} == {"allowed"}
    assert not any("c-bob" in (r.body or "") or "c-carol" in (r.body or "") for r in rows.received(b.store))
    assert all(m.body is None for m in rows.outbox(a.store, "b"))  # delivered: no copy kept at a


def test_a_withdrawn_grant_stops_the_flow_and_the_peer_deletes(region) -> None:
    a, b = region["a"], region["b"]
    g = _grant(a, "carol", 10)
    agreements.subscribe(b.store, b.ring(), rows.peer(b.store, "a"), f"grant:{g.id}")  # the policy is kept
    assert courier.produce(a.store) == 10
    assert courier.deliver(a.store, a.ring(), a.url, force=True, limit=4) == {"b": 4, "hub": 0}
    consent.withdraw(a.store, g.id, CLI_ADMIN)
    _push(a)
    mine = [m for m in rows.outbox(a.store, "b") if m.grant_id == g.id]
    assert [m.state for m in mine] == ["delivered"] * 4 + ["cancelled"] * 6 + ["delivered"]
    assert mine[-1].kind == "delete" and all(m.body is None for m in mine)
    got = [r for r in rows.received(b.store, "a") if r.grant_id == g.id]
    assert [r.kind for r in got] == ["data"] * 4 + ["delete"]
    assert all(r.body is None and r.deleted_at is not None for r in got if r.kind == "data")
    # logged on both sides
    assert [e["grant_id"] for e in events.logged(a.store, action="delete_requested")] == [g.id]
    assert [e["grant_id"] for e in events.logged(a.store, action="delete_sent")] == [g.id]
    (done,) = events.logged(b.store, action="delete_received")
    assert done["grant_id"] == g.id and done["detail"]["deleted"] == 4
    assert courier.produce(a.store) == 0  # the subscription ended with the grant


def test_a_subscription_without_agreed_policy_is_named_and_renewed(region, monkeypatch) -> None:
    """A régie that subscribed before subscriptions kept their policy (here: the bare signed request it sent
    then) has every personal message refused; `regie federation agreements` names the dataset, exits 1, and
    `--renew` subscribes again under the catalogue's policy, after which the flow resumes, in order, once."""
    a, b = region["a"], region["b"]
    g = _grant(a, "bob", 3)
    dataset = f"grant:{g.id}"
    assert _call(b, a, "a", "POST", "/federation/subscribe", {"dataset": dataset})["dataset"] == dataset
    assert _push(a)["b"] == 0  # refused by b: no policy agreed there
    (refusal,) = [e for e in events.logged(b.store, action="refused_message") if e["detail"].get("dataset")]
    assert refusal["detail"]["dataset"] == dataset and "no agreed policy" in refusal["reason"]
    assert agreements.unagreed(b.store, "a") == [dataset]
    monkeypatch.setenv("REGIE_DATA_DIR", str(b.data_dir))  # b's keys sign the renewed subscription
    run = CliRunner()
    listed = run.invoke(app, ["federation", "agreements", "a", "--database-url", b.db])
    assert listed.exit_code == 1, listed.output
    assert f"a\t{dataset}\tno agreed policy" in listed.output and "\tagreed\n" in listed.output  # alice's, carol's
    renewed = run.invoke(app, ["federation", "agreements", "a", "--renew", "--database-url", b.db])
    assert renewed.exit_code == 0 and f"a\t{dataset}\tagreed again" in renewed.output, renewed.output
    assert agreements.unagreed(b.store, "a") == []
    assert agreements.agreed(b.store, "a")[dataset]["regie:consent"] == g.id
    assert _push(a)["b"] == 3
    got = [r for r in rows.received(b.store, "a") if r.grant_id == g.id]
    assert len(got) == 3 == len({r.delivery_key for r in got}) and [r.seq for r in got] == sorted(r.seq for r in got)
    assert _push(a)["b"] == 0


def _send(frm: Instance, to: Instance, path: str, body: bytes, *, key=None, kid=None, now=None, sent=None):
    url = to.url + path
    key = key or frm.ring().private_key()
    headers = {"content-type": "application/json"}
    headers |= sig.sign(sig.Message(headers, body, "POST", url), key, kid or key_id(key), now=now)
    return httpx.post(url, content=sent if sent is not None else body, headers=headers), headers


def test_wrong_key_replay_modified_body_and_expired_signature_are_refused_and_logged(region) -> None:
    a, b = region["a"], region["b"]
    body = json.dumps({"dataset": "public:x:1"}).encode()
    stranger = Ed25519PrivateKey.generate()
    assert _send(a, b, "/federation/subscribe", body, key=stranger)[0].status_code == 401
    ok, headers = _send(a, b, "/federation/subscribe", body)
    assert ok.status_code == 403  # signed and known: refused for what it asks (not in its catalogue)
    replay = httpx.post(b.url + "/federation/subscribe", content=body, headers=headers)
    assert replay.status_code == 401 and replay.json()["error"] == "replay"
    modified = _send(a, b, "/federation/subscribe", body, sent=body.replace(b"x", b"y"))[0]
    assert modified.status_code == 401 and modified.json()["error"] == "digest"
    expired = _send(a, b, "/federation/subscribe", body, now=int(time.time()) - 3 * sig.VALIDITY)[0]
    assert expired.status_code == 401 and expired.json()["error"] == "expired"
    unsigned = httpx.get(b.url + "/federation/catalogue")
    assert unsigned.status_code == 401
    # b's answers are signed too, and bind to the request's nonce
    p = rows.peer(a.store, "b")
    nonce = sig.parse_dictionary(headers["Signature-Input"])[sig.LABEL][1]["nonce"]
    client.check_answer(replay.status_code, replay.content, dict(replay.headers), peers.key_lookup(p), nonce)
    reasons = [e["reason"] for e in events.logged(b.store, action="refused_request")]
    for why in ("unknown_key", "replay", "digest", "expired", "unsigned"):
        assert why in reasons
    # a suspended peer is refused (403, logged) until it is resumed
    peers.set_status(b.store, "a", "suspended", "admin")
    assert _send(a, b, "/federation/subscribe", body)[0].status_code == 403
    assert events.logged(b.store, action="refused_request")[-1]["reason"] == "suspended"
    peers.set_status(b.store, "a", "active", "admin")


def test_a_rewritten_log_is_caught_by_its_witness(region) -> None:
    a, h = region["a"], region["hub"]
    pa = rows.peer(h.store, "a")
    first = witness.witness(h.store, h.ring(), pa)
    httpx.get(a.url + "/federation/head")  # any activity: a refusal is logged, the log grows
    second = witness.witness(h.store, h.ring(), pa)
    assert second.size > first.size and len(rows.witnessed(h.store, "a")) == 2
    # Someone with the database rewrites a's log from its first entry, re-chains it, drops the checkpoints and
    # the signed head file: a's own notary then signs the rewritten log as if nothing happened.
    # The write lock is taken before the first read (writer: BEGIN IMMEDIATE), as regie's own writers do: a's
    # server keeps writing its log (b's courier calls it every second), and a deferred transaction that read
    # the log before one of those commits would fail at its first update with "database is locked".
    with a.store.engine.execution_options(writer=True).begin() as conn:
        prev = audit.GENESIS
        for r in conn.execute(select(access_log).order_by(access_log.c.seq)).all():
            entry = json.loads(r.entry)
            if r.seq == 1:
                entry["actor"] = "someone else"
            text = audit.canonical(entry)
            h_ = audit.chain_hash(prev, text)
            conn.execute(
                update(access_log).where(access_log.c.seq == r.seq).values(entry=text, prev_hash=prev, hash=h_)
            )
            prev = h_
        conn.execute(delete(audit_checkpoint))
    log_head.head_path(a.data_dir, a.db).unlink(missing_ok=True)
    httpx.get(a.url + "/federation/head")  # the log grows: the notary signs the rewritten history
    with pytest.raises(witness.LogRewritten, match="rewritten"):
        witness.witness(h.store, h.ring(), pa)
    (caught,) = [e for e in events.logged(h.store, action="witnessed") if e["decision"] == "refused"]
    assert caught["detail"]["witnessed"] == second.size
    assert len(rows.witnessed(h.store, "a")) == 2  # the earlier heads, signed by a, are kept as evidence


def test_a_rotated_key_does_not_break_a_peer(region) -> None:
    a, b = region["a"], region["b"]
    old = b.ring()
    old_key = old.private_key()
    identity.rotate(b.data_dir, overlap_days=30)
    with pytest.raises(client.PeerRefused):  # a does not know b's new key yet: b's answers do not verify
        _call(a, b, "b", "GET", "/federation/catalogue")
    peers.refresh_keys(a.store, rows.peer(a.store, "b"), peers.fetch_well_known(b.url))  # endorsed by the old key
    assert len(rows.peer(a.store, "b").keys) == 2
    assert _call(a, b, "b", "GET", "/federation/catalogue")["@type"] == "dcat:Catalog"
    # the old key still verifies at a until its end date
    r, _ = _send(b, a, "/federation/subscribe", b'{"dataset": "none"}', key=old_key, kid=old.current.key_id)
    assert r.status_code == 403  # authenticated as b (then refused for the unknown dataset), not 401
