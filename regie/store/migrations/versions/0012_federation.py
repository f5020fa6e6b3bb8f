"""Federation between régies over signed HTTP (issue 16, docs/federation.md): peers and their trusted keys,
subscriptions, the store-and-forward outbox, what was received with its provenance, the peers' witnessed
access-log heads and the nonces of signed requests seen (replays refused).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fed_peer",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("audit_key", sa.Text(), nullable=True),
        sa.Column("send", sa.String(length=200), nullable=False),
        sa.Column("receive", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url", name="uq_fed_peer_url"),
    )
    op.create_table(
        "fed_subscription",
        sa.Column("peer_id", sa.String(length=64), sa.ForeignKey("fed_peer.id"), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("subscribed_at", sa.BigInteger(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("peer_id", "dataset"),
    )
    op.create_table(
        "fed_outbox",
        sa.Column("peer_id", sa.String(length=64), sa.ForeignKey("fed_peer.id"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("delivery_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("grant_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("peer_id", "seq"),
        sa.UniqueConstraint("delivery_key", name="uq_fed_outbox_key"),
    )
    op.create_table(
        "fed_received",
        sa.Column("peer_id", sa.String(length=64), sa.ForeignKey("fed_peer.id"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("delivery_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("grant_id", sa.String(length=64), nullable=True),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("peer_id", "seq"),
        sa.UniqueConstraint("peer_id", "delivery_key", name="uq_fed_received_key"),
    )
    op.create_index("ix_fed_received_grant", "fed_received", ["grant_id"])
    op.create_table(
        "fed_witnessed_head",
        sa.Column("peer_id", sa.String(length=64), sa.ForeignKey("fed_peer.id"), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("countersignature", sa.String(length=200), nullable=False),
        sa.Column("witnessed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("peer_id", "size"),
    )
    op.create_table(
        "fed_nonce",
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )


def downgrade() -> None:
    op.drop_table("fed_nonce")
    op.drop_table("fed_witnessed_head")
    op.drop_index("ix_fed_received_grant", table_name="fed_received")
    op.drop_table("fed_received")
    op.drop_table("fed_outbox")
    op.drop_table("fed_subscription")
    op.drop_table("fed_peer")
