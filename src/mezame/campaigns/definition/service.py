"""Create a campaign from its plan (the web form's and the API's one path), and read it back.

Only flushes: the shell commits, or rolls back when anything raised, so a refused plan
writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mezame.campaigns.kinds import CampaignKind, Recurrence, StepSpec, next_run_at
from mezame.campaigns.plan import CampaignPlan, MailSource, check_plan, check_written_steps
from mezame.campaigns.service import StepContent, create_campaign, get_campaign
from mezame.campaigns.stats.service import set_conversion_goal
from mezame.errors import NotFoundError
from mezame.models import Campaign, CampaignStep, Segment
from mezame.scheduling.service import schedule_campaign
from mezame.segments.service import get_segment
from mezame.templates.service import get_template, sequence_step, step_content


class StepTemplatesMissing(NotFoundError):
    """Mails of a sequence name templates that do not exist: step number → template id."""

    def __init__(self, missing: dict[int, int]) -> None:
        self.missing = missing
        super().__init__(
            "; ".join(
                f"step {step}: template {template} does not exist"
                for step, template in missing.items()
            )
        )


def step_contents(session: Session, specs: list[StepSpec]) -> list[StepContent]:
    """The mails of checked steps (`check_written_steps`); every missing template is named."""
    contents: list[StepContent] = []
    missing: dict[int, int] = {}
    for number, spec in enumerate(specs, start=1):
        try:
            contents.append(sequence_step(session, spec))
        except NotFoundError:
            assert spec.template_id is not None  # the only thing sequence_step looks up
            missing[number] = spec.template_id
    if missing:
        raise StepTemplatesMissing(missing)
    return contents


def _mails(session: Session, plan: CampaignPlan, source: MailSource) -> list[StepContent]:
    if source == MailSource.STEPS:
        return step_contents(session, check_written_steps(plan.steps or []))
    if source == MailSource.TEMPLATE:
        assert plan.template_id is not None  # check_plan said so
        return [step_content(get_template(session, plan.template_id))]
    return [StepContent(subject=plan.subject or "", html=plan.html or "", text=plan.text)]


def create_from_plan(
    session: Session, plan: CampaignPlan, *, user_id: int | None, tz: ZoneInfo, now: datetime
) -> Campaign:
    """The campaign a plan describes, with its goal; scheduled when it has a start time, and
    a recurring one at once (its runs start on each occurrence from then).

    InvalidInputError for fields that disagree, NotFoundError for a missing segment or
    template (StepTemplatesMissing for a sequence's), StepsInvalid naming step and field.
    """
    source = check_plan(plan)
    if plan.segment_id is not None:
        get_segment(session, plan.segment_id)
    campaign = create_campaign(
        session,
        name=plan.name,
        steps=_mails(session, plan, source),
        kind=plan.kind.value,
        user_id=user_id,
        priority=plan.priority,
        segment_id=plan.segment_id,
        recurrence=plan.recurrence,
    )
    set_conversion_goal(
        session, campaign_id=campaign.id, goal=plan.goal.value, days=plan.window_days
    )
    if plan.send_at is not None or plan.kind == CampaignKind.RECURRING:
        at = plan.send_at or now
        local = at if at.tzinfo is not None else at.replace(tzinfo=tz)
        schedule_campaign(session, campaign_id=campaign.id, at=local.astimezone(UTC), now=now)
    return campaign


@dataclass(frozen=True)
class StepDefinition:
    position: int
    subject: str
    wait_days: int
    wait_until: str | None  # campaigns.kinds.WaitEvent
    branch: str  # campaigns.kinds.Branch
    then_seasonal: bool
    template_id: int | None  # the library template it was copied from, if any


@dataclass(frozen=True)
class CampaignDefinition:
    id: int
    name: str
    kind: str
    status: str
    priority: int
    segment_id: int | None
    segment_name: str | None
    recurrence: Recurrence | None
    conversion_goal: str
    conversion_window_days: int
    scheduled_at: datetime | None
    next_run_at: datetime | None
    parent_id: int | None  # the recurring campaign this is a monthly run of
    created_at: datetime
    steps: list[StepDefinition]


def read_definition(session: Session, campaign_id: int, *, now: datetime) -> CampaignDefinition:
    """What a campaign is: kind, status, audience, schedule, goal and its mails in order."""
    campaign = get_campaign(session, campaign_id)
    segment_name = (
        session.scalar(select(Segment.name).where(Segment.id == campaign.segment_id))
        if campaign.segment_id is not None
        else None
    )
    recurrence = Recurrence.model_validate(campaign.recurrence) if campaign.recurrence else None
    steps = session.scalars(
        select(CampaignStep)
        .where(CampaignStep.campaign_id == campaign_id)
        .order_by(CampaignStep.position)
    )
    return CampaignDefinition(
        id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        status=campaign.status,
        priority=campaign.priority,
        segment_id=campaign.segment_id,
        segment_name=segment_name,
        recurrence=recurrence,
        conversion_goal=campaign.conversion_goal,
        conversion_window_days=campaign.conversion_window_days,
        scheduled_at=campaign.scheduled_at,
        next_run_at=next_run_at(
            kind=campaign.kind,
            status=campaign.status,
            scheduled_at=campaign.scheduled_at,
            recurrence=recurrence,
            now=now,
        ),
        parent_id=campaign.parent_id,
        created_at=campaign.created_at,
        steps=[
            StepDefinition(
                position=s.position,
                subject=s.subject,
                wait_days=s.wait_days,
                wait_until=s.wait_until,
                branch=s.branch,
                then_seasonal=s.then_seasonal,
                template_id=s.template_id,
            )
            for s in steps
        ],
    )
