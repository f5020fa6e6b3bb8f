"""The access log in one file a third party can check with the régie's public key alone.

JSON Lines, UTF-8 (format ``regie-audit-export/1``, described field by field in docs/audit.md): a header
line (the public key in PEM, its id, the size and head hash), one line per entry as stored, one per signed
checkpoint, and the signed head kept outside the database. The export is sealed first and stops at that
checkpoint, so every entry in it is covered by a signature. Verifying needs SHA-256 and Ed25519 (RFC 8032),
nothing of regie: docs/audit.md gives the algorithm.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from regie.governance import audit, keys, log_head
from regie.store import Store
from regie.store.schema import access_log

EXPORT_FORMAT = "regie-audit-export/1"


def export(store: Store, key: Ed25519PrivateKey, head_file: Path, out: IO[str], *, now: int | None = None) -> int:
    """Seal the log, then write it up to that checkpoint; returns the number of entries written."""
    cp = log_head.checkpoint_and_publish(store, key, head_file)
    head = log_head.read_head(head_file)
    header = {
        "format": EXPORT_FORMAT, "database": log_head.store_label(str(store.engine.url)),
        "exported_at": int(time.time()) if now is None else int(now), "public_key": keys.public_key_pem(key),
        "key_id": keys.key_id(key), "size": cp.size, "head_hash": cp.head_hash,
    }  # fmt: skip
    out.write(_line(header))
    with store.engine.connect() as conn:
        q = select(access_log).where(access_log.c.seq <= cp.size).order_by(access_log.c.seq)
        for r in conn.execute(q):
            row = audit.StoredEntry(
                int(r.seq), int(r.at), r.kind, r.subject_id, r.entry, r.prev_hash, r.hash, r.subject_set
            )
            out.write(_line({"type": "entry", **asdict(row)}))
    for c in audit.checkpoints(store):
        if c.size <= cp.size:
            out.write(_line({"type": "checkpoint", **asdict(c)}))
    if head is not None:
        out.write(_line({"type": "head", **asdict(head)}))
    return cp.size


def _line(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


@dataclass(frozen=True, slots=True)
class ExportCheck:
    verification: audit.Verification
    key_id: str
    key_from_file: bool  # the key was the export's own: only as good as comparing its id with the published one
    problems: tuple[audit.Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} does not hold an Ed25519 public key")
    return key


def verify_export(path: Path, public_key: Ed25519PublicKey | None = None) -> ExportCheck:
    """Re-hash an export and check its signatures; raise ValueError (with the line) if it is malformed."""
    rows: list[audit.StoredEntry] = []
    cps: list[audit.Checkpoint] = []
    head: audit.Checkpoint | None = None
    header: dict = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            try:
                doc = json.loads(line)
                if n == 1:
                    if doc.get("format") != EXPORT_FORMAT:
                        raise ValueError(f"format {EXPORT_FORMAT!r} expected")
                    header = doc
                    continue
                kind = doc.pop("type")
                if kind == "entry":
                    rows.append(audit.StoredEntry(**doc))
                elif kind == "checkpoint":
                    cps.append(audit.Checkpoint(**doc))
                elif kind == "head":
                    head = audit.Checkpoint(**doc)
                else:
                    raise ValueError(f"unknown line type {kind!r}")
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise ValueError(f"{path}, line {n}: {exc}") from None
    if not header:
        raise ValueError(f"{path}: empty file, not an audit export")
    from_file = public_key is None
    if public_key is None:
        public_key = serialization.load_pem_public_key(header["public_key"].encode("ascii"))  # type: ignore[assignment]
        if not isinstance(public_key, Ed25519PublicKey):
            raise ValueError(f"{path}: the header's public key is not Ed25519")
    v = audit.verify_entries(rows, cps, public_key, head, expect_signed=True)
    problems = list(v.problems)
    signed = max([c.size for c in [*cps, *([head] if head else [])]], default=0)
    if v.size > signed and not any(p.what == "unsigned" for p in problems):
        problems.append(
            audit.Problem(signed + 1, "unsigned", f"entries {signed + 1}..{v.size} are covered by no checkpoint")
        )
    if (header.get("size"), header.get("head_hash")) != (v.size, v.head_hash):
        problems.append(
            audit.Problem(v.size, "truncated", f"the header announces {header.get('size')} entries, the file holds "
                          f"{v.size} (or another head): the export was cut or edited")
        )  # fmt: skip
    return ExportCheck(v, keys.key_id(public_key), from_file, tuple(problems))
