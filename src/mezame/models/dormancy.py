"""Dormancy results: one row per dormant record of the latest run, and the runs themselves."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from mezame.models.base import Base, UTCDateTime, utcnow


class DormancyRun(Base):
    """One recompute: as of which day, how many of each kind, the fitted models, suggestions."""

    __tablename__ = "dormancy_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    models: Mapped[dict[str, Any]] = mapped_column(JSON)  # BG/NBD and Gamma-Gamma parameters
    suggestions: Mapped[dict[str, Any]] = mapped_column(JSON)  # per kind, see dormancy.suggest
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)  # the rules and weights it ran with


class DormantCustomer(Base):
    """A dormant record of the latest run, ranked; replaced as a whole by the next run.

    Former customers and lost deals are companies (with the contact to approach); contact-only
    records are contacts. Rows are written in rank order, so `id` order is rank order.
    """

    __tablename__ = "dormant_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    fell_asleep_on: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(20))
    asleep_days: Mapped[int] = mapped_column(Integer)
    excluded: Mapped[bool] = mapped_column(Boolean)  # asleep beyond the kind's upper bound
    rank: Mapped[int | None] = mapped_column(Integer)  # 1 = wake first; None when excluded
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(10), index=True)  # high / medium / low / gone
    reason: Mapped[str] = mapped_column(String(20), index=True)
    reason_confidence: Mapped[float] = mapped_column(Float)
    reason_inferred: Mapped[bool] = mapped_column(Boolean)  # from a price rise, not from words
    reason_terms: Mapped[str | None] = mapped_column(String(300))
    product_line: Mapped[str | None] = mapped_column(String(100))
    order_count: Mapped[int] = mapped_column(Integer)
    spend: Mapped[int] = mapped_column(BigInteger)  # yen before dormancy; a lost deal's amount
    contract_months: Mapped[int] = mapped_column(Integer)
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_value: Mapped[float | None] = mapped_column(Float)  # yen over the next year
    interest: Mapped[float] = mapped_column(Float)
    change_kind: Mapped[str | None] = mapped_column(String(20))
    change_on: Mapped[date | None] = mapped_column(Date)
    change_description: Mapped[str | None] = mapped_column(String(500))
    change_answers_reason: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(10))
    angle: Mapped[str] = mapped_column(String(20))
    # The score's parts, one per factor (mezame.dormancy.priority.FACTORS).
    pts_kind: Mapped[float] = mapped_column(Float)
    pts_frequency: Mapped[float] = mapped_column(Float)
    pts_spend: Mapped[float] = mapped_column(Float)
    pts_contract: Mapped[float] = mapped_column(Float)
    pts_expected_value: Mapped[float] = mapped_column(Float)
    pts_p_alive: Mapped[float] = mapped_column(Float)
    pts_asleep: Mapped[float] = mapped_column(Float)
    pts_change: Mapped[float] = mapped_column(Float)
    pts_interest: Mapped[float] = mapped_column(Float)
    pts_reach: Mapped[float] = mapped_column(Float)

    # Filters of the reactivation list; each is walked in id (= rank) order.
    __table_args__ = (Index("ix_dormant_customers_kind", "kind"),)
