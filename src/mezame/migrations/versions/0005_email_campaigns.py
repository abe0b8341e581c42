"""email campaigns: campaigns, steps, the send log, the suppression list

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mezame.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column(
            "created_at",
            mezame.models.base.UTCDateTime(),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            mezame.models.base.UTCDateTime(),
            server_default=sa.func.now(),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), server_default="one_off", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("sender_run", sa.String(length=120), nullable=True),
        sa.Column("sender_heartbeat_at", mezame.models.base.UTCDateTime(), nullable=True),
        sa.Column("started_at", mezame.models.base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", mezame.models.base.UTCDateTime(), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_campaigns_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "campaign_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_steps_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_steps")),
        sa.UniqueConstraint(
            "campaign_id", "position", name=op.f("uq_campaign_steps_campaign_id_position")
        ),
    )
    op.create_table(
        "campaign_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queued_at", mezame.models.base.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", mezame.models.base.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_at", mezame.models.base.UTCDateTime(), nullable=True),
        sa.Column("sent_at", mezame.models.base.UTCDateTime(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_sends_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_campaign_sends_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["campaign_steps.id"],
            name=op.f("fk_campaign_sends_step_id_campaign_steps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_sends")),
        sa.UniqueConstraint(
            "campaign_id",
            "step_id",
            "contact_id",
            name=op.f("uq_campaign_sends_campaign_id_step_id_contact_id"),
        ),
    )
    with op.batch_alter_table("campaign_sends", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_sends_campaign_id_status_id", ["campaign_id", "status", "id"]
        )
        batch_op.create_index("ix_campaign_sends_contact_id", ["contact_id"])

    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("send_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", mezame.models.base.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_suppressions_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_suppressions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["campaign_sends.id"],
            name=op.f("fk_suppressions_send_id_campaign_sends"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("email", name=op.f("uq_suppressions_email")),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppressions_contact_id"), ["contact_id"])


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("campaign_sends")
    op.drop_table("campaign_steps")
    op.drop_table("campaigns")
