"""Campaigns: create one, read its definition, the list with its figures, its stats and goal.

Progress, send, pause and stop live in api/mail.py. Every team member may read (sales
follows up on what a campaign stirred); creating and changing the goal are marketing's.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from mezame.api.deps import AnyUser, DbSession, MarketingUser
from mezame.campaigns.definition import service as definition
from mezame.campaigns.kinds import Branch, CampaignKind, Recurrence, StepsInvalid, WaitEvent
from mezame.campaigns.kpis import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, ConversionGoal, EmailKpis
from mezame.campaigns.plan import CampaignPlan
from mezame.campaigns.stats import service as stats
from mezame.campaigns.status import CampaignStatus

router = APIRouter(tags=["campaigns"])


class CountsOut(BaseModel):
    sent: int
    bounced: int
    opened: int = Field(description="Delivered mails opened by anyone, machine prefetches included")
    human_opened: int = Field(description="… by a person (a human-looking open, or a click)")
    opens: int = Field(description="Every open hit, repeats and machines included")
    machine_opens: int = Field(description="Open hits that looked like a machine's prefetch")
    clicked: int
    clicks: int
    unsubscribed: int
    converted: int


class RatesOut(BaseModel):
    """Shares between 0 and 1; null when the denominator is zero (or CVR without a goal)."""

    bounce_rate: float | None = Field(description="不達率: bounced / sent")
    open_rate: float | None = Field(description="Unique human opens / delivered")
    raw_open_rate: float | None = Field(
        description="Unique opens including machine-only ones / delivered (inflated by MPP)"
    )
    ctr: float | None = Field(description="Unique clickers / delivered")
    click_to_open: float | None = Field(description="Unique clickers / unique human openers")
    cvr: float | None = Field(description="Converted / delivered")
    unsubscribe_rate: float | None = Field(description="Unsubscribed / delivered")


class KpisOut(BaseModel):
    counts: CountsOut
    delivered: int
    machine_only_opened: int = Field(description="Delivered mails opened only by machines")
    rates: RatesOut

    @classmethod
    def of(cls, kpis: EmailKpis) -> KpisOut:
        return cls(
            counts=CountsOut(**asdict(kpis.counts)),
            delivered=kpis.delivered,
            machine_only_opened=kpis.machine_only_opened,
            rates=RatesOut(**kpis.rates()),
        )


class CampaignOut(BaseModel):
    id: int
    name: str
    kind: str
    status: str
    conversion_goal: ConversionGoal
    created_at: datetime
    kpis: KpisOut


class StepOut(BaseModel):
    position: int
    subject: str
    kpis: KpisOut


class DayOut(BaseModel):
    day: date = Field(description="Calendar day in the business time zone (Asia/Tokyo)")
    kpis: KpisOut = Field(description="The mails sent that day and what became of them")
    first_opens: int = Field(description="Recipients whose first human open fell on this day")
    first_clicks: int = Field(description="Recipients whose first click fell on this day")


class CampaignStatsOut(BaseModel):
    id: int
    name: str
    kind: str
    status: str
    conversion_goal: ConversionGoal
    conversion_window_days: int
    total: KpisOut
    steps: list[StepOut]
    daily: list[DayOut]


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(
    request: Request,
    session: DbSession,
    _user: AnyUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[CampaignOut]:
    """Campaigns, newest first, each with its KPIs."""
    return [
        CampaignOut(
            id=s.campaign_id,
            name=s.name,
            kind=s.kind,
            status=s.status,
            conversion_goal=s.goal,
            created_at=s.created_at,
            kpis=KpisOut.of(s.kpis),
        )
        for s in stats.kpi_overview(session, limit=limit, tz=_tz(request))
    ]


def stats_out(found: stats.CampaignStats) -> CampaignStatsOut:
    """The JSON shape of a campaign's stats (the API's, and `mezame campaign stats --json`)."""
    return CampaignStatsOut(
        id=found.campaign_id,
        name=found.name,
        kind=found.kind,
        status=found.status,
        conversion_goal=found.goal,
        conversion_window_days=found.window_days,
        total=KpisOut.of(found.total),
        steps=[
            StepOut(position=s.position, subject=s.subject, kpis=KpisOut.of(s.kpis))
            for s in found.steps
        ],
        daily=[
            DayOut(
                day=d.day,
                kpis=KpisOut.of(d.kpis),
                first_opens=d.first_opens,
                first_clicks=d.first_clicks,
            )
            for d in found.daily
        ],
    )


def _stats(request: Request, session: DbSession, campaign_id: int) -> CampaignStatsOut:
    return stats_out(stats.campaign_kpis(session, campaign_id, tz=_tz(request)))


@router.get("/campaigns/{campaign_id}/stats", response_model=CampaignStatsOut)
def campaign_stats(
    campaign_id: int, request: Request, session: DbSession, _user: AnyUser
) -> CampaignStatsOut:
    """Sent, delivered, 不達率, open rates (human and raw), CTR, click-to-open, CVR and
    unsubscribe rate: in total, per mail of the campaign, and per day of sending."""
    return _stats(request, session, campaign_id)


class GoalIn(BaseModel):
    goal: ConversionGoal
    window_days: int = Field(default=DEFAULT_WINDOW_DAYS, ge=1, le=MAX_WINDOW_DAYS)


@router.put("/campaigns/{campaign_id}/goal", response_model=CampaignStatsOut)
def put_goal(
    campaign_id: int,
    request: Request,
    session: DbSession,
    _user: MarketingUser,
    body: Annotated[GoalIn, Body()],
) -> CampaignStatsOut:
    """What counts as a conversion (reply, download, inquiry, deal, none) and for how many
    days after each mail; the stats are recomputed from it at once."""
    stats.set_conversion_goal(
        session, campaign_id=campaign_id, goal=body.goal.value, days=body.window_days
    )
    return _stats(request, session, campaign_id)


# ---------------------------------------------------------------------------------------------
# A campaign's definition: created here (the web form's service path), read back.


class SegmentRefOut(BaseModel):
    id: int
    name: str


class StepDefinitionOut(BaseModel):
    position: int = Field(description="1 for the first mail")
    subject: str
    wait_days: int = Field(description="Days after the previous mail (sequences)")
    wait_until: WaitEvent | None = Field(description="Sent sooner once this happens")
    branch: Branch = Field(description="Who gets it, judged on the previous mail")
    then_seasonal: bool = Field(description="No response to this mail: seasonal pace")
    template_id: int | None = Field(description="The library template it was copied from")


class CampaignDefinitionOut(BaseModel):
    id: int
    name: str
    kind: CampaignKind
    status: CampaignStatus
    priority: int
    segment: SegmentRefOut | None = Field(description="The audience; null: every contact")
    recurrence: Recurrence | None
    conversion_goal: ConversionGoal
    conversion_window_days: int
    scheduled_at: datetime | None
    next_run_at: datetime | None = Field(
        description="When it next starts: its start time, or a recurring one's next run"
    )
    parent_id: int | None = Field(description="The recurring campaign this is a run of")
    created_at: datetime
    steps: list[StepDefinitionOut]


def definition_out(found: definition.CampaignDefinition) -> CampaignDefinitionOut:
    return CampaignDefinitionOut(
        id=found.id,
        name=found.name,
        kind=CampaignKind(found.kind),
        status=CampaignStatus(found.status),
        priority=found.priority,
        segment=(
            SegmentRefOut(id=found.segment_id, name=found.segment_name)
            if found.segment_id is not None and found.segment_name is not None
            else None
        ),
        recurrence=found.recurrence,
        conversion_goal=ConversionGoal(found.conversion_goal),
        conversion_window_days=found.conversion_window_days,
        scheduled_at=found.scheduled_at,
        next_run_at=found.next_run_at,
        parent_id=found.parent_id,
        created_at=found.created_at,
        steps=[
            StepDefinitionOut(
                position=s.position,
                subject=s.subject,
                wait_days=s.wait_days,
                wait_until=WaitEvent(s.wait_until) if s.wait_until else None,
                branch=Branch(s.branch),
                then_seasonal=s.then_seasonal,
                template_id=s.template_id,
            )
            for s in found.steps
        ],
    )


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignDefinitionOut,
    responses={404: {"description": "The segment or a template does not exist; nothing written"}},
)
def create_campaign(
    request: Request,
    session: DbSession,
    user: MarketingUser,
    plan: Annotated[CampaignPlan, Body()],
) -> CampaignDefinitionOut:
    """Create a campaign: a draft, scheduled when `send_at` is given (a recurring one at once).

    The mail is one of `template_id`, `subject` + `html` (+ `text`), or `steps`. A bad step
    is a 422 whose `loc` is ["body", "steps", index, field], the index counted from 0 like
    any JSON array; a wrong combination of fields is a 422 saying which. Nothing is written
    when anything is refused.
    """
    try:
        created = definition.create_from_plan(
            session, plan, user_id=user.id, tz=_tz(request), now=datetime.now(UTC)
        )
    except StepsInvalid as exc:
        raise RequestValidationError(
            [
                {
                    "type": p.kind,
                    "loc": ("body", "steps", p.step - 1, *(p.field.split(".") if p.field else ())),
                    "msg": p.message,
                }
                for p in exc.problems
            ]
        ) from None
    return definition_out(definition.read_definition(session, created.id, now=datetime.now(UTC)))


@router.get("/campaigns/{campaign_id}", response_model=CampaignDefinitionOut)
def get_campaign(campaign_id: int, session: DbSession, _user: AnyUser) -> CampaignDefinitionOut:
    """What a campaign is: kind, status, audience, schedule, goal and its mails in order."""
    return definition_out(definition.read_definition(session, campaign_id, now=datetime.now(UTC)))
