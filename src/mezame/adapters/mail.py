"""Everything the sender needs from settings: identity, link signer, SMTP pool, DKIM."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from mezame.adapters.dkim import signer_from_settings
from mezame.adapters.smtp import MailTransport, pool_from_settings
from mezame.config import Settings
from mezame.mail.links import LinkSigner
from mezame.mail.message import SenderIdentity
from mezame.sending.service import SenderParts


def link_signer(settings: Settings) -> LinkSigner:
    return LinkSigner(settings.secret_key.get_secret_value().encode("utf-8"), settings.base_url)


def sender_identity(settings: Settings) -> SenderIdentity:
    return SenderIdentity(
        name=settings.sender_name,
        email=settings.sender_email,
        postal_address=settings.sender_address,
        unsubscribe_email=settings.unsubscribe_email or settings.sender_email,
        booking_url=settings.booking_url,
    )


def sender_parts(settings: Settings, *, transport: MailTransport | None = None) -> SenderParts:
    """The real SMTP pool (or `transport`), the configured identity, and DKIM if set up."""
    return SenderParts(
        transport=transport or pool_from_settings(settings),
        identity=sender_identity(settings),
        signer=link_signer(settings),
        dkim=signer_from_settings(settings),
        tz=ZoneInfo(settings.timezone),
    )
