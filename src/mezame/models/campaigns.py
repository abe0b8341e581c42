"""Email campaigns: the campaign, its steps (the mails), the send log, and the suppression list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from mezame.models.base import Base, Timestamped, UTCDateTime, utcnow


class Campaign(Timestamped, Base):
    """A mailing: one-off, recurring or a step sequence; its status drives the sender."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # one_off / recurring / sequence
    kind: Mapped[str] = mapped_column(String(20), default="one_off", server_default="one_off")
    # draft / scheduled / sending / paused / stopped / finished (campaigns.status)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The one sender run allowed to send it now ("host:pid:nonce"), and its last sign of life.
    sender_run: Mapped[str | None] = mapped_column(String(120))
    sender_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The saved segment its audience is frozen from when no explicit list is given. No
    # foreign key: SQLite cannot add one without copying campaigns, and the copy would fire
    # the cascades of campaign_steps and campaign_sends; segments.service clears it instead.
    segment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # What counts as success for CVR (campaigns.kpis.ConversionGoal) and for how long after
    # a mail went out a goal event still counts as its result.
    conversion_goal: Mapped[str] = mapped_column(String(20), default="none", server_default="none")
    conversion_window_days: Mapped[int] = mapped_column(
        SmallInteger, default=14, server_default="14"
    )
    # Kinds and cadence (campaigns.kinds, mezame.cadence): when a scheduled campaign starts;
    # which campaign mails a contact first when two compete (higher wins); a recurring
    # campaign's day and time (campaigns.kinds.Recurrence); a run's recurring parent and its
    # month ("2026-12"). No foreign key on parent_id, for the reason segment_id has none.
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    recurrence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(Integer)
    occurrence_key: Mapped[str | None] = mapped_column(String(7))

    __table_args__ = (
        # One run per occurrence of a recurring campaign, however often the task runs.
        Index("ix_campaigns_parent_id_occurrence_key", "parent_id", "occurrence_key", unique=True),
    )


class CampaignStep(Timestamped, Base):
    """One mail of a campaign (a one-off has one step): its templates."""

    __tablename__ = "campaign_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    subject: Mapped[str] = mapped_column(String(500))  # Jinja2 (sandboxed)
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)  # derived from the HTML when empty
    # Sequences (campaigns.kinds): sent this many days after the previous mail, or earlier
    # once `wait_until` (opened / clicked) happened; `branch` picks who gets it;
    # `then_seasonal`: who does not respond to this mail goes back to the seasonal cadence.
    wait_days: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    wait_until: Mapped[str | None] = mapped_column(String(10))
    branch: Mapped[str] = mapped_column(String(12), default="always", server_default="always")
    then_seasonal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The library template the content was copied from (the copy is the step's own snapshot),
    # and what that template requires of a contact ("change": skipped without one). No
    # foreign key: SQLite cannot add one without copying campaign_steps, and the copy would
    # fire campaign_sends' cascade; deleting a template clears it here (templates.service).
    template_id: Mapped[int | None] = mapped_column(Integer)
    requires: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (UniqueConstraint("campaign_id", "position"),)


class CampaignSend(Base):
    """One (campaign, step, contact): the unit the sender claims, sends once, and marks.

    The unique constraint is what makes "sent at most once" hold across restarts and
    concurrent senders; the status column is the state machine in campaigns.status.
    """

    __tablename__ = "campaign_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(ForeignKey("campaign_steps.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    # The address used, frozen when claimed: bounces and the log refer to it.
    email: Mapped[str | None] = mapped_column(String(320))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The server's last reply or the reason a row was skipped or failed ("no consent" …).
    detail: Mapped[str | None] = mapped_column(String(500))
    # What the recipient did, kept current by tracking and bounce intake so KPIs and
    # sequence branches read one row per send instead of scanning the event table.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first open, any kind
    human_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first not machine
    opens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    machine_opens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Undelivered for good: a DSN after acceptance, or refused during the conversation.
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("campaign_id", "step_id", "contact_id"),
        # The sender's keyset scan: a campaign's rows of one status, in id order.
        Index("ix_campaign_sends_campaign_id_status_id", "campaign_id", "status", "id"),
        Index("ix_campaign_sends_contact_id", "contact_id"),
    )


class Suppression(Base):
    """An address nothing may mail again: unsubscribed, hard-bounced, complained, or manual."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised (lower-case)
    reason: Mapped[str] = mapped_column(String(20))  # mail.compliance.SuppressionReason
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    send_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_sends.id", ondelete="SET NULL")
    )
    source: Mapped[str | None] = mapped_column(String(40))  # one-click, dsn, webhook, admin …
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
