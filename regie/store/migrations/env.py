"""Alembic environment: migrations run on the connection :func:`regie.store.migrate.upgrade` passes in."""

from alembic import context

from regie.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
