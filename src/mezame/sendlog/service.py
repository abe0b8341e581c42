"""The send log as the sender sees it: the campaign lease, claims, marks and outcomes.

Every method is one short transaction (or a part of the committer's one): the commit is
the sender's checkpoint, so this is the one service below the shells that commits.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from mezame.adapters.smtp import Delivery, DeliveryResult
from mezame.bounces.service import soft_bounce_limit_reached
from mezame.cadence.rules import RestraintFacts, restraint_reason
from mezame.cadence.service import send_time_columns
from mezame.campaigns.status import CampaignStatus, SendStatus, retry_delay_seconds
from mezame.compliance.service import (
    event_key,
    mailable_rules,
    normalised_email,
    record_events,
    refusal_reason,
    suppress,
)
from mezame.errors import InvalidInputError
from mezame.mail.bounces import BounceKind, classify_smtp_reply
from mezame.mail.compliance import SuppressionReason, normalise_address
from mezame.models import Campaign, CampaignSend, Company, Contact, Suppression, UTCDateTime
from mezame.recipients.service import merge_values, with_merge_fields
from mezame.scheduling.service import sequence_continues
from mezame.sending.compose import Recipient
from mezame.sending.options import SendOptions, SendReport
from mezame.vocabulary import EventType


def campaigns_to_resume(session: Session, *, now: datetime, options: SendOptions) -> list[int]:
    """Campaigns that are `sending`, have due rows, and no sender alive to send them."""
    due = (
        select(CampaignSend.id)
        .where(
            CampaignSend.campaign_id == Campaign.id,
            CampaignSend.status.in_([SendStatus.PENDING.value, SendStatus.CLAIMED.value]),
            or_(CampaignSend.next_attempt_at.is_(None), CampaignSend.next_attempt_at <= now),
        )
        .exists()
    )
    candidates = session.execute(
        select(Campaign.id, Campaign.sender_run, Campaign.sender_heartbeat_at).where(
            Campaign.status == CampaignStatus.SENDING.value, due
        )
    ).all()
    return [
        campaign_id
        for campaign_id, holder, heartbeat in candidates
        if not holder or not _holder_alive(holder, heartbeat, now, options.stale_after_seconds)
    ]


SENDER_CACHE_KIB = 16_000


class CampaignBusy(InvalidInputError):
    """Another live sender run holds the campaign."""


def _this_host() -> str:
    return socket.gethostname()


def new_run_id() -> str:
    return f"{_this_host()}:{os.getpid()}:{secrets.token_hex(4)}"


def _holder_alive(holder: str, heartbeat: datetime | None, now: datetime, stale: float) -> bool:
    """A run on this host is alive while its process is; elsewhere, while it heartbeats."""
    if heartbeat is None or (now - heartbeat).total_seconds() > stale:
        return False
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host == _this_host() and pid_text.isdigit():
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


def acquire_campaign(
    session: Session, *, campaign_id: int, run_id: str, now: datetime, options: SendOptions
) -> tuple[int, int]:
    """Take the campaign's lease and recover what a dead run left: (released, unknown)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise InvalidInputError(f"campaign {campaign_id} does not exist")
    status = CampaignStatus(campaign.status)
    if status in (CampaignStatus.STOPPED,):
        raise InvalidInputError(f"campaign {campaign_id} is stopped")
    holder = campaign.sender_run
    stale = options.stale_after_seconds
    if (
        holder
        and holder != run_id
        and _holder_alive(holder, campaign.sender_heartbeat_at, now, stale)
    ):
        raise CampaignBusy(f"campaign {campaign_id} is being sent by {holder}")
    taken = session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.sender_run.is_(None) if holder is None else Campaign.sender_run == holder,
        )
        .values(
            sender_run=run_id,
            sender_heartbeat_at=now,
            status=CampaignStatus.SENDING.value,
            started_at=func.coalesce(Campaign.started_at, now),
            finished_at=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise CampaignBusy(f"campaign {campaign_id} was taken by another sender just now")
    unknown = session.execute(
        update(CampaignSend)
        .where(
            CampaignSend.campaign_id == campaign_id,
            CampaignSend.status == SendStatus.SENDING.value,
        )
        .values(
            status=SendStatus.UNKNOWN.value,
            detail="the sender stopped during the SMTP conversation: check the relay's log",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    released = session.execute(
        update(CampaignSend)
        .where(
            CampaignSend.campaign_id == campaign_id,
            CampaignSend.status == SendStatus.CLAIMED.value,
        )
        .values(status=SendStatus.PENDING.value, claimed_by=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return released, unknown


# The committer's statements, built once: it runs them dozens of times a second, and
# building a statement costs more than SQLite takes to run it.
_SENDS: Table = CampaignSend.__table__  # type: ignore[assignment]
_SUPPRESSIONS: Table = Suppression.__table__  # type: ignore[assignment]
_MARK_SENDING = (
    update(_SENDS)
    .where(
        _SENDS.c.id.in_(bindparam("ids", expanding=True)),
        _SENDS.c.status == SendStatus.CLAIMED.value,
        _SENDS.c.claimed_by == bindparam("run_id"),
        # The last suppression check, in the statement that lets the bodies go.
        ~exists().where(_SUPPRESSIONS.c.email == normalised_email(_SENDS.c.email)),
    )
    .values(status=SendStatus.SENDING.value)
    .returning(_SENDS.c.id)
)
_RECORD_OUTCOME = (
    update(_SENDS)
    .where(
        _SENDS.c.id == bindparam("row_id"),
        or_(
            _SENDS.c.status == SendStatus.CLAIMED.value,
            _SENDS.c.status == SendStatus.SENDING.value,
        ),
    )
    .values(
        status=bindparam("status"),
        detail=bindparam("detail"),
        sent_at=bindparam("sent_at", type_=_SENDS.c.sent_at.type),
        bounced_at=func.coalesce(
            _SENDS.c.bounced_at, bindparam("bounced_at", type_=_SENDS.c.bounced_at.type)
        ),
        next_attempt_at=bindparam("next_attempt_at", type_=_SENDS.c.next_attempt_at.type),
        attempts=bindparam("attempts"),
        claimed_by=None,
    )
)


@dataclass
class Outcome:
    recipient: Recipient
    delivery: Delivery


# Outcomes that mean the server saw the message (an attempt is used up).
ATTEMPTED = frozenset(
    {
        DeliveryResult.ACCEPTED,
        DeliveryResult.TEMPORARY,
        DeliveryResult.PERMANENT,
        DeliveryResult.UNKNOWN,
    }
)


@dataclass
class SendLog:
    """The sender's reads and writes, each in its own short transaction."""

    engine: Engine
    campaign_id: int
    campaign_name: str
    run_id: str
    options: SendOptions
    positions: dict[int, int]  # step id → position, for event payloads
    _writer: Connection | None = field(default=None, init=False, repr=False)

    def session(self) -> Session:
        session = Session(self.engine, expire_on_commit=False)
        self._small_cache(session.connection())
        return session

    def writer_session(self) -> Session:
        """The committer's session: on one connection kept for the run, because a group
        commit runs dozens of times a second and a pool checkout each time adds up."""
        writer = self._writer
        if writer is None or writer.closed or writer.invalidated:
            writer = self._writer = self.engine.connect()
            self._small_cache(writer)
            writer.commit()  # each flush begins and commits its own transaction
        return Session(bind=writer, expire_on_commit=False)

    def _small_cache(self, connection: Connection) -> None:
        if self.engine.dialect.name != "sqlite":
            return
        if connection.info.get("mezame_cache_kib") != SENDER_CACHE_KIB:
            # The sender reads each row once: a page cache that grows with the database
            # (up to db.py's 200 MB) would make its memory grow with the audience.
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SENDER_CACHE_KIB}")
            connection.info["mezame_cache_kib"] = SENDER_CACHE_KIB

    def claim_page(self, *, after: int, now: datetime) -> tuple[list[Recipient], int, int]:
        """The next due pending rows after `after`, checked again and claimed.

        Returns (claimed, how many were skipped, the last id scanned: 0 at the end).
        """
        cadence = self.options.cadence
        restraint = send_time_columns(self.campaign_id, now=now, policy=cadence) if cadence else []
        with self.session() as session:
            rules = mailable_rules(session, as_of=now.date())
            flags = rules.clauses()
            rows = session.execute(
                with_merge_fields(
                    select(
                        CampaignSend.id,
                        CampaignSend.step_id,
                        CampaignSend.contact_id,
                        CampaignSend.attempts,
                        Contact.email,
                        Contact.name,
                        Contact.department,
                        Contact.title,
                        Company.name.label("company_name"),
                        *flags.values(),
                        *restraint,
                    )
                    .join(Contact, Contact.id == CampaignSend.contact_id)
                    .outerjoin(Company, Company.id == Contact.company_id)
                )
                .where(
                    CampaignSend.campaign_id == self.campaign_id,
                    CampaignSend.status == SendStatus.PENDING.value,
                    CampaignSend.id > after,
                    or_(
                        CampaignSend.next_attempt_at.is_(None), CampaignSend.next_attempt_at <= now
                    ),
                )
                .order_by(CampaignSend.id)
                .limit(self.options.page_size)
            ).all()
            if not rows:
                return [], 0, 0
            refused: list[dict[str, Any]] = []
            chosen: list[Recipient] = []
            for r in rows:
                reason = refusal_reason(
                    has_address=bool(r.has_address),
                    suppressed=bool(r.suppressed),
                    consented=bool(r.consented),
                )
                if reason is None and cadence is not None:
                    # Another campaign may have mailed them since the audience was frozen.
                    facts = RestraintFacts(
                        cadence=r.cadence,
                        first_mail=self.positions.get(r.step_id) == 1,
                        last_other_mail=r.last_other_mail,
                        mails_in_window=r.mails_in_window,
                    )
                    reason = restraint_reason(cadence, facts, at=now)
                if reason is not None:
                    refused.append({"row_id": r.id, "detail": reason})
                    continue
                chosen.append(
                    Recipient(
                        send_id=r.id,
                        step_id=r.step_id,
                        contact_id=r.contact_id,
                        attempts=r.attempts,
                        email=r.email.strip(),
                        name=r.name,
                        department=r.department,
                        title=r.title,
                        company_name=r.company_name,
                        **merge_values(r),
                    )
                )
            if refused:
                session.execute(
                    update(CampaignSend.__table__)
                    .where(
                        CampaignSend.__table__.c.id == bindparam("row_id"),
                        CampaignSend.__table__.c.status == SendStatus.PENDING.value,
                    )
                    .values(status=SendStatus.SKIPPED.value, detail=bindparam("detail")),
                    refused,
                )
            if chosen:
                session.execute(
                    update(CampaignSend.__table__)
                    .where(
                        CampaignSend.__table__.c.id == bindparam("row_id"),
                        CampaignSend.__table__.c.status == SendStatus.PENDING.value,
                    )
                    .values(
                        status=SendStatus.CLAIMED.value,
                        claimed_by=self.run_id,
                        claimed_at=now,
                        email=bindparam("email"),
                    ),
                    [{"row_id": r.send_id, "email": r.email} for r in chosen],
                )
            session.commit()
        return chosen, len(refused), rows[-1].id

    def defer(self, until: datetime) -> int:
        """Outside the send window: the campaign's pending rows wait until it opens."""
        with self.session() as session:
            moved = session.execute(
                update(CampaignSend)
                .where(
                    CampaignSend.campaign_id == self.campaign_id,
                    CampaignSend.status == SendStatus.PENDING.value,
                    or_(
                        CampaignSend.next_attempt_at.is_(None),
                        CampaignSend.next_attempt_at < until,
                    ),
                )
                .values(next_attempt_at=until)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
        return moved

    def next_retry_at(self) -> datetime | None:
        with self.session() as session:
            return session.scalar(
                select(func.min(CampaignSend.next_attempt_at)).where(
                    CampaignSend.campaign_id == self.campaign_id,
                    CampaignSend.status == SendStatus.PENDING.value,
                )
            )

    def has_pending(self) -> bool:
        with self.session() as session:
            return (
                session.scalar(
                    select(CampaignSend.id)
                    .where(
                        CampaignSend.campaign_id == self.campaign_id,
                        CampaignSend.status.in_(
                            [SendStatus.PENDING.value, SendStatus.CLAIMED.value]
                        ),
                    )
                    .limit(1)
                )
                is not None
            )

    def mark_sending(
        self, session: Session, recipients: list[Recipient], suppressed_now: set[int]
    ) -> set[int]:
        """Mark rows `sending`, except those whose address was suppressed a moment ago
        (added to `suppressed_now`): the last check, in the statement that lets bodies go."""
        ids = [r.send_id for r in recipients]
        allowed = set(session.scalars(_MARK_SENDING, {"ids": ids, "run_id": self.run_id}))
        suppressed_now.update(i for i in ids if i not in allowed)
        return allowed

    def record_outcomes(
        self,
        session: Session,
        outcomes: list[Outcome],
        now: datetime,
        report: SendReport,
        suppressed_now: set[int],
    ) -> None:
        """What each conversation ended with: sent, retry later, failed, unknown, skipped."""
        options = self.options
        updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        gave_up: list[Recipient] = []  # soft refusals through every attempt
        for outcome in outcomes:
            r, d = outcome.recipient, outcome.delivery
            detail = (f"{d.code} {d.reply}" if d.code else d.reply).strip()[:500]
            attempts = r.attempts + (1 if d.result in ATTEMPTED else 0)
            row: dict[str, Any] = {
                "row_id": r.send_id,
                "detail": detail or None,
                "sent_at": None,
                "bounced_at": None,
                "next_attempt_at": None,
                "attempts": attempts,
            }
            kind: BounceKind | None = None
            if d.result is DeliveryResult.ACCEPTED:
                row["status"] = SendStatus.SENT.value
                row["sent_at"] = now
                report.sent += 1
                events.append(self._event(EventType.MAIL_SENT, r, now, (r.send_id,), {}))
            elif d.result is DeliveryResult.UNKNOWN:
                row["status"] = SendStatus.UNKNOWN.value
                report.unknown += 1
            elif d.result is DeliveryResult.ABANDONED and r.send_id in suppressed_now:
                suppressed_now.discard(r.send_id)
                row["status"] = SendStatus.SKIPPED.value
                row["detail"] = "suppressed"
                report.skipped += 1
            elif d.result in (DeliveryResult.ABANDONED, DeliveryResult.CONNECTION):
                row["status"] = SendStatus.PENDING.value  # nothing left: send it again, no delay
            elif d.result is DeliveryResult.TEMPORARY:
                if attempts >= options.max_attempts:
                    row["status"] = SendStatus.FAILED.value
                    row["detail"] = f"gave up after {attempts} attempts: {detail}"[:500]
                    report.failed += 1
                    kind = classify_smtp_reply(d.code or 450, d.reply)
                else:
                    row["status"] = SendStatus.PENDING.value
                    delay = retry_delay_seconds(attempts, base_seconds=options.retry_base_seconds)
                    row["next_attempt_at"] = now + timedelta(seconds=delay)
                    report.retried += 1
            else:  # PERMANENT
                row["status"] = SendStatus.FAILED.value
                report.failed += 1
                kind = classify_smtp_reply(d.code or 550, d.reply)
                if kind is BounceKind.HARD:
                    suppress(
                        session,
                        email=r.email,
                        reason=SuppressionReason.HARD_BOUNCE,
                        source="smtp",
                        contact_id=r.contact_id,
                        send_id=r.send_id,
                        detail=detail,
                    )
            if kind is not None:
                # Refused by the receiving side during the conversation: as undelivered as a
                # DSN after acceptance, so 不達率 counts it too.
                row["bounced_at"] = now
                payload = {
                    "kind": kind.value,
                    "status": d.code,
                    "diagnostic": d.reply[:300],
                    "source": "smtp",
                    "address": normalise_address(r.email),
                }
                key = ("smtp", r.send_id, attempts)
                events.append(self._event(EventType.MAIL_BOUNCED, r, now, key, payload))
            updates.append(row)
            if kind is BounceKind.SOFT and row["status"] == SendStatus.FAILED.value:
                gave_up.append(r)
        session.execute(_RECORD_OUTCOME, updates)
        record_events(session, events)
        for r in gave_up:  # rare: a refusal kept up through every attempt
            address = normalise_address(r.email)
            if soft_bounce_limit_reached(
                session, address=address, contact_ids=[r.contact_id], at=now
            ):
                suppress(
                    session,
                    email=address,
                    reason=SuppressionReason.SOFT_BOUNCES,
                    source="smtp",
                    contact_id=r.contact_id,
                    send_id=r.send_id,
                )

    def record_failures(
        self, session: Session, failures: list[tuple[Recipient, str]], report: SendReport
    ) -> None:
        """Rows whose message could not even be built (template or address problems)."""
        table = CampaignSend.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.status == SendStatus.CLAIMED.value)
            .values(status=SendStatus.FAILED.value, detail=bindparam("detail"), claimed_by=None),
            [{"row_id": r.send_id, "detail": detail[:500]} for r, detail in failures],
        )
        report.failed += len(failures)

    def _event(
        self,
        kind: EventType,
        r: Recipient,
        now: datetime,
        key: tuple[object, ...],
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "dedupe_key": event_key(kind.value, *key),
            "type": kind.value,
            "occurred_at": now,
            "contact_id": r.contact_id,
            "visitor_id": None,
            "campaign": self.campaign_name[:200],
            "url": None,
            "document": None,
            "webinar": None,
            "watch_seconds": None,
            "payload": {
                "campaign_id": self.campaign_id,
                "send_id": r.send_id,
                "step": self.positions.get(r.step_id),
                **extra,
            },
        }

    def heartbeat(self, session: Session, now: datetime) -> None:
        session.execute(
            update(Campaign)
            .where(Campaign.id == self.campaign_id, Campaign.sender_run == self.run_id)
            .values(sender_heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )

    def campaign_status(self, session: Session) -> str | None:
        return session.scalar(select(Campaign.status).where(Campaign.id == self.campaign_id))

    def release(self, report: SendReport, now: datetime) -> None:
        """Hand back what this run still holds, settle the campaign's status, drop the lease."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        with self.session() as session:
            session.execute(
                update(CampaignSend)
                .where(
                    CampaignSend.campaign_id == self.campaign_id,
                    CampaignSend.status == SendStatus.CLAIMED.value,
                    CampaignSend.claimed_by == self.run_id,
                )
                .values(
                    status=SendStatus.PENDING.value,
                    claimed_by=None,
                    # Left in the queue when the send window closed: they wait for it.
                    next_attempt_at=func.coalesce(
                        literal(report.waiting_until, UTCDateTime()), CampaignSend.next_attempt_at
                    ),
                )
                .execution_options(synchronize_session=False)
            )
            campaign = session.get(Campaign, self.campaign_id)
            assert campaign is not None
            if campaign.status == CampaignStatus.STOPPED.value:
                session.execute(
                    update(CampaignSend)
                    .where(
                        CampaignSend.campaign_id == self.campaign_id,
                        CampaignSend.status == SendStatus.PENDING.value,
                    )
                    .values(status=SendStatus.CANCELLED.value, detail="campaign stopped")
                    .execution_options(synchronize_session=False)
                )
            remaining = session.scalar(
                select(func.count()).where(
                    CampaignSend.campaign_id == self.campaign_id,
                    CampaignSend.status.in_([SendStatus.PENDING.value, SendStatus.CLAIMED.value]),
                )
            )
            report.remaining = int(remaining or 0)
            if campaign.sender_run == self.run_id:
                campaign.sender_run = None
                campaign.sender_heartbeat_at = None
                if (
                    campaign.status == CampaignStatus.SENDING.value
                    and report.remaining == 0
                    and not sequence_continues(session, campaign)
                ):
                    campaign.status = CampaignStatus.FINISHED.value
                    campaign.finished_at = now
            report.status = campaign.status
            session.commit()
