"""A territory set up by its own people (issue "Your own territory"): the territory's INSEE code and metering
step; an end date on sites, delivery points, producers and transformers (ended, never silently removed);
accounts scoped to a territory, with an e-mail and TOTP two-factor authentication; one-time tokens
(invitations, password resets) and recovery codes, stored as hashes only; API keys bound to a site; an ACC
operation's allocation key changed from a date on.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ENDED = ("site", "delivery_point", "producer", "transformer")


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): SQLite and PostgreSQL both do it in place, no table rebuild.
    op.add_column("territory", sa.Column("insee", sa.String(length=5), nullable=True))
    op.add_column("territory", sa.Column("step", sa.String(length=16), nullable=True))
    for name in _ENDED:
        op.add_column(name, sa.Column("until", sa.Date(), nullable=True))
    op.add_column("account", sa.Column("territory_id", sa.String(length=64), nullable=True))
    op.add_column("account", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column("account", sa.Column("totp_secret", sa.String(length=200), nullable=True))
    op.add_column("account", sa.Column("totp_enabled_at", sa.BigInteger(), nullable=True))
    op.add_column("api_key", sa.Column("site_id", sa.String(length=64), nullable=True))
    op.create_table(
        "account_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_account_token_account", "account_token", ["account_id"])
    op.create_table(
        "recovery_code",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "code_hash"),
    )
    op.create_table(
        "acc_key_period",
        sa.Column("operation_id", sa.String(length=64), sa.ForeignKey("acc_operation.id"), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("params", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("operation_id", "since"),
    )


def downgrade() -> None:
    op.drop_table("acc_key_period")
    op.drop_table("recovery_code")
    op.drop_index("ix_account_token_account", table_name="account_token")
    op.drop_table("account_token")
    with op.batch_alter_table("api_key") as t:
        t.drop_column("site_id")
    with op.batch_alter_table("account") as t:
        for c in ("totp_enabled_at", "totp_secret", "email", "territory_id"):
            t.drop_column(c)
    for name in _ENDED:
        with op.batch_alter_table(name) as t:
            t.drop_column("until")
    with op.batch_alter_table("territory") as t:
        t.drop_column("step")
        t.drop_column("insee")
