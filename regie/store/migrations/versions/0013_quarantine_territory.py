"""Quarantined readings remember the territory they were imported into (``quarantine.territory_id``), so that
an admin of one territory sees and acts on that territory's quarantine only; NULL for readings that came
with no territory (an emoncms input nobody mapped), which only an admin of every territory handles.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): SQLite and PostgreSQL both do it in place, no table rebuild.
    op.add_column("quarantine", sa.Column("territory_id", sa.String(length=64), nullable=True))
    op.create_index("ix_quarantine_territory", "quarantine", ["territory_id"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_territory", table_name="quarantine")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("territory_id")
