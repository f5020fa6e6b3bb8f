"""Witnessing peers' access logs, as Certificate Transparency monitors do (RFC 9162 §8.2).

Each régie signs its access log's head (:mod:`regie.governance.log_head`). A peer fetches that signed head,
checks its signature with the régie's published audit key, checks it is *consistent* with the last head it
witnessed (the log's entry hashes from the old head to the new one: the first must be the old head, the
last the new one, none missing), countersigns it with its own federation key and keeps it. A log cut below a
witnessed head, or rewritten (its entry at the old size no longer has the witnessed hash), fails the check:
the witness logs it as refused and keeps the earlier head, signed by the régie itself, as evidence.

The countersignature is then sent back to the régie whose head it is (``POST /federation/countersignature``,
signed): it checks that the head is one of its own (the entry at that size has that hash) and that the
countersignature verifies with the witness's key, and keeps it in its own access log (action
``countersigned``), so that the régie can show who vouched for which head (:func:`countersignatures`). A
witness that cannot deliver it keeps it anyway and logs ``countersignature_undelivered``.

What this proves: the régie's log, as its own software reads it, still extends what it signed earlier. The
hashes alone do not re-derive the chain from the entries (those name data subjects and stay home): a third
party checks the content with ``regie audit verify --export`` and the public key (docs/audit.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from regie.federation import client, events, peers
from regie.federation.identity import Keyring, load_public_pem
from regie.federation.signatures import KeyLookup
from regie.governance import audit, log_head
from regie.store import Store
from regie.store import federation as rows

_COUNTERSIGN = b"regie federation witness v1\n"
MAX_PROOF = 100_000  # entries per consistency answer


class LogRewritten(RuntimeError):
    """A peer's new head does not extend the one witnessed before."""


def current_head(store: Store, data_dir: Path, notary: log_head.Notary | None = None) -> audit.Checkpoint | None:
    """The signed head this régie shows its peers: sealed now if the log grew (the notary), else the last."""
    if notary is not None:
        notary.seal(store)
        head = log_head.read_head(notary.head_path)
        if head is not None:
            return head
    cps = audit.checkpoints(store)
    return cps[-1] if cps else None


def consistency(store: Store, first: int, last: int) -> list[str]:
    """Entry hashes ``first..last`` (both included): what a witness checks a new head against."""
    if first < 1 or last < first or last - first > MAX_PROOF:
        raise ValueError(f"a consistency proof covers 1 <= from <= to, at most {MAX_PROOF} entries")
    return rows.chain_hashes(store, first, last)


def countersignature_message(peer_url: str, head: audit.Checkpoint) -> bytes:
    return _COUNTERSIGN + f"{peer_url}\n{head.size}\n{head.head_hash}\n{head.at}\n".encode("ascii")


def check(previous: rows.Witnessed | None, head: audit.Checkpoint, proof: list[str] | None) -> None:
    """Raise LogRewritten unless ``head`` extends ``previous`` along ``proof``."""
    if previous is None:
        return
    if head.size < previous.size:
        raise LogRewritten(f"the log shrank from {previous.size} to {head.size} entries")
    if head.size == previous.size:
        if head.head_hash != previous.head_hash:
            raise LogRewritten(f"entry {head.size} is not the one witnessed: the log was rewritten")
        return
    if proof is None or len(proof) != head.size - previous.size + 1:
        raise LogRewritten("no complete consistency proof")
    if proof[0] != previous.head_hash:
        raise LogRewritten(f"entry {previous.size} is not the one witnessed: the log was rewritten")
    if proof[-1] != head.head_hash:
        raise LogRewritten("the proof does not end at the signed head")


def witness(store: Store, ring: Keyring, p: rows.PeerRow, *, now: int | None = None) -> rows.Witnessed:
    """Fetch, check and countersign a peer's signed head; raise LogRewritten (logged) when it does not hold."""
    at = int(time.time()) if now is None else int(now)
    lookup = peers.key_lookup(p)
    doc = client.call("GET", p.url + "/federation/head", ring, lookup).json()
    head = audit.Checkpoint(int(doc["size"]), str(doc["head_hash"]), int(doc["at"]), str(doc["key_id"]),
                            str(doc["signature"]))  # fmt: skip
    if not p.audit_key or not audit.signature_ok(head, load_public_pem(p.audit_key)):
        events.log(store, events.FederationEvent("witnessed", p.id, "refused", "bad head signature",
                                                 detail={"size": head.size}), now=at)  # fmt: skip
        raise LogRewritten(f"{p.id}: the head's signature does not verify with its audit key")
    before = rows.witnessed(store, p.id)
    previous = before[-1] if before else None
    proof = None
    if previous is not None and head.size > previous.size:
        proof = client.call("GET", f"{p.url}/federation/consistency?from={previous.size}&to={head.size}", ring,
                            lookup).json().get("hashes")  # fmt: skip
    try:
        check(previous, head, proof)
    except LogRewritten as exc:
        seen = previous.size if previous else 0
        detail = {"size": head.size, "witnessed": seen}
        events.log(store, events.FederationEvent("witnessed", p.id, "refused", str(exc), detail=detail), now=at)
        raise
    w = rows.Witnessed(p.id, head.size, head.head_hash, head.at, head.key_id, head.signature,
                       ring.private_key().sign(countersignature_message(p.url, head)).hex(), at)  # fmt: skip
    rows.add_witnessed(store, w)
    events.log(store, events.FederationEvent("witnessed", p.id, "allowed", "consistent", detail={"size": head.size}),
               now=at)  # fmt: skip
    send_back(store, ring, p, w, now=at)
    return w


def send_back(store: Store, ring: Keyring, p: rows.PeerRow, w: rows.Witnessed, *, now: int | None = None) -> bool:
    """Give the peer our countersignature of its head; False (logged) when it did not take it."""
    body = json.dumps({"size": w.size, "head_hash": w.head_hash, "at": w.at, "key_id": ring.current.key_id,
                       "countersignature": w.countersignature}).encode("utf-8")  # fmt: skip
    try:
        client.call("POST", p.url + "/federation/countersignature", ring, peers.key_lookup(p), body)
        return True
    except (client.PeerUnreachable, client.PeerRefused) as exc:
        events.log(store, events.FederationEvent("countersignature_undelivered", p.id, "refused", str(exc)[:200],
                                                 detail={"size": w.size}), now=now)  # fmt: skip
        return False


def accept_countersignature(store: Store, p: rows.PeerRow, own_url: str, doc: dict, lookup: KeyLookup, *,
                            now: int | None = None) -> dict:  # fmt: skip
    """Keep a peer's countersignature of one of this régie's heads, after checking both; ValueError (logged)
    when the head is not ours or the countersignature does not verify."""
    at = int(time.time()) if now is None else int(now)
    try:
        size, head_hash, signed_at = int(doc["size"]), str(doc["head_hash"]), int(doc["at"])
        kid, cs = str(doc["key_id"]), bytes.fromhex(str(doc["countersignature"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a countersignature: {exc}") from None
    problem = None
    ours = rows.chain_hashes(store, size, size) if size >= 1 else []
    if ours != [head_hash]:
        problem = f"entry {size} of this log does not have the hash {head_hash[:16]}…"
    else:
        key = lookup(kid, at)
        head = audit.Checkpoint(size, head_hash, signed_at, "", "")
        try:
            if key is None:
                raise InvalidSignature
            key.verify(cs, countersignature_message(own_url, head))
        except InvalidSignature:
            problem = f"the countersignature does not verify with the key {kid} of {p.id}"
    detail = {"size": size, "head_hash": head_hash, "at": signed_at, "key_id": kid}
    if problem is not None:
        events.log(store, events.FederationEvent("countersigned", p.id, "refused", problem, detail=detail), now=at)
        raise ValueError(problem)
    detail["countersignature"] = cs.hex()
    events.log(store, events.FederationEvent("countersigned", p.id, "allowed", "head vouched for by a witness",
                                             detail=detail), now=at)  # fmt: skip
    return detail


def countersignatures(store: Store) -> list[dict]:
    """The countersignatures peers gave this régie's heads, oldest first: ``peer`` and the head they vouched for."""
    return [{"peer": e["peer"], **e["detail"]} for e in events.logged(store, action="countersigned")
            if e["decision"] == "allowed"]  # fmt: skip
