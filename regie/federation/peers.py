"""Peers: other régies this one exchanges with, added by an admin by URL and key fingerprint (read to each
other out of band, as for an SSH host key), with what may flow each way, suspended at will.

A peer's keys: the one whose fingerprint the admin typed, then each successor it endorsed
(:func:`regie.federation.identity.rotate`), learnt from its well-known document (:func:`refresh_keys`); a key
verifies until its end date. A peer reads personal data through the gate as its own federation account
(:func:`account`): a consent grant whose recipient is ``peer:<id>`` names it.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from regie.federation import events
from regie.federation.identity import PublicKeyEntry, endorsement_ok, fingerprint, load_public_pem
from regie.governance.accounts import Account, Role
from regie.store import Store
from regie.store import federation as rows

KINDS = ("public", "personal", "heads")  # what may flow: public aggregates, personal data under grants, log heads
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PEER_ACCOUNT_ID = -8  # every peer's account shares it; the label (peer:<id>) says which


class PeerError(ValueError):
    """A peer refused (what, why)."""


def account(peer_id: str) -> Account:
    """The account a peer reads as: an operator of nothing, named ``peer:<id>`` (what its grants name)."""
    return Account(PEER_ACCOUNT_ID, f"peer:{peer_id}", Role.OPERATOR)


def _kinds(kinds: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    bad = sorted(set(kinds) - set(KINDS))
    if bad:
        raise PeerError(f"unknown kind {', '.join(bad)}: choose among {', '.join(KINDS)}")
    return frozenset(kinds)


def fetch_well_known(url: str, timeout: float = 10.0) -> dict:
    """A peer's ``/.well-known/regie`` (checked afterwards against the fingerprint the admin typed)."""
    target = url.rstrip("/") + "/.well-known/regie"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError) as exc:
        raise PeerError(f"{target}: no well-known document ({exc})") from None


def _entries(doc: dict) -> list[PublicKeyEntry]:
    out = []
    for k in doc.get("publicKey", []):
        out.append(PublicKeyEntry(k["keyId"], k["sec:publicKeyPem"], int(k["created"]), k.get("notAfter"),
                                  k.get("endorsedBy"), k.get("endorsement")))  # fmt: skip
    for e in out:
        if fingerprint(e.public_key()) != e.key_id:
            raise PeerError(f"key {e.key_id[:16]}: its id is not its fingerprint")
    return out


def trusted_from(doc: dict, known: list[PublicKeyEntry]) -> list[PublicKeyEntry]:
    """The keys of ``doc`` to trust given those already trusted: the known ones (with the end dates the peer
    now publishes) and every new key endorsed, directly or along a chain, by a trusted one."""
    offered = {e.key_id: e for e in _entries(doc)}
    trusted = {e.key_id: offered.get(e.key_id, e) for e in known}
    grew = True
    while grew:
        grew = False
        for e in offered.values():
            if e.key_id not in trusted and e.endorsed_by in trusted and \
                    endorsement_ok(e, trusted[e.endorsed_by].public_key()):  # fmt: skip
                trusted[e.key_id] = e
                grew = True
    return sorted(trusted.values(), key=lambda e: e.created)


def add(store: Store, actor: str, *, url: str, key_fingerprint: str, peer_id: str | None = None,
        send: tuple[str, ...] = ("public",), receive: tuple[str, ...] = ("public", "heads"),
        doc: dict | None = None, now: int | None = None) -> rows.PeerRow:  # fmt: skip
    """Add a peer: its well-known document must offer a key with exactly this fingerprint."""
    at = int(time.time()) if now is None else int(now)
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise PeerError(f"{url!r}: a peer's URL starts with https:// (or http:// on a private network)")
    doc = fetch_well_known(url) if doc is None else doc
    wanted = key_fingerprint.strip().lower().replace(":", "")
    first = [e for e in _entries(doc) if e.key_id == wanted]
    if not first:
        events.log(store, events.FederationEvent("peer_added", url, "refused", "fingerprint mismatch",
                                                 actor, detail={"fingerprint": wanted[:32]}), now=at)  # fmt: skip
        raise PeerError(f"{url} offers no key with fingerprint {wanted}: check it with the peer's admin")
    keys = trusted_from(doc, first)
    name = str(doc.get("name") or url)
    pid = peer_id or re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-")[:64] or "peer"
    if not _ID.match(pid):
        raise PeerError(f"peer id {pid!r}: lower-case letters, digits, '.', '_' or '-'")
    if rows.peer(store, pid) is not None:
        raise PeerError(f"a peer {pid} exists already")
    row = rows.PeerRow(pid, url, name, str((doc.get("operator") or {}).get("foaf:name") or ""),
                       [_as_dict(e) for e in keys],
                       doc.get("auditKey"), _kinds(send), _kinds(receive), "active", at, actor)  # fmt: skip
    rows.insert_peer(store, row)
    events.log(
        store,
        events.FederationEvent(
            "peer_added",
            pid,
            "allowed",
            "fingerprint checked",
            actor,
            detail={"url": url, "keys": [e.key_id for e in keys], "send": sorted(send), "receive": sorted(receive)},
        ),
        now=at,
    )
    return rows.peer(store, pid)  # type: ignore[return-value]


def _as_dict(e: PublicKeyEntry) -> dict:
    return {k: getattr(e, k) for k in e.__slots__}


def keys_of(p: rows.PeerRow) -> list[PublicKeyEntry]:
    return [PublicKeyEntry(**k) for k in p.keys]


def refresh_keys(store: Store, p: rows.PeerRow, doc: dict, *, now: int | None = None) -> rows.PeerRow:
    """Learn a peer's rotated keys from its well-known document (endorsed by a key already trusted)."""
    at = int(time.time()) if now is None else int(now)
    keys = trusted_from(doc, keys_of(p))
    if [e.key_id for e in keys] != [e.key_id for e in keys_of(p)]:
        events.log(store, events.FederationEvent("keys_learnt", p.id, "allowed", "endorsed by a trusted key",
                                                 detail={"keys": [e.key_id for e in keys]}), now=at)  # fmt: skip
    rows.update_peer(store, p.id, at, keys=[_as_dict(e) for e in keys], audit_key=doc.get("auditKey") or p.audit_key)
    return rows.peer(store, p.id)  # type: ignore[return-value]


def set_status(store: Store, peer_id: str, status: str, actor: str, *, now: int | None = None) -> rows.PeerRow:
    at = int(time.time()) if now is None else int(now)
    if status not in ("active", "suspended"):
        raise PeerError("a peer is active or suspended")
    if not rows.update_peer(store, peer_id, at, status=status):
        raise PeerError(f"no peer {peer_id}")
    events.log(store, events.FederationEvent(f"peer_{status}", peer_id, "allowed", "by an admin", actor), now=at)
    return rows.peer(store, peer_id)  # type: ignore[return-value]


def set_flows(store: Store, peer_id: str, actor: str, *, send: tuple[str, ...], receive: tuple[str, ...],
              now: int | None = None) -> rows.PeerRow:  # fmt: skip
    at = int(time.time()) if now is None else int(now)
    if not rows.update_peer(store, peer_id, at, send=_kinds(send), receive=_kinds(receive)):
        raise PeerError(f"no peer {peer_id}")
    events.log(
        store,
        events.FederationEvent(
            "peer_flows",
            peer_id,
            "allowed",
            "by an admin",
            actor,
            detail={"send": sorted(send), "receive": sorted(receive)},
        ),
        now=at,
    )
    return rows.peer(store, peer_id)  # type: ignore[return-value]


def key_lookup(p: rows.PeerRow, now: int | None = None):
    """``lookup(key_id, created)`` over a peer's trusted keys: a key verifies until its end date."""

    def lookup(kid: str, _created: int) -> Ed25519PublicKey | None:
        at = int(time.time()) if now is None else int(now)
        for e in keys_of(p):
            if e.key_id == kid and (e.not_after is None or at < e.not_after):
                return load_public_pem(e.public_pem)
        return None

    return lookup


def by_key(store: Store, kid: str) -> rows.PeerRow | None:
    """The peer that holds a key id (a signed request names only its key)."""
    return next((p for p in rows.peers(store) if any(k["key_id"] == kid for k in p.keys)), None)
