"""The receiving side checks the sender's declared purpose against the policy it subscribed under.

A sender could declare another purpose, or attach a wider policy of its own making; neither may get a
personal datum kept: only the policy agreed here at subscription (kept by regie.federation.agreements) counts.
Each refusal is answered and logged; what was refused is not stored.
"""

from __future__ import annotations

import time

import pytest

from regie.federation import agreements, events, identity, inbox, peers, policy
from regie.store import federation as rows
from regie.store import open_store

GRANT = "g" * 32
DATASET = f"grant:{GRANT}"
AGREED = "dpv:ResearchAndDevelopment"


def _offer(purpose: str) -> dict:
    until = int(time.time()) + 30 * 86400
    return policy.offer("http://a.invalid/federation/policy/x/b", "http://a.invalid", "http://a.invalid/d",
                        purpose=purpose, until=until, grant_id=GRANT, assignee="http://b.invalid")  # fmt: skip


@pytest.fixture
def receiver(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'b.sqlite'}")
    doc = identity.well_known(tmp_path / "a", "http://a.invalid", audit_public_pem=None)
    peers.add(store, "admin", url="http://a.invalid", key_fingerprint=doc["currentKey"], doc=doc, peer_id="a",
              send=(), receive=("personal",))  # fmt: skip
    yield store, rows.peer(store, "a")
    store.close()


def _message(seq: int, purpose: str, pol: dict) -> dict:
    return {"seq": seq, "prev": seq - 1, "key": f"k{seq}", "kind": "data", "dataset": DATASET, "grant": GRANT,
            "policy": pol, "body": {"series": "c", "day": "2026-12-01", "t": [0], "values": [1.0],
                                    "purpose": purpose}}  # fmt: skip


def test_a_datum_is_kept_only_for_the_purpose_agreed_at_subscription(receiver) -> None:
    store, a = receiver
    agreed = _offer(AGREED)
    # not subscribed here: whatever the message's own policy says, nothing is kept
    (r,) = inbox.accept_all(store, a, [_message(1, AGREED, agreed)])
    assert r["status"] == "refused" and "not subscribed" in r["error"]
    agreements.record(store, "a", DATASET, agreed)
    # another purpose declared, under a policy the sender rewrote to allow it: refused
    (r,) = inbox.accept_all(store, a, [_message(1, "dpv:Marketing", _offer("dpv:Marketing"))])
    assert r["status"] == "refused" and r["code"] == 403 and "not the one agreed" in r["error"]
    # another purpose declared under the agreed policy: refused by the agreed policy
    (r,) = inbox.accept_all(store, a, [_message(1, "dpv:Marketing", agreed)])
    assert r["status"] == "refused" and "agreed policy refuses the declared purpose" in r["error"]
    assert "dpv:Marketing" in r["error"] and AGREED in r["error"]
    assert rows.received(store, "a") == []
    # the agreed purpose: kept, with its policy as provenance
    (r,) = inbox.accept_all(store, a, [_message(1, AGREED, agreed)])
    assert r["status"] == "stored"
    (kept,) = rows.received(store, "a")
    assert kept.grant_id == GRANT and '"dpv:ResearchAndDevelopment"' in kept.policy
    refusals = [e["reason"] for e in events.logged(store, action="refused_message")]
    assert len(refusals) == 3 and all("403" not in x for x in refusals)
