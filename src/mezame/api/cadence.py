"""Schedules and the contact policy: schedule a campaign, read and change the cadence
policy, mark a contact unresponsive (seasonal) or back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from mezame.api.deps import AnyUser, DbSession, MarketingUser
from mezame.cadence import Cadence, CadencePolicy
from mezame.cadence.service import set_cadence
from mezame.campaigns.kinds import Recurrence
from mezame.campaigns.service import get_campaign
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import Contact
from mezame.policy.service import load_policy, save_policy
from mezame.scheduling.service import schedule_campaign, waiting_until

router = APIRouter(tags=["cadence"])


class ScheduleIn(BaseModel):
    at: datetime = Field(description="Start; without an offset it is Japan time")
    recurrence: Recurrence | None = Field(
        default=None, description="For a recurring campaign: the day and time of each run"
    )


class ScheduleOut(BaseModel):
    campaign_id: int
    kind: str
    status: str
    priority: int
    scheduled_at: datetime | None
    recurrence: Recurrence | None
    waiting_until: datetime | None = Field(
        description="Sending but outside the send window: when the next mail goes out"
    )


def _schedule_out(session: DbSession, campaign_id: int) -> ScheduleOut:
    c = get_campaign(session, campaign_id)
    return ScheduleOut(
        campaign_id=c.id,
        kind=c.kind,
        status=c.status,
        priority=c.priority,
        scheduled_at=c.scheduled_at,
        recurrence=Recurrence.model_validate(c.recurrence) if c.recurrence else None,
        waiting_until=waiting_until(session, campaign_id=c.id, now=datetime.now(UTC)),
    )


@router.get("/campaigns/{campaign_id}/schedule", response_model=ScheduleOut)
def get_schedule(campaign_id: int, session: DbSession, _user: AnyUser) -> ScheduleOut:
    """When a campaign starts (or its runs recur), and whether it waits for a send window."""
    return _schedule_out(session, campaign_id)


@router.post("/campaigns/{campaign_id}/schedule", response_model=ScheduleOut)
def post_schedule(
    campaign_id: int,
    request: Request,
    session: DbSession,
    _user: MarketingUser,
    body: Annotated[ScheduleIn, Body()],
) -> ScheduleOut:
    """Schedule a draft campaign; the queue starts it (freezes the audience, sends) on time."""
    at = body.at
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(request.app.state.settings.timezone))
    schedule_campaign(
        session,
        campaign_id=campaign_id,
        at=at,
        now=datetime.now(UTC),
        recurrence=body.recurrence,
    )
    return _schedule_out(session, campaign_id)


class CadencePolicyOut(BaseModel):
    policy: CadencePolicy
    send_now: bool = Field(description="Whether mail may go out at this moment")
    next_send_time: datetime = Field(description="The next instant mail may go out")


def _policy_out(policy: CadencePolicy) -> CadencePolicyOut:
    now = datetime.now(UTC)
    return CadencePolicyOut(
        policy=policy, send_now=policy.is_send_time(now), next_send_time=policy.next_send_time(now)
    )


@router.get("/mail/cadence-policy", response_model=CadencePolicyOut)
def get_cadence_policy(session: DbSession, _user: AnyUser) -> CadencePolicyOut:
    """Intervals, the cap, quiet hours, weekends and holidays (SPEC 5.4)."""
    return _policy_out(load_policy(session, CadencePolicy))


@router.put("/mail/cadence-policy", response_model=CadencePolicyOut)
def put_cadence_policy(
    policy: CadencePolicy, session: DbSession, user: MarketingUser
) -> CadencePolicyOut:
    """Replace the contact policy (marketing or admin)."""
    save_policy(session, policy, user_id=user.id)
    return _policy_out(policy)


class ContactCadenceIn(BaseModel):
    cadence: Cadence


class ContactCadenceOut(BaseModel):
    contact_id: int
    cadence: str
    cadence_changed_at: datetime | None


@router.put("/contacts/{contact_id}/cadence", response_model=ContactCadenceOut)
def put_contact_cadence(
    contact_id: int, body: ContactCadenceIn, session: DbSession, _user: MarketingUser
) -> ContactCadenceOut:
    """Mark a contact unresponsive (seasonal: about once a quarter) or back to monthly."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    if contact.merged_into_id is not None:
        raise InvalidInputError(f"contact {contact_id} was merged into {contact.merged_into_id}")
    set_cadence(session, contacts=[contact_id], cadence=body.cadence, at=datetime.now(UTC))
    session.refresh(contact)
    return ContactCadenceOut(
        contact_id=contact.id,
        cadence=contact.cadence,
        cadence_changed_at=contact.cadence_changed_at,
    )
