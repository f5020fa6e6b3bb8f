"""Bring a database to the newest schema with Alembic (``regie init`` and every store open)."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a migration runs, not here: a store already at the newest revision (every open but the first
# after an upgrade) never loads it nor parses the migration scripts, ~18 MB a serving process keeps for its life
# (bench/footprint.py, docs/footprint.md).

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK = threading.Lock()  # Alembic keeps its context in module globals: one migration at a time


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def revisions() -> list[str]:
    """Every schema revision this code knows, oldest first."""
    return list(_revisions(str(MIGRATIONS)))


@cache
def _revisions(location: str) -> tuple[str, ...]:  # parsing the scripts costs more than opening a store
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", location)
    return tuple(r.revision for r in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions())))


def newest_revision() -> str:
    """The newest revision, from the scripts' file names (``NNNN_what.py`` with ``revision = "NNNN"``, which
    tests/store/test_migrations.py holds to Alembic's own head) without parsing them."""
    names = [p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    return max(names)


def current_revision(engine: Engine) -> str | None:
    """The schema revision a database is at; None for one regie never migrated."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(
    engine: Engine, revision: str = "head", *, backup_first: bool = False, backup_dir: Path | None = None
) -> None:
    """Migrate to ``revision`` in one transaction: a migration that fails leaves the store as it was
    (SQLite and PostgreSQL both have transactional DDL).

    With ``backup_first``, a store that holds data and is not at the newest revision is first backed up
    (:func:`backup_before_migrating`); if that backup fails, nothing is migrated. A store already at the
    newest revision (:func:`newest_revision`) is left as is without loading Alembic."""
    if revision == "head" and current_revision(engine) == newest_revision():
        return
    from alembic import command

    cfg = _config()
    if backup_first and revision == "head":
        backup_before_migrating(engine, backup_dir)
    with _LOCK, engine.execution_options(writer=True).begin() as conn:
        if conn.dialect.name == "postgresql":  # two processes opening a new store: one migrates
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7366871)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate an (empty) store back to ``revision``, so that an older backup can be loaded into it."""
    from alembic import command

    cfg = _config()
    with _LOCK, engine.execution_options(writer=True).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def backup_before_migrating(engine: Engine, backup_dir: Path | None = None) -> Path | None:
    """A backup of the store's data before a migration touches it, into ``backup_dir`` (default:
    :func:`default_backup_dir`); None when there is nothing to migrate or nothing to lose. Keys stay out:
    a migration never touches the data folder's secrets."""
    now = current_revision(engine)
    if now is None or now == revisions()[-1]:
        return None
    backup_dir = backup_dir or default_backup_dir(engine.url.render_as_string(hide_password=False))
    if backup_dir is None:  # an in-memory database: nothing outlives the process anyway
        return None
    from regie.operations.backup import take_backup
    from regie.operations.snapshot import reflect, row_counts

    with engine.connect() as conn:
        if not any(row_counts(conn, reflect(conn)).values()):
            return None
    return take_backup(engine.url.render_as_string(hide_password=False), backup_dir, None, None)


def default_backup_dir(url: str) -> Path | None:
    """Where backups taken before a migration go: ``backups/`` beside an SQLite file (the data folder, by
    default), else in the data folder of the settings."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return Path(u.database).parent / "backups" if u.database and u.database != ":memory:" else None
    from regie.config import get_settings

    return get_settings().data_dir / "backups"
