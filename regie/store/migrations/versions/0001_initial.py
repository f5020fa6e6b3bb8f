"""Initial schema: territory metadata and the chunked time-series table.

Frozen as explicit operations: later revisions change tables with their own ``op`` calls.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "territory",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "organisation",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("territory_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("territory_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "site",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("territory_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("altitude_m", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "delivery_point",
        sa.Column("prm", sa.String(length=14), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=8), nullable=False),
        sa.Column("subscribed_kva", sa.Float(), nullable=True),
        sa.Column("usage", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
        ),
        sa.PrimaryKeyConstraint("prm"),
    )
    op.create_table(
        "transformer",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("territory_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rated_kva", sa.Float(), nullable=False),
        sa.Column("power_factor", sa.Float(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "membership",
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("prm", sa.String(length=14), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["prm"],
            ["delivery_point.prm"],
        ),
        sa.PrimaryKeyConstraint("holder_id", "prm", "since"),
    )
    op.create_table(
        "meter",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("prm", sa.String(length=14), nullable=True),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["prm"],
            ["delivery_point.prm"],
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "producer",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("territory_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("peak_power_w", sa.Float(), nullable=False),
        sa.Column("prm", sa.String(length=14), nullable=True),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("commissioned", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["prm"],
            ["delivery_point.prm"],
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "transformer_feed",
        sa.Column("transformer_id", sa.String(length=64), nullable=False),
        sa.Column("prm", sa.String(length=14), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["prm"],
            ["delivery_point.prm"],
        ),
        sa.ForeignKeyConstraint(
            ["transformer_id"],
            ["transformer.id"],
        ),
        sa.PrimaryKeyConstraint("transformer_id", "prm"),
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("territory_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=True),
        sa.Column("convention", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.Float(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prm", sa.String(length=14), nullable=True),
        sa.Column("producer_id", sa.String(length=64), nullable=True),
        sa.Column("transformer_id", sa.String(length=64), nullable=True),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["prm"],
            ["delivery_point.prm"],
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["producer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transformer_id"],
            ["transformer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_series_key"),
    )
    op.create_table(
        "chunk",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("t_min", sa.BigInteger(), nullable=False),
        sa.Column("t_max", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
        ),
        sa.PrimaryKeyConstraint("series_id", "level", "bucket"),
    )


def downgrade() -> None:
    op.drop_table("chunk")
    op.drop_table("series")
    op.drop_table("transformer_feed")
    op.drop_table("producer")
    op.drop_table("meter")
    op.drop_table("membership")
    op.drop_table("transformer")
    op.drop_table("delivery_point")
    op.drop_table("site")
    op.drop_table("person")
    op.drop_table("organisation")
    op.drop_table("territory")
