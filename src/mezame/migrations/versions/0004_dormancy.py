"""dormancy: recompute runs and the ranked dormant records of the latest run

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mezame.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dormancy_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", mezame.models.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", mezame.models.base.UTCDateTime(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("suggestions", sa.JSON(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dormancy_runs")),
    )
    op.create_table(
        "dormant_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("fell_asleep_on", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("asleep_days", sa.Integer(), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("reason_confidence", sa.Float(), nullable=False),
        sa.Column("reason_inferred", sa.Boolean(), nullable=False),
        sa.Column("reason_terms", sa.String(length=300), nullable=True),
        sa.Column("product_line", sa.String(length=100), nullable=True),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("spend", sa.BigInteger(), nullable=False),
        sa.Column("contract_months", sa.Integer(), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("expected_value", sa.Float(), nullable=True),
        sa.Column("interest", sa.Float(), nullable=False),
        sa.Column("change_kind", sa.String(length=20), nullable=True),
        sa.Column("change_on", sa.Date(), nullable=True),
        sa.Column("change_description", sa.String(length=500), nullable=True),
        sa.Column("change_answers_reason", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("angle", sa.String(length=20), nullable=False),
        sa.Column("pts_kind", sa.Float(), nullable=False),
        sa.Column("pts_frequency", sa.Float(), nullable=False),
        sa.Column("pts_spend", sa.Float(), nullable=False),
        sa.Column("pts_contract", sa.Float(), nullable=False),
        sa.Column("pts_expected_value", sa.Float(), nullable=False),
        sa.Column("pts_p_alive", sa.Float(), nullable=False),
        sa.Column("pts_asleep", sa.Float(), nullable=False),
        sa.Column("pts_change", sa.Float(), nullable=False),
        sa.Column("pts_interest", sa.Float(), nullable=False),
        sa.Column("pts_reach", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_dormant_customers_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_dormant_customers_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_dormant_customers_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dormant_customers")),
    )
    for column in ("band", "company_id", "contact_id", "kind", "owner_id", "reason"):
        op.create_index(
            op.f(f"ix_dormant_customers_{column}"), "dormant_customers", [column], unique=False
        )


def downgrade() -> None:
    for column in ("band", "company_id", "contact_id", "kind", "owner_id", "reason"):
        op.drop_index(op.f(f"ix_dormant_customers_{column}"), table_name="dormant_customers")
    op.drop_table("dormant_customers")
    op.drop_table("dormancy_runs")
