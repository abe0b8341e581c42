"""MIME bytes for one mail, assembled directly (no EmailMessage per message: that costs ~2 ms).

A campaign step fixes everything but the recipient, subject, bodies and tokens, so the
headers that never change are encoded once (`MessageLayout`) and each message is a join
of byte strings. Japanese text travels as UTF-8: RFC 2047 B-words in headers, base64
bodies (Japanese in quoted-printable triples in size, and base64 can never contain the
multipart boundary, which carries '=' and '_').
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

CRLF = b"\r\n"
# RFC 2047 §2: an encoded word is at most 75 characters, 12 of them "=?UTF-8?B?" and "?=".
# 45 bytes become 60 base64 characters: the largest multiple of 3 under the 63 left.
_MAX_WORD_BYTES = 45
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_HEADER_UNSAFE = re.compile(r"[\r\n\x00]")


@dataclass(frozen=True, slots=True)
class SenderIdentity:
    """Who a mail is from; 特定電子メール法 wants the name and postal address in every mail."""

    name: str
    email: str
    postal_address: str
    unsubscribe_email: str
    # Where a reader books a meeting ({{ booking.url }}); empty when the team has none.
    booking_url: str = ""

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()


def _b_words(text: str) -> list[str]:
    """UTF-8 B-encoded words, split between characters so no word exceeds 75 characters."""
    raw = text.encode("utf-8")
    words: list[str] = []
    start = 0
    while start < len(raw):
        end = min(start + _MAX_WORD_BYTES, len(raw))
        # Never cut a character: back up while the next byte is a UTF-8 continuation byte.
        while end < len(raw) and raw[end] & 0xC0 == 0x80:
            end -= 1
        words.append("=?UTF-8?B?" + base64.b64encode(raw[start:end]).decode("ascii") + "?=")
        start = end
    return words


def encode_header_text(text: str) -> str:
    """A header value as sent: plain when printable ASCII, else folded RFC 2047 words."""
    if _HEADER_UNSAFE.search(text):
        raise ValueError(f"header text contains a line break or NUL: {text!r}")
    if _PRINTABLE_ASCII.fullmatch(text) and "=?" not in text and len(text) <= 900:
        return text
    return "\r\n ".join(_b_words(text))


def format_address(name: str | None, address: str) -> str:
    """`"Name" <addr>` with the name encoded when needed; just the address when nameless."""
    if _HEADER_UNSAFE.search(address) or "<" in address or ">" in address:
        raise ValueError(f"invalid mail address {address!r}")
    if not name:
        return address
    if _PRINTABLE_ASCII.fullmatch(name) and "=?" not in name:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    return f"{encode_header_text(name)} <{address}>"


def base64_body(text: str) -> bytes:
    """UTF-8 text as base64 in 76-character CRLF lines (RFC 2045)."""
    encoded = base64.b64encode(text.encode("utf-8"))
    return CRLF.join([encoded[i : i + 76] for i in range(0, len(encoded), 76)]) + CRLF


@dataclass(frozen=True, slots=True)
class MessageLayout:
    """The bytes shared by every message of one campaign step."""

    from_header: bytes
    boundary: bytes
    fixed_headers: bytes  # MIME-Version, Content-Type, List-Unsubscribe-Post, Feedback-ID …

    @classmethod
    def for_sender(cls, sender: SenderIdentity, *, feedback_id: str | None = None) -> MessageLayout:
        boundary = f"=_mezame_{secrets.token_hex(12)}".encode("ascii")
        lines = [
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/alternative; boundary="' + boundary + b'"',
            # RFC 8058: receivers may POST to the HTTPS List-Unsubscribe URL with this body.
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
        if feedback_id:
            lines.append(b"Feedback-ID: " + encode_header_text(feedback_id).encode("ascii"))
        from_header = b"From: " + format_address(sender.name, sender.email).encode("ascii")
        return cls(from_header=from_header, boundary=boundary, fixed_headers=CRLF.join(lines))


@dataclass(frozen=True, slots=True)
class MailParts:
    """What varies per message."""

    to_name: str | None
    to_address: str
    subject: str
    text: str
    html: str
    message_id: str  # without angle brackets: token@domain
    unsubscribe_url: str  # HTTPS, one-click (RFC 8058)
    unsubscribe_mailto: str


def assemble(layout: MessageLayout, parts: MailParts, *, date: datetime) -> bytes:
    """The complete message (CRLF lines, not yet dot-stuffed for SMTP DATA)."""
    boundary = b"--" + layout.boundary
    list_unsubscribe = f"<{parts.unsubscribe_url}>,\r\n <{parts.unsubscribe_mailto}>"
    if _HEADER_UNSAFE.sub("", parts.unsubscribe_url) != parts.unsubscribe_url:
        raise ValueError("unsubscribe URL contains a line break")
    head = "\r\n".join(
        (
            "To: " + format_address(parts.to_name, parts.to_address),
            "Subject: " + encode_header_text(parts.subject),
            "Date: " + format_datetime(date),
            f"Message-ID: <{parts.message_id}>",
            "List-Unsubscribe: " + list_unsubscribe,
        )
    ).encode("ascii")
    return b"".join(
        (
            layout.from_header,
            CRLF,
            head,
            CRLF,
            layout.fixed_headers,
            CRLF,
            CRLF,
            boundary,
            b'\r\nContent-Type: text/plain; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n",
            base64_body(parts.text),
            boundary,
            b'\r\nContent-Type: text/html; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n",
            base64_body(parts.html),
            boundary,
            b"--\r\n",
        )
    )
