"""A regional hub fed by real villages: each village is its own store whose courier queues its public cells
(:func:`regie.federation.courier.produce`), and the hub keeps them through its inbox
(:func:`regie.federation.inbox.accept_all`), as ``POST /federation/inbox`` does once the signature is checked.
The signed HTTP transport itself is checked by ``tests/federation/test_three_instances.py``; here the pages
are. Used by the hub's browser test and by the demo pages (the demo régie is also a hub of two neighbours).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from regie.federation import courier, identity, inbox, peers
from regie.model import Inventory, Territory
from regie.store import Store, open_store, published
from regie.store import federation as rows

FIGURE, STEP = "consumption", 86400


@dataclass(frozen=True)
class Neighbour:
    id: str
    name: str
    latitude: float
    longitude: float
    cells: list[tuple[int, int, float | None, str | None, int]]  # (t, version, value, reason, points)


def feed_hub(hub: Store, folder: Path, neighbours: list[Neighbour], *, hub_url: str = "http://hub.invalid") -> None:
    """Each neighbour publishes its cells, the hub peers with it (receive public) and keeps what it sends."""
    folder.mkdir(parents=True, exist_ok=True)
    hub_doc = identity.well_known(folder / "hub-keys", hub_url, audit_public_pem=None)
    already = {r.peer_id for r in rows.received(hub)}
    for n in neighbours:
        if n.id in already:
            continue  # a kept store (REGIE_TEST_DEMO_DIR) was fed once already
        village = open_store(f"sqlite:///{folder / (n.id + '.sqlite')}")
        try:
            village.save_inventory(Inventory(Territory(n.id, n.name, latitude=n.latitude, longitude=n.longitude)))
            published.append(village, FIGURE, STEP, n.cells, now=n.cells[0][0])
            identity.set_identity(folder / n.id, n.name, f"Régie de {n.name}")
            doc = identity.well_known(folder / n.id, f"http://{n.id}.invalid", audit_public_pem=None)
            peers.add(village, "admin", url=hub_url, key_fingerprint=hub_doc["currentKey"], doc=hub_doc,
                      peer_id="hub", send=("public",), receive=())  # fmt: skip
            if rows.peer(hub, n.id) is None:
                peers.add(hub, "admin", url=doc["@id"],
                          key_fingerprint=doc["currentKey"], doc=doc, peer_id=n.id, send=(),
                          receive=("public",))  # fmt: skip
            rows.subscribe(village, "hub", f"public:{FIGURE}:{STEP}", n.cells[0][0])
            courier.produce(village)
            prev = 0
            messages = []
            for m in rows.outbox(village, "hub"):
                messages.append({"seq": m.seq, "prev": prev, "key": m.delivery_key, "kind": m.kind,
                                 "dataset": m.dataset, "grant": None, "policy": None,
                                 "body": json.loads(m.body) if m.body else None})  # fmt: skip
                prev = m.seq
            results = inbox.accept_all(hub, rows.peer(hub, n.id), messages)
            assert all(r["status"] in ("stored", "duplicate") for r in results), results
        finally:
            village.close()
