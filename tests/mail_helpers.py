"""Shared pieces of the mail tests: a real aiosmtpd server, contacts with consent, a campaign."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mezame.adapters.smtp import SmtpPool, SmtpSettings
from mezame.campaigns.service import StepContent, create_campaign, freeze_audience
from mezame.mail.links import LinkSigner
from mezame.mail.message import SenderIdentity
from mezame.models import Company, ConsentRecord, Contact
from mezame.segments.service import create_segment
from mezame.sending.service import SenderParts, SendOptions
from mezame.templates.service import TemplateFields, create_template

SECRET = b"test-secret-key-for-links"
BASE_URL = "https://mezame.example.jp"
IDENTITY = SenderIdentity(
    name="株式会社めざめ商事",
    email="news@mezame-shoji.example.jp",
    postal_address="〒100-0005 東京都千代田区丸の内1-1-1",
    unsubscribe_email="unsubscribe@mezame-shoji.example.jp",
)
SUBJECT = "{{ contact.name }}様 今月のワンポイント知識"
HTML = """<html><head><style>p { color: #333; }</style></head><body>
<p>{{ company.name }} {{ contact.name }} 様</p>
<p>在庫管理のDXは棚卸しの見直しから。</p>
<p><a href="https://www.example.jp/blog/dx?utm_source=mail&amp;id=1">詳しく読む</a>
<a href="mailto:sales@example.jp">メール</a></p>
</body></html>"""
# Fast retries for tests: the behaviour is the same, the waits are not.
FAST = SendOptions(
    retry_base_seconds=0.05,
    status_check_seconds=0.05,
    heartbeat_seconds=0.05,
    commit_delay_seconds=0,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class CollectingHandler:
    """Keeps every accepted message; `reply` may refuse (return an SMTP reply) per stage."""

    messages: list[Received] = field(default_factory=list)
    refuse_rcpt: Callable[[str], str | None] = lambda _address: None
    refuse_data: Callable[[Received], str | None] = lambda _message: None
    on_message: Callable[[Received], None] = lambda _message: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        refusal = self.refuse_rcpt(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        refusal = self.refuse_data(message)
        if refusal is not None:
            return refusal
        with self.lock:
            self.messages.append(message)
        self.on_message(message)
        return "250 OK queued"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]


@contextmanager
def smtp_server(handler: CollectingHandler) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def parts_for(port: int, *, connections: int = 4, dkim=None) -> SenderParts:  # type: ignore[no-untyped-def]
    return SenderParts(
        transport=SmtpPool(
            SmtpSettings(host="127.0.0.1", port=port, connections=connections, timeout=10)
        ),
        identity=IDENTITY,
        signer=LinkSigner(SECRET, BASE_URL),
        dkim=dkim,
    )


def add_contacts(
    session: Session,
    count: int,
    *,
    consent: str | None = "opt_in",
    start: int = 0,
    obtained: datetime | None = None,
) -> list[int]:
    """`count` contacts at one company, each with `consent` (None: no consent record)."""
    company = Company(import_key=f"co{start}", name=f"株式会社サンプル{start}")
    session.add(company)
    session.flush()
    ids = []
    for i in range(start, start + count):
        contact = Contact(
            import_key=f"p{i}",
            company_id=company.id,
            name=f"佐藤 太郎{i}",
            email=f"user{i}@example.jp",
        )
        session.add(contact)
        session.flush()
        if consent is not None:
            session.add(
                ConsentRecord(
                    contact_id=contact.id,
                    basis=consent,
                    obtained_at=obtained or datetime.now(UTC) - timedelta(days=30),
                    method="web form",
                )
            )
        ids.append(contact.id)
    session.flush()
    return ids


def make_campaign(engine: Engine, *, html: str = HTML, name: str = "11月ニュースレター") -> int:
    with Session(engine) as session:
        campaign = create_campaign(
            session, name=name, steps=[StepContent(subject=SUBJECT, html=html)]
        )
        freeze_audience(session, campaign_id=campaign.id, as_of=datetime.now(UTC))
        session.commit()
        return campaign.id


def add_sample10_segment_and_template(session: Session) -> tuple[int, int]:
    """A saved segment of 株式会社サンプル10's contacts (add_contacts(start=10)) and a team
    template: (segment id, template id)."""
    segment = create_segment(
        session,
        name="サンプル10の担当者",
        definition={
            "match": "all",
            "rules": [{"field": "company.name", "op": "contains", "value": "サンプル10"}],
        },
    ).id
    template = create_template(
        session,
        TemplateFields(
            name="お久しぶりです（自社版）",
            message_type="hisashiburi",
            subject="{{ contact.name }}様 お久しぶりです",
            html="<p>ご無沙汰しております。</p>",
        ),
    ).id
    return segment, template
