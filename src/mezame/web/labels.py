"""What the UI calls each stored code (English msgids, translated when shown) and its look."""

from __future__ import annotations

from dataclasses import dataclass

from mezame.messages import N_ as N_  # re-exported: the web layer marks its labels with it


@dataclass(frozen=True)
class Look:
    """A timeline kind's label, icon (a symbol in static/icons.svg) and colour tone."""

    label: str
    icon: str
    tone: str  # mail / interest / hot / sales / won / lost / neutral


TIMELINE: dict[str, Look] = {
    # engagement events
    "mail_sent": Look(N_("Mail sent"), "send", "mail"),
    "mail_delivered": Look(N_("Delivered"), "mail", "mail"),
    "mail_opened": Look(N_("Opened"), "mail-open", "mail"),
    "mail_clicked": Look(N_("Clicked"), "click", "interest"),
    "mail_bounced": Look(N_("Bounced"), "alert", "lost"),
    "mail_unsubscribed": Look(N_("Unsubscribed"), "block", "lost"),
    "mail_replied": Look(N_("Replied"), "reply", "hot"),
    "document_download": Look(N_("Document download"), "download", "interest"),
    "webinar_registered": Look(N_("Webinar registration"), "video", "interest"),
    "webinar_attended": Look(N_("Webinar attended"), "video", "interest"),
    "site_visit": Look(N_("Site visit"), "globe", "interest"),
    "inquiry": Look(N_("Inquiry"), "chat", "hot"),
    "demo_request": Look(N_("Demo request"), "chat", "hot"),
    # sales activities
    "call": Look(N_("Phone call"), "phone", "sales"),
    "mail": Look(N_("Sales mail"), "mail", "sales"),
    "visit": Look(N_("Visit"), "person", "sales"),
    "online_meeting": Look(N_("Online meeting"), "monitor", "sales"),
    "other": Look(N_("Sales activity"), "note", "sales"),
    # deals, orders, surveys
    "deal_opened": Look(N_("Deal"), "briefcase", "sales"),
    "deal_won": Look(N_("Won"), "check", "won"),
    "deal_lost": Look(N_("Lost"), "cross", "lost"),
    "deal_postponed": Look(N_("Postponed"), "clock", "neutral"),
    "order": Look(N_("Order"), "yen", "won"),
    "contract_cancelled": Look(N_("Contract cancelled"), "block", "lost"),
    "survey": Look(N_("Survey answer"), "star", "neutral"),
}
UNKNOWN_KIND = Look(N_("Other"), "note", "neutral")

ROLES = {"admin": N_("Admin"), "marketing": N_("Marketing"), "sales": N_("Sales")}
COMPANY_STATUS = {
    "prospect": N_("Prospect"),
    "customer": N_("Customer"),
    "former": N_("Former customer"),
    "unknown": N_("Unknown"),
}
DEAL_OUTCOMES = {
    "open": N_("Open"),
    "won": N_("Won"),
    "lost": N_("Lost"),
    "postponed": N_("Postponed"),
}
CONSENT_BASIS = {
    "opt_in": N_("Opt-in"),
    "business_card": N_("Business card exchange"),
    "existing_transaction": N_("Existing business relationship"),
    "none": N_("No consent"),
}


def timeline_look(kind: str) -> Look:
    """How a timeline kind is shown; unknown kinds (new event types) fall back to "Other"."""
    return TIMELINE.get(kind, UNKNOWN_KIND)
