"""Signed tokens that tie a URL or a header back to one send, and link rewriting.

Every token names a send id and carries an HMAC-SHA256 tag (truncated to 96 bits) under
a key derived per purpose, so a click token cannot be replayed as an unsubscribe token,
and nobody can mint a redirect to a URL of their choice (no open redirect).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from html import escape, unescape

_TAG_BYTES = 12
_ID_BYTES = 8
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_TEXT_URL = re.compile(r"""https?://[^\s<>"'()]+""")
_INNER_PAD = bytes(b ^ 0x36 for b in range(256))
_OUTER_PAD = bytes(b ^ 0x5C for b in range(256))


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


class LinkSigner:
    """Makes and checks the tokens in unsubscribe, click, open and Message-ID values."""

    PURPOSES = ("unsubscribe", "click", "open", "message")

    def __init__(self, secret: bytes, base_url: str) -> None:
        if not secret:
            raise ValueError("the link signing secret is empty")
        self.base_url = base_url.rstrip("/")
        # HMAC-SHA256 (RFC 2104) with the key's inner and outer pads hashed once: the
        # same tags as hmac.digest(), at a quarter of its cost (a mail carries ten).
        self._pads: dict[str, tuple[hashlib._Hash, hashlib._Hash]] = {}
        for purpose in self.PURPOSES:
            key = hmac.digest(secret, b"mezame-link:" + purpose.encode(), "sha256").ljust(64, b"\0")
            self._pads[purpose] = (
                hashlib.sha256(key.translate(_INNER_PAD)),
                hashlib.sha256(key.translate(_OUTER_PAD)),
            )

    def _tag(self, purpose: str, data: bytes) -> bytes:
        inner_pad, outer_pad = self._pads[purpose]
        inner = inner_pad.copy()
        inner.update(data)
        outer = outer_pad.copy()
        outer.update(inner.digest())
        return outer.digest()[:_TAG_BYTES]

    def send_token(self, purpose: str, send_id: int) -> str:
        """An opaque token for one send: 8-byte id and tag, 27 URL-safe characters."""
        data = send_id.to_bytes(_ID_BYTES, "big")
        return _b64(data + self._tag(purpose, data))

    def read_send_token(self, purpose: str, token: str) -> int | None:
        """The send id in a token, or None when it was not made by us for this purpose."""
        raw = _unb64(token) if len(token) <= 64 else None
        if raw is None or len(raw) != _ID_BYTES + _TAG_BYTES:
            return None
        data, tag = raw[:_ID_BYTES], raw[_ID_BYTES:]
        if not hmac.compare_digest(tag, self._tag(purpose, data)):
            return None
        return int.from_bytes(data, "big")

    def unsubscribe_url(self, send_id: int) -> str:
        return f"{self.base_url}/u/{self.send_token('unsubscribe', send_id)}"

    def open_url(self, send_id: int) -> str:
        return f"{self.base_url}/o/{self.send_token('open', send_id)}.gif"

    def message_id(self, send_id: int, domain: str) -> str:
        """The Message-ID (without brackets): bounces and replies quote it back to us."""
        return f"{self.send_token('message', send_id)}@{domain}"

    def click_url(self, send_id: int, target: str) -> str:
        data = send_id.to_bytes(_ID_BYTES, "big") + target.encode("utf-8")
        return f"{self.base_url}/c/{_b64(data)}.{_b64(self._tag('click', data))}"

    def read_click(self, token: str) -> tuple[int, str] | None:
        """(send id, target URL) from a click token, or None when the signature is wrong."""
        payload, _, tag_text = token.partition(".")
        data, tag = _unb64(payload), _unb64(tag_text)
        if data is None or tag is None or len(data) <= _ID_BYTES:
            return None
        if not hmac.compare_digest(tag, self._tag("click", data)):
            return None
        try:
            target = data[_ID_BYTES:].decode("utf-8")
        except UnicodeDecodeError:
            return None
        return int.from_bytes(data[:_ID_BYTES], "big"), target


def is_trackable(url: str, *, own_prefix: str) -> bool:
    """Web links are tracked; mailto:, tel:, anchors and our own unsubscribe pages are not."""
    lowered = url.strip().lower()
    return lowered.startswith(("http://", "https://")) and not url.startswith(own_prefix)


def rewrite_html_links(html: str, click: Callable[[str], str], *, own_prefix: str) -> str:
    """Every web link of `<a href>` replaced by its click URL (entities decoded first)."""

    def replace(match: re.Match[str]) -> str:
        target = unescape(match.group(3)).strip()
        if not is_trackable(target, own_prefix=own_prefix):
            return match.group(0)
        quote = match.group(2)
        return f"{match.group(1)}{quote}{escape(click(target), quote=True)}{quote}"

    return _HREF.sub(replace, html)


def rewrite_text_links(text: str, click: Callable[[str], str], *, own_prefix: str) -> str:
    """Every bare web URL in a text part replaced by its click URL."""

    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        return click(url) if is_trackable(url, own_prefix=own_prefix) else url

    return _TEXT_URL.sub(replace, text)
