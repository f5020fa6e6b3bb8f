"""The live publication's groups and last frames (point ids and instants, never values).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_frame",
        sa.Column("figure", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=True),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("points", sa.Text(), nullable=False),
        sa.Column("members", sa.Text(), nullable=True),
        sa.Column("not_before", sa.BigInteger(), nullable=True),
        sa.Column("as_of", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("figure", "seq"),
    )


def downgrade() -> None:
    op.drop_table("live_frame")
