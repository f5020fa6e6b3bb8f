"""The background of a territory's map (issue "Publish once, serve everywhere", the map): GeoJSON an
administrator uploaded or the demo generated, one row per territory.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "map_base",
        sa.Column("territory_id", sa.String(length=64), sa.ForeignKey("territory.id"), nullable=False),
        sa.Column("geojson", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("territory_id"),
    )


def downgrade() -> None:
    op.drop_table("map_base")
