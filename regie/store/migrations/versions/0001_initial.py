"""Initial schema: territory metadata and the chunked time-series table.

Revision ID: 0001
Revises:
"""

from alembic import op

from regie.store.schema import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The first revision creates the tables as schema.py declares them at this revision; later revisions
    # alter them with explicit op.* calls so that upgrading an old store reproduces today's schema.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
