"""Consent rules, bounce classification and the sending state machines (pure)."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage

import pytest

from mezame.campaigns.status import (
    CAMPAIGN_TRANSITIONS,
    SEND_TRANSITIONS,
    CampaignStatus,
    SendStatus,
    retry_delay_seconds,
)
from mezame.mail.bounces import BounceKind, classify_smtp_reply, classify_status, parse_bounce
from mezame.mail.compliance import (
    ConsentFact,
    ConsentPolicy,
    consent_cutoffs,
    consent_verdict,
    months_before,
)

AS_OF = date(2026, 11, 23)
CUTOFFS = consent_cutoffs(ConsentPolicy(), as_of=AS_OF)  # existing transaction: 24 months


@pytest.mark.parametrize(
    ("facts", "last_order", "allowed", "basis"),
    [
        ([ConsentFact("opt_in", date(2010, 1, 1), False)], None, True, "opt_in"),
        ([ConsentFact("opt_in", date(2026, 1, 1), True)], None, False, None),
        ([ConsentFact("business_card", date(2015, 4, 1), False)], None, True, "business_card"),
        (
            [ConsentFact("existing_transaction", date(2025, 1, 1), False)],
            None,
            True,
            "existing_transaction",
        ),
        ([ConsentFact("existing_transaction", date(2019, 1, 1), False)], None, False, None),
        # An old relationship renewed by a recent order still counts.
        (
            [ConsentFact("existing_transaction", date(2019, 1, 1), False)],
            date(2025, 6, 1),
            True,
            "existing_transaction",
        ),
        (
            [ConsentFact("existing_transaction", date(2024, 11, 23), False)],
            None,
            True,
            "existing_transaction",
        ),
        ([ConsentFact("existing_transaction", date(2024, 11, 22), False)], None, False, None),
        ([ConsentFact("none", date(2026, 1, 1), False)], None, False, None),
        ([], date(2026, 11, 1), False, None),  # buying is not consent without a record
    ],
)
def test_consent_verdict(
    facts: list[ConsentFact], last_order: date | None, allowed: bool, basis: str | None
) -> None:
    verdict = consent_verdict(facts, last_transaction_on=last_order, cutoffs=CUTOFFS)
    assert (verdict.allowed, verdict.basis) == (allowed, basis)


def test_the_policy_can_refuse_business_cards_and_warns_when_loosened() -> None:
    strict = consent_cutoffs(ConsentPolicy(accept_business_card=False), as_of=AS_OF)
    card = [ConsentFact("business_card", date(2026, 1, 1), False)]
    assert not consent_verdict(card, last_transaction_on=None, cutoffs=strict).allowed
    assert len(ConsentPolicy().warnings()) == 1  # business cards without an age limit
    loose = ConsentPolicy(existing_transaction_max_months=None, business_card_max_months=36)
    assert any("two years" in w for w in loose.warnings())
    assert consent_verdict(
        [ConsentFact("existing_transaction", date(2001, 1, 1), False)],
        last_transaction_on=None,
        cutoffs=consent_cutoffs(loose, as_of=AS_OF),
    ).allowed


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 23), 24, date(2024, 11, 23)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2026, 1, 15), 13, date(2024, 12, 15)),
    ],
)
def test_months_before(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


@pytest.mark.parametrize(
    ("status", "action", "kind"),
    [
        ("5.1.1", "failed", BounceKind.HARD),
        ("5.1.10", "failed", BounceKind.HARD),
        ("5.2.1", "failed", BounceKind.HARD),
        ("5.2.2", "failed", BounceKind.SOFT),  # mailbox full
        ("5.7.1", "failed", BounceKind.SOFT),  # policy: not the address's fault
        ("4.4.7", "failed", BounceKind.SOFT),
        ("4.4.7", "delayed", None),
        ("2.0.0", "delivered", None),
    ],
)
def test_classify_status(status: str, action: str, kind: BounceKind | None) -> None:
    assert classify_status(status, action=action) is kind


def test_classify_smtp_reply() -> None:
    assert (
        classify_smtp_reply(550, "5.1.1 <x@example.jp>: Recipient address rejected")
        is BounceKind.HARD
    )
    assert classify_smtp_reply(550, "mailbox unavailable") is BounceKind.HARD
    assert classify_smtp_reply(552, "5.2.2 mailbox full") is BounceKind.SOFT
    assert classify_smtp_reply(451, "try later") is BounceKind.SOFT
    assert classify_smtp_reply(250, "ok") is None


def dsn(status: str, action: str = "failed", recipient: str = "gone@example.jp") -> bytes:
    """A delivery status notification as Postfix writes it (RFC 3464)."""
    return (
        "From: MAILER-DAEMON@mx.example.jp\r\n"
        "To: news@mezame.example.jp\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <report-1@mx.example.jp>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\n"
        "This is the mail system at host mx.example.jp.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.jp\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.jp>: Recipient address\r\n"
        " rejected: User unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: news@mezame.example.jp\r\nTo: gone@example.jp\r\n"
        "Message-ID: <AAAAAAAAAAEtoken@mezame.example.jp>\r\nSubject: hi\r\n\r\n"
        "--B--\r\n"
    ).encode()


def test_a_standard_dsn_is_read_with_the_standard_library() -> None:
    report = parse_bounce(dsn("5.1.1"))
    assert report is not None
    [failure] = report.recipients
    assert (failure.address, failure.kind, failure.status) == (
        "gone@example.jp",
        BounceKind.HARD,
        "5.1.1",
    )
    assert "User unknown" in (failure.diagnostic or "")
    assert report.original_message_ids == ("AAAAAAAAAAEtoken@mezame.example.jp",)
    assert report.report_message_id == "report-1@mx.example.jp"
    assert parse_bounce(dsn("4.2.2", action="delayed")) is None  # still trying: not a bounce


def test_a_feedback_report_is_a_complaint() -> None:
    arf = (
        b"From: abuse@isp.example\r\nMessage-ID: <arf-1@isp.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r\n\r\n'
        b"--F\r\nContent-Type: text/plain\r\n\r\nspam report\r\n"
        b"--F\r\nContent-Type: message/feedback-report\r\n\r\n"
        b"Feedback-Type: abuse\r\nUser-Agent: isp/1.0\r\nVersion: 1\r\n"
        b"Original-Rcpt-To: angry@example.jp\r\n\r\n"
        b"--F\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: news@mezame.example.jp\r\nTo: angry@example.jp\r\n"
        b"Message-ID: <tok@mezame.example.jp>\r\n\r\nbody\r\n"
        b"--F--\r\n"
    )
    report = parse_bounce(arf)
    assert report is not None
    assert [(r.address, r.kind) for r in report.recipients] == [
        ("angry@example.jp", BounceKind.COMPLAINT)
    ]
    assert report.original_message_ids == ("tok@mezame.example.jp",)


def test_a_non_standard_bounce_falls_back_to_flufl_bounce() -> None:
    # qmail's classic format: no multipart/report at all.
    message = EmailMessage()
    message["From"] = "MAILER-DAEMON@mail.example.jp"
    message["To"] = "news@mezame.example.jp"
    message["Subject"] = "failure notice"
    message.set_content(
        "Hi. This is the qmail-send program at mail.example.jp.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        "<nobody@example.jp>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n"
    )
    report = parse_bounce(message.as_bytes())
    assert report is not None
    assert [(r.address, r.kind) for r in report.recipients] == [
        ("nobody@example.jp", BounceKind.HARD)
    ]
    ordinary = EmailMessage()
    ordinary["Subject"] = "ご質問"
    ordinary.set_content("資料をお送りください")
    assert parse_bounce(ordinary.as_bytes()) is None


def test_send_state_machine_never_resends_what_may_have_left() -> None:
    # Once a body may have left (sending), the row never goes back to being claimable unless
    # the server said no (pending after 4xx); unknown, sent-for-good and failed are final.
    assert SendStatus.CLAIMED not in SEND_TRANSITIONS[SendStatus.SENDING]
    for final in (SendStatus.UNKNOWN, SendStatus.FAILED, SendStatus.SKIPPED, SendStatus.CANCELLED):
        assert SEND_TRANSITIONS[final] == frozenset()
    # Only a claimed row may start sending.
    assert [s for s, targets in SEND_TRANSITIONS.items() if SendStatus.SENDING in targets] == [
        SendStatus.CLAIMED
    ]
    assert set(SEND_TRANSITIONS) == set(SendStatus)
    assert set(CAMPAIGN_TRANSITIONS) == set(CampaignStatus)
    assert CAMPAIGN_TRANSITIONS[CampaignStatus.STOPPED] == frozenset()


def test_retry_delays_double_up_to_the_cap() -> None:
    assert [retry_delay_seconds(a, base_seconds=60) for a in (1, 2, 3)] == [60, 120, 240]
    assert retry_delay_seconds(40, base_seconds=60) == 3600
    with pytest.raises(ValueError):
        retry_delay_seconds(0, base_seconds=60)
