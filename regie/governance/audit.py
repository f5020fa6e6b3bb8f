"""The access log: append-only, hash-chained, with Ed25519-signed checkpoints.

Each entry is the canonical JSON of one typed event (keys sorted, no spaces, UTF-8) that embeds its own
sequence number; its hash is ``SHA-256(prev_hash || entry)`` with 64 zeros before the first entry — the
construction of a hash chain as in Crosby & Wallach, "Efficient Data Structures for Tamper-Evident
Logging" (USENIX Security 2009), simpler than an RFC 9162 Merkle tree and enough for a régie that checks
its whole log. A chain alone cannot see its last entries cut off, nor a log rewritten from scratch: a
*checkpoint* signs (size, head hash) with the régie's Ed25519 key (RFC 8032), and :func:`verify` checks the
log against every checkpoint and against the signed head kept outside the database. Checkpoints are made
automatically, and the head file written, by :mod:`regie.governance.log_head` (see docs/audit.md).

Events are typed dataclasses (as Datasette's ``events.py``) and are appended only once what they record
has happened: after a read returned, after a consent change committed. Nothing is logged for a write that
rolled back.
"""

from __future__ import annotations

import hashlib
import json
import time
import weakref
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, insert, or_, select

from regie.governance.keys import key_id
from regie.store import Store
from regie.store.schema import access_log, audit_checkpoint, audit_subject_set

GENESIS = "0" * 64
_CHECKPOINT_CONTEXT = b"regie audit checkpoint v1\n"
_SUBJECT_SET_CONTEXT = b"regie audit subject set v1\n"
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


@dataclass(frozen=True, slots=True)
class InventoryEvent:
    """An object of a territory's inventory was added, changed, ended or removed (:mod:`regie.inventory`):
    who, which sheet and key, before and after (the workbook's text; a person's name or e-mail only as a
    fingerprint: the log keeps identifiers, never what describes a person)."""

    kind: ClassVar[str] = "inventory"
    actor: str  # account username, "cli"
    role: str
    territory_id: str
    sheet: str
    key: str
    action: str  # added, changed, ended, removed
    before: dict | None
    after: dict | None
    subject_id: str | None = None  # the person or organisation concerned (a membership's holder, a person)
    via: str = ""  # the workbook's file name, or the page


Event = AccessEvent | ConsentEvent | AccountEvent | RightsEvent | WriteEvent | InventoryEvent


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


# After-append hooks, one per store (the automatic checkpoints of :mod:`regie.governance.log_head`); weak,
# so that a closed and dropped store takes its hook with it.
_after_append: weakref.WeakKeyDictionary[Store, Callable[[Store, LogEntry], None]] = weakref.WeakKeyDictionary()


def on_append(store: Store, hook: Callable[[Store, LogEntry], None] | None) -> None:
    """Call ``hook(store, entry)`` after each committed append to this store (None: no more)."""
    if hook is None:
        _after_append.pop(store, None)
    else:
        _after_append[store] = hook


def subject_set_digest(subjects: Iterable[str]) -> str:
    """SHA-256 of a set of data subjects (sorted, one per line, after a context line): what an aggregate
    entry commits to, so that the index naming the members it covered cannot be edited unseen."""
    text = "\n".join(sorted(set(subjects)))
    return hashlib.sha256(_SUBJECT_SET_CONTEXT + text.encode("utf-8")).hexdigest()


def append(
    store: Store, event: Event, *, now: int | None = None, subjects: Collection[str] | None = None
) -> LogEntry:
    """Append one event; returns the stored entry. Appends are serialised, so the chain never forks.

    ``subjects``: the data subjects an aggregate read covered (they see it in "who accessed my data"). The
    entry holds only the digest of the set; the set itself is stored once per distinct set (a supervisor
    opens the same views again and again), not once per read.
    """
    at = int(time.time()) if now is None else int(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        (stored,) = append_in(conn, [event], now=at, subjects=subjects)
    appended(store, [stored])
    return stored


def append_in(
    conn: Connection, events: Iterable[Event], *, now: int | None = None, subjects: Collection[str] | None = None
) -> list[LogEntry]:
    """Append events inside the caller's write transaction: they commit, or roll back, together with the
    change they record (an inventory import: one entry per object, all or nothing). The caller then calls
    :func:`appended` once committed, so that the automatic checkpoints see them."""
    at = int(time.time()) if now is None else int(now)
    digest = subject_set_digest(subjects) if subjects else None
    _lock(conn)
    last = conn.execute(
        select(access_log.c.seq, access_log.c.hash).order_by(access_log.c.seq.desc()).limit(1)
    ).one_or_none()
    seq, prev = (0, GENESIS) if last is None else (int(last.seq), last.hash)
    if digest is not None:
        _store_subject_set(conn, digest, subjects or ())
    out, rows = [], []
    for event in events:
        seq += 1
        # A shallow copy of the fields (events hold plain values, lists and dicts): asdict's deep copy costs
        # more than the rest of an append when an inventory import logs thousands of objects at once.
        entry = {"seq": seq, "at": at, "kind": event.kind, **{f.name: getattr(event, f.name) for f in fields(event)}}
        if digest is not None:
            entry["subject_set"] = digest
        text = canonical(entry)
        h = chain_hash(prev, text)
        subject = entry.get("subject_id")
        rows.append({"seq": seq, "at": at, "kind": event.kind, "subject_id": subject, "entry": text,
                     "prev_hash": prev, "hash": h, "subject_set": digest})
        out.append(LogEntry(seq, at, event.kind, subject, entry, h))
        prev = h
    if rows:
        conn.execute(insert(access_log), rows)
    return out


def appended(store: Store, stored: Iterable[LogEntry]) -> None:
    """Tell the store's after-append hook (automatic checkpoints) about entries committed."""
    hook = _after_append.get(store)
    if hook is not None:
        for e in stored:
            hook(store, e)


def _store_subject_set(conn: Connection, digest: str, subjects: Collection[str]) -> None:
    known = conn.execute(select(audit_subject_set.c.digest).where(audit_subject_set.c.digest == digest).limit(1))
    if known.first() is None:
        conn.execute(insert(audit_subject_set), [{"digest": digest, "subject_id": s} for s in sorted(set(subjects))])


def entries(store: Store, *, subject_id: str | None = None, kind: str | None = None) -> list[LogEntry]:
    """Stored entries in order, optionally for one data subject or of one kind."""
    q = select(access_log).order_by(access_log.c.seq)
    if subject_id is not None:
        q = q.where(access_log.c.subject_id == subject_id)
    if kind is not None:
        q = q.where(access_log.c.kind == kind)
    return _entries(store, q)


def _entries(store: Store, q) -> list[LogEntry]:
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
    points: int = 0  # what the entry counted: values read, or for an aggregate the delivery points summed


def accesses_to(store: Store, subject_id: str) -> list[AccessRecord]:
    """Every decision of the gate about this data subject's data, oldest first (refusals included): reads
    of their own series, and the aggregate and presence reads that covered one of their delivery points."""
    covering = select(audit_subject_set.c.digest).where(audit_subject_set.c.subject_id == subject_id)
    q = (
        select(access_log)
        .where(access_log.c.kind == AccessEvent.kind)
        .where(or_(access_log.c.subject_id == subject_id, access_log.c.subject_set.in_(covering)))
        .order_by(access_log.c.seq)
    )
    out = []
    for e in _entries(store, q):
        d = e.entry
        out.append(
            AccessRecord(
                e.seq, e.at, d["caller"], d["role"], d["series"], d["prm"], d["start"], d["end"],
                d["granularity"], d["purpose"], d.get("consent_id"), d["decision"], d["reason"],
                d.get("points", 0),
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


class LogTampered(RuntimeError):
    """The log no longer extends its last signed head: a new checkpoint would sign over the damage."""


def checkpoint_message(size: int, head: str, at: int) -> bytes:
    """The exact bytes an Ed25519 checkpoint signature covers (documented in docs/audit.md)."""
    return _CHECKPOINT_CONTEXT + f"{size}\n{head}\n{at}\n".encode("ascii")



def signature_ok(cp: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(bytes.fromhex(cp.signature), checkpoint_message(cp.size, cp.head_hash, cp.at))
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoint(
    store: Store, key: Ed25519PrivateKey, *, now: int | None = None, after: Checkpoint | None = None
) -> Checkpoint:
    """Sign the current size and head of the log, once it is shown to extend the last signed head
    (:class:`regie.governance.log_head.Notary` calls it every N entries or T seconds).

    ``after`` is that head (the one kept outside the database, :mod:`regie.governance.log_head`); by default
    the last checkpoint row, or the empty log. The entries since are re-hashed from it: a log cut below it,
    or rewritten, raises :class:`LogTampered` instead of being signed, so that a checkpoint never launders
    tampering and successive heads are each an extension of the one before.
    """
    at = int(time.time()) if now is None else int(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        _lock(conn)
        if after is None:
            last_cp = conn.execute(
                select(audit_checkpoint.c.size, audit_checkpoint.c.head_hash)
                .order_by(audit_checkpoint.c.size.desc())
                .limit(1)
            ).one_or_none()
            anchor = (0, GENESIS) if last_cp is None else (int(last_cp.size), last_cp.head_hash)
        else:
            anchor = (after.size, after.head_hash)
        size, head = _extend(conn, *anchor)
        done = conn.execute(select(audit_checkpoint).where(audit_checkpoint.c.size == size)).one_or_none()
        if done is not None:
            return Checkpoint(int(done.size), done.head_hash, int(done.at), done.key_id, done.signature)
        cp = Checkpoint(size, head, at, key_id(key), key.sign(checkpoint_message(size, head, at)).hex())
        conn.execute(insert(audit_checkpoint).values(**asdict(cp)))
    return cp


def _extend(conn: Connection, size: int, head: str) -> tuple[int, str]:
    """(size, head) of the log after re-hashing every entry from the signed (size, head) on; or raise."""
    q = select(access_log.c.seq, access_log.c.entry, access_log.c.prev_hash, access_log.c.hash)
    prev, expected = head, size + 1
    if size > 0:
        row = conn.execute(q.where(access_log.c.seq == size)).one_or_none()
        if row is None:
            last = conn.execute(select(func.max(access_log.c.seq))).scalar_one_or_none() or 0
            raise LogTampered(f"the log ends at entry {last}, before the last signed head ({size} entries)")
        if row.hash != head:
            raise LogTampered(f"entry {size} differs from the last signed head: the log was rewritten")
    for r in conn.execute(q.where(access_log.c.seq > size).order_by(access_log.c.seq)):
        if int(r.seq) != expected or r.prev_hash != prev or chain_hash(prev, r.entry) != r.hash:
            raise LogTampered(f"entry {expected} does not chain to the last signed head: run `regie audit verify`")
        prev, expected = r.hash, expected + 1
    return expected - 1, prev


def checkpoints(store: Store) -> list[Checkpoint]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.size)).all()
    return [Checkpoint(int(r.size), r.head_hash, int(r.at), r.key_id, r.signature) for r in rows]


def log_size(store: Store) -> int:
    """The number of entries, by the last sequence number (cheap: the primary key's end)."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.max(access_log.c.seq))).scalar_one_or_none() or 0)


# ---------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    what: str  # edited, missing, reordered, broken_link, truncated, rewritten, bad_checkpoint, older_than_head, ...
    message: str


@dataclass(frozen=True, slots=True)
class Verification:
    size: int
    checkpoints: int
    problems: tuple[Problem, ...]
    head_hash: str = GENESIS  # the hash of the last entry read
    last_checkpoint: Checkpoint | None = None
    external_head: Checkpoint | None = None  # the signed head kept outside the database, if given

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsigned(self) -> int:
        """Entries after the last signed checkpoint or head: the window a checkpoint has not sealed yet."""
        signed = max([c.size for c in (self.last_checkpoint, self.external_head) if c is not None], default=0)
        return max(0, self.size - signed)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One row of the log as stored (or as exported): what verification re-hashes."""

    seq: int
    at: int
    kind: str
    subject_id: str | None
    entry: str
    prev_hash: str
    hash: str
    subject_set: str | None = None


def verify(
    store: Store,
    public_key: Ed25519PublicKey | None = None,
    head: Checkpoint | None = None,
    *,
    expect_signed: bool = False,
) -> Verification:
    """Re-hash the whole log and check it against every signed checkpoint and the signed head kept outside
    the database (``head``, see :mod:`regie.governance.log_head`).

    Reports the first break of the chain (which entry, and whether it was edited, removed or moved), every
    checkpoint the log no longer matches (a cut tail, a rewritten history), and a log shorter than, or
    different from, the external head — which still holds when the checkpoint rows were deleted and the
    log re-chained. ``expect_signed`` (automatic checkpoints are on): a log with entries and nothing signed
    at all is a problem too. Without a public key signatures cannot be checked and are reported as such.
    """
    with store.engine.connect() as conn:
        sets: dict[str, list[str]] = {}
        for r in conn.execute(select(audit_subject_set).order_by(audit_subject_set.c.digest)):
            sets.setdefault(r.digest, []).append(r.subject_id)
        rows = (
            StoredEntry(int(r.seq), int(r.at), r.kind, r.subject_id, r.entry, r.prev_hash, r.hash, r.subject_set)
            for r in conn.execute(select(access_log).order_by(access_log.c.seq))
        )
        return verify_entries(
            rows, checkpoints(store), public_key, head, subject_sets=sets, expect_signed=expect_signed
        )


def verify_entries(
    rows: Iterable[StoredEntry],
    cps: list[Checkpoint],
    public_key: Ed25519PublicKey | None,
    head: Checkpoint | None = None,
    *,
    subject_sets: dict[str, list[str]] | None = None,
    expect_signed: bool = False,
) -> Verification:
    """:func:`verify` over any sequence of stored entries (the database, or an export file)."""
    problems: list[Problem] = []
    wanted = {c.size for c in cps} | ({head.size} if head is not None else set())
    heads: dict[int, str] = {}
    sets_ok = {d: subject_set_digest(m) == d for d, m in (subject_sets or {}).items()}
    expected, prev, chain_ok, n = 1, GENESIS, True, 0
    for r in rows:
        n += 1
        seq = r.seq
        if chain_ok:
            problem = _check_row(r, seq, expected, prev) or _check_set(r, sets_ok, subject_sets)
            if problem is not None:
                problems.append(problem)
                chain_ok = False
        if seq in wanted:
            heads[seq] = r.hash
        expected, prev = seq + 1, r.hash
    size = expected - 1
    for cp in cps:
        if public_key is not None and not signature_ok(cp, public_key):
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
    if head is not None:
        problems.extend(_check_head(head, size, heads, public_key))
    elif expect_signed and size and not cps:
        problems.append(
            Problem(
                size,
                "unsigned",
                f"{size} entries and neither a signed checkpoint nor a signed head: nothing shows the log is "
                "complete (checkpoint rows and head file deleted?); a store older than the automatic "
                "checkpoints: check it, then sign it as it is with `regie audit checkpoint`",
            )
        )
    last = max(cps, key=lambda c: c.size) if cps else None
    return Verification(n, len(cps), tuple(problems), prev, last, head)


def _check_head(head: Checkpoint, size: int, heads: dict[int, str], public_key: Ed25519PublicKey | None):
    from datetime import UTC, datetime

    signed = datetime.fromtimestamp(head.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if public_key is not None and not signature_ok(head, public_key):
        yield Problem(head.size, "bad_head", f"the signed head kept outside the database ({signed}): bad signature")
    elif head.size > size:
        yield Problem(
            size + 1,
            "older_than_head",
            f"the log ends at entry {size} but the last signed head, kept outside the database, covers {head.size} "
            f"entries (signed {signed}): the store is older than the last signed head — restored from an older "
            f"backup, or entries {size + 1}..{head.size} were cut",
        )
    elif head.size and heads.get(head.size) != head.head_hash:
        yield Problem(
            head.size,
            "rewritten",
            f"entries up to {head.size} differ from the last signed head kept outside the database "
            f"(signed {signed}): the log was rewritten",
        )


def _check_set(r: StoredEntry, sets_ok: dict[str, bool], subject_sets: dict | None) -> Problem | None:
    if subject_sets is None or r.subject_set is None:
        return None
    if not sets_ok.get(r.subject_set, False):
        return Problem(
            r.seq, "edited", f"entry {r.seq}: the members it covered were edited (the subject set fails its digest)"
        )
    return None


def _check_row(r: StoredEntry, seq: int, expected: int, prev: str) -> Problem | None:
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
    indexed = (entry.get("at"), entry.get("kind"), entry.get("subject_id"), entry.get("subject_set"))
    if indexed != (r.at, r.kind, r.subject_id, r.subject_set):
        return Problem(seq, "edited", f"entry {seq}: its indexed columns were edited")
    return None
