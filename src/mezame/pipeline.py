"""The stage order on one screen. Each later stage adds its step here, in data-flow order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mezame.cleaning.merges.service import auto_merge
from mezame.dormancy.rules import DormancyKind
from mezame.dormancy.service import recompute
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
    # Clean: merge the certain duplicates (companies first: their contacts then meet).
    merged = {
        f"merged_{kind}": sum(len(m.merged_ids) for m in auto_merge(session, kind=kind))
        for kind in ("companies", "contacts")
    }
    counts = {name: session.scalar(select(func.count(col))) or 0 for name, col in _COUNTED.items()}
    # Merged-away records are kept for undo, hidden: they are not customers any more.
    for name, model in (("companies", Company), ("contacts", Contact)):
        hidden = select(func.count()).select_from(model).where(model.merged_into_id.is_not(None))
        counts[name] -= session.scalar(hidden) or 0
    # Dormancy, statistics and priority for everyone, on the day as_of falls on where it was given.
    dormancy = recompute(session, as_of=as_of.date())
    dormant = {f"dormant_{kind.value}": dormancy.dormant(kind) for kind in DormancyKind}
    return PipelineSummary(as_of=as_of, counts={**counts, **merged, **dormant})
