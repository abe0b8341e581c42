"""What a recipient does with a mail: opens (pixel), clicks (signed redirect), unsubscribes.

Each hit becomes an engagement event (mail_opened, mail_clicked, mail_unsubscribed)
carrying the campaign and send, so the signals stage scores it like any imported event.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from mezame.compliance.service import (
    SendContext,
    event_key,
    record_events,
    send_context,
    unsubscribe_send,
)
from mezame.mail.links import LinkSigner
from mezame.mail.opens import is_machine_open
from mezame.models import CampaignSend
from mezame.vocabulary import EventType


@dataclass(frozen=True)
class Click:
    target: str
    send: SendContext | None


def _event(kind: EventType, send: SendContext, at: datetime, **extra: object) -> dict[str, object]:
    return {
        # Every hit counts (total opens and clicks); unique counts come from distinct sends.
        "dedupe_key": event_key(kind.value, send.send_id, at.isoformat(), secrets.token_hex(8)),
        "type": kind.value,
        "occurred_at": at,
        "contact_id": send.contact_id,
        "campaign": send.campaign_name[:200],
        "url": extra.pop("url", None),
        "payload": {"campaign_id": send.campaign_id, "send_id": send.send_id, **extra},
    }


def record_click(
    session: Session, *, signer: LinkSigner, token: str, at: datetime, user_agent: str = ""
) -> Click | None:
    """The target of a signed click token (None when the signature is wrong), and the event."""
    decoded = signer.read_click(token)
    if decoded is None:
        return None
    send_id, target = decoded
    send = send_context(session, send_id)
    if send is not None:
        record_events(
            session,
            [
                _event(
                    EventType.MAIL_CLICKED, send, at, url=target[:2000], user_agent=user_agent[:200]
                )
            ],
        )
        # A click proves the mail was read even when its images were blocked.
        session.execute(
            update(CampaignSend)
            .where(CampaignSend.id == send_id)
            .values(
                clicks=CampaignSend.clicks + 1,
                clicked_at=func.coalesce(CampaignSend.clicked_at, at),
                opened_at=func.coalesce(CampaignSend.opened_at, at),
                human_opened_at=func.coalesce(CampaignSend.human_opened_at, at),
            )
        )
    return Click(target=target, send=send)


def record_open(
    session: Session, *, signer: LinkSigner, token: str, at: datetime, user_agent: str = ""
) -> bool:
    """An open pixel hit; False when the token is not ours."""
    send_id = signer.read_send_token("open", token)
    if send_id is None:
        return False
    send = send_context(session, send_id)
    if send is not None:
        since_send = (at - send.sent_at).total_seconds() if send.sent_at is not None else None
        machine = is_machine_open(user_agent, seconds_after_send=since_send)
        record_events(
            session,
            [_event(EventType.MAIL_OPENED, send, at, user_agent=user_agent[:200], machine=machine)],
        )
        session.execute(
            update(CampaignSend)
            .where(CampaignSend.id == send_id)
            .values(
                opens=CampaignSend.opens + 1,
                machine_opens=CampaignSend.machine_opens + int(machine),
                opened_at=func.coalesce(CampaignSend.opened_at, at),
                human_opened_at=CampaignSend.human_opened_at
                if machine
                else func.coalesce(CampaignSend.human_opened_at, at),
            )
        )
    return True


@dataclass(frozen=True)
class UnsubscribeTarget:
    send_id: int
    email: str | None
    campaign_name: str


def unsubscribe_target(
    session: Session, *, signer: LinkSigner, token: str
) -> UnsubscribeTarget | None:
    """Whom an unsubscribe token is for (the confirmation page shows it); None if not ours."""
    send_id = signer.read_send_token("unsubscribe", token)
    if send_id is None:
        return None
    send = send_context(session, send_id)
    if send is None:
        return None
    return UnsubscribeTarget(send_id=send_id, email=send.email, campaign_name=send.campaign_name)


def unsubscribe(
    session: Session, *, signer: LinkSigner, token: str, source: str, at: datetime
) -> UnsubscribeTarget | None:
    """Unsubscribe the address behind the token at once; repeating it changes nothing."""
    target = unsubscribe_target(session, signer=signer, token=token)
    if target is not None:
        unsubscribe_send(session, send_id=target.send_id, source=source, at=at)
    return target


def mask_address(email: str | None) -> str:
    """s***@example.jp: enough for the recipient to recognise, little for a link scanner."""
    if not email or "@" not in email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
