"""The access log: append-only, hash-chained, with Ed25519-signed checkpoints.

Each entry is the canonical JSON of one typed event (keys sorted, no spaces, UTF-8) that embeds its own
sequence number; its hash is ``SHA-256(prev_hash || entry)`` with 64 zeros before the first entry — the
construction of a hash chain as in Crosby & Wallach, "Efficient Data Structures for Tamper-Evident
Logging" (USENIX Security 2009), simpler than an RFC 9162 Merkle tree and enough for a régie that checks
its whole log. A chain alone cannot see its last entries cut off, nor a log rewritten from scratch: a
*checkpoint* signs (size, head hash) with the régie's Ed25519 key (RFC 8032), and :func:`verify` checks the
log against every checkpoint.

Events are typed dataclasses (as Datasette's ``events.py``) and are appended only once what they record
has happened: after a read returned, after a consent change committed. Nothing is logged for a write that
rolled back.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, insert, select

from regie.governance.keys import key_id
from regie.store import Store
from regie.store.schema import access_log, audit_checkpoint

GENESIS = "0" * 64
_CHECKPOINT_CONTEXT = b"regie audit checkpoint v1\n"
_PG_LOCK = 7366872  # advisory lock serialising appends on PostgreSQL (SQLite: BEGIN IMMEDIATE)


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """A decision of the gate on a read of personal data, allowed or refused, and why."""

    kind: ClassVar[str] = "access"
    caller: str  # account username, or "public"
    role: str
    subject_id: str | None  # the holder whose data it is
    series: str | None
    prm: str | None  # masked (last four digits)
    start: int
    end: int
    granularity: str
    purpose: str
    decision: str  # "allowed" or "refused"
    reason: str
    consent_id: str | None = None
    points: int = 0


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """A consent record changed state (requested, given, refused, withdrawn, expired)."""

    kind: ClassVar[str] = "consent"
    consent_id: str
    subject_id: str
    status: str
    actor: str
    recipient: str
    purpose: str


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """An account was created, changed its password, was disabled or erased."""

    kind: ClassVar[str] = "account"
    action: str
    username: str
    actor: str
    subject_id: str | None = None


@dataclass(frozen=True, slots=True)
class RightsEvent:
    """A data-subject right was exercised: export, erasure, correction (GDPR art. 15-17, 20)."""

    kind: ClassVar[str] = "rights"
    action: str
    subject_id: str
    actor: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WriteEvent:
    """A decision on a write of readings (:mod:`regie.governance.writes`), allowed or refused, and why."""

    kind: ClassVar[str] = "write"
    caller: str  # account username, "key#<id>" for a key without owner, "cli"
    role: str
    via: str  # session, api_key, cli, mqtt
    key_id: int | None
    action: str  # the door: import/<format>, input/post, input/bulk, mqtt, quarantine/release, input/remap
    source: str  # a file name, a node
    subject_id: str | None  # the holder whose data it is, when one
    series: list[str]
    n_series: int
    decision: str  # "allowed" or "refused"
    reason: str
    points: int = 0


Event = AccessEvent | ConsentEvent | AccountEvent | RightsEvent | WriteEvent


# ---------------------------------------------------------------- the chain


def canonical(entry: dict) -> str:
    """The one serialisation hashed and stored: sorted keys, no whitespace, UTF-8 text."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, entry_json: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + entry_json.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    at: int
    kind: str
    subject_id: str | None
    entry: dict
    hash: str


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")


def append(store: Store, event: Event, *, now: int | None = None) -> LogEntry:
    """Append one event; returns the stored entry. Appends are serialised, so the chain never forks."""
    at = int(time.time()) if now is None else int(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        _lock(conn)
        last = conn.execute(
            select(access_log.c.seq, access_log.c.hash).order_by(access_log.c.seq.desc()).limit(1)
        ).one_or_none()
        seq, prev = (1, GENESIS) if last is None else (int(last.seq) + 1, last.hash)
        entry = {"seq": seq, "at": at, "kind": event.kind, **asdict(event)}
        text = canonical(entry)
        digest = chain_hash(prev, text)
        subject = entry.get("subject_id")
        conn.execute(
            insert(access_log).values(
                seq=seq, at=at, kind=event.kind, subject_id=subject, entry=text, prev_hash=prev, hash=digest
            )
        )
    return LogEntry(seq, at, event.kind, subject, entry, digest)


def entries(store: Store, *, subject_id: str | None = None, kind: str | None = None) -> list[LogEntry]:
    """Stored entries in order, optionally for one data subject or of one kind."""
    q = select(access_log).order_by(access_log.c.seq)
    if subject_id is not None:
        q = q.where(access_log.c.subject_id == subject_id)
    if kind is not None:
        q = q.where(access_log.c.kind == kind)
    with store.engine.connect() as conn:
        return [
            LogEntry(int(r.seq), int(r.at), r.kind, r.subject_id, json.loads(r.entry), r.hash) for r in conn.execute(q)
        ]


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One line of "who accessed my data": when, who, under which grant, for what purpose, and the outcome."""

    seq: int
    at: int
    caller: str
    role: str
    series: str | None
    prm: str | None
    start: int
    end: int
    granularity: str
    purpose: str
    consent_id: str | None
    decision: str
    reason: str


def accesses_to(store: Store, subject_id: str) -> list[AccessRecord]:
    """Every decision of the gate about this data subject's data, oldest first (refusals included)."""
    out = []
    for e in entries(store, subject_id=subject_id, kind=AccessEvent.kind):
        d = e.entry
        out.append(
            AccessRecord(
                e.seq, e.at, d["caller"], d["role"], d["series"], d["prm"], d["start"], d["end"],
                d["granularity"], d["purpose"], d.get("consent_id"), d["decision"], d["reason"],
            )
        )  # fmt: skip
    return out


# ---------------------------------------------------------------- checkpoints


@dataclass(frozen=True, slots=True)
class Checkpoint:
    size: int
    head_hash: str
    at: int
    key_id: str
    signature: str


def _message(size: int, head: str, at: int) -> bytes:
    return _CHECKPOINT_CONTEXT + f"{size}\n{head}\n{at}\n".encode("ascii")


def checkpoint(store: Store, key: Ed25519PrivateKey, *, now: int | None = None) -> Checkpoint:
    """Sign the current size and head of the log. Run it regularly (cron, or after each batch of reads)."""
    at = int(time.time()) if now is None else int(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        _lock(conn)
        last = conn.execute(
            select(access_log.c.seq, access_log.c.hash).order_by(access_log.c.seq.desc()).limit(1)
        ).one_or_none()
        size, head = (0, GENESIS) if last is None else (int(last.seq), last.hash)
        done = conn.execute(select(audit_checkpoint).where(audit_checkpoint.c.size == size)).one_or_none()
        if done is not None:
            return Checkpoint(int(done.size), done.head_hash, int(done.at), done.key_id, done.signature)
        cp = Checkpoint(size, head, at, key_id(key), key.sign(_message(size, head, at)).hex())
        conn.execute(insert(audit_checkpoint).values(**asdict(cp)))
    return cp


def checkpoints(store: Store) -> list[Checkpoint]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.size)).all()
    return [Checkpoint(int(r.size), r.head_hash, int(r.at), r.key_id, r.signature) for r in rows]


# ---------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    what: str  # edited, missing, reordered, broken_link, truncated, bad_checkpoint
    message: str


@dataclass(frozen=True, slots=True)
class Verification:
    size: int
    checkpoints: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store, public_key: Ed25519PublicKey | None = None) -> Verification:
    """Re-hash the whole log and check it against every signed checkpoint.

    Reports the first break of the chain (which entry, and whether it was edited, removed or moved) and
    every checkpoint the log no longer matches (a cut tail, a rewritten history). Without a public key the
    checkpoints' signatures cannot be checked and are reported as such.
    """
    problems: list[Problem] = []
    heads: dict[int, str] = {}
    expected, prev, chain_ok = 1, GENESIS, True
    with store.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(access_log)).scalar_one()
        for r in conn.execute(select(access_log).order_by(access_log.c.seq)):
            seq = int(r.seq)
            if chain_ok:
                problem = _check_row(r, seq, expected, prev)
                if problem is not None:
                    problems.append(problem)
                    chain_ok = False
            heads[seq] = r.hash
            expected, prev = seq + 1, r.hash
        size = expected - 1
        cps = checkpoints(store)
    for cp in cps:
        if public_key is not None:
            try:
                public_key.verify(bytes.fromhex(cp.signature), _message(cp.size, cp.head_hash, cp.at))
            except (InvalidSignature, ValueError):
                problems.append(Problem(cp.size, "bad_checkpoint", f"checkpoint at entry {cp.size}: bad signature"))
                continue
        if cp.size == 0:
            continue
        if cp.size > size or cp.size not in heads:
            problems.append(
                Problem(
                    cp.size,
                    "truncated",
                    f"the log ends at entry {size} but a checkpoint signed {cp.size} entries: "
                    f"entries {size + 1}..{cp.size} were removed",
                )
            )
        elif heads[cp.size] != cp.head_hash:
            problems.append(
                Problem(cp.size, "rewritten", f"entries up to {cp.size} differ from the signed checkpoint: rewritten")
            )
    return Verification(int(n), len(cps), tuple(problems))


def _check_row(r, seq: int, expected: int, prev: str) -> Problem | None:
    if seq != expected:
        return Problem(expected, "missing", f"entry {expected} is missing (the next stored entry is {seq})")
    try:
        entry = json.loads(r.entry)
    except ValueError:
        return Problem(seq, "edited", f"entry {seq} is not valid JSON: edited")
    if entry.get("seq") != seq:
        return Problem(seq, "reordered", f"position {seq} holds entry {entry.get('seq')}: entries were reordered")
    if r.prev_hash != prev:
        return Problem(seq, "broken_link", f"entry {seq} does not chain to entry {seq - 1}: one of them was replaced")
    if chain_hash(r.prev_hash, r.entry) != r.hash or canonical(entry) != r.entry:
        return Problem(seq, "edited", f"entry {seq} was edited (its hash does not match its content)")
    if (entry.get("at"), entry.get("kind"), entry.get("subject_id")) != (r.at, r.kind, r.subject_id):
        return Problem(seq, "edited", f"entry {seq}: its indexed columns were edited")
    return None
