"""A contact's last activity (contacts.last_seen_at), kept current where events are recorded.

Segments ask "did nothing for 180 days" over a million contacts; answering it from the
event table means grouping tens of millions of rows on every count. Every path that
records a contact's own activity (tracking hits, webhooks, event imports) raises this
column instead, and it is only ever raised: an old event arriving late changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from mezame.models import Contact, EngagementEvent
from mezame.vocabulary import CONTACT_ACTIVITY_EVENTS


def note_activity(session: Session, events: Iterable[Mapping[str, Any]]) -> None:
    """Raise last_seen_at for the contacts of a small batch of event rows (dicts)."""
    newest: dict[int, datetime] = {}
    for event in events:
        contact_id = event.get("contact_id")
        if contact_id is None or event.get("type") not in CONTACT_ACTIVITY_EVENTS:
            continue
        at = event["occurred_at"]
        if contact_id not in newest or newest[contact_id] < at:
            newest[contact_id] = at
    if not newest:
        return
    table = Contact.__table__
    session.execute(
        update(table)
        .where(
            table.c.id == bindparam("contact"),
            or_(table.c.last_seen_at.is_(None), table.c.last_seen_at < bindparam("at")),
        )
        .values(last_seen_at=bindparam("at", type_=table.c.last_seen_at.type)),
        [{"contact": contact_id, "at": at} for contact_id, at in newest.items()],
    )


def note_activity_since(session: Session, *, after_event_id: int) -> None:
    """Raise last_seen_at from every event stored after `after_event_id` (a bulk import)."""
    newest = (
        select(
            EngagementEvent.contact_id.label("contact_id"),
            func.max(EngagementEvent.occurred_at).label("at"),
        )
        .where(
            EngagementEvent.id > after_event_id,
            EngagementEvent.contact_id.is_not(None),
            EngagementEvent.type.in_(CONTACT_ACTIVITY_EVENTS),
        )
        .group_by(EngagementEvent.contact_id)
        .subquery()
    )
    session.execute(
        update(Contact)
        .where(
            Contact.id == newest.c.contact_id,
            or_(Contact.last_seen_at.is_(None), Contact.last_seen_at < newest.c.at),
        )
        .values(last_seen_at=newest.c.at)
        .execution_options(synchronize_session=False)
    )


def last_event_id(session: Session) -> int:
    return session.scalar(select(func.max(EngagementEvent.id))) or 0
