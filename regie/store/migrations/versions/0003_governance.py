"""Governance: accounts, login throttling, web sessions, consent grants and their events, the
hash-chained access log and its signed checkpoints.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=True),
        sa.Column("operator_of", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "web_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "consent",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_kind", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.String(length=200), nullable=False),
        sa.Column("prms", sa.Text(), nullable=False),
        sa.Column("granularity", sa.String(length=8), nullable=False),
        sa.Column("data_start", sa.BigInteger(), nullable=False),
        sa.Column("data_end", sa.BigInteger(), nullable=True),
        sa.Column("purpose", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_subject", "consent", ["subject_id"])
    op.create_index("ix_consent_recipient", "consent", ["recipient_kind", "recipient_id"])
    op.create_table(
        "consent_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["consent_id"], ["consent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_event_consent", "consent_event", ["consent_id"])
    op.create_table(
        "access_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_access_log_subject", "access_log", ["subject_id"])
    op.create_table(
        "audit_checkpoint",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    op.drop_index("ix_access_log_subject", table_name="access_log")
    op.drop_table("access_log")
    op.drop_index("ix_consent_event_consent", table_name="consent_event")
    op.drop_table("consent_event")
    op.drop_index("ix_consent_recipient", table_name="consent")
    op.drop_index("ix_consent_subject", table_name="consent")
    op.drop_table("consent")
    op.drop_table("web_session")
    op.drop_table("login_throttle")
    op.drop_table("account")
