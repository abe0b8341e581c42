"""cleaning: merges with their undo record, review decisions, merged_into_id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mezame.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("survivor_before", sa.JSON(), nullable=False),
        sa.Column("survivor_after", sa.JSON(), nullable=False),
        sa.Column("merged_at", mezame.models.base.UTCDateTime(), nullable=False),
        sa.Column("merged_by_id", sa.Integer(), nullable=True),
        sa.Column("undone_at", mezame.models.base.UTCDateTime(), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_by_id"],
            ["users.id"],
            name=op.f("fk_merges_merged_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"],
            ["users.id"],
            name=op.f("fk_merges_undone_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
    )
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.create_index("ix_merges_kind_survivor_id", ["kind", "survivor_id"], unique=False)

    op.create_table(
        "merged_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merge_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merge_id"],
            ["merges.id"],
            name=op.f("fk_merged_records_merge_id_merges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merged_records")),
    )
    with op.batch_alter_table("merged_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merged_records_merge_id"), ["merge_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_merged_records_record_id"), ["record_id"], unique=False
        )

    op.create_table(
        "merge_moved_rows",
        sa.Column("merge_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("from_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merge_id"],
            ["merges.id"],
            name=op.f("fk_merge_moved_rows_merge_id_merges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "merge_id", "table_name", "column_name", "row_id", name=op.f("pk_merge_moved_rows")
        ),
    )

    op.create_table(
        "duplicate_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_a", sa.Integer(), nullable=False),
        sa.Column("record_b", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("decided_at", mezame.models.base.UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_duplicate_decisions_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_decisions")),
        sa.UniqueConstraint(
            "kind",
            "record_a",
            "record_b",
            name=op.f("uq_duplicate_decisions_kind_record_a_record_b"),
        ),
    )

    # Plain ADD COLUMN and DROP COLUMN on SQLite: a table copy would fire the foreign keys of
    # every table pointing at companies and contacts.
    for table in ("companies", "contacts"):
        op.add_column(table, sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_index(f"ix_{table}_merged_into_id", table, ["merged_into_id"], unique=False)


def downgrade() -> None:
    for table in ("contacts", "companies"):
        op.drop_index(f"ix_{table}_merged_into_id", table_name=table)
        op.drop_column(table, "merged_into_id")
    op.drop_table("duplicate_decisions")
    op.drop_table("merge_moved_rows")
    with op.batch_alter_table("merged_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merged_records_record_id"))
        batch_op.drop_index(batch_op.f("ix_merged_records_merge_id"))
    op.drop_table("merged_records")
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.drop_index("ix_merges_kind_survivor_id")
    op.drop_table("merges")
