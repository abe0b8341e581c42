"""Saved segments (contact filters) and the free tags that segments can filter by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mezame.models.base import Base, Timestamped, UTCDateTime, utcnow


class Segment(Timestamped, Base):
    """A named filter over contacts (mezame.segments.filters); evaluated in SQL when used."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The count when last shown in the list: a hint, recounted live on the segment's page.
    last_count: Mapped[int | None] = mapped_column(Integer)
    last_counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContactTag(Base):
    """A label on a contact (展示会2026, VIP …), added by hand, import or a rule."""

    __tablename__ = "contact_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50))
    source: Mapped[str | None] = mapped_column(String(40))  # manual, import, api, cli …
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("contact_id", "tag"),
        # Segments ask "who has this tag": the tag first, the contact ids read from the index.
        Index("ix_contact_tags_tag_contact_id", "tag", "contact_id"),
    )
