"""Receiving from a peer: in the sender's order, once, under the policy it came with, with its provenance.

A message names its sequence number and the previous one its sender delivered; a duplicate (same delivery
key, or a number already passed) is acknowledged again and not stored twice; one that skips a message is
refused (the sender sends again in order). A datum is kept only if its ODRL policy permits its use now; a
*delete* message empties what was received under that grant, and both the request and the deletion are logged.
The duty to delete at the policy's end is carried out by :func:`carry_out_duties`.
"""

from __future__ import annotations

import json
import time

from regie.federation import agreements, events, policy
from regie.store import Store
from regie.store import federation as rows


class Refused(ValueError):
    """A message not kept: the HTTP status answered, why, and the personal dataset it was refused for when the
    reason is that no policy was agreed here (the admin can subscribe again: :func:`agreements.unagreed`)."""

    def __init__(self, status: int, reason: str, *, unagreed: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.unagreed = unagreed


def _checked(p: rows.PeerRow, message: dict, at: int, agreed: dict[str, dict]) -> rows.Incoming:
    """One message, checked: well formed, from an active peer, of a flow this régie receives from it, and for
    personal data under the policy agreed here at subscription (``agreed``, :mod:`regie.federation.agreements`),
    which must permit the declared purpose now and name its grant; or Refused."""
    try:
        seq, prev, key, kind = int(message["seq"]), int(message["prev"]), str(message["key"]), str(message["kind"])
        dataset, grant_id = str(message["dataset"]), message.get("grant")
    except (KeyError, TypeError, ValueError) as exc:
        raise Refused(400, f"not a federation message: {exc}") from None
    if p.status != "active":
        raise Refused(403, f"peer {p.id} is suspended here")
    flow = "personal" if dataset.startswith("grant:") else "public"
    if kind == "data" and flow not in p.receive:
        raise Refused(403, f"this régie does not receive {flow} data from {p.id}")
    pol = message.get("policy")
    if pol is not None and not isinstance(pol, dict):
        raise Refused(400, "a policy is a JSON object (ODRL)")
    if kind not in ("data", "delete"):
        raise Refused(400, f"unknown kind {kind!r}: data or delete")
    if grant_id is not None and not isinstance(grant_id, str):
        raise Refused(400, "a grant is named by its id")
    if kind == "delete" and not grant_id:
        raise Refused(400, "a deletion names the grant it ends")
    if kind == "data" and flow == "personal":
        body = message.get("body") or {}
        if not isinstance(body, dict):
            raise Refused(400, "personal data comes as a JSON object")
        mine = agreed.get(dataset)
        if mine is None:
            raise Refused(403, f"{dataset} was not subscribed here: no agreed policy", unagreed=dataset)
        if pol != mine:
            raise Refused(403, "the message's policy is not the one agreed at subscription")
        d = policy.evaluate(mine, "odrl:use", purpose=body.get("purpose"), at=at)
        if not d.permitted or mine.get("regie:consent") != grant_id:
            raise Refused(403, f"the agreed policy refuses the declared purpose: {d.reason}")
    body = message.get("body")
    return rows.Incoming(seq, prev, key, kind, dataset, grant_id, json.dumps(pol) if pol else None,
                         json.dumps(body) if body is not None else None)  # fmt: skip


def accept_all(store: Store, p: rows.PeerRow, messages: list, *, now: int | None = None) -> list[dict]:
    """Keep messages from ``p`` in order, in one transaction; one result per message kept (``status``: stored,
    duplicate), then at most one ``refused`` (with ``error`` and ``code``) where the first refusal stopped it."""
    at = int(time.time()) if now is None else int(now)
    keep: list[rows.Incoming] = []
    refused: Refused | None = None
    mine = agreements.agreed(store, p.id)
    for message in messages:
        try:
            keep.append(_checked(p, message if isinstance(message, dict) else {}, at, mine))
        except Refused as exc:
            refused = exc
            break
    results: list[dict] = []
    for inc, (status, last) in zip(keep, rows.receive_many(store, p.id, keep, at), strict=False):
        if status == "gap":
            refused = Refused(409, f"message {inc.seq} follows {inc.prev}, but the last received is {last}")
            break
        answer: dict = {"status": status, "last": last}
        if inc.kind == "delete" and status == "stored":
            n = rows.forget(store, p.id, inc.grant_id, at)
            done = events.FederationEvent("delete_received", p.id, "allowed", "the sender withdrew the grant",
                                          grant_id=inc.grant_id, detail={"deleted": n})  # fmt: skip
            events.log(store, done, now=at)
            answer["deleted"] = n
        results.append(answer)
    if refused is not None:
        detail = {"dataset": refused.unagreed} if refused.unagreed else {}
        events.log(store, events.FederationEvent("refused_message", p.id, "refused", str(refused), detail=detail),
                   now=at)  # fmt: skip
        results.append({"status": "refused", "error": str(refused), "code": refused.status})
    return results


def carry_out_duties(store: Store, *, now: int | None = None) -> int:
    """Empty every received datum whose policy's duty to delete fell due; returns how many."""
    at = int(time.time()) if now is None else int(now)
    done = 0
    for r in rows.received(store, kind="data"):
        if r.body is None or r.policy is None:
            continue
        due = policy.deadline(json.loads(r.policy))
        if due is not None and due <= at:
            done += rows.forget(store, r.peer_id, r.grant_id, at)
    return done
