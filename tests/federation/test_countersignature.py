"""A witness's countersignature goes back to the régie whose head it vouches for, and is kept there.

Two processes with their own stores: village a runs ``regie serve``; the hub runs ``regie federation witness``
(its own command, its own keys). a must end up holding the hub's countersignature of its head, checked: the
head is one of a's own and the countersignature verifies with the hub's key; a forged one is refused and
logged.
"""

from __future__ import annotations

import json

import pytest
from instances import hub, village

from regie.federation import client, events, identity, peers, witness
from regie.governance import audit
from regie.store import federation as rows


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("countersign")
    a, h = village(root / "a", "a"), hub(root / "hub")
    a.start()
    try:
        # out of band: each admin reads the other's fingerprint; the hub does not serve, so its document is given
        h_doc = identity.well_known(h.data_dir, h.url, audit_public_pem=None)
        peers.add(a.store, "admin", url=h.url, key_fingerprint=h.ring().current.key_id, doc=h_doc, peer_id="hub",
                  send=("heads",), receive=())  # fmt: skip
        peers.add(h.store, "admin", url=a.url, key_fingerprint=a.ring().current.key_id, peer_id="a",
                  send=(), receive=("heads",))  # fmt: skip
        yield a, h
    finally:
        a.stop()


def test_the_countersignature_is_sent_back_and_kept_by_the_signed_instance(pair) -> None:
    a, h = pair
    done = h.cli("federation", "witness", "a")
    assert done.returncode == 0, done.stdout + done.stderr
    (kept,) = witness.countersignatures(a.store)
    (w,) = rows.witnessed(h.store, "a")
    assert kept["peer"] == "hub" and kept["size"] == w.size and kept["head_hash"] == w.head_hash
    assert kept["countersignature"] == w.countersignature and kept["key_id"] == h.ring().current.key_id
    # a checks it itself, again, from what it kept: the hub's key over a's own head
    key = identity.load_public_pem(h.ring().current.public_pem)
    key.verify(bytes.fromhex(kept["countersignature"]),
               witness.countersignature_message(a.url, audit.Checkpoint(kept["size"], kept["head_hash"], kept["at"],
                                                                         "", "")))  # fmt: skip


def test_a_forged_countersignature_is_refused_and_logged(pair) -> None:
    a, h = pair
    (w,) = rows.witnessed(h.store, "a")[:1]
    p = rows.peer(h.store, "a")
    forged = {"size": w.size, "head_hash": "00" * 32, "at": w.at, "key_id": h.ring().current.key_id,
              "countersignature": w.countersignature}  # fmt: skip
    with pytest.raises(client.PeerRefused):
        client.call("POST", a.url + "/federation/countersignature", h.ring(), peers.key_lookup(p),
                    json.dumps(forged).encode())  # fmt: skip
    bad_sig = {"size": w.size, "head_hash": w.head_hash, "at": w.at, "key_id": h.ring().current.key_id,
               "countersignature": "11" * 64}  # fmt: skip
    with pytest.raises(client.PeerRefused):
        client.call("POST", a.url + "/federation/countersignature", h.ring(), peers.key_lookup(p),
                    json.dumps(bad_sig).encode())  # fmt: skip
    refused = [e for e in events.logged(a.store, action="countersigned") if e["decision"] == "refused"]
    assert [("does not have the hash" in e["reason"], "does not verify" in e["reason"]) for e in refused] == [
        (True, False), (False, True)]
    assert len(witness.countersignatures(a.store)) == 1  # nothing forged was kept
