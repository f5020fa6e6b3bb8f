"""Alembic migrations build exactly the schema that ``regie.store.schema`` declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from regie.store import open_store
from regie.store.partitions import partition_names
from regie.store.schema import metadata


def test_migrated_database_matches_declared_schema(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:
            parts = partition_names(conn)  # PostgreSQL's chunk partitions: their rows are chunk's
            assert bool(parts) == (conn.dialect.name == "postgresql")
            only_declared = {"include_name": lambda name, kind, _parent: kind != "table" or name not in parts}
            diff = compare_metadata(MigrationContext.configure(conn, opts=only_declared), metadata)
        assert diff == [], f"schema.py and the migrations disagree: {diff}"
    finally:
        store.close()


def test_reopening_a_store_is_a_no_op(store_url: str) -> None:
    open_store(store_url).close()
    store = open_store(store_url)
    with store.engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    store.close()
    from regie.store.schema import SCHEMA_VERSION

    assert version == SCHEMA_VERSION
