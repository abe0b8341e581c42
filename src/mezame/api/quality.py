"""The data-quality report over HTTP: counts, what to fix first, and each check's records.

Marketing and admin only: keeping the customer list clean is marketing's job (SPEC "Who uses
it"), and the lists show every contact's gaps across all owners; sales works from its own
leads and deals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from mezame.api.deps import DbSession, MarketingUser
from mezame.quality import service
from mezame.quality.report import QualityCheck, QualityOverview, RecordPage

router = APIRouter(tags=["quality"])

AsOf = Annotated[
    date | None, Query(description="Judge stale statuses on this day (default: today in Japan)")
]


def _day(request: Request, as_of: date | None) -> date:
    return as_of or datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()


@router.get("/quality", response_model=QualityOverview)
def quality_report(
    request: Request,
    session: DbSession,
    _user: MarketingUser,
    as_of: AsOf = None,
    sample: Annotated[
        int, Query(ge=0, le=service.MAX_PER_PAGE, description="Records listed per check")
    ] = 10,
) -> QualityOverview:
    """Counts per check and fault, affected shares, the fix-first order, first records."""
    return service.quality_overview(session, as_of=_day(request, as_of), sample=sample)


@router.get("/quality/{check}", response_model=RecordPage)
def quality_records(
    request: Request,
    session: DbSession,
    _user: MarketingUser,
    check: QualityCheck,
    as_of: AsOf = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)] = 50,
) -> RecordPage:
    """One page of the records a check flags, newest first (groups for duplicate_companies)."""
    return service.quality_records(
        session, check=check, as_of=_day(request, as_of), page=page, per_page=per_page
    )
