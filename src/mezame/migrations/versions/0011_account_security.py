"""accounts: login throttling and revocable sessions

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mezame.models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the throttle counts (recent failures per email and per client) and prunes (old rows).
_INDEXES = (
    ("ix_login_attempts_email_attempted_at", ["email", "attempted_at"]),
    ("ix_login_attempts_client_ip_attempted_at", ["client_ip", "attempted_at"]),
    ("ix_login_attempts_attempted_at", ["attempted_at"]),
)


def upgrade() -> None:
    # A plain ADD COLUMN: no copy of users, which half the tables reference.
    op.add_column(
        "users", sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("attempted_at", mezame.models.base.UTCDateTime(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    for name, columns in _INDEXES:
        op.create_index(name, "login_attempts", columns)


def downgrade() -> None:
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="login_attempts")
    op.drop_table("login_attempts")
    # Native DROP COLUMN (SQLite 3.35+): a batch copy of users would fire the cascades of
    # its API tokens.
    op.drop_column("users", "session_epoch")
