"""Mail endpoints: the bounce/complaint webhook, campaign progress, send, pause and stop."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from mezame.adapters.mail import link_signer
from mezame.api.deps import AdminUser, AnyUser, DbSession, MarketingUser
from mezame.bounces.service import IntakeReport, apply_failure, process_message
from mezame.campaigns import service as campaigns
from mezame.compliance.service import suppress
from mezame.errors import InvalidInputError
from mezame.mail.bounces import BounceKind, FailedRecipient
from mezame.mail.compliance import ConsentPolicy, SuppressionReason
from mezame.models import Suppression
from mezame.policy.service import load_policy, save_policy
from mezame.queue import queue_campaign_send
from mezame.web.i18n import choose_locale, translations

router = APIRouter(tags=["mail"])

MAX_RAW_BOUNCE_BYTES = 2 << 20


class BounceEventIn(BaseModel):
    """One bounce or complaint as an ESP or relay reports it."""

    email: str = Field(max_length=320)
    kind: Literal["hard", "soft", "complaint"]
    status: str | None = Field(default=None, max_length=20, description="e.g. 5.1.1")
    diagnostic: str | None = Field(default=None, max_length=1000)
    message_id: str | None = Field(
        default=None, max_length=300, description="Message-ID of the bounced mail, if known"
    )
    id: str | None = Field(
        default=None, max_length=200, description="The provider's event id (repeats are ignored)"
    )


class BouncesIn(BaseModel):
    events: list[BounceEventIn] = Field(max_length=10_000)


class IntakeOut(BaseModel):
    messages: int
    hard: int
    soft: int
    complaints: int
    suppressed: int
    resent: int
    unsubscribed: int
    duplicates: int
    not_bounces: int


@router.post("/mail/bounces", response_model=IntakeOut)
def bounce_webhook(
    request: Request,
    session: DbSession,
    _user: MarketingUser,
    payload: Annotated[BouncesIn, Body()],
) -> IntakeOut:
    """Bounces and complaints as JSON: hard and complaint suppress, soft counts toward the limit."""
    signer = link_signer(request.app.state.settings)
    now = datetime.now(UTC)
    total = IntakeReport()
    for event in payload.events:
        body = json.dumps(event.model_dump(), sort_keys=True).encode()
        key = event.id or hashlib.blake2b(body, digest_size=16).hexdigest()
        message_ids = (event.message_id.strip("<> "),) if event.message_id else ()
        total.messages += 1
        total.add(
            apply_failure(
                session,
                failure=FailedRecipient(
                    address=event.email,
                    kind=BounceKind(event.kind),
                    status=event.status,
                    diagnostic=event.diagnostic,
                ),
                report_key=f"webhook:{key}",
                message_ids=message_ids,
                signer=signer,
                source="webhook",
                at=now,
            )
        )
    return IntakeOut(**asdict(total))


@router.post("/mail/bounces/raw", response_model=IntakeOut)
async def raw_bounce_webhook(
    request: Request, session: DbSession, _user: MarketingUser
) -> IntakeOut:
    """One bounce message as it arrived (message/rfc822): DSN, feedback report or other."""
    raw = await request.body()
    if not raw or len(raw) > MAX_RAW_BOUNCE_BYTES:
        raise InvalidInputError(
            f"body: expected one mail message up to {MAX_RAW_BOUNCE_BYTES} bytes"
        )
    signer = link_signer(request.app.state.settings)
    report = process_message(session, raw, signer=signer, source="webhook", at=datetime.now(UTC))
    return IntakeOut(**asdict(report))


class UnknownSendOut(BaseModel):
    send_id: int
    email: str | None
    claimed_at: datetime | None
    detail: str | None


class CampaignProgressOut(BaseModel):
    campaign_id: int
    name: str
    status: str
    counts: dict[str, int]
    unknown: list[UnknownSendOut] = Field(
        description="Sends a crash left with an unknown outcome: check the relay before resending"
    )


def _progress(session: DbSession, campaign_id: int) -> CampaignProgressOut:
    p = campaigns.campaign_progress(session, campaign_id=campaign_id)
    return CampaignProgressOut(
        campaign_id=p.campaign_id,
        name=p.name,
        status=p.status,
        counts=dict(p.counts),
        unknown=[UnknownSendOut(**asdict(u)) for u in p.unknown],
    )


@router.get("/campaigns/{campaign_id}/progress", response_model=CampaignProgressOut)
def campaign_progress(campaign_id: int, session: DbSession, _user: AnyUser) -> CampaignProgressOut:
    """Send-log counts by status, and the sends whose outcome is unknown."""
    return _progress(session, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/send",
    status_code=202,
    response_model=CampaignProgressOut,
    responses={409: {"description": "Stopped, finished or recurring: it cannot be sent"}},
)
def send_campaign(
    campaign_id: int, session: DbSession, _user: MarketingUser
) -> CampaignProgressOut:
    """Send now, or resume a paused campaign: the audience is frozen if it is not yet, and
    the worker's `send_campaign` task sends it. Repeating the request does no harm."""
    campaigns.start_sending(session, campaign_id=campaign_id, as_of=datetime.now(UTC))
    # Queued only once the status change is committed, so the worker sees `sending`.
    session.commit()
    queue_campaign_send(campaign_id)
    return _progress(session, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/pause",
    response_model=CampaignProgressOut,
    responses={409: {"description": "Stopped or finished: nothing to pause"}},
)
def pause_campaign(
    campaign_id: int, session: DbSession, _user: MarketingUser
) -> CampaignProgressOut:
    """Pause: the running sender stops within a second or two; `send` resumes it."""
    campaigns.pause_campaign(session, campaign_id=campaign_id)
    return _progress(session, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/stop",
    response_model=CampaignProgressOut,
    responses={409: {"description": "Finished: nothing to stop"}},
)
def stop_campaign(
    campaign_id: int, session: DbSession, _user: MarketingUser
) -> CampaignProgressOut:
    """Stop for good: unsent mails are cancelled."""
    campaigns.stop_campaign(session, campaign_id=campaign_id)
    return _progress(session, campaign_id)


class SuppressionIn(BaseModel):
    email: str = Field(max_length=320, description="The address nothing may mail again")
    detail: str | None = Field(default=None, max_length=500)


class SuppressionOut(BaseModel):
    email: str
    reason: str
    source: str | None
    detail: str | None
    created_at: datetime


@router.get("/mail/suppressions", response_model=list[SuppressionOut])
def list_suppressions(
    session: DbSession,
    _user: MarketingUser,
    q: Annotated[str, Query(max_length=320)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SuppressionOut]:
    """The suppression list, newest first (filtered by part of the address)."""
    query = select(Suppression).order_by(Suppression.id.desc()).limit(limit)
    if q:
        query = query.where(Suppression.email.contains(q.strip().lower(), autoescape=True))
    return [
        SuppressionOut(
            email=r.email,
            reason=r.reason,
            source=r.source,
            detail=r.detail,
            created_at=r.created_at,
        )
        for r in session.scalars(query)
    ]


@router.post("/mail/suppressions", status_code=201, response_model=SuppressionOut)
def add_suppression(body: SuppressionIn, session: DbSession, user: MarketingUser) -> SuppressionOut:
    """Suppress an address by hand (a phone call asking to stop, a known bad address)."""
    try:
        suppress(
            session,
            email=body.email,
            reason=SuppressionReason.MANUAL,
            source="admin",
            detail=body.detail,
            user_id=user.id,
        )
    except ValueError as exc:
        raise InvalidInputError(f"email: {exc}") from exc
    row = session.scalar(select(Suppression).where(Suppression.email == body.email.strip().lower()))
    assert row is not None
    return SuppressionOut(
        email=row.email,
        reason=row.reason,
        source=row.source,
        detail=row.detail,
        created_at=row.created_at,
    )


class ConsentPolicyOut(BaseModel):
    policy: ConsentPolicy
    warnings: list[str] = Field(
        description="Legal risks of the current setting, in the user's language"
    )

    @classmethod
    def of(cls, policy: ConsentPolicy, locale: str) -> ConsentPolicyOut:
        catalogue = translations(choose_locale(locale))
        return cls(policy=policy, warnings=[catalogue.gettext(w) for w in policy.warnings()])


@router.get("/mail/consent-policy", response_model=ConsentPolicyOut)
def get_consent_policy(session: DbSession, user: AnyUser) -> ConsentPolicyOut:
    """Which consent bases count and for how long (特定電子メール法), with warnings."""
    return ConsentPolicyOut.of(load_policy(session, ConsentPolicy), user.locale)


@router.put("/mail/consent-policy", response_model=ConsentPolicyOut)
def put_consent_policy(
    policy: ConsentPolicy, session: DbSession, user: AdminUser
) -> ConsentPolicyOut:
    """Change the consent rules (admin: it is a legal decision of the company)."""
    save_policy(session, policy, user_id=user.id)
    return ConsentPolicyOut.of(policy, user.locale)
