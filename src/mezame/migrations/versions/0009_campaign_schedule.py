"""campaign kinds and cadence: schedules, recurrence, sequence steps, contact cadence

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mezame.models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable or with a default) and no foreign keys: no table copy on
    # SQLite, so the cascades of the tables pointing at these are never fired.
    op.add_column(
        "contacts",
        sa.Column("cadence", sa.String(length=12), server_default="monthly", nullable=False),
    )
    op.add_column(
        "contacts",
        sa.Column("cadence_changed_at", mezame.models.base.UTCDateTime(), nullable=True),
    )
    op.add_column(
        "campaigns", sa.Column("scheduled_at", mezame.models.base.UTCDateTime(), nullable=True)
    )
    op.add_column(
        "campaigns", sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.add_column("campaigns", sa.Column("recurrence", sa.JSON(), nullable=True))
    op.add_column("campaigns", sa.Column("parent_id", sa.Integer(), nullable=True))
    op.add_column("campaigns", sa.Column("occurrence_key", sa.String(length=7), nullable=True))
    op.create_index(
        "ix_campaigns_parent_id_occurrence_key",
        "campaigns",
        ["parent_id", "occurrence_key"],
        unique=True,
    )
    op.add_column(
        "campaign_steps",
        sa.Column("wait_days", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.add_column("campaign_steps", sa.Column("wait_until", sa.String(length=10), nullable=True))
    op.add_column(
        "campaign_steps",
        sa.Column("branch", sa.String(length=12), server_default="always", nullable=False),
    )
    op.add_column(
        "campaign_steps",
        sa.Column("then_seasonal", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("campaign_steps", schema=None) as batch_op:
        for name in ("then_seasonal", "branch", "wait_until", "wait_days"):
            batch_op.drop_column(name)
    op.drop_index("ix_campaigns_parent_id_occurrence_key", table_name="campaigns")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        for name in ("occurrence_key", "parent_id", "recurrence", "priority", "scheduled_at"):
            batch_op.drop_column(name)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        for name in ("cadence_changed_at", "cadence"):
            batch_op.drop_column(name)
