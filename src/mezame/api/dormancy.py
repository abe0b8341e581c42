"""The reactivation list (掘り起こしリスト), dormancy thresholds, suggestions and changes.

Everyone on the team reads the list and the suggestions; marketing (and admin) change the
settings and trigger a recompute, as they own the dormant list.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from mezame.api.deps import AnyUser, DbSession, MarketingUser
from mezame.customers.service import COUNT_CAP, MAX_PER_PAGE
from mezame.dormancy.changes import Change, ChangesPolicy
from mezame.dormancy.results import service as results
from mezame.dormancy.results.service import DormantRow, Filters
from mezame.dormancy.rules import DormancyPolicy
from mezame.dormancy.service import recompute
from mezame.errors import NotFoundError

router = APIRouter(tags=["dormancy"])

KindName = Literal["former_customer", "lost_deal", "contact_only"]
ReasonName = Literal["price", "function", "timing", "competitor", "unknown"]
BandName = Literal["high", "medium", "low", "gone"]


class FactorOut(BaseModel):
    factor: str
    points: float = Field(description="signed contribution to the score")
    ja: str
    en: str


class DormantOut(BaseModel):
    """One row of the reactivation list, with why it ranks there and how to approach it."""

    rank: int | None = Field(description="1 = wake first; null when excluded as gone")
    score: float
    band: BandName
    kind: KindName
    company_id: int | None
    company: str | None
    company_external_id: str | None
    contact_id: int | None = Field(description="the contact to approach")
    contact: str | None
    email: str | None
    phone: str | None
    owner_id: int | None
    owner: str | None
    fell_asleep_on: date
    asleep_days: int
    trigger: str = Field(
        description="last_order, contract_end, cancellation, lost_deal, postponed_deal, "
        "acquisition or last_response"
    )
    reason: ReasonName
    reason_confidence: float
    reason_inferred: bool = Field(description="price inferred from a price rise, not from words")
    reason_terms: str | None
    order_count: int
    spend: int = Field(description="yen before dormancy; a lost deal's amount")
    contract_months: int
    p_alive: float | None
    expected_value: float | None = Field(description="expected spend over the next year, yen")
    interest: float
    change: str | None = Field(description="the change since they left to mention")
    change_kind: str | None
    change_on: date | None
    channel: Literal["phone", "mail", "dm", "none"]
    angle: str
    opening_ja: str
    opening_en: str
    factors: list[FactorOut]

    @classmethod
    def of(cls, row: DormantRow) -> DormantOut:
        return cls(
            rank=row.rank,
            score=row.score,
            band=row.band,  # type: ignore[arg-type]
            kind=row.kind,  # type: ignore[arg-type]
            company_id=row.company_id,
            company=row.company_name,
            company_external_id=row.company_external_id,
            contact_id=row.contact_id,
            contact=row.contact_name,
            email=row.contact_email,
            phone=row.contact_phone,
            owner_id=row.owner_id,
            owner=row.owner_name,
            fell_asleep_on=row.fell_asleep_on,
            asleep_days=row.asleep_days,
            trigger=row.trigger,
            reason=row.reason,  # type: ignore[arg-type]
            reason_confidence=row.reason_confidence,
            reason_inferred=row.reason_inferred,
            reason_terms=row.reason_terms,
            order_count=row.order_count,
            spend=row.spend,
            contract_months=row.contract_months,
            p_alive=row.p_alive,
            expected_value=row.expected_value,
            interest=row.interest,
            change=row.change_description,
            change_kind=row.change_kind,
            change_on=row.change_on,
            channel=row.channel,  # type: ignore[arg-type]
            angle=row.angle,
            opening_ja=row.opening("ja"),
            opening_en=row.opening("en"),
            factors=[
                FactorOut(factor=ja.factor, points=ja.points, ja=ja.text, en=en.text)
                for ja, en in zip(row.explanation("ja"), row.explanation("en"), strict=True)
            ],
        )


class DormantPage(BaseModel):
    items: list[DormantOut]
    page: int
    per_page: int
    total: int = Field(description=f"exact, or {COUNT_CAP} when total_capped")
    total_capped: bool
    has_next: bool
    as_of: date | None = Field(description="the day the list was computed for")


class RunOut(BaseModel):
    as_of: date
    finished_at: datetime | None
    counts: dict[str, int]
    models: dict[str, object]


@router.get("/dormant", response_model=DormantPage)
def list_dormant(
    session: DbSession,
    _user: AnyUser,
    kind: KindName | None = None,
    reason: ReasonName | None = None,
    owner_id: Annotated[int | None, Query(ge=1)] = None,
    band: BandName | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> DormantPage:
    """The reactivation list, best first; `band=gone` lists those excluded as asleep too long."""
    filters = Filters(kind=kind, reason=reason, owner_id=owner_id, band=band)
    result = results.list_dormant(session, filters=filters, page=page, per_page=per_page)
    run = results.latest_run(session)
    return DormantPage(
        items=[DormantOut.of(row) for row in result.items],
        page=result.page,
        per_page=result.per_page,
        total=result.total,
        total_capped=result.total_capped,
        has_next=result.has_next,
        as_of=run.as_of if run else None,
    )


@router.get("/dormancy/run", response_model=RunOut)
def latest_run(session: DbSession, _user: AnyUser) -> RunOut:
    """When the list was last computed, how many of each kind, and the fitted models."""
    run = results.latest_run(session)
    if run is None:
        raise NotFoundError("まだ計算されていません / not computed yet")
    return RunOut(
        as_of=run.as_of, finished_at=run.finished_at, counts=run.counts, models=run.models
    )


@router.post("/dormancy/recompute", response_model=RunOut)
def recompute_now(
    request: Request,
    session: DbSession,
    _user: MarketingUser,
    as_of: Annotated[date | None, Query(description="default: today in Japan")] = None,
) -> RunOut:
    """Judge, fit and rank everyone again now (the nightly job does the same)."""
    day = as_of or datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()
    recompute(session, as_of=day)
    return latest_run(session, _user)


@router.get("/dormancy/suggestions")
def suggestions(session: DbSession, _user: AnyUser) -> dict[str, object]:
    """Per kind: gap quantiles, the return curve, median P(alive) and the suggested threshold."""
    found = results.suggestions(session)
    return {
        kind: {**s.as_json(), "suggested_months": s.suggested_months} for kind, s in found.items()
    }


@router.get("/dormancy/policy", response_model=DormancyPolicy)
def get_policy(session: DbSession, _user: AnyUser) -> DormancyPolicy:
    """The dormancy rules: thresholds and upper bounds per kind, per product line, responses."""
    return results.thresholds(session)


class ThresholdIn(BaseModel):
    after_months: int = Field(ge=0, le=240)
    exclude_after_months: int | None = Field(default=None, ge=1, le=600)


@router.put("/dormancy/policy/{kind}", response_model=DormancyPolicy)
def set_threshold(
    session: DbSession, user: MarketingUser, kind: KindName, body: ThresholdIn
) -> DormancyPolicy:
    """Set one kind's threshold (and upper bound)."""
    return results.set_threshold(
        session,
        kind=kind,
        after_months=body.after_months,
        exclude_after_months=body.exclude_after_months,
        user_id=user.id,
    )


@router.post("/dormancy/policy/{kind}/use-suggestion", response_model=DormancyPolicy)
def use_suggestion(session: DbSession, user: MarketingUser, kind: KindName) -> DormancyPolicy:
    """Take the data's suggestion as this kind's threshold."""
    return results.use_suggestion(session, kind=kind, user_id=user.id)


@router.get("/dormancy/changes", response_model=ChangesPolicy)
def get_changes(session: DbSession, _user: AnyUser) -> ChangesPolicy:
    """What changed since customers left: price cuts, features, seasons, case studies."""
    return results.changes(session)


@router.post("/dormancy/changes", response_model=ChangesPolicy, status_code=201)
def add_change(session: DbSession, user: MarketingUser, change: Change) -> ChangesPolicy:
    """Record a change the team can mention in re-proposals."""
    return results.add_change(session, change, user_id=user.id)


@router.delete("/dormancy/changes/{index}", response_model=ChangesPolicy)
def remove_change(session: DbSession, user: MarketingUser, index: int) -> ChangesPolicy:
    """Delete a change (its position in the list, oldest first, from 0)."""
    return results.remove_change(session, index=index, user_id=user.id)
