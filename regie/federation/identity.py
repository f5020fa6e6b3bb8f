"""Who this régie is to its peers: its Ed25519 keys (with rotation) and its ``/.well-known/regie`` document.

The private keys live as the access-log signing key does (:mod:`regie.governance.keys`): PKCS#8 PEM files of
mode 0600 in ``<data_dir>/keys/federation/``, never in the database, never printed; ``regie backup`` seals
the whole ``keys`` folder with its passphrase (:mod:`regie.operations.secrets`). The public halves and their
dates are in ``keyring.json`` beside them.

Rotation without breaking peers: :func:`rotate` makes a new current key and gives the old one an end date
(``not_after``, 30 days later by default): until then peers still accept what it signed. The new key is
*endorsed* by the old one (its signature over the new key's id and raw bytes), so a peer that trusts the
old key learns the new one from the well-known document without a second out-of-band check
(:func:`regie.federation.peers.refresh_keys`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from regie.governance.keys import _write_private, key_id, keys_dir

KEYRING = "keyring.json"
IDENTITY = "identity.json"
OVERLAP_DAYS = 30
_ENDORSE_CONTEXT = b"regie federation key endorsement v1\n"
CONTEXT = {
    "@vocab": "https://w3id.org/regie/federation#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "sec": "https://w3id.org/security#",
}


@dataclass(frozen=True, slots=True)
class PublicKeyEntry:
    """One key of the ring as published: id, PEM, when made, until when it verifies (None: current)."""

    key_id: str
    public_pem: str
    created: int
    not_after: int | None = None
    endorsed_by: str | None = None
    endorsement: str | None = None  # hex Ed25519 signature of the previous key over this one

    def public_key(self) -> Ed25519PublicKey:
        return load_public_pem(self.public_pem)

    def valid_at(self, t: int) -> bool:
        return t >= self.created - 300 and (self.not_after is None or t < self.not_after)


def load_public_pem(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """What an admin reads to a peer's admin on the phone: the key id (SHA-256 of the raw key, 32 hex)."""
    return key_id(key)


def _dir(data_dir: Path) -> Path:
    return keys_dir(data_dir) / "federation"


def _pem(pub: Ed25519PublicKey) -> str:
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _raw(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def endorsement_message(new: Ed25519PublicKey) -> bytes:
    """The bytes an old key signs to vouch for its successor."""
    return _ENDORSE_CONTEXT + key_id(new).encode("ascii") + b"\n" + _raw(new)


def endorsement_ok(entry: PublicKeyEntry, by: Ed25519PublicKey) -> bool:
    if entry.endorsement is None:
        return False
    try:
        by.verify(bytes.fromhex(entry.endorsement), endorsement_message(entry.public_key()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, indent=1) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Keyring:
    """The régie's federation keys: the current one signs, every one not past its end date verifies."""

    def __init__(self, data_dir: Path, entries: list[PublicKeyEntry]) -> None:
        self.data_dir = Path(data_dir)
        self.entries = entries

    @property
    def current(self) -> PublicKeyEntry:
        return max((e for e in self.entries if e.not_after is None), key=lambda e: e.created)

    def private_key(self) -> Ed25519PrivateKey:
        """The current signing key, read from its 0600 file."""
        path = _dir(self.data_dir) / f"{self.current.key_id}.pem"
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return key

    def published(self, now: int | None = None) -> list[PublicKeyEntry]:
        """The keys that still verify (the current one and those within their end date), newest first."""
        at = int(time.time()) if now is None else int(now)
        return sorted((e for e in self.entries if e.not_after is None or e.not_after > at),
                      key=lambda e: -e.created)  # fmt: skip

    def save(self) -> None:
        _write_json(_dir(self.data_dir) / KEYRING, {"keys": [asdict(e) for e in self.entries]})


def _new_key(data_dir: Path, now: int, previous: Ed25519PrivateKey | None, prev_id: str | None) -> PublicKeyEntry:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    _write_private(_dir(data_dir) / f"{key_id(key)}.pem", pem)
    endorsement = previous.sign(endorsement_message(key.public_key())).hex() if previous is not None else None
    return PublicKeyEntry(key_id(key), _pem(key.public_key()), now, None, prev_id, endorsement)


def load_or_create(data_dir: Path, *, now: int | None = None) -> Keyring:
    """The keyring of the régie in ``data_dir``; its first key is made on first use."""
    path = _dir(data_dir) / KEYRING
    if path.exists():
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Keyring(data_dir, [PublicKeyEntry(**e) for e in doc["keys"]])
    at = int(time.time()) if now is None else int(now)
    ring = Keyring(data_dir, [_new_key(data_dir, at, None, None)])
    ring.save()
    return ring


def rotate(data_dir: Path, *, overlap_days: int = OVERLAP_DAYS, now: int | None = None) -> Keyring:
    """A new current key, endorsed by the old one, which keeps verifying for ``overlap_days``."""
    at = int(time.time()) if now is None else int(now)
    ring = load_or_create(data_dir, now=at)
    old, old_key = ring.current, ring.private_key()
    new = _new_key(data_dir, at, old_key, old.key_id)
    ended = [e if e.key_id != old.key_id else PublicKeyEntry(e.key_id, e.public_pem, e.created,
             at + overlap_days * 86400, e.endorsed_by, e.endorsement) for e in ring.entries]  # fmt: skip
    ring = Keyring(data_dir, [*ended, new])
    ring.save()
    return ring


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    organisation: str


def identity(data_dir: Path) -> Identity:
    """The régie's name and operator organisation (``regie federation identity``); a default until set."""
    path = _dir(data_dir) / IDENTITY  # beside the keys: a backup carries it with them
    if not path.exists():
        return Identity("regie", "unnamed")
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Identity(str(doc["name"]), str(doc["organisation"]))


def set_identity(data_dir: Path, name: str, organisation: str) -> Identity:
    if not name.strip() or not organisation.strip():
        raise ValueError("a régie needs a name and an operator organisation")
    _write_json(_dir(data_dir) / IDENTITY, {"name": name.strip(), "organisation": organisation.strip()})
    return identity(data_dir)


def _iso(t: int | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def well_known(data_dir: Path, base_url: str, *, audit_public_pem: str | None, now: int | None = None) -> dict:
    """The ``/.well-known/regie`` document (JSON-LD): name, operator, keys with their dates, endpoints."""
    base = base_url.rstrip("/")
    who = identity(data_dir)
    ring = load_or_create(data_dir, now=now)
    keys = [{
        "@id": f"{base}/.well-known/regie#{e.key_id}", "@type": "sec:Ed25519VerificationKey2020", "keyId": e.key_id,
        "sec:publicKeyPem": e.public_pem, "dct:created": _iso(e.created), "sec:expires": _iso(e.not_after),
        "created": e.created, "notAfter": e.not_after, "endorsedBy": e.endorsed_by, "endorsement": e.endorsement,
    } for e in ring.published(now)]  # fmt: skip
    return {
        "@context": CONTEXT,
        "@id": base,
        "@type": "Regie",
        "name": who.name,
        "operator": {"@type": "org:Organization", "foaf:name": who.organisation},
        "currentKey": ring.current.key_id,
        "publicKey": keys,
        "auditKey": audit_public_pem,
        "endpoints": {
            "inbox": f"{base}/federation/inbox",
            "subscribe": f"{base}/federation/subscribe",
            "head": f"{base}/federation/head",
            "consistency": f"{base}/federation/consistency",
        },
        "dcat:catalog": f"{base}/federation/catalogue",
    }
