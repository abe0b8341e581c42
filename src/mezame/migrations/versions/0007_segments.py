"""segments: saved contact filters, contact tags, the campaign's audience segment

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mezame.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Indexes segment counting needs (benchmarks/segment_count.py measures them).
_INDEXES = (
    ("ix_companies_industry", "companies", ["industry"]),
    ("ix_companies_status", "companies", ["status"]),
    ("ix_companies_owner_id", "companies", ["owner_id"]),
    ("ix_contacts_owner_id", "contacts", ["owner_id"]),
    ("ix_contacts_lead_band", "contacts", ["lead_band"]),
    ("ix_contacts_last_seen_at", "contacts", ["last_seen_at"]),
)
# What a contact did (vocabulary.CONTACT_ACTIVITY_EVENTS at this revision).
_ACTIVITY = (
    "mail_opened",
    "mail_clicked",
    "mail_replied",
    "document_download",
    "webinar_registered",
    "webinar_attended",
    "site_visit",
    "inquiry",
    "demo_request",
)


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("last_count", sa.Integer(), nullable=True),
        sa.Column("last_counted_at", mezame.models.base.UTCDateTime(), nullable=True),
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
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_segments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )
    op.create_table(
        "contact_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("created_at", mezame.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_tags_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_tags")),
        sa.UniqueConstraint("contact_id", "tag", name=op.f("uq_contact_tags_contact_id_tag")),
    )
    op.create_index("ix_contact_tags_tag_contact_id", "contact_tags", ["tag", "contact_id"])
    # Plain ADD COLUMNs: no copy of contacts, whose dependants cascade.
    op.add_column(
        "contacts", sa.Column("lead_score", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("contacts", sa.Column("lead_band", sa.String(length=10), nullable=True))
    # contacts.last_seen_at becomes the last activity, kept current from now on: fill it once.
    contacts = sa.table("contacts", sa.column("id"), sa.column("last_seen_at"))
    events = sa.table(
        "engagement_events", sa.column("contact_id"), sa.column("type"), sa.column("occurred_at")
    )
    theirs = sa.and_(events.c.contact_id == contacts.c.id, events.c.type.in_(_ACTIVITY))
    op.execute(
        contacts.update()
        .where(sa.exists().where(theirs))
        .values(
            last_seen_at=sa.select(sa.func.max(events.c.occurred_at))
            .where(theirs)
            .scalar_subquery()
        )
    )
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)
    # The consent index covers what "has a live e-mail consent" reads (it starts with the
    # contact, so it replaces the plain one).
    op.drop_index("ix_consent_records_contact_id", table_name="consent_records")
    op.create_index(
        "ix_consent_records_contact_id_channel_withdrawn_at_basis",
        "consent_records",
        ["contact_id", "channel", "withdrawn_at", "basis"],
    )
    # No foreign key (see models.campaigns): a plain ADD COLUMN never copies campaigns.
    op.add_column("campaigns", sa.Column("segment_id", sa.Integer(), nullable=True))
    op.create_index("ix_campaigns_segment_id", "campaigns", ["segment_id"])


def downgrade() -> None:
    op.drop_index(
        "ix_consent_records_contact_id_channel_withdrawn_at_basis", table_name="consent_records"
    )
    op.create_index("ix_consent_records_contact_id", "consent_records", ["contact_id"])
    op.drop_index("ix_campaigns_segment_id", table_name="campaigns")
    op.drop_column("campaigns", "segment_id")
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch copy: see upgrade().
    op.drop_column("contacts", "lead_band")
    op.drop_column("contacts", "lead_score")
    op.drop_index("ix_contact_tags_tag_contact_id", table_name="contact_tags")
    op.drop_table("contact_tags")
    op.drop_table("segments")
