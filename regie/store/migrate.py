"""Bring a database to the newest schema with Alembic (``regie init`` and every store open)."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK = threading.Lock()  # Alembic keeps its context in module globals: one migration at a time


def upgrade(engine: Engine) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with _LOCK, engine.execution_options(writer=True).begin() as conn:
        if conn.dialect.name == "postgresql":  # two processes opening a new store: one migrates
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7366871)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
