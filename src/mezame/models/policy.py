"""Business policy the team edits in the UI (thresholds, cadence, offers): one JSON row each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mezame.models.base import Base, UTCDateTime, utcnow


class PolicySetting(Base):
    """The saved form of one policy model; absent means the model's defaults apply."""

    __tablename__ = "policy_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
