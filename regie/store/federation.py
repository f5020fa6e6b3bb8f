"""The federation's rows (revision 0010): peers, subscriptions, the outbox, what was received, witnessed heads
and nonces. Only :mod:`regie.federation` calls this; it decides, this module keeps the rows."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from regie.store.schema import (
    access_log,
    fed_nonce,
    fed_outbox,
    fed_peer,
    fed_received,
    fed_subscription,
    fed_witnessed_head,
    published_cell,
)
from regie.store.store import Store


@dataclass(frozen=True, slots=True)
class PeerRow:
    id: str
    url: str
    name: str
    organisation: str
    keys: list[dict]
    audit_key: str | None
    send: frozenset[str]
    receive: frozenset[str]
    status: str
    added_at: int
    added_by: str


def _peer(r) -> PeerRow:
    return PeerRow(r.id, r.url, r.name, r.organisation, json.loads(r.keys), r.audit_key,
                   frozenset(x for x in r.send.split(",") if x), frozenset(x for x in r.receive.split(",") if x),
                   r.status, int(r.added_at), r.added_by)  # fmt: skip


def _writer(store: Store):
    return store.engine.execution_options(writer=True).begin()


def insert_peer(store: Store, p: PeerRow) -> None:
    with _writer(store) as conn:
        conn.execute(insert(fed_peer).values(
            id=p.id, url=p.url, name=p.name, organisation=p.organisation, keys=json.dumps(p.keys),
            audit_key=p.audit_key, send=",".join(sorted(p.send)), receive=",".join(sorted(p.receive)),
            status=p.status, added_at=p.added_at, added_by=p.added_by))  # fmt: skip


def peers(store: Store) -> list[PeerRow]:
    with store.engine.connect() as conn:
        return [_peer(r) for r in conn.execute(select(fed_peer).order_by(fed_peer.c.id))]


def peer(store: Store, peer_id: str) -> PeerRow | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(fed_peer).where(fed_peer.c.id == peer_id)).one_or_none()
    return None if r is None else _peer(r)


def update_peer(store: Store, peer_id: str, now: int, **values) -> bool:
    if "keys" in values:
        values["keys"] = json.dumps(values["keys"])
    for k in ("send", "receive"):
        if k in values:
            values[k] = ",".join(sorted(values[k]))
    with _writer(store) as conn:
        n = conn.execute(update(fed_peer).where(fed_peer.c.id == peer_id).values(changed_at=now, **values)).rowcount
    return bool(n)


# ---------------------------------------------------------------- nonces


def nonce_seen(store: Store, nonce: str, key_id: str, expires_at: int, now: int) -> bool:
    """Record a nonce; True when it was already there (a replay). Expired nonces are forgotten."""
    try:
        with _writer(store) as conn:
            conn.execute(delete(fed_nonce).where(fed_nonce.c.expires_at < now - 600))
            conn.execute(insert(fed_nonce).values(nonce=nonce, key_id=key_id, expires_at=expires_at))
    except IntegrityError:
        return True
    return False


# ---------------------------------------------------------------- subscriptions


@dataclass(frozen=True, slots=True)
class Subscription:
    peer_id: str
    dataset: str
    subscribed_at: int
    cursor: int | None
    ended_at: int | None


def subscribe(store: Store, peer_id: str, dataset: str, now: int) -> Subscription:
    with _writer(store) as conn:
        r = conn.execute(
            select(fed_subscription).where(fed_subscription.c.peer_id == peer_id, fed_subscription.c.dataset == dataset)
        ).one_or_none()
        if r is None:
            conn.execute(insert(fed_subscription).values(peer_id=peer_id, dataset=dataset, subscribed_at=now))
        elif r.ended_at is not None:
            conn.execute(
                update(fed_subscription)
                .where(fed_subscription.c.peer_id == peer_id, fed_subscription.c.dataset == dataset)
                .values(ended_at=None)
            )
    return next(s for s in subscriptions(store, peer_id) if s.dataset == dataset)


def subscriptions(store: Store, peer_id: str | None = None) -> list[Subscription]:
    q = select(fed_subscription).order_by(fed_subscription.c.peer_id, fed_subscription.c.dataset)
    if peer_id is not None:
        q = q.where(fed_subscription.c.peer_id == peer_id)
    with store.engine.connect() as conn:
        return [Subscription(r.peer_id, r.dataset, int(r.subscribed_at), r.cursor, r.ended_at) for r in conn.execute(q)]


def end_subscription(store: Store, peer_id: str, dataset: str, now: int) -> None:
    with _writer(store) as conn:
        conn.execute(
            update(fed_subscription)
            .where(fed_subscription.c.peer_id == peer_id, fed_subscription.c.dataset == dataset)
            .values(ended_at=now)
        )


# ---------------------------------------------------------------- the outbox


@dataclass(frozen=True, slots=True)
class Outgoing:
    peer_id: str
    seq: int
    delivery_key: str
    kind: str
    dataset: str
    grant_id: str | None
    body: str | None
    state: str
    attempts: int
    next_try_at: int


def _out(r) -> Outgoing:
    return Outgoing(r.peer_id, int(r.seq), r.delivery_key, r.kind, r.dataset, r.grant_id, r.body, r.state,
                    int(r.attempts), int(r.next_try_at))  # fmt: skip


def enqueue(store: Store, peer_id: str, messages: list[tuple[str, str, str, str | None, str]], now: int,
            cursor: tuple[str, int] | None = None) -> int:  # fmt: skip
    """Append ``(delivery_key, kind, dataset, grant_id, body)`` messages after the peer's last, in one transaction
    with the subscription's new cursor; a key already queued is skipped (idempotent). Returns how many."""
    with _writer(store) as conn:
        last = conn.execute(select(func.max(fed_outbox.c.seq)).where(fed_outbox.c.peer_id == peer_id)).scalar()
        seq = int(last or 0)
        keys = [m[0] for m in messages]
        known = set()
        for i in range(0, len(keys), 500):
            known |= set(conn.execute(select(fed_outbox.c.delivery_key)
                                      .where(fed_outbox.c.delivery_key.in_(keys[i : i + 500]))).scalars())  # fmt: skip
        rows = []
        for key, kind, dataset, grant_id, body in messages:
            if key in known:
                continue
            seq += 1
            rows.append({"peer_id": peer_id, "seq": seq, "delivery_key": key, "kind": kind, "dataset": dataset,
                         "grant_id": grant_id, "body": body, "state": "pending", "created_at": now, "attempts": 0,
                         "next_try_at": now})  # fmt: skip
        if rows:
            conn.execute(insert(fed_outbox), rows)
        if cursor is not None:
            conn.execute(update(fed_subscription).where(fed_subscription.c.peer_id == peer_id,
                                                        fed_subscription.c.dataset == cursor[0])
                         .values(cursor=cursor[1]))  # fmt: skip
    return len(rows)


def pending(store: Store, peer_id: str, limit: int = 100) -> list[Outgoing]:
    q = (select(fed_outbox).where(fed_outbox.c.peer_id == peer_id, fed_outbox.c.state == "pending")
         .order_by(fed_outbox.c.seq).limit(limit))  # fmt: skip
    with store.engine.connect() as conn:
        return [_out(r) for r in conn.execute(q)]


def outbox(store: Store, peer_id: str | None = None) -> list[Outgoing]:
    q = select(fed_outbox).order_by(fed_outbox.c.peer_id, fed_outbox.c.seq)
    if peer_id is not None:
        q = q.where(fed_outbox.c.peer_id == peer_id)
    with store.engine.connect() as conn:
        return [_out(r) for r in conn.execute(q)]


def delivered(store: Store, peer_id: str, seqs: list[int], now: int) -> None:
    """Acknowledged: the bodies (maybe personal) are no longer kept here."""
    with _writer(store) as conn:
        conn.execute(update(fed_outbox).where(fed_outbox.c.peer_id == peer_id, fed_outbox.c.seq.in_(seqs))
                     .values(state="delivered", delivered_at=now, body=None, last_error=None))  # fmt: skip


def failed(store: Store, peer_id: str, seq: int, error: str, next_try_at: int) -> None:
    with _writer(store) as conn:
        conn.execute(update(fed_outbox).where(fed_outbox.c.peer_id == peer_id, fed_outbox.c.seq == seq)
                     .values(attempts=fed_outbox.c.attempts + 1, next_try_at=next_try_at,
                             last_error=error[:500]))  # fmt: skip


def cancel_grant(store: Store, grant_id: str) -> list[str]:
    """Cancel every message not yet delivered under a grant (body emptied); the peers concerned."""
    c = fed_outbox.c
    with _writer(store) as conn:
        who = sorted(set(conn.execute(select(c.peer_id).where(c.grant_id == grant_id, c.state == "pending",
                                                              c.kind == "data")).scalars()))  # fmt: skip
        conn.execute(update(fed_outbox).where(c.grant_id == grant_id, c.state == "pending", c.kind == "data")
                     .values(state="cancelled", body=None))  # fmt: skip
    return who


def grants_sent(store: Store, peer_id: str) -> set[str]:
    """The grants under which anything was queued for this peer, and whether a deletion was queued for each."""
    c = fed_outbox.c
    with store.engine.connect() as conn:
        return {g for g in conn.execute(select(c.grant_id).where(c.peer_id == peer_id, c.grant_id.is_not(None))
                                        .distinct()).scalars()}  # fmt: skip


def deletion_queued(store: Store, peer_id: str, grant_id: str) -> bool:
    c = fed_outbox.c
    with store.engine.connect() as conn:
        return conn.execute(select(c.seq).where(c.peer_id == peer_id, c.grant_id == grant_id,
                                                c.kind == "delete").limit(1)).first() is not None  # fmt: skip


# ---------------------------------------------------------------- received


@dataclass(frozen=True, slots=True)
class Received:
    peer_id: str
    seq: int
    delivery_key: str
    kind: str
    dataset: str
    grant_id: str | None
    policy: str | None
    body: str | None
    received_at: int
    deleted_at: int | None


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message to keep: its sequence, the sender's previous delivered one, its key, what it holds."""

    seq: int
    prev: int
    delivery_key: str
    kind: str
    dataset: str
    grant_id: str | None
    policy: str | None
    body: str | None


def receive_many(store: Store, peer_id: str, messages: list[Incoming], now: int) -> list[tuple[str, int]]:
    """Keep messages in the sender's order, in one transaction: ("stored" | "duplicate" | "gap", the last seq
    kept) for each, stopping after the first gap. ``prev`` is the sender's previous delivered message (messages
    it cancelled leave holes in ``seq``, never in ``prev``)."""
    c = fed_received.c
    out: list[tuple[str, int]] = []
    with _writer(store) as conn:
        last = int(conn.execute(select(func.max(c.seq)).where(c.peer_id == peer_id)).scalar() or 0)
        for m in messages:
            same = conn.execute(select(c.seq).where(c.peer_id == peer_id, c.delivery_key == m.delivery_key)).first()
            if same is not None or m.seq <= last:
                out.append(("duplicate", last))
                continue
            if m.prev != last:
                out.append(("gap", last))
                break
            conn.execute(insert(fed_received).values(
                peer_id=peer_id, seq=m.seq, delivery_key=m.delivery_key, kind=m.kind, dataset=m.dataset,
                grant_id=m.grant_id, policy=m.policy, body=m.body, received_at=now))  # fmt: skip
            last = m.seq
            out.append(("stored", last))
    return out


def receive(store: Store, peer_id: str, seq: int, prev: int, delivery_key: str, kind: str, dataset: str,
            grant_id: str | None, policy: str | None, body: str | None, now: int) -> tuple[str, int]:  # fmt: skip
    """One message: :func:`receive_many` of one."""
    return receive_many(store, peer_id, [Incoming(seq, prev, delivery_key, kind, dataset, grant_id, policy, body)],
                        now)[0]  # fmt: skip


def last_delivered(store: Store, peer_id: str) -> int:
    c = fed_outbox.c
    with store.engine.connect() as conn:
        return int(
            conn.execute(select(func.max(c.seq)).where(c.peer_id == peer_id, c.state == "delivered")).scalar() or 0
        )


def received(store: Store, peer_id: str | None = None, *, kind: str | None = None) -> list[Received]:
    q = select(fed_received).order_by(fed_received.c.peer_id, fed_received.c.seq)
    if peer_id is not None:
        q = q.where(fed_received.c.peer_id == peer_id)
    if kind is not None:
        q = q.where(fed_received.c.kind == kind)
    with store.engine.connect() as conn:
        return [Received(r.peer_id, int(r.seq), r.delivery_key, r.kind, r.dataset, r.grant_id, r.policy, r.body,
                         int(r.received_at), r.deleted_at) for r in conn.execute(q)]  # fmt: skip


def forget(store: Store, peer_id: str, grant_id: str | None, now: int, *, before: int | None = None) -> int:
    """Empty the bodies received under a grant (or, with ``before``, those whose policy ended): the deletion."""
    c = fed_received.c
    q = update(fed_received).where(c.peer_id == peer_id, c.body.is_not(None), c.kind == "data")
    if grant_id is not None:
        q = q.where(c.grant_id == grant_id)
    with _writer(store) as conn:
        return conn.execute(q.values(body=None, deleted_at=now)).rowcount


# ---------------------------------------------------------------- witnessed heads and the log's hashes


@dataclass(frozen=True, slots=True)
class Witnessed:
    peer_id: str
    size: int
    head_hash: str
    at: int
    key_id: str
    signature: str
    countersignature: str
    witnessed_at: int


def add_witnessed(store: Store, w: Witnessed) -> None:
    with _writer(store) as conn:
        done = conn.execute(select(fed_witnessed_head.c.size).where(
            fed_witnessed_head.c.peer_id == w.peer_id, fed_witnessed_head.c.size == w.size)).first()  # fmt: skip
        if done is None:
            conn.execute(insert(fed_witnessed_head).values(**{k: getattr(w, k) for k in w.__slots__}))


def witnessed(store: Store, peer_id: str) -> list[Witnessed]:
    c = fed_witnessed_head.c
    with store.engine.connect() as conn:
        return [
            Witnessed(
                r.peer_id,
                int(r.size),
                r.head_hash,
                int(r.at),
                r.key_id,
                r.signature,
                r.countersignature,
                int(r.witnessed_at),
            )
            for r in conn.execute(select(fed_witnessed_head).where(c.peer_id == peer_id).order_by(c.size))
        ]


def chain_hashes(store: Store, first: int, last: int) -> list[str]:
    """The access log's entry hashes from entry ``first`` to ``last`` (both included), in order."""
    c = access_log.c
    with store.engine.connect() as conn:
        return list(conn.execute(select(c.hash).where(c.seq >= first, c.seq <= last).order_by(c.seq)).scalars())


def published_figures(store: Store) -> list[tuple[str, int]]:
    """The (figure, step) pairs the publication has cells of: the public datasets a régie may offer."""
    c = published_cell.c
    with store.engine.connect() as conn:
        return [(r.figure, int(r.step)) for r in conn.execute(select(c.figure, c.step).distinct()
                                                               .order_by(c.figure, c.step))]  # fmt: skip
