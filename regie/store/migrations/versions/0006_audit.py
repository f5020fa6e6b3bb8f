"""Aggregate reads name the data subjects they covered: a subject-set index for "who accessed my data".

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("access_log", sa.Column("subject_set", sa.String(length=64), nullable=True))
    op.create_index("ix_access_log_subject_set", "access_log", ["subject_set"])
    op.create_table(
        "audit_subject_set",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("digest", "subject_id"),
    )
    op.create_index("ix_audit_subject_set_subject", "audit_subject_set", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_subject_set_subject", table_name="audit_subject_set")
    op.drop_table("audit_subject_set")
    op.drop_index("ix_access_log_subject_set", table_name="access_log")
    with op.batch_alter_table("access_log") as batch:
        batch.drop_column("subject_set")
