"""Companies (取引先) and their contacts (担当者)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mezame.models.base import Base, Timestamped, UTCDateTime


class Company(Timestamped, Base):
    """A customer or prospect company, as imported; cleaning keeps originals and adds keys."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What makes a re-import update this row instead of adding one (external id or natural key).
    import_key: Mapped[str] = mapped_column(String(200), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)  # 顧客コード
    name: Mapped[str] = mapped_column(String(300))  # 会社名, exactly as written
    name_kana: Mapped[str | None] = mapped_column(String(300))
    corporate_number: Mapped[str | None] = mapped_column(String(13), index=True)  # 法人番号
    industry: Mapped[str | None] = mapped_column(String(100))  # 業種
    employee_count: Mapped[int | None]
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(500))  # 住所
    # prospect / customer / former / unknown; status_updated_at dates the last time anyone checked.
    status: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    status_updated_at: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    # The survivor, once a merge folded this company into it: hidden everywhere, kept for
    # undo. No foreign key: SQLite cannot drop one again without copying the table, and a
    # copy would fire the cascades of every table that points here.
    merged_into_id: Mapped[int | None] = mapped_column(Integer, index=True)

    contacts: Mapped[list[Contact]] = relationship(back_populates="company")

    __table_args__ = (
        Index("ix_companies_name", "name"),
        # Segment filters (mezame.segments) select companies by these.
        Index("ix_companies_industry", "industry"),
        Index("ix_companies_status", "status"),
        Index("ix_companies_owner_id", "owner_id"),
    )


class Contact(Timestamped, Base):
    """A person at a company: the one mezame writes to and scores."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_key: Mapped[str] = mapped_column(String(200), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)  # 担当者コード
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))  # 担当者名
    name_kana: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))  # 部署
    title: Mapped[str | None] = mapped_column(String(200))  # 役職
    email: Mapped[str | None] = mapped_column(String(320))  # メールアドレス, as written
    phone: Mapped[str | None] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(50))
    # How we met them: 展示会 (trade show), 問い合わせ, 資料請求, 名刺交換 …
    source: Mapped[str | None] = mapped_column(String(100))
    acquired_on: Mapped[date | None] = mapped_column(Date)  # 接点取得日
    hearing_notes: Mapped[str | None] = mapped_column(Text)  # ヒアリング記録
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The contact's last activity: the newest event of vocabulary.CONTACT_ACTIVITY_EVENTS,
    # kept current where events are recorded (customers.activity), so a segment on
    # "last activity" reads one indexed column instead of grouping millions of events.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Lead score and its band (hot / warm / cold): written by the signals stage (issue 6);
    # segments filter by them already, so every contact starts at 0 with no band.
    lead_score: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lead_band: Mapped[str | None] = mapped_column(String(10), index=True)
    # The survivor, once a merge folded this contact into it: hidden everywhere, kept for
    # undo. No foreign key: SQLite cannot drop one again without copying the table, and a
    # copy would fire the cascades of every table that points here.
    merged_into_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # How often they may be mailed (mezame.cadence.Cadence): monthly, or seasonal once they
    # stopped responding; and when that last changed (the 5.4 reminder rule reads it).
    cadence: Mapped[str] = mapped_column(String(12), default="monthly", server_default="monthly")
    cadence_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company | None] = relationship(back_populates="contacts")

    __table_args__ = (
        # Lower-cased email is how events and webhooks find their contact.
        Index("ix_contacts_email_lower", func.lower(email)),
        Index("ix_contacts_name", "name"),
        Index("ix_contacts_owner_id", "owner_id"),
    )
