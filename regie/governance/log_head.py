"""The access log's signed head, kept outside the database, and the automatic checkpoints that move it.

A hash chain shows an edit, not a cut tail nor a log rewritten from scratch; signed checkpoints show those,
but only if someone makes them and only while their rows are left in the database. So:

- a :class:`Notary` attached to a store signs a checkpoint after every ``every_entries`` appends or
  ``every_seconds`` (whichever first), at the end of every CLI command that appended, and when
  ``regie serve`` stops (:func:`seal`);
- each checkpoint is also written, atomically (temporary file, fsync, rename, fsync of the folder), to a
  *head file* in the data folder, next to the signing key: ``<data_dir>/audit/<store>.head.json``. An
  attacker who can write the database but not the data folder can delete every checkpoint row and
  re-chain the whole log: the head file's (size, hash) no longer matches, and ``regie audit verify`` says
  so. A store restored from a backup older than the head is reported as "older than the last signed head";
- a new checkpoint is signed only if the log *extends* the current head (:func:`audit.checkpoint` re-hashes
  the entries since): the notary never signs over damage, so consecutive heads form one consistent history
  (the append-only property a Certificate-Transparency log proves with consistency proofs, RFC 9162 §2.1.4,
  here by re-hashing the short tail).

What remains open is the unsigned tail, at most ``every_entries`` entries or ``every_seconds`` old: see
docs/audit.md for the defaults and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from regie.governance import audit, keys
from regie.store import Store

log = logging.getLogger(__name__)

HEAD_FORMAT = "regie-audit-head/1"
# Defaults, measured in bench/audit.py and argued in docs/audit.md: a checkpoint costs one row and one
# fsync'd file (about a millisecond), so signing every 1,000 entries adds ~0.1 % to the log; 5 minutes
# bounds the unsigned tail in quiet hours to what a few page views add.
EVERY_ENTRIES = 1000
EVERY_SECONDS = 300.0


def store_label(url: str) -> str:
    """The database a head belongs to, password hidden and a SQLite path made absolute."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        u = u.set(database=str(Path(u.database).expanduser().resolve()))
    return u.render_as_string(hide_password=True)


def head_path(data_dir: Path, url: str) -> Path:
    """Where the signed head of the store at ``url`` lives: one file per database, in the data folder."""
    label = store_label(url)
    stem = Path(make_url(label).database or "db").stem[:40] or "db"
    digest = hashlib.sha256(label.encode("utf-8")).hexdigest()[:16]
    return Path(data_dir) / "audit" / f"{stem}-{digest}.head.json"


def read_head(path: Path) -> audit.Checkpoint | None:
    """The signed head in ``path``, None when there is none; a damaged file raises ValueError saying so."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable signed head ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != HEAD_FORMAT:
        raise ValueError(f"{path}: not a signed head (format {HEAD_FORMAT!r} expected)")
    try:
        return audit.Checkpoint(
            int(doc["size"]), str(doc["head_hash"]), int(doc["at"]), str(doc["key_id"]), str(doc["signature"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: signed head without a valid {exc}") from None


def write_head(path: Path, cp: audit.Checkpoint, label: str) -> None:
    """Replace the head file atomically: a crash leaves the old head or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    doc = {"format": HEAD_FORMAT, "database": label, "size": cp.size, "head_hash": cp.head_hash, "at": cp.at,
           "key_id": cp.key_id, "signature": cp.signature}  # fmt: skip
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, indent=1) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself is durable only once the folder is
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer of a head file at a time, across processes (the server and a CLI command)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_suffix(".lock"), "a") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX: one process at a time is then the operator's job
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def checkpoint_and_publish(
    store: Store, key: Ed25519PrivateKey, path: Path, *, label: str | None = None, now: int | None = None
) -> audit.Checkpoint:
    """Sign a checkpoint that extends the head in ``path`` and write it there; raise LogTampered if the log
    no longer extends it (or ValueError if the head file is damaged or signed by another key)."""
    with _locked(Path(path)):
        previous = read_head(path)
        if previous is not None and not audit.signature_ok(previous, key.public_key()):
            raise audit.LogTampered(f"{path}: the signed head does not verify with the régie's key")
        cp = audit.checkpoint(store, key, now=now, after=previous)
        if previous is None or cp.size > previous.size:
            write_head(path, cp, label or store_label(str(store.engine.url)))
    return cp


class Notary:
    """Signs the log of the stores it is attached to: every N entries or T seconds, and when sealed.

    The key is loaded on the first checkpoint (``key`` may be a function), so attaching a notary to a
    command that only reads creates nothing. Failures never fail an append (the read it records has
    happened): they are logged, and ``regie audit verify`` reports the log's state.
    """

    def __init__(
        self,
        key: Ed25519PrivateKey | Callable[[], Ed25519PrivateKey],
        head_path: Path,
        *,
        every_entries: int = EVERY_ENTRIES,
        every_seconds: float = EVERY_SECONDS,
    ) -> None:
        if every_entries < 1 or every_seconds <= 0:
            raise ValueError("a checkpoint needs every_entries >= 1 and every_seconds > 0")
        self._key = key
        self.head_path = Path(head_path)
        self.every_entries = every_entries
        self.every_seconds = every_seconds
        self._signed_size: int | None = None  # known lazily, from the head file
        self._signed_clock = time.monotonic()
        self._mutex = threading.Lock()
        self.appends = 0  # seen by this notary: a command that appended nothing signs nothing at its end
        self.last_error: str | None = None

    @classmethod
    def for_store(cls, data_dir: Path, url: str, **kw) -> Notary:
        """The notary of the store at ``url``, with the régie's key and head file in ``data_dir``."""
        return cls(lambda: keys.load_or_create_signing_key(data_dir), head_path(data_dir, url), **kw)

    @property
    def key(self) -> Ed25519PrivateKey:
        if callable(self._key) and not isinstance(self._key, Ed25519PrivateKey):
            self._key = self._key()
        return self._key

    def _due(self, size: int) -> bool:
        if self._signed_size is None:
            try:
                head = read_head(self.head_path)
            except ValueError:
                head = None
            self._signed_size = head.size if head is not None else 0
        unsigned = size - self._signed_size
        return unsigned >= self.every_entries or (
            unsigned > 0 and time.monotonic() - self._signed_clock >= self.every_seconds
        )

    def appended(self, store: Store, entry: audit.LogEntry) -> None:
        """The after-append hook: checkpoint when N entries or T seconds have passed since the last one."""
        self.appends += 1
        if self._due(entry.seq):
            self.seal(store)

    def seal(self, store: Store) -> audit.Checkpoint | None:
        """Checkpoint now if the log grew since the last head (at the end of a command, at shutdown)."""
        with self._mutex:
            try:
                if not self._due_now(store):
                    return None
                cp = checkpoint_and_publish(store, self.key, self.head_path)
            except Exception as exc:  # tampering, a damaged head file, a full disk, the database gone: never
                self.last_error = str(exc)  # fail the append that triggered it (its read has happened)
                log.error("access log not signed: %s", exc)
                self._signed_clock = time.monotonic()  # retry after T, not on every append
                return None
            self._signed_size, self._signed_clock, self.last_error = cp.size, time.monotonic(), None
            return cp

    def _due_now(self, store: Store) -> bool:
        size = audit.log_size(store)
        if self._signed_size is None or size > self._signed_size:
            head = read_head(self.head_path)
            self._signed_size = head.size if head is not None else 0
        return size > self._signed_size


def attach(store: Store, notary: Notary | None) -> None:
    """Let ``notary`` sign this store's log as it grows (None: stop)."""
    audit.on_append(store, notary.appended if notary is not None else None)


def notary_for_command(store: Store, data_dir: Path) -> Callable[[], None]:
    """Attach a notary to a CLI command's store; returns what to call when the command ends (success or
    not): it signs the log if the command appended to it."""
    notary = Notary.for_store(data_dir, str(store.engine.url))
    attach(store, notary)

    def done() -> None:
        if notary.appends:
            notary.seal(store)
            store.close()  # the command closed it already; sealing opened a connection again

    return done


def notary_for_new_store(store: Store, data_dir: Path) -> Notary:
    """The notary of a store just built from nothing (a demo): a head left by an earlier store at the same
    place is dropped, but only while this store's log is empty — a log with entries is never re-based."""
    notary = Notary.for_store(data_dir, str(store.engine.url))
    if audit.log_size(store) == 0:
        notary.head_path.unlink(missing_ok=True)
    attach(store, notary)
    return notary


@contextlib.asynccontextmanager
async def lifespan(app) -> AsyncIterator[None]:
    """The web app's lifespan: while serving, sign the log every ``every_seconds`` if it grew (the entry
    rule runs on each append); at shutdown, sign it once more. Only when ``regie serve`` set
    ``app.state.audit_notary`` (tests and embedders without a data folder run without one)."""
    import asyncio

    notary: Notary | None = getattr(app.state, "audit_notary", None)
    store: Store = app.state.store

    async def every_period() -> None:
        while True:
            await asyncio.sleep(notary.every_seconds)
            await asyncio.to_thread(notary.seal, store)

    task = asyncio.create_task(every_period()) if notary is not None else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
        if notary is not None:
            await asyncio.to_thread(notary.seal, store)
