"""What this régie agreed to receive: the ODRL policy of each dataset it subscribed to, as the peer's catalogue
offered it at that moment, kept in the access log (action ``agreed``).

A message carries its sender's policy and the purpose the sender declares; trusting either alone would let a
sender widen, after the fact, what was consented. So the inbox checks a personal datum's declared purpose
against the policy *agreed here* at subscription (:func:`agreed`), refuses and logs otherwise
(:mod:`regie.federation.inbox`); the policy the message carries must also be that same one.

A régie that subscribed before subscriptions kept their policy has none agreed: its peer's messages are refused
until it subscribes again. :func:`unagreed` names those datasets (from what was received, and from the refusals)
and ``regie federation agreements --renew`` subscribes to them again under the catalogue's current policy.
"""

from __future__ import annotations

import json
import time

from regie.federation import client, events, peers
from regie.federation.identity import Keyring
from regie.store import Store
from regie.store import federation as rows


class NotOffered(ValueError):
    """The dataset is not in the peer's catalogue for this régie."""


def subscribe(store: Store, ring: Keyring, p: rows.PeerRow, dataset: str, *, actor: str = "regie",
              now: int | None = None) -> dict:  # fmt: skip
    """Read the peer's catalogue, subscribe to ``dataset`` and keep the policy it was offered under."""
    at = int(time.time()) if now is None else int(now)
    lookup = peers.key_lookup(p)
    catalogue = client.call("GET", p.url + "/federation/catalogue", ring, lookup).json()
    offered = next((d for d in catalogue.get("dcat:dataset", []) if d.get("@id") == dataset), None)
    if offered is None:
        raise NotOffered(f"{dataset} is not in the catalogue {p.id} offers this régie")
    answer = client.call("POST", p.url + "/federation/subscribe", ring, lookup,
                         json.dumps({"dataset": dataset}).encode("utf-8")).json()  # fmt: skip
    record(store, p.id, dataset, offered.get("odrl:hasPolicy") or {}, actor=actor, now=at)
    return answer


def record(store: Store, peer_id: str, dataset: str, pol: dict, *, actor: str = "regie",
           now: int | None = None) -> None:  # fmt: skip
    """Keep (in the access log) the policy ``dataset`` of ``peer_id`` was subscribed under."""
    grant = dataset.split(":", 1)[1] if dataset.startswith("grant:") else None
    events.log(store, events.FederationEvent("agreed", peer_id, "allowed", "subscribed under the catalogue's policy",
                                             actor, grant_id=grant, detail={"dataset": dataset, "policy": pol}),
               now=now)  # fmt: skip


def agreed(store: Store, peer_id: str) -> dict[str, dict]:
    """The policy agreed per dataset of ``peer_id`` (the latest subscription's)."""
    out: dict[str, dict] = {}
    for e in events.logged(store, action="agreed"):
        if e.get("peer") == peer_id and e.get("decision") == "allowed":
            out[e["detail"]["dataset"]] = e["detail"]["policy"]
    return out


def unagreed(store: Store, peer_id: str) -> list[str]:
    """The personal datasets ``peer_id`` sent here (kept, or refused for want of an agreed policy) that have no
    policy agreed here: each must be subscribed to again before its messages are kept."""
    seen = {r.dataset for r in rows.received(store, peer_id) if r.dataset.startswith("grant:")}
    seen |= {e["detail"]["dataset"] for e in events.logged(store, action="refused_message")
             if e.get("peer") == peer_id and (e.get("detail") or {}).get("dataset")}  # fmt: skip
    return sorted(seen - agreed(store, peer_id).keys())
