"""Restore a backup into an empty store (SQLite or PostgreSQL, whatever it was taken from), and verify one.

A restore migrates the target to the backup's schema revision, loads every table in one transaction, then
migrates to the newest revision: a backup of an older release restores into a newer one. It refuses a
store that holds anything unless told to replace it (``force``), and refuses a backup whose files do not
match its manifest.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete

from regie.operations import secrets as sealed
from regie.operations import snapshot
from regie.operations.backup import SECRETS_FILE, latest_complete
from regie.operations.manifest import BackupError, Manifest, read_manifest
from regie.store.engine import make_engine, redacted_url
from regie.store.migrate import current_revision, downgrade, revisions, upgrade


def resolve(src: Path) -> Path:
    """A backup folder, or the newest complete backup of a folder of backups."""
    src = Path(src)
    if not src.is_dir():
        raise BackupError(f"{src} is not a folder")
    return src if (src / "manifest.json").exists() else latest_complete(src)


def restore(src: Path, url: str, data_dir: Path | None, passphrase: str | None, *, force: bool = False) -> Manifest:
    """Load the backup ``src`` into the store at ``url`` and its secrets into ``data_dir``."""
    folder = resolve(src)
    manifest = read_manifest(folder)
    files: dict[str, bytes] = {}
    if manifest.secrets and data_dir is not None:
        if not passphrase:
            raise BackupError(f"the backup's secrets are sealed: set {sealed.PASSPHRASE_ENV} to restore them")
        files = sealed.unseal((folder / SECRETS_FILE).read_bytes(), passphrase)  # before touching the store
        if not force:
            sealed.refuse_clashes(files, Path(data_dir))
    known = revisions()
    if manifest.schema_revision not in known:
        raise BackupError(f"the backup's schema {manifest.schema_revision} is newer than this regie's: upgrade regie")
    engine = make_engine(url)
    try:
        _refuse_non_empty(engine, url, force)
        _migrate_to(engine, manifest.schema_revision, known)
        with engine.execution_options(writer=True).begin() as conn:
            md = snapshot.reflect(conn)
            tables = {t.name: t for t in snapshot.data_tables(md)}
            for t in reversed(snapshot.data_tables(md)):
                conn.execute(delete(t))
            for name in tables:  # foreign-key order
                if name not in manifest.tables:
                    continue
                table, _, batches = snapshot.read_table(folder / "data" / f"{name}.jsonl.gz")
                n = snapshot.load_table(conn, tables[table], batches)
                if n != manifest.tables[name]:
                    raise BackupError(f"{folder}: {name} holds {n} rows, the manifest says {manifest.tables[name]}")
            unknown = sorted(set(manifest.tables) - set(tables))
            if unknown:
                raise BackupError(f"the backup holds tables this schema lacks: {', '.join(unknown)}")
            snapshot.reset_sequences(conn, md)
        upgrade(engine)
    finally:
        engine.dispose()
    if files:
        sealed.install(files, data_dir, force=force)
    return manifest


def _refuse_non_empty(engine, url: str, force: bool) -> None:
    if current_revision(engine) is None:
        return
    with engine.connect() as conn:
        counts = snapshot.row_counts(conn, snapshot.reflect(conn))
    held = {k: v for k, v in counts.items() if v}
    if held and not force:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(held.items()))
        raise BackupError(
            f"the store {redacted_url(url)} is not empty: {listed}. A restore replaces everything in it: "
            "restore into an empty store, or add --force to replace its content"
        )


def _migrate_to(engine, revision: str, known: list[str]) -> None:
    now = current_revision(engine)
    if now is not None and known.index(now) > known.index(revision):
        downgrade(engine, revision)  # an empty store made by a newer `regie init`
    else:
        upgrade(engine, revision)


@dataclass(frozen=True, slots=True)
class Verification:
    """What :func:`verify` found: the backup's promises against a store restored from it."""

    manifest: Manifest
    problems: tuple[str, ...]
    audit_checkpoints: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(src: Path, passphrase: str | None) -> Verification:
    """Restore into a temporary SQLite store and compare counts, per-series checksums and the access log
    (``audit verify``, with the restored signing key when the passphrase opens the secrets)."""
    from regie.governance import audit, keys
    from regie.store import Store

    folder = resolve(src)
    manifest = read_manifest(folder)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="regie-verify-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'regie.sqlite'}"
        data_dir = Path(tmp) / "data" if passphrase else None
        restore(folder, url, data_dir, passphrase)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                counts = snapshot.row_counts(conn, snapshot.reflect(conn))
                digests = snapshot.series_digests(conn)
                size, head = snapshot.log_head(conn)
            for name, n in manifest.tables.items():
                if counts.get(name) != n:
                    problems.append(f"table {name}: {counts.get(name)} rows restored, the manifest says {n}")
            for key, promised in manifest.series.items():
                got = digests.get(key)
                if got is None or (got.points, got.sha256) != (promised["points"], promised["sha256"]):
                    problems.append(f"series {key}: restored points differ from the manifest's checksum")
            if {"size": size, "head": head} != manifest.access_log:
                problems.append(f"access log: restored head {size}/{head[:12]}… is not the manifest's")
            public = None
            if data_dir is not None and (keys.keys_dir(data_dir) / keys.AUDIT_KEY_FILE).exists():
                public = keys.load_or_create_signing_key(data_dir).public_key()
            result = audit.verify(Store(engine), public)
            problems += [f"audit verify: {p.message}" for p in result.problems]
        finally:
            engine.dispose()
    return Verification(manifest, tuple(problems), result.checkpoints)
