"""Campaigns over time: schedules, recurring runs, and the next mails of sequences.

`advance_campaigns` is what the queue's periodic task runs every minute. Each of its
steps is idempotent, so running it twice, or from two workers, changes nothing more:

- a scheduled campaign whose time has come gets its audience frozen and starts sending;
- a recurring campaign gets its due occurrence as a campaign run of its own (the unique
  (parent_id, occurrence_key) index makes a second copy impossible);
- a sequence's next mail is frozen (INSERT … SELECT) for the contacts whose previous mail
  was sent and whose wait is over, pending for those the branch picks and skipped, with
  the reason, for the rest — the unique (campaign, step, contact) keeps it to one row;
- the 5.4 reminder rule moves unresponsive contacts to the seasonal cadence.

Paused, stopped and draft campaigns do not advance. The caller queues the sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, not_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from mezame.cadence.rules import CadencePolicy
from mezame.cadence.service import settle_reminders
from mezame.campaigns.kinds import Branch, CampaignKind, Recurrence, WaitEvent, branch_skip_reason
from mezame.campaigns.service import freeze_audience, get_campaign, move_campaign
from mezame.campaigns.status import CampaignStatus, SendStatus
from mezame.errors import InvalidInputError
from mezame.ingest.service import dialect_insert
from mezame.models import Campaign, CampaignSend, CampaignStep
from mezame.policy.service import load_policy

# Columns a recurring campaign's run does not inherit: identity, state, and the schedule.
_RUN_STATE = frozenset(
    {
        "id",
        "name",
        "kind",
        "status",
        "sender_run",
        "sender_heartbeat_at",
        "started_at",
        "finished_at",
        "scheduled_at",
        "recurrence",
        "parent_id",
        "occurrence_key",
        "created_at",
        "updated_at",
    }
)
_STEP_IDENTITY = frozenset({"id", "campaign_id", "created_at", "updated_at"})


def schedule_campaign(
    session: Session,
    *,
    campaign_id: int,
    at: datetime,
    now: datetime,
    recurrence: Recurrence | None = None,
) -> Campaign:
    """Start a draft campaign at `at`; a recurring one runs on each occurrence from `at` on."""
    if at.tzinfo is None:
        raise InvalidInputError("at: give a time zone (mezame stores aware times)")
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in (CampaignStatus.DRAFT.value, CampaignStatus.SCHEDULED.value):
        raise InvalidInputError(
            f"campaign {campaign_id} is {campaign.status}: only a draft can be scheduled"
        )
    if campaign.parent_id is not None:
        raise InvalidInputError(f"campaign {campaign_id} is a run of a recurring campaign")
    if recurrence is not None:
        if campaign.kind != CampaignKind.RECURRING:
            raise InvalidInputError(f"campaign {campaign_id} is not recurring: no recurrence")
        campaign.recurrence = recurrence.model_dump()
    if campaign.kind == CampaignKind.RECURRING and campaign.recurrence is None:
        raise InvalidInputError(f"campaign {campaign_id}: a recurring campaign needs a recurrence")
    if campaign.kind != CampaignKind.RECURRING and at < now:
        raise InvalidInputError(f"at: {at.isoformat()} is in the past")
    campaign.scheduled_at = at
    move_campaign(session, campaign_id=campaign_id, to=CampaignStatus.SCHEDULED)
    session.flush()
    return campaign


@dataclass
class AdvanceReport:
    started: list[int] = field(default_factory=list)  # scheduled campaigns that started
    runs: list[int] = field(default_factory=list)  # recurring runs created
    next_mails: dict[int, int] = field(default_factory=dict)  # sequence id → rows queued
    finished: list[int] = field(default_factory=list)  # sequences with nothing left
    seasonal: int = 0  # contacts back to seasonal after an unanswered reminder

    @property
    def to_send(self) -> list[int]:
        """Campaigns that have mail to send now: queue a sender run for each."""
        return sorted({*self.started, *self.runs, *self.next_mails})


def advance_campaigns(session: Session, *, now: datetime) -> AdvanceReport:
    """Start, repeat and continue what is due at `now` (see the module docstring)."""
    report = AdvanceReport()
    due = session.scalars(
        select(Campaign.id)
        .where(
            Campaign.status == CampaignStatus.SCHEDULED.value,
            Campaign.kind != CampaignKind.RECURRING.value,
            Campaign.scheduled_at <= now,
        )
        .order_by(Campaign.priority.desc(), Campaign.id)
    ).all()
    for campaign_id in due:
        _start(session, campaign_id, now)
        report.started.append(campaign_id)
    recurring = session.scalars(
        select(Campaign).where(
            Campaign.status == CampaignStatus.SCHEDULED.value,
            Campaign.kind == CampaignKind.RECURRING.value,
            Campaign.scheduled_at <= now,
        )
    ).all()
    for parent in recurring:
        run_id = _create_run(session, parent, now)
        if run_id is not None:
            _start(session, run_id, now)
            report.runs.append(run_id)
    sequences = session.scalars(
        select(Campaign).where(
            Campaign.status == CampaignStatus.SENDING.value,
            Campaign.kind == CampaignKind.SEQUENCE.value,
        )
    ).all()
    for campaign in sequences:
        queued = _advance_sequence(session, campaign, now)
        if queued:
            report.next_mails[campaign.id] = queued
        elif _finishes(session, campaign):
            campaign.status = CampaignStatus.FINISHED.value
            campaign.finished_at = now
            report.finished.append(campaign.id)
    report.seasonal = settle_reminders(session, now=now, policy=load_policy(session, CadencePolicy))
    session.flush()
    return report


def _start(session: Session, campaign_id: int, now: datetime) -> None:
    freeze_audience(session, campaign_id=campaign_id, as_of=now)
    move_campaign(session, campaign_id=campaign_id, to=CampaignStatus.SENDING)


def _create_run(session: Session, parent: Campaign, now: datetime) -> int | None:
    """The run of the due occurrence, unless it exists already (then None)."""
    if parent.recurrence is None or parent.scheduled_at is None:
        return None
    recurrence = Recurrence.model_validate(parent.recurrence)
    due = recurrence.latest_due(now, since=parent.scheduled_at)
    if due is None:
        return None
    key, at = due
    taken = session.scalar(
        select(Campaign.id).where(Campaign.parent_id == parent.id, Campaign.occurrence_key == key)
    )
    if taken is not None:
        return None
    steps = session.scalars(
        select(CampaignStep)
        .where(CampaignStep.campaign_id == parent.id)
        .order_by(CampaignStep.position)
    ).all()
    inherited = {
        c.key: getattr(parent, c.key) for c in Campaign.__table__.columns if c.key not in _RUN_STATE
    }
    year, month = key.split("-")
    run = Campaign(
        **inherited,
        name=f"{parent.name} {int(year)}年{int(month)}月"[:200],
        kind=(CampaignKind.SEQUENCE if len(steps) > 1 else CampaignKind.ONE_OFF).value,
        status=CampaignStatus.DRAFT.value,
        scheduled_at=at,
        parent_id=parent.id,
        occurrence_key=key,
    )
    try:
        # Another worker may create the same run at this moment: the unique index decides.
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None
    for step in steps:
        session.add(
            CampaignStep(
                campaign_id=run.id,
                **{
                    c.key: getattr(step, c.key)
                    for c in CampaignStep.__table__.columns
                    if c.key not in _STEP_IDENTITY
                },
            )
        )
    session.flush()
    return run.id


def _branch_matches(branch: Branch, send: Any) -> ColumnElement[bool]:
    return {
        Branch.ALWAYS: true(),
        Branch.OPENED: send.opened_at.is_not(None),
        Branch.NOT_OPENED: send.opened_at.is_(None),
        Branch.CLICKED: send.clicked_at.is_not(None),
        Branch.NOT_CLICKED: send.clicked_at.is_(None),
    }[branch]


def _advance_sequence(session: Session, campaign: Campaign, now: datetime) -> int:
    """Freeze each later mail for the contacts whose wait is over; returns rows queued."""
    steps = session.scalars(
        select(CampaignStep)
        .where(CampaignStep.campaign_id == campaign.id)
        .order_by(CampaignStep.position)
    ).all()
    queued = 0
    for previous, step in pairwise(steps):
        prev = aliased(CampaignSend, name="previous_send")
        later = aliased(CampaignSend, name="later_send")
        over: list[ColumnElement[bool]] = [
            prev.sent_at <= now - timedelta(days=step.wait_days),
        ]
        if step.wait_until == WaitEvent.OPENED:
            over.append(prev.opened_at.is_not(None))
        elif step.wait_until == WaitEvent.CLICKED:
            over.append(prev.clicked_at.is_not(None))
        waiting_over = and_(
            prev.campaign_id == campaign.id,
            prev.step_id == previous.id,
            prev.status == SendStatus.SENT.value,
            or_(*over),
            ~exists().where(
                later.campaign_id == campaign.id,
                later.step_id == step.id,
                later.contact_id == prev.contact_id,
            ),
        )
        branch = Branch(step.branch)
        matches = _branch_matches(branch, prev)
        picked = select(prev.contact_id).where(waiting_over, matches)
        counts = freeze_audience(
            session, campaign_id=campaign.id, position=step.position, contacts=picked, as_of=now
        )
        queued += counts.queued
        if branch != Branch.ALWAYS:
            left_out = select(
                literal(campaign.id).label("campaign_id"),
                literal(step.id).label("step_id"),
                prev.contact_id,
                literal(SendStatus.SKIPPED.value).label("status"),
                literal(branch_skip_reason(branch, previous.position)).label("detail"),
                literal(now, type_=CampaignSend.queued_at.type).label("queued_at"),
            ).where(waiting_over, not_(matches))
            session.execute(
                dialect_insert(session, CampaignSend.__table__)
                .from_select(
                    ["campaign_id", "step_id", "contact_id", "status", "detail", "queued_at"],
                    left_out,
                )
                .on_conflict_do_nothing(index_elements=["campaign_id", "step_id", "contact_id"])
            )
    return queued


def sequence_continues(session: Session, campaign: Campaign) -> bool:
    """A sequence still has contacts whose next mail is not decided yet (their wait runs)."""
    if campaign.kind != CampaignKind.SEQUENCE:
        return False
    sent = aliased(CampaignSend, name="sent_send")
    later = aliased(CampaignSend, name="later_send")
    this_step = aliased(CampaignStep, name="this_step")
    next_step = aliased(CampaignStep, name="next_step")
    undecided = (
        select(sent.id)
        .join(this_step, this_step.id == sent.step_id)
        .join(
            next_step,
            and_(
                next_step.campaign_id == this_step.campaign_id,
                next_step.position == this_step.position + 1,
            ),
        )
        .where(
            sent.campaign_id == campaign.id,
            sent.status == SendStatus.SENT.value,
            ~exists().where(
                later.campaign_id == campaign.id,
                later.step_id == next_step.id,
                later.contact_id == sent.contact_id,
            ),
        )
        .limit(1)
    )
    return session.scalar(undecided) is not None


def _finishes(session: Session, campaign: Campaign) -> bool:
    """Nothing left to send, nobody waiting, and no sender holding it."""
    if campaign.sender_run is not None:
        return False
    open_rows = session.scalar(
        select(func.count()).where(
            CampaignSend.campaign_id == campaign.id,
            CampaignSend.status.in_([SendStatus.PENDING.value, SendStatus.CLAIMED.value]),
        )
    )
    return not open_rows and not sequence_continues(session, campaign)


def waiting_until(session: Session, *, campaign_id: int, now: datetime) -> datetime | None:
    """When a sending campaign's mail goes out next, if none of it is due now (the send
    window is closed, or only retries are left): the "waiting" its status page shows."""
    pending = and_(
        CampaignSend.campaign_id == campaign_id,
        CampaignSend.status == SendStatus.PENDING.value,
    )
    due_now = select(CampaignSend.id).where(
        pending,
        or_(CampaignSend.next_attempt_at.is_(None), CampaignSend.next_attempt_at <= now),
    )
    if session.scalar(due_now.limit(1)) is not None:
        return None
    return session.scalar(select(func.min(CampaignSend.next_attempt_at)).where(pending))
