"""mail templates: the library of templates (built-in Japanese ones included)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mezame.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("message_type", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("builtin", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("requires", sa.String(length=20), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_mail_templates_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_mail_templates_name")),
    )
    op.create_index(
        op.f("ix_mail_templates_message_type"), "mail_templates", ["message_type"], unique=False
    )
    # Plain ADD COLUMNs, no foreign key: on SQLite a foreign key needs a copy of
    # campaign_steps, and campaign_sends cascades from it (see models.campaigns).
    op.add_column("campaign_steps", sa.Column("template_id", sa.Integer(), nullable=True))
    op.add_column("campaign_steps", sa.Column("requires", sa.String(length=20), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch copy: see upgrade().
    op.drop_column("campaign_steps", "requires")
    op.drop_column("campaign_steps", "template_id")
    op.drop_index(op.f("ix_mail_templates_message_type"), table_name="mail_templates")
    op.drop_table("mail_templates")
