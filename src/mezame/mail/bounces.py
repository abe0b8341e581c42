"""Bounce and complaint reports → which address failed, how badly, and which send it was.

Standard delivery status notifications (RFC 3464, multipart/report;
report-type=delivery-status) are read with the standard library; feedback reports
(RFC 5965, report-type=feedback-report) are complaints; anything else goes to
flufl.bounce, which knows the odd formats old MTAs still produce.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from email.utils import parseaddr
from enum import StrEnum

from flufl.bounce import all_failures


class BounceKind(StrEnum):
    HARD = "hard"  # the address does not exist or never will accept: suppress at once
    SOFT = "soft"  # full mailbox, greylisting, a policy block: retry, suppress after N
    COMPLAINT = "complaint"  # the recipient marked the mail as spam: suppress at once


@dataclass(frozen=True, slots=True)
class FailedRecipient:
    address: str
    kind: BounceKind
    status: str | None  # enhanced status code, e.g. 5.1.1
    diagnostic: str | None


@dataclass(frozen=True, slots=True)
class BounceReport:
    recipients: tuple[FailedRecipient, ...]
    # Message-IDs (without brackets) of the mail that bounced, as quoted in the report.
    original_message_ids: tuple[str, ...] = field(default=())
    report_message_id: str | None = None


_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MESSAGE_ID = re.compile(r"<([^<>\s@]+@[^<>\s]+)>")


def classify_status(status: str | None, *, action: str = "failed") -> BounceKind | None:
    """Hard for permanent addressing failures (5.1.x, 5.2.1 disabled mailbox); soft otherwise.

    Permanent failures for other reasons (5.2.2 mailbox full, 5.7.x policy, 5.4.x
    routing) say nothing final about the address: they count as soft. A `delayed`
    or `delivered` action is no bounce at all.
    """
    action = action.strip().lower()
    if action not in {"failed", ""}:
        return None
    if status is None:
        return BounceKind.SOFT
    match = _STATUS.search(status)
    if match is None:
        return BounceKind.SOFT
    klass, subject, detail = match.groups()
    if klass == "2":
        return None
    if klass == "5" and (subject == "1" or (subject, detail) == ("2", "1")):
        return BounceKind.HARD
    return BounceKind.SOFT


def classify_smtp_reply(code: int, message: str) -> BounceKind | None:
    """A synchronous refusal (RCPT or DATA reply) read like a bounce: 5xx with 5.1.x is hard."""
    if code < 400:
        return None
    match = _STATUS.search(message)
    if match is not None:
        return classify_status(match.group(0))
    # No enhanced code: 550/551/553 are the classic "no such user" replies.
    if code in (550, 551, 553):
        return BounceKind.HARD
    return BounceKind.SOFT


def _address(value: str | None) -> str | None:
    if not value:
        return None
    # "rfc822; user@example.jp" (RFC 3464 address-type prefix)
    _, _, address = value.partition(";") if ";" in value else ("", "", value)
    address = parseaddr(address.strip())[1] or address.strip()
    return address.lower() if "@" in address else None


def _message_ids(text: str) -> Iterator[str]:
    for line in text.splitlines():
        if line.lower().startswith(("message-id:", "x-mezame-send:")):
            yield from _MESSAGE_ID.findall(line)


def _quoted_ids(report: Message) -> tuple[str, ...]:
    """Message-IDs of the original mail from its returned headers or body."""
    ids: list[str] = []
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "text/rfc822-headers" or ctype.startswith("text/rfc822"):
            payload = part.get_payload(decode=True)
            text = (
                payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
            )
            ids.extend(_message_ids(text))
        elif ctype == "message/rfc822" and (original := _attached(part)) is not None:
            value = original.get("Message-ID")
            if value:
                ids.extend(_MESSAGE_ID.findall(str(value)))
    return tuple(dict.fromkeys(ids))


def _attached(part: Message) -> Message | None:
    """The message (or field block) a message/* part carries."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return None


def _delivery_status_blocks(report: Message) -> list[Message]:
    for part in report.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            if isinstance(blocks, list):
                return [b for b in blocks if isinstance(b, Message)]
    return []


def _dsn(report: Message) -> list[FailedRecipient]:
    blocks = _delivery_status_blocks(report)
    out: list[FailedRecipient] = []
    for block in blocks[1:]:  # the first block is per-message, the rest per-recipient
        address = _address(block.get("Final-Recipient")) or _address(
            block.get("Original-Recipient")
        )
        status = block.get("Status")
        kind = classify_status(status, action=str(block.get("Action", "failed")))
        if address is None or kind is None:
            continue
        diagnostic = block.get("Diagnostic-Code")
        out.append(
            FailedRecipient(
                address=address,
                kind=kind,
                status=str(status).strip() if status else None,
                diagnostic=" ".join(str(diagnostic).split())[:500] if diagnostic else None,
            )
        )
    return out


def _feedback(report: Message) -> list[FailedRecipient]:
    for part in report.walk():
        if part.get_content_type() == "message/feedback-report":
            block = _attached(part)
            address = _address(block.get("Original-Rcpt-To")) if block is not None else None
            if address is None:
                for wrapper in report.walk():
                    if wrapper.get_content_type() == "message/rfc822":
                        original = _attached(wrapper)
                        if original is not None:
                            address = _address(str(original.get("To", "")))
            if address:
                return [FailedRecipient(address, BounceKind.COMPLAINT, None, "abuse report")]
    return []


def parse_bounce(raw: bytes) -> BounceReport | None:
    """The failures a bounce or complaint reports, or None when the mail is neither."""
    message = message_from_bytes(raw, policy=policy.compat32)
    ctype = message.get_content_type()
    report_type = str(message.get_param("report-type", "") or "").lower()
    recipients: list[FailedRecipient]
    if ctype == "multipart/report" and report_type == "feedback-report":
        recipients = _feedback(message)
    elif ctype == "multipart/report" and report_type == "delivery-status":
        recipients = _dsn(message)
        if not recipients and _delivery_status_blocks(message):
            return None  # a well-formed DSN saying "delayed" or "delivered": nothing failed
    else:
        recipients = _flufl(message)
    if not recipients:
        return None
    report_id = _MESSAGE_ID.findall(str(message.get("Message-ID", "")))
    return BounceReport(
        recipients=tuple(recipients),
        original_message_ids=_quoted_ids(message),
        report_message_id=report_id[0] if report_id else None,
    )


def _flufl(message: Message) -> list[FailedRecipient]:
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector tripping over an odd message: no bounce recognised
        return []
    out = [
        FailedRecipient(a.decode("utf-8", "replace").lower(), BounceKind.HARD, None, None)
        for a in sorted(permanent)
    ]
    out += [
        FailedRecipient(a.decode("utf-8", "replace").lower(), BounceKind.SOFT, None, None)
        for a in sorted(temporary - permanent)
    ]
    return [r for r in out if "@" in r.address]
