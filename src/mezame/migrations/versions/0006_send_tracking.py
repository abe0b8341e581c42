"""per-send tracking: first open, human open, opens, clicks, bounce and unsubscribe times

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mezame.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENTS = ("opened_at", "human_opened_at", "clicked_at", "bounced_at", "unsubscribed_at")
_COUNTS = ("opens", "machine_opens", "clicks")


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable or with a default): no table copy on SQLite, so the
    # cascades of the tables pointing at campaign_sends are never fired.
    for name in _MOMENTS:
        op.add_column(
            "campaign_sends", sa.Column(name, mezame.models.base.UTCDateTime(), nullable=True)
        )
    for name in _COUNTS:
        op.add_column(
            "campaign_sends",
            sa.Column(name, sa.Integer(), server_default="0", nullable=False),
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_sends", schema=None) as batch_op:
        for name in (*_COUNTS, *_MOMENTS):
            batch_op.drop_column(name)
