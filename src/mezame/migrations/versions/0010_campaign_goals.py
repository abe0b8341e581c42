"""email KPIs: the conversion goal of a campaign

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs with defaults: no table copy on SQLite (campaigns is referenced).
    op.add_column(
        "campaigns",
        sa.Column("conversion_goal", sa.String(length=20), server_default="none", nullable=False),
    )
    op.add_column(
        "campaigns",
        sa.Column("conversion_window_days", sa.SmallInteger(), server_default="14", nullable=False),
    )


def downgrade() -> None:
    # Native DROP COLUMN (SQLite 3.35+): a batch copy of campaigns would fire the cascades
    # of its steps and sends.
    op.drop_column("campaigns", "conversion_window_days")
    op.drop_column("campaigns", "conversion_goal")
