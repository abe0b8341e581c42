"""Bounce intake: DSNs and complaints from a mailbox or a webhook, and mailto unsubscribes.

Hard bounces and complaints suppress the address at once. A soft bounce sends the mail
again later, until the address has collected the policy's number of soft bounces in
its window, then it is suppressed too. Every report is recorded as a mail_bounced event
keyed by the report, so reading the same mailbox twice changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.header import decode_header, make_header

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mezame.campaigns.status import CampaignStatus, SendStatus
from mezame.compliance.service import (
    contacts_with_address,
    event_key,
    record_events,
    suppress,
    unsubscribe_send,
)
from mezame.mail.bounces import BounceKind, BounceReport, FailedRecipient, parse_bounce
from mezame.mail.compliance import BouncePolicy, SuppressionReason, normalise_address
from mezame.mail.links import LinkSigner
from mezame.models import Campaign, CampaignSend, EngagementEvent
from mezame.policy.service import load_policy
from mezame.vocabulary import EventType

_UNSUBSCRIBE_SUBJECT = re.compile(r"unsubscribe-([A-Za-z0-9_-]{20,40})")


@dataclass
class IntakeReport:
    messages: int = 0
    hard: int = 0
    soft: int = 0
    complaints: int = 0
    suppressed: int = 0
    resent: int = 0
    unsubscribed: int = 0
    duplicates: int = 0
    not_bounces: int = 0

    def add(self, other: IntakeReport) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _send_for(
    session: Session, signer: LinkSigner, message_ids: tuple[str, ...], address: str
) -> CampaignSend | None:
    """The send a report quotes (its Message-ID token), if it went to this address."""
    for message_id in message_ids:
        send_id = signer.read_send_token("message", message_id.partition("@")[0])
        if send_id is None:
            continue
        send = session.get(CampaignSend, send_id)
        if send is not None and normalise_address(send.email or "") == address:
            return send
    return None


def apply_failure(
    session: Session,
    *,
    failure: FailedRecipient,
    report_key: str,
    message_ids: tuple[str, ...],
    signer: LinkSigner,
    source: str,
    at: datetime,
) -> IntakeReport:
    """Record one failed recipient and act on it (suppress, or send again later)."""
    out = IntakeReport()
    address = normalise_address(failure.address)
    send = _send_for(session, signer, message_ids, address)
    contact_ids = [send.contact_id] if send is not None else contacts_with_address(session, address)
    key = event_key("bounce", report_key, address)
    if session.scalar(select(EngagementEvent.id).where(EngagementEvent.dedupe_key == key)):
        out.duplicates += 1
        return out
    campaign_name = (
        session.scalar(select(Campaign.name).where(Campaign.id == send.campaign_id))
        if send is not None
        else None
    )
    record_events(
        session,
        [
            {
                "dedupe_key": key if i == 0 else event_key("bounce", report_key, address, cid),
                "type": EventType.MAIL_BOUNCED.value,
                "occurred_at": at,
                "contact_id": cid,
                "campaign": campaign_name,
                "payload": {
                    "kind": failure.kind.value,
                    "status": failure.status,
                    "diagnostic": failure.diagnostic,
                    "send_id": send.id if send is not None else None,
                    "campaign_id": send.campaign_id if send is not None else None,
                    "source": source,
                    "address": address,
                },
            }
            for i, cid in enumerate(contact_ids or [None])
        ],
    )
    if failure.kind is BounceKind.HARD:
        out.hard += 1
        reason: SuppressionReason | None = SuppressionReason.HARD_BOUNCE
    elif failure.kind is BounceKind.COMPLAINT:
        out.complaints += 1
        reason = SuppressionReason.COMPLAINT
    else:
        out.soft += 1
        reason, resent = _soft_bounce(
            session, address=address, contact_ids=contact_ids, send=send, at=at
        )
        out.resent += int(resent)
    # Undelivered for good (a soft bounce sent again is not, yet): what 不達率 counts.
    if send is not None and failure.kind is not BounceKind.COMPLAINT and not out.resent:
        send.bounced_at = send.bounced_at or at
    if reason is not None and suppress(
        session,
        email=address,
        reason=reason,
        source=source,
        contact_id=contact_ids[0] if contact_ids else None,
        send_id=send.id if send is not None else None,
        detail=" ".join(filter(None, [failure.status, failure.diagnostic]))[:500] or None,
    ):
        out.suppressed += 1
    return out


def soft_bounce_limit_reached(
    session: Session, *, address: str, contact_ids: list[int], at: datetime
) -> bool:
    """Whether the address's soft bounces (DSNs and refusals the sender gave up on, this one
    recorded already) reached the policy's limit within its window."""
    rules = load_policy(session, BouncePolicy)
    since = at - timedelta(days=rules.soft_bounce_window_days)
    payloads = session.scalars(
        select(EngagementEvent.payload).where(
            EngagementEvent.type == EventType.MAIL_BOUNCED.value,
            EngagementEvent.occurred_at >= since,
            EngagementEvent.contact_id.in_(contact_ids)
            if contact_ids
            else EngagementEvent.contact_id.is_(None),
        )
    )
    soft = sum(
        1
        for p in payloads
        if p and p.get("kind") == BounceKind.SOFT.value and p.get("address") == address
    )
    return soft >= rules.soft_bounce_limit


def _soft_bounce(
    session: Session,
    *,
    address: str,
    contact_ids: list[int],
    send: CampaignSend | None,
    at: datetime,
) -> tuple[SuppressionReason | None, bool]:
    """Suppress after N soft bounces in the window; else put the send back in the queue.

    Returns (the suppression reason or None, whether the send was queued again).
    """
    rules = load_policy(session, BouncePolicy)
    if soft_bounce_limit_reached(session, address=address, contact_ids=contact_ids, at=at):
        return SuppressionReason.SOFT_BOUNCES, False
    if send is not None and send.status == SendStatus.SENT.value:
        send.status = SendStatus.PENDING.value
        send.next_attempt_at = at + timedelta(hours=rules.soft_bounce_retry_hours)
        send.detail = "soft bounce: sent again later"
        session.execute(
            update(Campaign)
            .where(
                Campaign.id == send.campaign_id,
                Campaign.status == CampaignStatus.FINISHED.value,
            )
            .values(status=CampaignStatus.SENDING.value, finished_at=None)
        )
        session.flush()
        return None, True
    return None, False


def _subject(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.compat32)
    try:
        return str(make_header(decode_header(str(message.get("Subject", "")))))
    except (UnicodeDecodeError, LookupError, ValueError):
        return str(message.get("Subject", ""))


def process_message(
    session: Session, raw: bytes, *, signer: LinkSigner, source: str, at: datetime
) -> IntakeReport:
    """One message from the bounce mailbox: a bounce, a complaint, or a mailto unsubscribe."""
    out = IntakeReport(messages=1)
    report: BounceReport | None = parse_bounce(raw)
    if report is None:
        match = _UNSUBSCRIBE_SUBJECT.search(_subject(raw))
        send_id = signer.read_send_token("unsubscribe", match.group(1)) if match else None
        if send_id is not None:
            if unsubscribe_send(session, send_id=send_id, source="mailto", at=at):
                out.unsubscribed += 1
        else:
            out.not_bounces += 1
        return out
    report_key = report.report_message_id or hashlib.blake2b(raw, digest_size=16).hexdigest()
    for failure in report.recipients:
        out.add(
            apply_failure(
                session,
                failure=failure,
                report_key=report_key,
                message_ids=report.original_message_ids,
                signer=signer,
                source=source,
                at=at,
            )
        )
    return out
