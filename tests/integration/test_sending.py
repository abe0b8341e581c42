"""The sender through a real SMTP conversation (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import dkim
import nacl.signing
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from mezame.adapters.dkim import DkimSigner
from mezame.campaigns.service import (
    campaign_progress,
    pause_campaign,
)
from mezame.campaigns.status import SendStatus
from mezame.compliance.service import suppress
from mezame.mail.compliance import SuppressionReason
from mezame.mail.links import LinkSigner
from mezame.models import CampaignSend, ConsentRecord, Contact, EngagementEvent, Suppression
from mezame.sending.service import SendOptions, run_campaign
from mezame.sendlog.service import CampaignBusy, acquire_campaign
from tests.mail_helpers import (
    BASE_URL,
    FAST,
    IDENTITY,
    SECRET,
    CollectingHandler,
    add_contacts,
    make_campaign,
    parts_for,
    smtp_server,
)


def _parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _statuses(engine: Engine, campaign_id: int) -> Counter[str]:
    with Session(engine) as s:
        rows = s.execute(
            select(CampaignSend.status, func.count())
            .where(CampaignSend.campaign_id == campaign_id)
            .group_by(CampaignSend.status)
        )
        return Counter({status: count for status, count in rows})


def test_a_campaign_arrives_once_per_recipient_as_valid_mime(engine: Engine) -> None:
    with Session(engine) as s:
        add_contacts(s, 12)
        s.commit()
    campaign_id = make_campaign(engine)
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        report = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert report.sent == 12 and report.status == "finished", report
    assert Counter(r for m in handler.messages for r in m.recipients) == {
        f"user{i}@example.jp": 1 for i in range(12)
    }
    signer = LinkSigner(SECRET, BASE_URL)
    message = _parse(handler.to("user3@example.jp")[0].data)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "佐藤 太郎3様 今月のワンポイント知識"
    assert message["From"].addresses[0].display_name == IDENTITY.name
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = [u.strip(" <>") for u in str(message["List-Unsubscribe"]).split(",")]
    assert unsubscribe[0].startswith(f"{BASE_URL}/u/") and unsubscribe[1].startswith("mailto:")
    token = unsubscribe[0].rsplit("/", 1)[1]
    send_id = signer.read_send_token("unsubscribe", token)
    message_id = str(message["Message-ID"]).strip("<>")
    assert signer.read_send_token("message", message_id.split("@")[0]) == send_id
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    # The law's footer in both parts; CSS inlined; the open pixel present.
    for part in (html, text):
        assert IDENTITY.name in part and IDENTITY.postal_address in part and "配信停止" in part
    assert 'style="color: #333;"' in html and "<style" not in html
    assert f"{BASE_URL}/o/" in html
    # Every web link is a signed click URL that leads back to the original.
    links = [u for u in _hrefs(html) if not u.startswith(("mailto:", f"{BASE_URL}/u/"))]
    assert links and all(u.startswith(f"{BASE_URL}/c/") for u in links)
    decoded = signer.read_click(urlsplit(links[0]).path.removeprefix("/c/"))
    assert decoded == (send_id, "https://www.example.jp/blog/dx?utm_source=mail&id=1")
    assert "mailto:sales@example.jp" in html
    assert f"{BASE_URL}/c/" in text
    with Session(engine) as s:
        sent_events = s.scalar(select(func.count()).where(EngagementEvent.type == "mail_sent"))
    assert sent_events == 12


def _hrefs(html: str) -> list[str]:
    import re
    from html import unescape

    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def _rsa_key(tmp_path: Path) -> tuple[bytes, str]:
    key = tmp_path / "rsa.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key.read_bytes(), f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"


def _ed25519_key() -> tuple[bytes, str]:
    key = nacl.signing.SigningKey.generate()
    public = base64.b64encode(bytes(key.verify_key)).decode()
    return base64.b64encode(bytes(key)), f"v=DKIM1; k=ed25519; p={public}"


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ed25519-sha256"])
def test_dkim_signature_verifies_and_covers_list_unsubscribe(
    sqlite_engine: Engine, tmp_path: Path, algorithm: str
) -> None:
    private, record = _rsa_key(tmp_path) if algorithm == "rsa-sha256" else _ed25519_key()
    signer = DkimSigner("mezame-shoji.example.jp", "s2026", private, algorithm)
    with Session(sqlite_engine) as s:
        add_contacts(s, 3)
        s.commit()
    campaign_id = make_campaign(sqlite_engine)
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        asyncio.run(
            run_campaign(
                sqlite_engine,
                campaign_id=campaign_id,
                parts=parts_for(port, dkim=signer),
                options=FAST,
            )
        )
    assert len(handler.messages) == 3

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s2026._domainkey.mezame-shoji.example.jp."
        return record.encode()

    for received in handler.messages:
        assert dkim.verify(received.data, dnsfunc=dns)
        header = _parse(received.data)["DKIM-Signature"]
        signed = {h.strip().lower() for h in str(header).split("h=")[1].split(";")[0].split(":")}
        assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= signed
        # Tampering with the unsubscribe header breaks the signature.
        tampered = received.data.replace(b"List-Unsubscribe: <https", b"List-Unsubscribe: <http", 1)
        assert not dkim.verify(tampered, dnsfunc=dns)


def test_contacts_without_consent_or_suppressed_get_nothing(engine: Engine) -> None:
    with Session(engine) as s:
        allowed = add_contacts(s, 3)
        add_contacts(s, 2, consent=None, start=10)
        add_contacts(
            s,
            1,
            consent="existing_transaction",
            start=20,
            obtained=datetime.now(UTC) - timedelta(days=5 * 365),
        )
        suppress(s, email="USER1@example.jp", reason=SuppressionReason.UNSUBSCRIBED, source="test")
        s.commit()
    campaign_id = make_campaign(engine)
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert sorted(r for m in handler.messages for r in m.recipients) == [
        "user0@example.jp",
        "user2@example.jp",
    ]
    assert len(allowed) == 3
    with Session(engine) as s:
        reasons = dict(
            s.execute(
                select(CampaignSend.contact_id, CampaignSend.detail).where(
                    CampaignSend.status == SendStatus.SKIPPED.value
                )
            ).all()
        )
    assert sorted(reasons.values()) == ["no consent", "no consent", "no consent", "suppressed"]


def test_a_contact_merged_into_another_is_never_mailed(engine: Engine) -> None:
    with Session(engine) as s:
        survivor, merged_away = add_contacts(s, 2)
        s.execute(update(Contact).where(Contact.id == merged_away).values(merged_into_id=survivor))
        s.commit()
    campaign_id = make_campaign(engine)
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert [r for m in handler.messages for r in m.recipients] == ["user0@example.jp"]


def test_a_suppression_after_the_audience_was_frozen_still_blocks(engine: Engine) -> None:
    with Session(engine) as s:
        add_contacts(s, 4)
        s.commit()
    campaign_id = make_campaign(engine)
    with Session(engine) as s:
        suppress(s, email="user2@example.jp", reason=SuppressionReason.HARD_BOUNCE, source="test")
        s.execute(
            update(ConsentRecord)
            .where(ConsentRecord.contact_id == 4)
            .values(withdrawn_at=datetime.now(UTC))
        )
        s.commit()
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert sorted(r for m in handler.messages for r in m.recipients) == [
        "user0@example.jp",
        "user1@example.jp",
    ]
    assert _statuses(engine, campaign_id) == {"sent": 2, "skipped": 2}


def test_a_server_refusing_with_4xx_for_a_while_loses_nothing(engine: Engine) -> None:
    with Session(engine) as s:
        add_contacts(s, 6)
        s.commit()
    campaign_id = make_campaign(engine)
    refusals = {"rcpt": 6, "data": 6}

    def refuse_rcpt(_address: str) -> str | None:
        if refusals["rcpt"] > 0:
            refusals["rcpt"] -= 1
            return "451 4.3.0 try again later"
        return None

    def refuse_data(_message: object) -> str | None:
        if refusals["data"] > 0:
            refusals["data"] -= 1
            return "452 4.3.1 insufficient system storage"
        return None

    handler = CollectingHandler(refuse_rcpt=refuse_rcpt, refuse_data=refuse_data)
    with smtp_server(handler) as port:
        report = asyncio.run(
            run_campaign(
                engine, campaign_id=campaign_id, parts=parts_for(port, connections=3), options=FAST
            )
        )
    assert refusals == {"rcpt": 0, "data": 0}
    assert report.sent == 6 and report.retried >= 6 and report.failed == 0
    assert Counter(r for m in handler.messages for r in m.recipients) == {
        f"user{i}@example.jp": 1 for i in range(6)
    }
    with Session(engine) as s:
        attempts = s.scalars(select(CampaignSend.attempts)).all()
    assert sum(attempts) == 6 + 12  # every refusal used an attempt, nothing else did


def test_a_5xx_user_unknown_fails_the_send_and_suppresses_the_address(engine: Engine) -> None:
    with Session(engine) as s:
        add_contacts(s, 3)
        s.commit()
    campaign_id = make_campaign(engine)
    handler = CollectingHandler(
        refuse_rcpt=lambda a: "550 5.1.1 no such user" if a == "user1@example.jp" else None
    )
    with smtp_server(handler) as port:
        report = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert report.sent == 2 and report.failed == 1
    with Session(engine) as s:
        assert (
            s.scalar(select(Suppression.reason).where(Suppression.email == "user1@example.jp"))
            == "hard_bounce"
        )
        assert s.scalar(select(func.count()).where(EngagementEvent.type == "mail_bounced")) == 1


def test_pausing_stops_the_sender_and_sending_again_resumes_without_duplicates(
    engine: Engine,
) -> None:
    with Session(engine) as s:
        add_contacts(s, 40)
        s.commit()
    campaign_id = make_campaign(engine)

    def pause_after_five(_message: object) -> None:
        if len(handler.messages) == 5:
            with Session(engine) as s:
                pause_campaign(s, campaign_id=campaign_id)
                s.commit()

    handler = CollectingHandler(on_message=pause_after_five)
    with smtp_server(handler) as port:
        first = asyncio.run(
            run_campaign(
                engine, campaign_id=campaign_id, parts=parts_for(port, connections=2), options=FAST
            )
        )
        assert first.status == "paused"
        assert 5 <= len(handler.messages) < 40
        second = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert second.status == "finished"
    assert Counter(r for m in handler.messages for r in m.recipients) == {
        f"user{i}@example.jp": 1 for i in range(40)
    }


def test_a_crashed_run_leaves_claimed_rows_to_resend_and_sending_rows_unknown(
    engine: Engine,
) -> None:
    with Session(engine) as s:
        add_contacts(s, 4)
        s.commit()
    campaign_id = make_campaign(engine)
    now = datetime.now(UTC)
    with Session(engine) as s:
        ids = s.scalars(select(CampaignSend.id).order_by(CampaignSend.id)).all()
        dead = "otherhost:1:dead"
        s.execute(
            update(CampaignSend)
            .where(CampaignSend.id == ids[0])
            .values(status="sending", claimed_by=dead)
        )
        s.execute(
            update(CampaignSend)
            .where(CampaignSend.id == ids[1])
            .values(status="claimed", claimed_by=dead)
        )
        from mezame.models import Campaign

        s.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(status="sending", sender_run=dead, sender_heartbeat_at=now)
        )
        s.commit()
        # A live holder (fresh heartbeat on another host) keeps the campaign.
        with pytest.raises(CampaignBusy):
            acquire_campaign(
                s, campaign_id=campaign_id, run_id="me:2:x", now=now, options=SendOptions()
            )
        s.rollback()
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        report = asyncio.run(
            run_campaign(
                engine,
                campaign_id=campaign_id,
                parts=parts_for(port),
                options=FAST,
                clock=lambda: datetime.now(UTC) + timedelta(minutes=5),  # the heartbeat is stale
            )
        )
    assert report.recovered_unknown == 1 and report.sent == 3
    assert sorted(r for m in handler.messages for r in m.recipients) == [
        "user1@example.jp",
        "user2@example.jp",
        "user3@example.jp",
    ]
    with Session(engine) as s:
        progress = campaign_progress(s, campaign_id=campaign_id)
    assert [u.send_id for u in progress.unknown] == [ids[0]]
    assert progress.status == "finished"
