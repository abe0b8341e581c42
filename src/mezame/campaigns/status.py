"""The two state machines of sending, as tables: a campaign's status and a send row's status.

A send row is claimed before the SMTP conversation, marked `sending` (durably) just
before the message body goes on the wire, and marked with the outcome after. After a
crash, `claimed` rows were never on the wire and go back to `pending`; `sending` rows
may or may not have arrived and become `unknown`: reported, never silently re-sent.
"""

from __future__ import annotations

from enum import StrEnum


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    STOPPED = "stopped"  # for good: its unsent rows are never sent
    FINISHED = "finished"


class SendStatus(StrEnum):
    PENDING = "pending"  # in the audience, due at next_attempt_at (or now)
    CLAIMED = "claimed"  # reserved by a sender run; nothing sent yet
    SENDING = "sending"  # the server said "go ahead" and the body is about to leave
    SENT = "sent"  # the server accepted it (250)
    FAILED = "failed"  # refused for good, or out of attempts
    UNKNOWN = "unknown"  # the sender died mid-conversation: may or may not have arrived
    SKIPPED = "skipped"  # suppressed, no consent or no address when its turn came
    CANCELLED = "cancelled"  # the campaign was stopped before its turn


CAMPAIGN_TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset(
        {CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.STOPPED}
    ),
    CampaignStatus.SCHEDULED: frozenset(
        {
            CampaignStatus.DRAFT,
            CampaignStatus.SENDING,
            CampaignStatus.PAUSED,
            CampaignStatus.STOPPED,
        }
    ),
    CampaignStatus.SENDING: frozenset(
        {CampaignStatus.PAUSED, CampaignStatus.STOPPED, CampaignStatus.FINISHED}
    ),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.SENDING, CampaignStatus.STOPPED}),
    CampaignStatus.STOPPED: frozenset(),
    # A soft bounce re-queues a send of a finished campaign: it goes back to sending.
    CampaignStatus.FINISHED: frozenset({CampaignStatus.SENDING}),
}

SEND_TRANSITIONS: dict[SendStatus, frozenset[SendStatus]] = {
    SendStatus.PENDING: frozenset({SendStatus.CLAIMED, SendStatus.SKIPPED, SendStatus.CANCELLED}),
    SendStatus.CLAIMED: frozenset(
        # released unsent (pause, crash recovery), or suppressed at the last check
        {SendStatus.PENDING, SendStatus.SENDING, SendStatus.SKIPPED, SendStatus.FAILED}
    ),
    SendStatus.SENDING: frozenset(
        # PENDING: the server answered 4xx to the body, so it was not taken: retry.
        {SendStatus.SENT, SendStatus.FAILED, SendStatus.PENDING, SendStatus.UNKNOWN}
    ),
    # A soft bounce arriving later sends it again (while under the bounce policy's limit).
    SendStatus.SENT: frozenset({SendStatus.PENDING}),
    SendStatus.FAILED: frozenset(),
    SendStatus.UNKNOWN: frozenset(),
    SendStatus.SKIPPED: frozenset(),
    SendStatus.CANCELLED: frozenset(),
}

# What "send now" may start or resume. `sending` is there so that a repeated request (a
# retry after a timeout) is harmless: the sender's lease lets one run send at a time.
STARTABLE = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED, CampaignStatus.SENDING}
)

# Rows a sender may still put on the wire.
OPEN_SEND_STATUSES = frozenset({SendStatus.PENDING, SendStatus.CLAIMED})


def can_move_campaign(current: CampaignStatus, target: CampaignStatus) -> bool:
    return target in CAMPAIGN_TRANSITIONS[current]


def can_move_send(current: SendStatus, target: SendStatus) -> bool:
    return target in SEND_TRANSITIONS[current]


def retry_delay_seconds(attempt: int, *, base_seconds: float, cap_seconds: float = 3600.0) -> float:
    """Doubling delay after the `attempt`-th temporary failure (1 → base, 2 → 2·base …)."""
    if attempt < 1:
        raise ValueError(f"attempt must be at least 1, got {attempt}")
    return float(min(cap_seconds, base_seconds * 2 ** min(attempt - 1, 30)))
