"""Merges of duplicate companies and contacts (with what undo needs) and review decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mezame.models.base import Base, UTCDateTime, utcnow


class Merge(Base):
    """One merge: records folded into a survivor, and the survivor's values it replaced.

    Merged-away records are kept, hidden by their `merged_into_id`; undo un-hides them,
    moves back the rows listed in merge_moved_rows and restores `survivor_before`.
    """

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # companies / contacts
    survivor_id: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))  # auto / review / manual
    score: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[list[str]] = mapped_column(JSON)
    # Field -> value before the merge, for the fields survivorship changed; and what it set.
    survivor_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    survivor_after: Mapped[dict[str, Any]] = mapped_column(JSON)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_merges_kind_survivor_id", "kind", "survivor_id"),)


class MergedRecord(Base):
    """A record a merge folded into its survivor, with its values at that moment."""

    __tablename__ = "merged_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    merge_id: Mapped[int] = mapped_column(ForeignKey("merges.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class MergeMovedRow(Base):
    """A row a merge re-pointed from a merged record to the survivor: undo points it back."""

    __tablename__ = "merge_moved_rows"

    merge_id: Mapped[int] = mapped_column(
        ForeignKey("merges.id", ondelete="CASCADE"), primary_key=True
    )
    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    column_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_id: Mapped[int] = mapped_column(Integer)  # the merged record it pointed to


class DuplicateDecision(Base):
    """A person's answer about a candidate pair: rejected or not a duplicate; never asked again."""

    __tablename__ = "duplicate_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # companies / contacts
    record_a: Mapped[int] = mapped_column(Integer)  # record_a < record_b
    record_b: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(20))  # rejected / not_duplicate
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("kind", "record_a", "record_b"),)
