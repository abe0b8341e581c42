"""Consent and suppression in SQL: who may be mailed now, and putting an address on the list.

`mailable_clauses` is the one definition of "may be mailed" the audience query and the
sender's send-time check both use; tests pin it to the pure `consent_verdict`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import KeyedColumnElement

from mezame.customers.activity.service import note_activity
from mezame.ingest.service import dialect_insert
from mezame.mail.compliance import (
    ConsentCutoffs,
    ConsentPolicy,
    SuppressionReason,
    consent_cutoffs,
    normalise_address,
)
from mezame.models import (
    Campaign,
    CampaignSend,
    ConsentRecord,
    Contact,
    EngagementEvent,
    Order,
    Suppression,
)
from mezame.policy.service import load_policy
from mezame.vocabulary import ConsentBasis, EventType


def _start_of(day: date) -> datetime:
    return datetime.combine(max(day, date(1900, 1, 1)), time.min, tzinfo=UTC)


def normalised_email(column: Any) -> ColumnElement[str]:
    """lower(trim(email)): the form the suppression list is keyed by."""
    return func.lower(func.trim(column))


def suppressed_clause(contact: Any = Contact) -> ColumnElement[bool]:
    """True when the contact's address is on the suppression list."""
    return (
        exists()
        .where(Suppression.email == normalised_email(contact.email))
        .correlate_except(Suppression)
    )


def consent_clause(cutoffs: ConsentCutoffs, contact: Any = Contact) -> ColumnElement[bool]:
    """True when a live e-mail consent record counts under the policy (see consent_verdict)."""
    bases: list[ColumnElement[bool]] = [ConsentRecord.basis == ConsentBasis.OPT_IN.value]
    if cutoffs.business_card is not None:
        bases.append(
            and_(
                ConsentRecord.basis == ConsentBasis.BUSINESS_CARD.value,
                ConsentRecord.obtained_at >= _start_of(cutoffs.business_card),
            )
        )
    if cutoffs.existing_transaction is not None:
        cut = cutoffs.existing_transaction
        recent_order = (
            exists()
            .where(
                Order.company_id == contact.company_id,
                or_(
                    Order.ordered_on >= cut,
                    and_(Order.cancelled_on.is_(None), Order.contract_end >= cut),
                    Order.cancelled_on >= cut,
                ),
            )
            .correlate_except(Order)
        )
        bases.append(
            and_(
                ConsentRecord.basis == ConsentBasis.EXISTING_TRANSACTION.value,
                or_(ConsentRecord.obtained_at >= _start_of(cut), recent_order),
            )
        )
    return (
        exists()
        .where(
            ConsentRecord.contact_id == contact.id,
            ConsentRecord.channel == "email",
            ConsentRecord.withdrawn_at.is_(None),
            or_(*bases),
        )
        .correlate_except(ConsentRecord)
    )


def has_address_clause(contact: Any = Contact) -> ColumnElement[bool]:
    return and_(contact.email.is_not(None), func.trim(contact.email) != "")


@dataclass(frozen=True)
class MailableRules:
    """The policy resolved for today, ready to put into queries."""

    cutoffs: ConsentCutoffs

    def clauses(self, contact: Any = Contact) -> dict[str, KeyedColumnElement[bool]]:
        """Labelled boolean columns: has_address, suppressed, consented."""
        return {
            "has_address": has_address_clause(contact).label("has_address"),
            "suppressed": suppressed_clause(contact).label("suppressed"),
            "consented": consent_clause(self.cutoffs, contact).label("consented"),
        }

    def mailable(self, contact: Any = Contact) -> ColumnElement[bool]:
        return and_(
            has_address_clause(contact),
            ~suppressed_clause(contact),
            consent_clause(self.cutoffs, contact),
        )


def mailable_rules(session: Session, *, as_of: date) -> MailableRules:
    return MailableRules(consent_cutoffs(load_policy(session, ConsentPolicy), as_of=as_of))


def refusal_reason(*, has_address: bool, suppressed: bool, consented: bool) -> str | None:
    """Why a contact may not be mailed (None when it may): the send log's wording."""
    if not has_address:
        return "no email address"
    if suppressed:
        return "suppressed"
    if not consented:
        return "no consent"
    return None


def event_key(*parts: object) -> bytes:
    """A 16-byte dedupe key for an event mezame itself records (same scheme as imports)."""
    text = "\x1f".join(str(p) for p in ("mezame", *parts))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


# Per backend, built once: the sender records events in every group commit.
_EVENT_INSERTS: dict[str, Any] = {}


def record_events(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Insert engagement events, skipping those whose dedupe key is already stored."""
    batch = list(rows)
    if batch:
        backend = session.get_bind().dialect.name
        stmt = _EVENT_INSERTS.get(backend)
        if stmt is None:
            stmt = _EVENT_INSERTS[backend] = dialect_insert(
                session, EngagementEvent.__table__
            ).on_conflict_do_nothing(index_elements=["dedupe_key"])
        session.execute(stmt, batch)
        note_activity(session, batch)


def suppress(
    session: Session,
    *,
    email: str,
    reason: SuppressionReason,
    source: str,
    contact_id: int | None = None,
    send_id: int | None = None,
    detail: str | None = None,
    user_id: int | None = None,
) -> bool:
    """Put an address on the suppression list; True when it was not on it yet (idempotent)."""
    address = normalise_address(email)
    if "@" not in address:
        raise ValueError(f"not a mail address: {email!r}")
    stmt = (
        dialect_insert(session, Suppression.__table__)
        .values(
            email=address,
            reason=reason.value,
            contact_id=contact_id,
            send_id=send_id,
            source=source,
            detail=detail,
            created_at=datetime.now(UTC),
            created_by_id=user_id,
        )
        .on_conflict_do_nothing(index_elements=["email"])
    )
    return bool(session.execute(stmt).rowcount)


def suppressed_addresses(session: Session, emails: Iterable[str]) -> set[str]:
    """Which of these addresses (normalised) are on the suppression list."""
    wanted = {normalise_address(e) for e in emails}
    if not wanted:
        return set()
    return set(session.scalars(select(Suppression.email).where(Suppression.email.in_(wanted))))


def contacts_with_address(session: Session, email: str) -> list[int]:
    return list(
        session.scalars(
            select(Contact.id).where(normalised_email(Contact.email) == normalise_address(email))
        )
    )


@dataclass(frozen=True)
class SendContext:
    """A send as the public endpoints need it."""

    send_id: int
    contact_id: int
    campaign_id: int
    campaign_name: str
    email: str | None
    sent_at: datetime | None


def send_context(session: Session, send_id: int) -> SendContext | None:
    row = session.execute(
        select(
            CampaignSend.id,
            CampaignSend.contact_id,
            CampaignSend.campaign_id,
            Campaign.name,
            func.coalesce(CampaignSend.email, Contact.email),
            CampaignSend.sent_at,
        )
        .join(Campaign, Campaign.id == CampaignSend.campaign_id)
        .join(Contact, Contact.id == CampaignSend.contact_id)
        .where(CampaignSend.id == send_id)
    ).first()
    if row is None:
        return None
    return SendContext(row[0], row[1], row[2], row[3], row[4], row[5])


def unsubscribe_send(session: Session, *, send_id: int, source: str, at: datetime) -> bool:
    """Unsubscribe the address a send went to; True when the address was not suppressed yet.

    Safe to repeat: the suppression row and the event are keyed, so a second POST (or a
    one-click POST after the confirmation form) changes nothing.
    """
    context = send_context(session, send_id)
    if context is None or not context.email:
        return False
    session.execute(
        update(CampaignSend)
        .where(CampaignSend.id == send_id, CampaignSend.unsubscribed_at.is_(None))
        .values(unsubscribed_at=at)
    )
    added = suppress(
        session,
        email=context.email,
        reason=SuppressionReason.UNSUBSCRIBED,
        source=source,
        contact_id=context.contact_id,
        send_id=send_id,
    )
    record_events(
        session,
        [
            {
                "dedupe_key": event_key("unsubscribed", send_id),
                "type": EventType.MAIL_UNSUBSCRIBED.value,
                "occurred_at": at,
                "contact_id": context.contact_id,
                "campaign": context.campaign_name,
                "payload": {
                    "campaign_id": context.campaign_id,
                    "send_id": send_id,
                    "source": source,
                },
            }
        ],
    )
    return added
