"""The stage order on one screen. Each later stage adds its step here, in data-flow order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mezame.models import (
    Company,
    Contact,
    Deal,
    EngagementEvent,
    Order,
    SalesActivity,
    SurveyAnswer,
)


@dataclass(frozen=True, slots=True)
class PipelineSummary:
    """What one run of the pipeline saw and produced, for the CLI table and the nightly log."""

    as_of: datetime
    counts: dict[str, int] = field(default_factory=dict)


_COUNTED = {
    "companies": Company.id,
    "contacts": Contact.id,
    "deals": Deal.id,
    "orders": Order.id,
    "activities": SalesActivity.id,
    "events": EngagementEvent.id,
    "surveys": SurveyAnswer.id,
}


def run_pipeline(session: Session, *, as_of: datetime) -> PipelineSummary:
    """Run every stage that exists, in order: ingest is done by now; later stages follow."""
    counts = {name: session.scalar(select(func.count(col))) or 0 for name, col in _COUNTED.items()}
    return PipelineSummary(as_of=as_of, counts=counts)
