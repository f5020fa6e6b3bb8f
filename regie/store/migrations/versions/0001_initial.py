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
    # While 0001 is the only revision, schema.py *is* its schema. The first change to a table must
    # freeze this revision into explicit op.create_table calls before adding 0002 with op.alter_*.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
