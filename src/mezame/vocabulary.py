"""The closed vocabularies every stage shares: event types, outcomes, kinds, consent bases."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    MAIL_SENT = "mail_sent"
    MAIL_DELIVERED = "mail_delivered"
    MAIL_OPENED = "mail_opened"
    MAIL_CLICKED = "mail_clicked"
    MAIL_BOUNCED = "mail_bounced"
    MAIL_UNSUBSCRIBED = "mail_unsubscribed"
    MAIL_REPLIED = "mail_replied"
    DOCUMENT_DOWNLOAD = "document_download"
    WEBINAR_REGISTERED = "webinar_registered"
    WEBINAR_ATTENDED = "webinar_attended"
    SITE_VISIT = "site_visit"
    INQUIRY = "inquiry"
    DEMO_REQUEST = "demo_request"


# Things the contact did (not what we did to them): what "last activity" counts.
CONTACT_ACTIVITY_EVENTS: tuple[str, ...] = (
    EventType.MAIL_OPENED.value,
    EventType.MAIL_CLICKED.value,
    EventType.MAIL_REPLIED.value,
    EventType.DOCUMENT_DOWNLOAD.value,
    EventType.WEBINAR_REGISTERED.value,
    EventType.WEBINAR_ATTENDED.value,
    EventType.SITE_VISIT.value,
    EventType.INQUIRY.value,
    EventType.DEMO_REQUEST.value,
)


class DealOutcome(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    POSTPONED = "postponed"  # 見送り


class LostReason(StrEnum):
    """Why a deal was lost or a customer left (SPEC 4.3); it picks the reactivation angle."""

    PRICE = "price"
    FUNCTION = "function"
    TIMING = "timing"
    COMPETITOR = "competitor"
    UNKNOWN = "unknown"


class ActivityKind(StrEnum):
    CALL = "call"
    MAIL = "mail"
    VISIT = "visit"
    ONLINE_MEETING = "online_meeting"
    OTHER = "other"


class CompanyStatus(StrEnum):
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    FORMER = "former"
    UNKNOWN = "unknown"


class ConsentBasis(StrEnum):
    """特定電子メール法: the grounds on which a contact may be mailed."""

    OPT_IN = "opt_in"
    BUSINESS_CARD = "business_card"
    EXISTING_TRANSACTION = "existing_transaction"
    NONE = "none"


class Role(StrEnum):
    ADMIN = "admin"
    MARKETING = "marketing"
    SALES = "sales"
