"""Secrets of a régie, kept in files of its data directory (mode 0600), created on first use.

Why files and not settings: a secret in an environment variable leaks into process listings, crash
reports and CI logs; a key file stays on the machine that owns it. Nothing here prints or logs a secret.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

AUDIT_KEY_FILE = "audit-ed25519.pem"
SECRET_FILE = "secret.key"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def keys_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "keys"


def load_or_create_secret(data_dir: Path) -> bytes:
    """32 random bytes for HMACs (CSRF tokens); created once, kept in ``<data_dir>/keys/secret.key``."""
    path = keys_dir(data_dir) / SECRET_FILE
    if not path.exists():
        _write_private(path, secrets.token_bytes(32))
    return path.read_bytes()


def load_or_create_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The Ed25519 key that signs audit checkpoints (RFC 8032); created once, PKCS#8 PEM, mode 0600."""
    path = keys_dir(data_dir) / AUDIT_KEY_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(path, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half, in PEM: what a régie publishes so anyone can check its checkpoints."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short fingerprint of the public key: the first 16 bytes of SHA-256 of its raw 32 bytes, in hex."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]
