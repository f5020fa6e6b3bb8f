"""What a régie offers a peer, as a DCAT catalogue with an ODRL policy per dataset (the Dataspace Protocol's
shape: a ``dcat:Catalog`` of ``dcat:Dataset``s, each with an ``odrl:hasPolicy``), so that a dataspace
connector (Eclipse EDC, EDDIE) can read it later.

Two kinds of dataset: the publication's public aggregates (``public:<figure>:<step>``, frozen cells that
passed the secrecy rule: :mod:`regie.publication`), offered to every peer allowed to receive "public"; and a
member's personal series under a consent grant whose recipient is that peer (``grant:<id>``), offered to
that peer only, while the grant is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from regie.federation import policy
from regie.governance import consent
from regie.store import Store
from regie.store import federation as rows


@dataclass(frozen=True, slots=True)
class Dataset:
    id: str
    kind: str  # public, personal
    title: str
    figure: str | None = None
    step: int | None = None
    grant: consent.Grant | None = None


def grants_to(store: Store, peer_id: str, now: int) -> list[consent.Grant]:
    """The given grants whose recipient is this peer."""
    return [g for g in consent.list_grants(store, recipient_id=peer_id)
            if g.recipient_kind is consent.RecipientKind.PEER and g.status_at(now) is consent.Status.GIVEN]  # fmt: skip


def datasets(store: Store, peer: rows.PeerRow, *, now: int | None = None) -> list[Dataset]:
    at = int(time.time()) if now is None else int(now)
    out = []
    if "public" in peer.send:
        out += [Dataset(f"public:{f}:{s}", "public", f"{f} every {s} s (public aggregate)", f, s)
                for f, s in rows.published_figures(store)]  # fmt: skip
    if "personal" in peer.send:
        out += [Dataset(f"grant:{g.id}", "personal", f"{', '.join(sorted(g.categories))} at {g.granularity.value}",
                        grant=g) for g in grants_to(store, peer.id, at)]  # fmt: skip
    return out


def find(store: Store, peer: rows.PeerRow, dataset_id: str, *, now: int | None = None) -> Dataset | None:
    return next((d for d in datasets(store, peer, now=now) if d.id == dataset_id), None)


def policy_of(d: Dataset, base: str, peer: rows.PeerRow) -> dict:
    """The ODRL policy of a dataset for a peer: for personal data the grant's purpose, its expiry as the end
    of use and the duty to delete, no redistribution and the grant's id; public aggregates may be reused."""
    uid = f"{base}/federation/policy/{d.id}/{peer.id}"
    target = f"{base}/federation/dataset/{d.id}"
    if d.grant is None:
        return policy.offer(uid, base, target, purpose=None, until=None, grant_id=None, assignee=peer.url,
                            redistribute=True)  # fmt: skip
    g = d.grant
    return policy.offer(uid, base, target, purpose=g.purpose, until=g.expires_at, grant_id=g.id, assignee=peer.url)


def document(store: Store, base: str, peer: rows.PeerRow, *, now: int | None = None) -> dict:
    """The DCAT catalogue this peer may see (JSON-LD)."""
    base = base.rstrip("/")
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", **policy.CONTEXT},
        "@id": f"{base}/federation/catalogue",
        "@type": "dcat:Catalog",
        "dct:publisher": base,
        "dcat:dataset": [{
            "@id": d.id, "@type": "dcat:Dataset", "dct:title": d.title, "regie:kind": d.kind,
            "odrl:hasPolicy": policy_of(d, base, peer),
            "dcat:distribution": {"@type": "dcat:Distribution", "dcat:accessService": f"{base}/federation/subscribe"},
        } for d in datasets(store, peer, now=now)],
    }  # fmt: skip
