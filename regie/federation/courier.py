"""Store-and-forward: what a peer subscribed to is queued in the outbox, then pushed, in order, exactly once.

- :func:`produce` turns new data into messages: each public cell, or each local day of a personal series
  under a grant (read through the gate as the peer's account, at the grant's granularity and purpose), with a
  *delivery key* derived from what it holds, so producing twice queues once;
- :func:`deliver` sends each peer's pending messages in order (up to :data:`PER_REQUEST` per signed request; a
  message is marked delivered only once the peer's signed answer says it stored it or already had it), and on
  failure waits (exponential backoff, :data:`BACKOFF_MAX` at most) before the same message is tried again; the
  order is kept because nothing after a failed message is sent;
- before every personal message the grant is checked again: withdrawn or expired, its pending messages are
  cancelled (bodies emptied), the subscription ends and a *delete* message is queued, which the peer carries
  out and logs; this régie logs that it asked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from regie.federation import catalogue, client, events, peers
from regie.federation.identity import Keyring
from regie.governance import consent, gate, territories
from regie.store import Store, published
from regie.store import federation as rows

log = logging.getLogger(__name__)
BACKOFF_BASE = 2  # seconds before the first retry, doubled each failure
BACKOFF_MAX = 600  # at most ten minutes between tries: a peer back from a day's outage is served within 10 min
PER_REQUEST = 100  # messages per signed request, processed in order by the peer


def backoff(attempts: int) -> int:
    return int(min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts)))


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def _zone(store: Store) -> ZoneInfo:
    from regie.governance.gate import _zone as zone  # the territory's zone, as the gate computes days

    return zone(store)


def _midnight(t: int, zone: ZoneInfo) -> int:
    d = datetime.fromtimestamp(t, zone)
    return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())


def produce(store: Store, *, now: int | None = None) -> int:
    """Queue what is new for every active peer's subscriptions; returns the number of messages queued."""
    at = int(time.time()) if now is None else int(now)
    queued = 0
    for p in rows.peers(store):
        if p.status != "active":
            continue
        for sub in rows.subscriptions(store, p.id):
            if sub.ended_at is not None:
                continue
            if sub.dataset.startswith("public:") and "public" in p.send:
                queued += _public(store, p, sub, at)
            elif sub.dataset.startswith("grant:") and "personal" in p.send:
                queued += _personal(store, p, sub, at)
    return queued


def _place(store: Store) -> dict | None:
    """Where this régie's territory is (its first), sent with its public cells so that a hub can draw it on its
    map: public already (the territory page and ``/.well-known`` catalogue name it)."""
    for t in territories.list_territories(store):
        if t.latitude is not None and t.longitude is not None:
            return {"name": t.name, "latitude": float(t.latitude), "longitude": float(t.longitude)}
    return None


def _public(store: Store, p: rows.PeerRow, sub: rows.Subscription, at: int) -> int:
    _, figure, step = sub.dataset.split(":", 2)
    cells = published.latest(store, figure, int(step), int(sub.cursor or 0), at)
    place = _place(store) if len(cells.t) else None
    msgs = []
    for i in range(len(cells.t)):
        value = None if np.isnan(cells.value[i]) else float(cells.value[i])
        body = {"figure": figure, "step": int(step), "t": int(cells.t[i]), "version": int(cells.version[i]),
                "value": value, "reason": cells.reason[i], "points": int(cells.points[i])}  # fmt: skip
        if place is not None:
            body["place"] = place
        msgs.append((_key(p.id, sub.dataset, body["t"], body["version"]), "data", sub.dataset, None, json.dumps(body)))
    cursor = int(cells.t[-1]) + int(step) if len(cells.t) else None
    return rows.enqueue(store, p.id, msgs, at, (sub.dataset, cursor) if cursor is not None else None)


def _personal(store: Store, p: rows.PeerRow, sub: rows.Subscription, at: int) -> int:
    grant_id = sub.dataset.split(":", 1)[1]
    g = consent.get_grant(store, grant_id)
    if g is None or g.recipient_kind is not consent.RecipientKind.PEER or g.recipient_id != p.id:
        return 0
    if g.status_at(at) is not consent.Status.GIVEN:
        return close_grant(store, p, g, at)
    zone = _zone(store)
    start = int(sub.cursor or g.data_start)
    end = _midnight(at, zone)  # whole local days only: a day is sent once, complete
    if g.data_end is not None:
        end = min(end, g.data_end)
    if end <= start:
        return 0
    who = peers.account(p.id)
    msgs = []
    for s in _series(store, g):
        try:
            data = gate.read_personal(store, who, s.id, start, end, g.granularity.value, g.purpose, now=at)
        except (gate.AccessDenied, gate.UnavailableGranularity):
            continue  # logged by the gate; nothing leaves
        days: dict[str, list[int]] = {}
        for i, t in enumerate(data.t):
            days.setdefault(datetime.fromtimestamp(int(t), zone).date().isoformat(), []).append(i)
        for day, idx in sorted(days.items()):
            body = {"series": s.id, "kind": data.kind, "unit": data.unit, "granularity": data.granularity.value,
                    "day": day, "t": [int(data.t[i]) for i in idx],
                    "values": [None if not np.isfinite(data.values[i]) else float(data.values[i]) for i in idx],
                    "purpose": g.purpose}  # fmt: skip
            msgs.append((_key(p.id, sub.dataset, s.id, day), "data", sub.dataset, g.id, json.dumps(body)))
    return rows.enqueue(store, p.id, msgs, at, (sub.dataset, end))


def _series(store: Store, g: consent.Grant):
    return [s for s in gate.personal_series(store, g.subject_id)
            if s.kind.value in g.categories and set(gate.personal_prms(store, s)) & set(g.prms)]  # fmt: skip


def close_grant(store: Store, p: rows.PeerRow, g: consent.Grant, at: int) -> int:
    """A grant no longer given: nothing more under it leaves; the peer is asked to delete what it holds."""
    rows.cancel_grant(store, g.id)
    rows.end_subscription(store, p.id, f"grant:{g.id}", at)
    if rows.deletion_queued(store, p.id, g.id) or g.id not in rows.grants_sent(store, p.id):
        return 0
    body = json.dumps({"grant": g.id, "status": g.status_at(at).value, "action": "odrl:delete"})
    n = rows.enqueue(store, p.id, [(_key(p.id, "delete", g.id), "delete", f"grant:{g.id}", g.id, body)], at)
    events.log(store, events.FederationEvent("delete_requested", p.id, "allowed", f"grant {g.status_at(at).value}",
                                             grant_id=g.id, subject_id=g.subject_id), now=at)  # fmt: skip
    return n


def deliver(store: Store, ring: Keyring, base: str, *, now: int | None = None, force: bool = False,
            peer_id: str | None = None, limit: int | None = None) -> dict[str, int]:  # fmt: skip
    """Push every active peer's pending messages in order; returns how many each peer acknowledged."""
    at = int(time.time()) if now is None else int(now)
    done: dict[str, int] = {}
    for p in rows.peers(store):
        if p.status != "active" or (peer_id is not None and p.id != peer_id):
            continue
        done[p.id] = _deliver_to(store, ring, base, p, at, force, limit)
    return done


def _deliver_to(store: Store, ring: Keyring, base: str, p: rows.PeerRow, at: int, force: bool,
                limit: int | None) -> int:  # fmt: skip
    sent = 0
    lookup = peers.key_lookup(p)
    while True:
        room = PER_REQUEST if limit is None else min(PER_REQUEST, limit - sent)
        if room <= 0:
            return sent
        batch, closed = _next_batch(store, p, at, force, room)
        if closed:
            continue  # a grant ended: its messages were cancelled, read the outbox again
        if not batch:
            return sent
        prev = rows.last_delivered(store, p.id)
        grants = {g: consent.get_grant(store, g) for g in {m.grant_id for m in batch if m.grant_id}}
        messages = []
        for m in batch:
            grant = grants.get(m.grant_id) if m.grant_id else None
            d = catalogue.Dataset(m.dataset, "personal" if m.grant_id else "public", m.dataset, grant=grant)
            pol = catalogue.policy_of(d, base, p) if m.kind == "data" else None
            body = json.loads(m.body) if m.body else None
            messages.append({"seq": m.seq, "prev": prev, "key": m.delivery_key, "kind": m.kind, "dataset": m.dataset,
                             "grant": m.grant_id, "policy": pol, "body": body})  # fmt: skip
            prev = m.seq
        try:
            answer = client.call("POST", p.url + "/federation/inbox", ring, lookup,
                                 json.dumps({"messages": messages}).encode("utf-8")).json()  # fmt: skip
            results = answer.get("results", [])
        except (client.PeerUnreachable, client.PeerRefused, ValueError) as exc:
            rows.failed(store, p.id, batch[0].seq, str(exc), int(time.time()) + backoff(batch[0].attempts))
            return sent
        acknowledged = [r for r in results if r.get("status") in ("stored", "duplicate")]
        done = batch[: len(acknowledged)]
        rows.delivered(store, p.id, [m.seq for m in done], int(time.time()))
        sent += len(done)
        for m, result in zip(done, acknowledged, strict=True):
            if m.kind == "delete":
                detail = {"deleted": result.get("deleted")}
                event = events.FederationEvent("delete_sent", p.id, "allowed", "the peer deleted", grant_id=m.grant_id,
                                               detail=detail)  # fmt: skip
                events.log(store, event)
        if len(done) < len(batch):
            m = batch[len(done)]
            why = results[len(done)] if len(results) > len(done) else "no answer"
            rows.failed(store, p.id, m.seq, f"peer answered {why}", int(time.time()) + backoff(m.attempts))
            return sent


def _next_batch(store: Store, p: rows.PeerRow, at: int, force: bool, room: int) -> tuple[list[rows.Outgoing], bool]:
    """The next messages due, in order, up to the first whose grant is no longer given (then closed: True)."""
    out: list[rows.Outgoing] = []
    status: dict[str, consent.Grant | None] = {}
    now = int(time.time())
    for m in rows.pending(store, p.id, room):
        if not force and m.next_try_at > at:
            break
        if m.kind == "data" and m.grant_id is not None:
            if m.grant_id not in status:
                status[m.grant_id] = consent.get_grant(store, m.grant_id)
            g = status[m.grant_id]
            if g is None or g.status_at(now) is not consent.Status.GIVEN:
                if out:
                    break  # send what precedes it first
                if g is not None:
                    close_grant(store, p, g, now)
                return [], True
        out.append(m)
    return out, False


PERIOD = 5.0  # seconds between two passes of the courier inside `regie serve`
WITNESS_EVERY = 600.0  # seconds between two rounds of witnessing peers' log heads and of duties to delete


def start(store: Store, data_dir, base: str, *, every: float = PERIOD) -> Callable[[], None]:
    """Run :func:`produce` and :func:`deliver` every ``every`` seconds in a thread of ``regie serve`` (when the
    régie has peers), and every :data:`WITNESS_EVERY` seconds witness the peers' log heads and carry out the
    duties to delete; returns what stops it."""
    from regie.federation import identity, inbox, witness

    stop = threading.Event()
    last_watch = [0.0]

    def loop() -> None:
        while not stop.wait(every):
            try:
                if not rows.peers(store):
                    continue
                ring = identity.load_or_create(data_dir)
                produce(store)
                deliver(store, ring, base)
                if time.monotonic() - last_watch[0] >= WITNESS_EVERY:
                    last_watch[0] = time.monotonic()
                    inbox.carry_out_duties(store)
                    for p in rows.peers(store):
                        if p.status == "active" and "heads" in p.receive:
                            try:
                                witness.witness(store, ring, p)
                            except (witness.LogRewritten, client.PeerRefused, client.PeerUnreachable) as exc:
                                log.warning("witnessing %s: %s", p.id, exc)  # logged in the access log too
            except Exception as exc:  # a pass that fails is retried at the next; serving goes on
                log.warning("federation courier: %s", exc)

    thread = threading.Thread(target=loop, name="regie-federation-courier", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=10)

    return halt
