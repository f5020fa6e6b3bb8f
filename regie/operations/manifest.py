"""A backup's manifest: what it holds and how to check it (format, schema, counts, checksums, log head).

``manifest.json`` is written last, inside the folder before the folder gets its final name: a folder with
a manifest whose files all match their SHA-256 is a complete backup; anything else is not one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = "regie-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class BackupError(ValueError):
    """A backup that cannot be taken, trusted or restored, and why."""


@dataclass(frozen=True, slots=True)
class Manifest:
    created_at: str  # ISO 8601, UTC
    regie_version: str
    source_backend: str
    schema_revision: str
    tables: dict[str, int]  # rows per table
    series: dict[str, dict]  # key -> {"points": n, "sha256": hex}
    access_log: dict  # {"size": n, "head": hex}
    files: dict[str, str] = field(default_factory=dict)  # relative path -> SHA-256
    secrets: list[str] = field(default_factory=list)  # names inside secrets.enc (sealed)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @property
    def points(self) -> int:
        return sum(s["points"] for s in self.series.values())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(folder: Path, *, check_files: bool = True) -> Manifest:
    """The manifest of a complete backup; raises :class:`BackupError` saying what is wrong otherwise."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a complete regie backup: it has no {MANIFEST}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON: {exc}") from None
    if raw.get("format") != FORMAT:
        raise BackupError(f"{path} is not a regie backup manifest")
    if raw.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path}: backup format {raw.get('format_version')} is not {FORMAT_VERSION}: use a newer regie"
        )
    manifest = Manifest(**raw)
    if check_files:
        for name, digest in sorted(manifest.files.items()):
            f = Path(folder) / name
            if not f.is_file():
                raise BackupError(f"{folder}: {name} is missing")
            if sha256_file(f) != digest:
                raise BackupError(f"{folder}: {name} does not match its SHA-256 in the manifest (damaged)")
    return manifest
