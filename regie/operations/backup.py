"""Take a backup of a live store into a folder of dated backups; list and prune them.

One backup is one folder ``regie-YYYYMMDDTHHMMSSZ`` holding ``data/<table>.jsonl.gz``
(:mod:`regie.operations.snapshot`), ``secrets.enc`` (:mod:`regie.operations.secrets`) and ``manifest.json``
(:mod:`regie.operations.manifest`). It is built in a ``.partial-*`` folder, every file fsync'd, then renamed
to its final name and the parent folder fsync'd: a backup killed midway (SIGKILL, power cut) leaves at most
a ``.partial-*`` folder, never one that looks complete (rename is atomic, POSIX ``rename(2)``).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from regie import __version__
from regie.operations import secrets as sealed
from regie.operations import snapshot
from regie.operations.manifest import BackupError, Manifest, read_manifest, sha256_file
from regie.operations.retention import Policy, to_keep
from regie.store.engine import make_engine
from regie.store.migrate import current_revision

PREFIX = "regie-"
PARTIAL = ".partial-"
SECRETS_FILE = "secrets.enc"
_STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^regie-(\d{8}T\d{6}Z)(?:-\d+)?$")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def take_backup(
    url: str, dest: Path, data_dir: Path | None, passphrase: str | None, *, now: datetime | None = None
) -> Path:
    """Back up the store at ``url`` and the secrets of ``data_dir`` (None: none) into a new folder in ``dest``.

    The store is read through a consistent view (writers go on); the secrets are sealed with
    ``passphrase``, which is required as soon as there is a secret to keep. Returns the backup's folder."""
    now = now or datetime.now(UTC)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if data_dir is not None and sealed.secret_files(data_dir) and not passphrase:
        raise BackupError(
            f"{data_dir} holds keys that a backup must keep, sealed with a passphrase: set {sealed.PASSPHRASE_ENV}"
        )
    remove_stale_partials(dest)
    work = dest / f"{PARTIAL}{now.strftime(_STAMP)}-{os.getpid()}"
    work.mkdir()
    try:
        _fill(url, work, data_dir, passphrase, now)
        for f in work.rglob("*"):
            if f.is_file():
                _fsync(f)
        _fsync(work / "data")
        _fsync(work)
        final = _free_name(dest, now)
        os.rename(work, final)
        _fsync(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def remove_stale_partials(dest: Path) -> list[Path]:
    """Delete the ``.partial-*`` folders of backups that were killed: their process (the pid ending the
    name) no longer runs on this machine. A backup still running keeps its folder."""
    gone = []
    for p in Path(dest).glob(f"{PARTIAL}*"):
        pid = p.name.rsplit("-", 1)[-1]
        if p.is_dir() and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
    return gone


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def _fill(url: str, work: Path, data_dir: Path | None, passphrase: str | None, now: datetime) -> Manifest:
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
        if revision is None:
            raise BackupError(f"{url.split('@')[-1]} is not a regie store (no schema revision): nothing to back up")
        (work / "data").mkdir()
        with snapshot.consistent_view(engine, work) as conn:
            md = snapshot.reflect(conn)
            tables = {
                t.name: snapshot.dump_table(conn, t, work / "data" / f"{t.name}.jsonl.gz")
                for t in snapshot.data_tables(md)
            }
            digests = snapshot.series_digests(conn)
            size, head = snapshot.log_head(conn)
        backend = engine.dialect.name
    finally:
        engine.dispose()
    names: list[str] = []
    if data_dir is not None and passphrase and sealed.secret_files(data_dir):
        blob, names = sealed.seal(data_dir, passphrase)
        (work / SECRETS_FILE).write_bytes(blob)
    files = {f.relative_to(work).as_posix(): sha256_file(f) for f in sorted(work.rglob("*")) if f.is_file()}
    manifest = Manifest(
        created_at=now.isoformat(timespec="seconds"),
        regie_version=__version__,
        source_backend=backend,
        schema_revision=revision,
        tables=tables,
        series={k: {"points": d.points, "sha256": d.sha256} for k, d in digests.items()},
        access_log={"size": size, "head": head},
        files=files,
        secrets=names,
    )
    manifest.write(work)
    return manifest


def _free_name(dest: Path, now: datetime) -> Path:
    base = dest / f"{PREFIX}{now.strftime(_STAMP)}"
    candidate, i = base, 1
    while candidate.exists():
        i += 1
        candidate = base.with_name(f"{base.name}-{i}")
    return candidate


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    taken: datetime


def list_backups(dest: Path) -> list[Backup]:
    """Backups in ``dest`` by name, oldest first (``.partial-*`` folders are not backups)."""
    found = []
    for p in Path(dest).iterdir() if Path(dest).is_dir() else []:
        m = _NAME.match(p.name)
        if m and p.is_dir() and (p / "manifest.json").is_file():
            found.append(Backup(p, datetime.strptime(m.group(1), _STAMP).replace(tzinfo=UTC)))
    return sorted(found, key=lambda b: (b.taken, b.path.name))


def latest_complete(dest: Path) -> Path:
    """The newest backup in ``dest`` whose files all match its manifest."""
    problems = []
    for b in reversed(list_backups(dest)):
        try:
            read_manifest(b.path)
            return b.path
        except BackupError as exc:
            problems.append(str(exc))
    raise BackupError(f"no complete backup in {dest}" + (f" ({'; '.join(problems)})" if problems else ""))


def prune(dest: Path, policy: Policy) -> list[Path]:
    """Delete the backups the policy does not keep; returns what was deleted."""
    backups = list_backups(dest)
    newest_per_instant = {b.taken: b for b in backups}
    keep = {newest_per_instant[t].path for t in to_keep(newest_per_instant, policy)}
    gone = [b.path for b in backups if b.path not in keep]
    for path in gone:
        shutil.rmtree(path)
    return gone
