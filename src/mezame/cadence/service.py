"""Cadence and restraint in SQL: for a whole audience at once, and again at send time.

At freeze, each contact of the audience gets three more facts as correlated subqueries
(index `ix_campaign_sends_contact_id`): the last mail another campaign sent them, the
campaign that already holds them with a higher priority, and how many mails the cap
window holds. The reasons are written by the same INSERT … SELECT that writes the rows,
dates formatted by the database, so a million-contact audience never passes through
Python. Rows of lower-priority campaigns still waiting for a contact this campaign takes
are then skipped in one UPDATE.

"Mailed" means a row that is on the wire or was: claimed, sending, sent, or unknown.
Pending rows of other campaigns count toward the cap at freeze (they are promised), not
at send time (else two waiting campaigns would block each other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import KeyedColumnElement

from mezame.cadence.rules import Cadence, CadencePolicy, cap_reason, priority_reason
from mezame.campaigns.status import SendStatus
from mezame.models import Campaign, CampaignSend, CampaignStep, Contact, UTCDateTime
from mezame.policy.service import load_policy

# Rows that are, or may be, in the recipient's inbox.
MAILED = (
    SendStatus.CLAIMED.value,
    SendStatus.SENDING.value,
    SendStatus.SENT.value,
    SendStatus.UNKNOWN.value,
)


def _mailed_at(send: Any) -> ColumnElement[datetime]:
    """When a mailed row went out: sent_at, or the claim time while it is on the wire."""
    return type_coerce(func.coalesce(send.sent_at, send.claimed_at), UTCDateTime())


def japanese_date_sql(session: Session, moment: Any, policy: CadencePolicy) -> ColumnElement[str]:
    """A timestamp column as 2026年11月10日 in the policy's time zone, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone(policy.timezone, moment)
        return func.to_char(local, 'YYYY"年"FMMM"月"FMDD"日"')
    # SQLite stores naive UTC: shift by the zone's offset (Japan has no daylight saving;
    # elsewhere the offset of today is close enough for a log line).
    offset = policy.zone.utcoffset(datetime.now()) or timedelta(0)
    shift = f"{int(offset.total_seconds() // 60):+d} minutes"

    def part(fmt: str) -> ColumnElement[str]:
        return cast(cast(func.strftime(fmt, moment, shift), Integer), String)

    return part("%Y") + "年" + part("%m") + "月" + part("%d") + "日"


@dataclass(frozen=True)
class FreezeRestraint:
    """The cadence rules for one mail of one campaign at one moment, as SQL pieces."""

    policy: CadencePolicy
    campaign_id: int
    priority: int
    step_id: int
    first_mail: bool  # a sequence's later mails are exempt from the interval and priority
    as_of: datetime

    def columns(self, contact: Any = Contact) -> list[KeyedColumnElement[Any]]:
        """Labelled columns for the audience query: cadence, last_mail, competitor, in_window."""
        sends = aliased(CampaignSend, name="cadence_sends")
        last_mail = (
            select(func.max(_mailed_at(sends)))
            .where(
                sends.contact_id == contact.id,
                sends.campaign_id != self.campaign_id,
                sends.status.in_(MAILED),
            )
            .scalar_subquery()
        )
        holders = aliased(CampaignSend, name="cadence_holders")
        holder = aliased(Campaign, name="cadence_holder")
        competitor = (
            select(
                literal("priority: campaign ")
                + cast(holder.id, String)
                + " (priority "
                + cast(holder.priority, String)
                + ") mails them first"
            )
            .select_from(holders)
            .join(holder, holder.id == holders.campaign_id)
            .where(
                holders.contact_id == contact.id,
                holders.campaign_id != self.campaign_id,
                holders.status == SendStatus.PENDING.value,
                holder.priority >= self.priority,
            )
            .order_by(holder.priority.desc(), holder.id)
            .limit(1)
            .scalar_subquery()
        )
        counted = aliased(CampaignSend, name="cadence_counted")
        owner = aliased(Campaign, name="cadence_owner")
        since = self.as_of - timedelta(days=self.policy.cap_window_days)
        # Pending rows of lower-priority campaigns lose this contact to this campaign
        # (see preempt), so they do not count; a follow-up takes nobody's place.
        promised = (
            or_(owner.priority >= self.priority, owner.id == self.campaign_id)
            if self.first_mail
            else true()
        )
        in_window = (
            select(func.count())
            .select_from(counted)
            .join(owner, owner.id == counted.campaign_id)
            .where(
                counted.contact_id == contact.id,
                ~and_(counted.campaign_id == self.campaign_id, counted.step_id == self.step_id),
                or_(
                    and_(counted.status.in_(MAILED), _mailed_at(counted) > since),
                    and_(counted.status == SendStatus.PENDING.value, promised),
                ),
            )
            .scalar_subquery()
        )
        return [
            contact.cadence.label("cadence"),
            (last_mail if self.first_mail else literal(None, UTCDateTime())).label("last_mail"),
            (competitor if self.first_mail else literal(None, String())).label("competitor"),
            in_window.label("in_window"),
        ]

    def reasons(self, session: Session, ranked: Any) -> list[tuple[Any, Any]]:
        """CASE branches over the audience subquery: cadence, then priority, then the cap."""
        whens: list[tuple[Any, Any]] = []
        if self.first_mail:
            cut = {c: self.as_of - timedelta(days=self.policy.interval_days(c)) for c in Cadence}
            seasonal = ranked.c.cadence == Cadence.SEASONAL.value
            since = case(
                (seasonal, literal(cut[Cadence.SEASONAL], UTCDateTime())),
                else_=literal(cut[Cadence.MONTHLY], UTCDateTime()),
            )
            last = type_coerce(ranked.c.last_mail, UTCDateTime())
            whens.append(
                (
                    and_(ranked.c.last_mail.is_not(None), last > since),
                    literal("cadence: last mail ")
                    + japanese_date_sql(session, ranked.c.last_mail, self.policy)
                    + " ("
                    + ranked.c.cadence
                    + ")",
                )
            )
            whens.append((ranked.c.competitor.is_not(None), ranked.c.competitor))
        capped = ranked.c.in_window >= self.policy.cap_mails
        whens.append((capped, literal(cap_reason(self.policy))))
        return whens

    def preempt(self, session: Session) -> int:
        """Skip the waiting rows of lower-priority campaigns for contacts this mail now takes."""
        if not self.first_mail:
            return 0
        taken = select(CampaignSend.contact_id).where(
            CampaignSend.campaign_id == self.campaign_id,
            CampaignSend.step_id == self.step_id,
            CampaignSend.status == SendStatus.PENDING.value,
        )
        lower = select(Campaign.id).where(Campaign.priority < self.priority)
        return session.execute(
            update(CampaignSend)
            .where(
                CampaignSend.status == SendStatus.PENDING.value,
                CampaignSend.campaign_id != self.campaign_id,
                CampaignSend.campaign_id.in_(lower),
                CampaignSend.contact_id.in_(taken),
            )
            .values(
                status=SendStatus.SKIPPED.value,
                detail=priority_reason(self.campaign_id, self.priority),
            )
            .execution_options(synchronize_session=False)
        ).rowcount


def freeze_restraint(
    session: Session, *, campaign: Campaign, step: CampaignStep, as_of: datetime
) -> FreezeRestraint:
    return FreezeRestraint(
        policy=load_policy(session, CadencePolicy),
        campaign_id=campaign.id,
        priority=campaign.priority,
        step_id=step.id,
        first_mail=step.position == 1,
        as_of=as_of,
    )


def send_time_columns(
    campaign_id: int, *, now: datetime, policy: CadencePolicy
) -> list[KeyedColumnElement[Any]]:
    """For the sender's page of due rows (correlated to CampaignSend): the contact's cadence,
    the last mail of another campaign, and their mails in the cap window besides this one."""
    other = aliased(CampaignSend, name="cadence_other")
    last_other = (
        select(func.max(_mailed_at(other)))
        .where(
            other.contact_id == CampaignSend.contact_id,
            other.campaign_id != campaign_id,
            other.status.in_(MAILED),
        )
        .scalar_subquery()
    )
    counted = aliased(CampaignSend, name="cadence_counted")
    since = now - timedelta(days=policy.cap_window_days)
    in_window = (
        select(func.count())
        .where(
            counted.contact_id == CampaignSend.contact_id,
            counted.id != CampaignSend.id,
            counted.status.in_(MAILED),
            _mailed_at(counted) > since,
        )
        .scalar_subquery()
    )
    return [
        Contact.cadence.label("cadence"),
        type_coerce(last_other, UTCDateTime()).label("last_other_mail"),
        in_window.label("mails_in_window"),
    ]


def set_cadence(
    session: Session, *, contacts: Select[tuple[int]] | list[int], cadence: str, at: datetime
) -> int:
    """Mark contacts unresponsive (seasonal) or back (monthly); returns how many changed."""
    value = Cadence(cadence).value  # ValueError names an unknown cadence
    ids = contacts if isinstance(contacts, Select) else list(contacts)
    return session.execute(
        update(Contact)
        .where(Contact.id.in_(ids), Contact.cadence != value)
        .values(cadence=value, cadence_changed_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount


def settle_reminders(session: Session, *, now: datetime, policy: CadencePolicy) -> int:
    """SPEC 5.4: contacts who did not respond (open or click) to a reminder — a sequence mail
    marked `then_seasonal` — within `reminder_wait_days` go back to the seasonal cadence.

    A cadence changed by hand after the reminder went out is left as it is.
    """
    cut = now - timedelta(days=policy.reminder_wait_days)
    unanswered = (
        select(CampaignSend.id)
        .join(CampaignStep, CampaignStep.id == CampaignSend.step_id)
        .where(
            CampaignStep.then_seasonal.is_(True),
            CampaignSend.contact_id == Contact.id,
            CampaignSend.status == SendStatus.SENT.value,
            CampaignSend.sent_at <= cut,
            CampaignSend.opened_at.is_(None),
            CampaignSend.clicked_at.is_(None),
            or_(
                Contact.cadence_changed_at.is_(None),
                Contact.cadence_changed_at < CampaignSend.sent_at,
            ),
        )
        .exists()
    )
    return session.execute(
        update(Contact)
        .where(Contact.cadence == Cadence.MONTHLY.value, unanswered)
        .values(cadence=Cadence.SEASONAL.value, cadence_changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def cadence_counts(session: Session) -> dict[str, int]:
    """How many contacts (merged ones left out) are on each cadence: one pass over contacts."""
    counts = {c.value: 0 for c in Cadence}
    rows = session.execute(
        select(Contact.cadence, func.count())
        .where(Contact.merged_into_id.is_(None))
        .group_by(Contact.cadence)
    )
    for cadence, count in rows:
        counts[cadence] = count
    return counts
