"""Deals (商談), orders and contracts (取引・契約), and sales activities."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mezame.models.base import Base, Timestamped, UTCDateTime

# Amounts are whole yen: JPY has no minor unit.


class Deal(Timestamped, Base):
    """A sales opportunity with its phase, outcome and, when lost, why."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_key: Mapped[str] = mapped_column(String(200), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)  # 商談コード
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(300))  # 商談名
    phase: Mapped[str | None] = mapped_column(String(50))  # フェーズ, as the team names it
    # open / won / lost / postponed (見送り)
    outcome: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    lost_reason: Mapped[str | None] = mapped_column(Text)  # 失注理由
    amount: Mapped[int | None] = mapped_column(BigInteger)
    product: Mapped[str | None] = mapped_column(String(200))
    opened_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)  # 商談メモ

    __table_args__ = (Index("ix_deals_outcome_closed_on", "outcome", "closed_on"),)


class Order(Timestamped, Base):
    """An order or a contract; contracts carry start, end and cancellation dates."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_key: Mapped[str] = mapped_column(String(200), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)  # 受注番号 / 契約番号
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    product: Mapped[str | None] = mapped_column(String(200))  # 商品
    product_line: Mapped[str | None] = mapped_column(String(100))
    ordered_on: Mapped[date] = mapped_column(Date)  # 受注日
    amount: Mapped[int] = mapped_column(BigInteger)  # 金額
    contract_start: Mapped[date | None] = mapped_column(Date)  # 契約開始日
    contract_end: Mapped[date | None] = mapped_column(Date)  # 契約終了日
    cancelled_on: Mapped[date | None] = mapped_column(Date)  # 解約日
    notes: Mapped[str | None] = mapped_column(Text)

    # Purchase histories are read per company in date order (dormancy, BG/NBD).
    __table_args__ = (Index("ix_orders_company_id_ordered_on", "company_id", "ordered_on"),)


class SalesActivity(Timestamped, Base):
    """A call, mail, visit or online meeting by sales, with its note."""

    __tablename__ = "sales_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_key: Mapped[str] = mapped_column(String(200), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # call / mail / visit / online_meeting / other
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_sales_activities_contact_id_occurred_at", "contact_id", "occurred_at"),
    )
