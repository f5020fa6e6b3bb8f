"""The data folder's secrets in a backup: sealed with a passphrase, never in clear next to the data.

A backup without the audit signing key cannot prove its access log; a backup with the key in clear lets
whoever finds the disk forge checkpoints. So the key files (``keys/`` and any ``audit*`` file at the data
folder's top, such as a signed log head) travel as one tar, encrypted with AES-256-GCM under a key derived
from the passphrase by scrypt (RFC 7914; n=2^15, r=8, p=1 as OWASP's Password Storage Cheat Sheet lists).
GCM authenticates: a wrong passphrase or a flipped bit is refused, never restored as garbage.
"""

from __future__ import annotations

import io
import os
import secrets
import tarfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from regie.governance.keys import keys_dir

MAGIC = b"regie-secrets v1\n"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
PASSPHRASE_ENV = "REGIE_BACKUP_PASSPHRASE"
MIN_PASSPHRASE = 12


class SecretsError(ValueError):
    """The secrets cannot be sealed or opened (no passphrase, a wrong one, a damaged file)."""


def secret_files(data_dir: Path) -> list[Path]:
    """Every file of the keys folder and every ``audit*`` file at the data folder's top, sorted."""
    data_dir = Path(data_dir)
    found = [p for p in keys_dir(data_dir).rglob("*") if p.is_file()] if keys_dir(data_dir).is_dir() else []
    found += [p for p in data_dir.glob("audit*") if p.is_file()]
    return sorted(found)


def _key(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode("utf-8"))


def seal(data_dir: Path, passphrase: str) -> tuple[bytes, list[str]]:
    """(sealed bytes, relative names) of the data folder's secrets."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise SecretsError(f"the backup passphrase must be at least {MIN_PASSPHRASE} characters")
    data_dir = Path(data_dir)
    buf = io.BytesIO()
    names = []
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in secret_files(data_dir):
            name = path.relative_to(data_dir).as_posix()
            info = tarfile.TarInfo(name)
            content = path.read_bytes()
            info.size, info.mode = len(content), 0o600
            tar.addfile(info, io.BytesIO(content))
            names.append(name)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_key(passphrase, salt)).encrypt(nonce, buf.getvalue(), MAGIC)
    return MAGIC + salt + nonce + sealed, names


def unseal(blob: bytes, passphrase: str) -> dict[str, bytes]:
    """Relative name → content of sealed secrets; a wrong passphrase or a damaged file raises."""
    if not blob.startswith(MAGIC):
        raise SecretsError("the secrets file is not a regie secrets file (v1)")
    body = blob[len(MAGIC) :]
    salt, nonce, sealed = body[:16], body[16:28], body[28:]
    try:
        plain = AESGCM(_key(passphrase, salt)).decrypt(nonce, sealed, MAGIC)
    except InvalidTag:
        raise SecretsError("wrong backup passphrase, or the secrets file was damaged") from None
    out = {}
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r") as tar:
        for member in tar.getmembers():
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not member.isfile():
                raise SecretsError(f"the secrets hold an unsafe name {member.name!r}")
            out[member.name] = tar.extractfile(member).read()
    return out


def refuse_clashes(files: dict[str, bytes], data_dir: Path) -> None:
    """Raise when the data folder already holds a different file of the same name (a restore checks this
    before it touches the store: all or nothing)."""
    clashes = [n for n, c in files.items() if (data_dir / n).exists() and (data_dir / n).read_bytes() != c]
    if clashes:
        raise SecretsError(
            f"{data_dir} already holds other secrets ({', '.join(clashes)}): add --force to replace them"
        )


def install(files: dict[str, bytes], data_dir: Path, *, force: bool = False) -> list[str]:
    """Write restored secrets into a data folder (mode 0600); an existing different file is kept unless
    ``force`` (a restore must not silently replace the key a running régie signs with)."""
    data_dir = Path(data_dir)
    if not force:
        refuse_clashes(files, data_dir)
    for name, content in files.items():
        path = data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.restoring")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return sorted(files)
