"""Collective self-consumption: ACC operations and their participants.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acc_operation",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("territory_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pmo_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("zone", sa.String(length=16), nullable=False),
        sa.Column("derogation", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("billing", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["territory_id"], ["territory.id"]),
        sa.ForeignKeyConstraint(["pmo_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "acc_participant",
        sa.Column("operation_id", sa.String(length=64), nullable=False),
        sa.Column("prm", sa.String(length=14), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("entry", sa.Date(), nullable=False),
        sa.Column("exit", sa.Date(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("peak_power_w", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("density", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("static_share", sa.Float(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["operation_id"], ["acc_operation.id"]),
        sa.ForeignKeyConstraint(["prm"], ["delivery_point.prm"]),
        sa.PrimaryKeyConstraint("operation_id", "prm", "role"),
    )


def downgrade() -> None:
    op.drop_table("acc_participant")
    op.drop_table("acc_operation")
