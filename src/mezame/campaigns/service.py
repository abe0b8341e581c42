"""Campaigns and their send log: create, freeze the audience, start, pause, stop, and report.

Freezing the audience writes one row per (campaign, step, contact) in a single
INSERT … SELECT, so a million-contact audience never passes through Python. Contacts
who may not be mailed are written too, as `skipped` with the reason, so the log says
why someone got nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, case, func, literal, select, true, update
from sqlalchemy.orm import Session

from mezame.cadence.service import freeze_restraint
from mezame.campaigns.kinds import Branch, CampaignKind, Recurrence, WaitEvent
from mezame.campaigns.status import STARTABLE, CampaignStatus, SendStatus, can_move_campaign
from mezame.compliance.service import mailable_rules, normalised_email
from mezame.errors import ConflictError, InvalidInputError, NotFoundError
from mezame.ingest.service import dialect_insert
from mezame.mail.render import TemplateProblem, compile_content
from mezame.models import Campaign, CampaignSend, CampaignStep, Contact
from mezame.recipients.service import change_of_contact
from mezame.segments.service import get_segment, segment_contacts
from mezame.templates.types import SKIP_REASONS, Requirement


@dataclass(frozen=True)
class StepContent:
    subject: str
    html: str
    text: str | None = None
    template_id: int | None = None  # the library template it was copied from
    requires: str | None = None  # templates.types.Requirement
    # Sequences only (campaigns.kinds): the wait after the previous mail, and who gets it.
    wait_days: int = 0
    wait_until: WaitEvent | None = None
    branch: Branch = Branch.ALWAYS
    then_seasonal: bool = False


def create_campaign(
    session: Session,
    *,
    name: str,
    steps: list[StepContent],
    kind: str = "one_off",
    user_id: int | None = None,
    priority: int = 0,
    segment_id: int | None = None,
    recurrence: Recurrence | None = None,
) -> Campaign:
    """A draft campaign with its mails; templates are compiled now so errors show at once.

    `priority` decides which campaign mails a contact first when two compete for them
    (higher first); `recurrence` is the day and time of a recurring campaign's runs.
    """
    if not name.strip():
        raise InvalidInputError("campaign name: empty")
    if not steps:
        raise InvalidInputError("a campaign needs at least one mail")
    check_kind(kind, steps, recurrence=recurrence, priority=priority)
    for position, step in enumerate(steps, start=1):
        try:
            compile_content(subject=step.subject, html=step.html, text=step.text)
        except TemplateProblem as exc:
            raise InvalidInputError(f"mail {position}: {exc}") from exc
    campaign = Campaign(
        name=name.strip(),
        kind=kind,
        created_by_id=user_id,
        priority=priority,
        segment_id=segment_id,
        recurrence=recurrence.model_dump() if recurrence is not None else None,
    )
    session.add(campaign)
    session.flush()
    for position, step in enumerate(steps, start=1):
        session.add(
            CampaignStep(
                campaign_id=campaign.id,
                position=position,
                subject=step.subject,
                html_body=step.html,
                text_body=step.text,
                template_id=step.template_id,
                requires=step.requires,
                wait_days=step.wait_days,
                wait_until=step.wait_until.value if step.wait_until else None,
                branch=step.branch.value,
                then_seasonal=step.then_seasonal,
            )
        )
    session.flush()
    return campaign


def check_kind(
    kind: str, steps: list[StepContent], *, recurrence: Recurrence | None, priority: int
) -> None:
    """Kind, steps and schedule agree: waits and branches are for a sequence's later mails."""
    if kind not in set(CampaignKind):
        raise InvalidInputError(f"kind: {kind!r} is not one of {', '.join(CampaignKind)}")
    if not -100 <= priority <= 100:
        raise InvalidInputError(f"priority: {priority} is outside -100..100")
    if recurrence is not None and kind != CampaignKind.RECURRING:
        raise InvalidInputError("recurrence: only a recurring campaign has one")
    for position, step in enumerate(steps, start=1):
        timed = step.wait_days or step.wait_until or step.branch != Branch.ALWAYS
        if timed and (position == 1 or kind == CampaignKind.ONE_OFF):
            raise InvalidInputError(
                f"mail {position}: waits and branches belong to the later mails of a sequence"
            )
        if not 0 <= step.wait_days <= 365:
            raise InvalidInputError(f"mail {position}: wait_days {step.wait_days} not in 0..365")


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"campaign {campaign_id} does not exist")
    return campaign


def step_of(session: Session, campaign_id: int, position: int) -> CampaignStep:
    step = session.scalar(
        select(CampaignStep).where(
            CampaignStep.campaign_id == campaign_id, CampaignStep.position == position
        )
    )
    if step is None:
        raise NotFoundError(f"campaign {campaign_id} has no mail {position}")
    return step


@dataclass(frozen=True)
class AudienceCounts:
    queued: int
    skipped: int


def freeze_audience(
    session: Session,
    *,
    campaign_id: int,
    position: int = 1,
    contacts: Select[tuple[int]] | None = None,
    as_of: datetime,
) -> AudienceCounts:
    """Write the send rows of one mail for `contacts` (a SELECT of contact ids).

    Without `contacts`, the audience is the campaign's segment, or every contact if it has none.

    Mailable contacts become `pending`; the rest `skipped` with the reason. Two contacts
    sharing an address get one mail (the older contact). Rows already there are kept, so
    freezing twice adds only newcomers.
    """
    campaign = get_campaign(session, campaign_id)
    if campaign.status == CampaignStatus.STOPPED:
        raise InvalidInputError(f"campaign {campaign_id} is stopped")
    step = step_of(session, campaign_id, position)
    rules = mailable_rules(session, as_of=as_of.astimezone(UTC).date())
    flags = rules.clauses()
    if contacts is None and campaign.segment_id is not None:
        # The campaign's saved segment as it stands now; "me" in it means the campaign's author.
        contacts = segment_contacts(
            session,
            get_segment(session, campaign.segment_id),
            as_of=as_of.astimezone(UTC).date(),
            user_id=campaign.created_by_id,
        )
    audience = select(Contact.id) if contacts is None else contacts
    restraint = freeze_restraint(session, campaign=campaign, step=step, as_of=as_of)
    # A re-proposal states exactly one change since last time: without one, no mail.
    needs_change = step.requires == Requirement.CHANGE
    ranked = (
        select(
            Contact.id.label("contact_id"),
            flags["has_address"],
            flags["suppressed"],
            flags["consented"],
            *restraint.columns(),
            *([change_of_contact().label("change")] if needs_change else []),
            func.row_number()
            .over(partition_by=normalised_email(Contact.email), order_by=Contact.id)
            .label("rank"),
        )
        # A contact merged into another is kept only for undo: the survivor is the one to mail.
        .where(Contact.id.in_(audience), Contact.merged_into_id.is_(None))
        .subquery()
    )
    reason = case(
        (ranked.c.has_address.is_(False), literal("no email address")),
        (ranked.c.suppressed.is_(True), literal("suppressed")),
        (ranked.c.consented.is_(False), literal("no consent")),
        (ranked.c.rank > 1, literal("duplicate address")),
        *(
            [(ranked.c.change.is_(None), literal(SKIP_REASONS[Requirement.CHANGE]))]
            if needs_change
            else []
        ),
        # Cadence, priority and the cap (mezame.cadence): after the legal reasons.
        *restraint.reasons(session, ranked),
        else_=None,
    )
    rows = select(
        literal(campaign_id).label("campaign_id"),
        literal(step.id).label("step_id"),
        ranked.c.contact_id,
        case((reason.is_(None), SendStatus.PENDING.value), else_=SendStatus.SKIPPED.value).label(
            "status"
        ),
        reason.label("detail"),
        literal(as_of.astimezone(UTC), type_=CampaignSend.queued_at.type).label("queued_at"),
    ).where(true())  # SQLite reads "SELECT … ON CONFLICT" as a join without a WHERE
    before = _status_counts(session, campaign_id)
    insert = (
        dialect_insert(session, CampaignSend.__table__)
        .from_select(
            ["campaign_id", "step_id", "contact_id", "status", "detail", "queued_at"], rows
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "step_id", "contact_id"])
    )
    session.execute(insert)
    restraint.preempt(session)
    after = _status_counts(session, campaign_id)
    return AudienceCounts(
        queued=after.get(SendStatus.PENDING, 0) - before.get(SendStatus.PENDING, 0),
        skipped=after.get(SendStatus.SKIPPED, 0) - before.get(SendStatus.SKIPPED, 0),
    )


def _status_counts(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(CampaignSend.status, func.count())
        .where(CampaignSend.campaign_id == campaign_id)
        .group_by(CampaignSend.status)
    )
    return {status: count for status, count in rows}


def move_campaign(session: Session, *, campaign_id: int, to: CampaignStatus) -> Campaign:
    """Change a campaign's status along the allowed transitions (campaigns.status)."""
    campaign = get_campaign(session, campaign_id)
    current = CampaignStatus(campaign.status)
    if current == to:
        return campaign
    if not can_move_campaign(current, to):
        raise ConflictError(f"campaign {campaign_id} is {current.value}: cannot become {to.value}")
    campaign.status = to.value
    if to == CampaignStatus.STOPPED:
        # Its unsent rows are never sent; rows a sender holds are cancelled when it lets go.
        session.execute(
            update(CampaignSend)
            .where(
                CampaignSend.campaign_id == campaign_id,
                CampaignSend.status == SendStatus.PENDING.value,
            )
            .values(status=SendStatus.CANCELLED.value, detail="campaign stopped")
        )
    session.flush()
    return campaign


def freeze_first_audience(
    session: Session, *, campaign_id: int, as_of: datetime
) -> AudienceCounts | None:
    """Freeze the first mail's audience unless the campaign has send rows (then None)."""
    has_rows = session.scalar(
        select(CampaignSend.id).where(CampaignSend.campaign_id == campaign_id).limit(1)
    )
    if has_rows is not None:
        return None
    return freeze_audience(session, campaign_id=campaign_id, as_of=as_of)


def start_sending(session: Session, *, campaign_id: int, as_of: datetime) -> Campaign:
    """Send now, or resume a paused campaign: its audience frozen if not yet, then `sending`.

    The caller commits, then queues the sender (`mezame.queue.queue_campaign_send`), so
    that the worker finds the campaign sending.
    """
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in STARTABLE:
        raise ConflictError(
            f"campaign {campaign_id} is {campaign.status}: cannot become sending "
            "(only a draft, scheduled or paused campaign is sent or resumed)"
        )
    if campaign.kind == CampaignKind.RECURRING:
        raise ConflictError(
            f"campaign {campaign_id} is recurring: each month's run is sent, never the campaign"
        )
    freeze_first_audience(session, campaign_id=campaign_id, as_of=as_of)
    return move_campaign(session, campaign_id=campaign_id, to=CampaignStatus.SENDING)


def pause_campaign(session: Session, *, campaign_id: int) -> Campaign:
    """The running sender notices within a second, finishes the messages on the wire, stops."""
    return move_campaign(session, campaign_id=campaign_id, to=CampaignStatus.PAUSED)


def stop_campaign(session: Session, *, campaign_id: int) -> Campaign:
    return move_campaign(session, campaign_id=campaign_id, to=CampaignStatus.STOPPED)


@dataclass(frozen=True)
class UnknownSend:
    send_id: int
    email: str | None
    claimed_at: datetime | None
    detail: str | None


@dataclass(frozen=True)
class CampaignProgress:
    campaign_id: int
    name: str
    status: str
    counts: Mapping[str, int]
    # Sends whose outcome a crash left unknown: check the relay's log before sending again.
    unknown: list[UnknownSend]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def campaign_progress(
    session: Session, *, campaign_id: int, unknown_limit: int = 100
) -> CampaignProgress:
    campaign = get_campaign(session, campaign_id)
    unknown = [
        UnknownSend(r.id, r.email, r.claimed_at, r.detail)
        for r in session.scalars(
            select(CampaignSend)
            .where(
                CampaignSend.campaign_id == campaign_id,
                CampaignSend.status == SendStatus.UNKNOWN.value,
            )
            .order_by(CampaignSend.id)
            .limit(unknown_limit)
        )
    ]
    return CampaignProgress(
        campaign_id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        counts=_status_counts(session, campaign_id),
        unknown=unknown,
    )
