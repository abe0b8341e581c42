"""Bounce intake from a Maildir through `mezame bounces process`, on the real send log."""

from __future__ import annotations

import imaplib
import mailbox
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.bounces.service import process_message
from mezame.cli import app
from mezame.config import get_settings
from mezame.mail.links import LinkSigner
from mezame.models import Campaign, CampaignSend, EngagementEvent, Suppression
from tests.mail_helpers import add_contacts, make_campaign

SECRET = "bounce-test-secret"
BASE = "https://mezame.example.jp"
SIGNER = LinkSigner(SECRET.encode(), BASE)


def dsn(recipient: str, status: str, message_id: str, report_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.jp\r\nTo: news@mezame.example.jp\r\n"
        f"Subject: Undelivered Mail\r\nMessage-ID: <{report_id}@mx.example.jp>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.jp\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"To: {recipient}\r\nMessage-ID: <{message_id}>\r\n\r\n--B--\r\n"
    ).encode()


@pytest.fixture
def sent(engine: Engine) -> dict[str, int]:
    """Three contacts whose mail was sent: address → send id."""
    with Session(engine) as s:
        add_contacts(s, 3)
        s.commit()
    campaign_id = make_campaign(engine)
    with Session(engine) as s:
        rows = s.scalars(select(CampaignSend)).all()
        for row in rows:
            row.status = "sent"
            row.email = f"user{row.contact_id - 1}@example.jp"
            row.attempts = 1
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="finished"))
        s.commit()
        return {row.email: row.id for row in rows if row.email}


def _message_id(send_id: int) -> str:
    return SIGNER.message_id(send_id, "mezame-shoji.example.jp")


def test_hard_suppresses_soft_resends_then_suppresses_after_the_limit(
    engine: Engine, sent: dict[str, int]
) -> None:
    now = datetime.now(UTC)
    hard = dsn("user0@example.jp", "5.1.1", _message_id(sent["user0@example.jp"]), "r1")
    with Session(engine) as s:
        first = process_message(s, hard, signer=SIGNER, source="test", at=now)
        again = process_message(s, hard, signer=SIGNER, source="test", at=now)
        s.commit()
    assert (first.hard, first.suppressed, again.duplicates, again.suppressed) == (1, 1, 1, 0)
    with Session(engine) as s:
        hard_row = s.get(CampaignSend, sent["user0@example.jp"])
        assert hard_row is not None and hard_row.bounced_at is not None

    soft_send = sent["user1@example.jp"]
    for n in range(1, 4):
        with Session(engine) as s:
            report = process_message(
                s,
                dsn("user1@example.jp", "4.2.2", _message_id(soft_send), f"s{n}"),
                signer=SIGNER,
                source="test",
                at=now,
            )
            row = s.get(CampaignSend, soft_send)
            assert row is not None
            if n < 3:  # sent again later, the campaign reopens for it; not undelivered yet
                assert (report.resent, report.suppressed, row.status) == (1, 0, "pending")
                assert row.bounced_at is None
                assert row.next_attempt_at is not None and row.next_attempt_at > now
                assert s.scalar(select(Campaign.status)) == "sending"
                row.status = "sent"  # the retry went out (as the sender would mark it)
            else:  # the third soft bounce in the window suppresses the address
                assert (report.resent, report.suppressed) == (0, 1)
                assert row.bounced_at is not None
            s.commit()
    with Session(engine) as s:
        suppressed = dict(s.execute(select(Suppression.email, Suppression.reason)).all())
        bounced = s.scalars(
            select(EngagementEvent.payload).where(EngagementEvent.type == "mail_bounced")
        ).all()
    assert suppressed == {"user0@example.jp": "hard_bounce", "user1@example.jp": "soft_bounces"}
    assert len(bounced) == 4 and all(p["campaign_id"] for p in bounced)


@pytest.fixture
def cli_db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MEZAME_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("MEZAME_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    yield sqlite_engine
    get_settings.cache_clear()


def test_cli_reads_a_maildir_once_complaints_and_mailto_unsubscribes_included(
    cli_db: Engine, tmp_path: Path
) -> None:
    with Session(cli_db) as s:
        add_contacts(s, 3)
        s.commit()
    make_campaign(cli_db)
    with Session(cli_db) as s:
        ids = s.scalars(select(CampaignSend.id).order_by(CampaignSend.id)).all()
    box = mailbox.Maildir(str(tmp_path / "bounces"), create=True)
    box.add(dsn("user0@example.jp", "5.1.1", _message_id(ids[0]), "r1"))
    raw_arf = (
        b"From: abuse@isp.example\r\nMessage-ID: <arf-9@isp.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r\n\r\n'
        b"--F\r\nContent-Type: message/feedback-report\r\n\r\n"
        b"Feedback-Type: abuse\r\nOriginal-Rcpt-To: user1@example.jp\r\n\r\n--F--\r\n"
    )
    box.add(raw_arf)
    unsubscribe = EmailMessage()
    unsubscribe["From"] = "user2@example.jp"
    unsubscribe["To"] = "unsubscribe@mezame-shoji.example.jp"
    unsubscribe["Subject"] = "unsubscribe-" + SIGNER.send_token("unsubscribe", ids[2])
    unsubscribe.set_content("")
    box.add(unsubscribe)
    question = EmailMessage()
    question["From"] = "someone@example.jp"
    question["Subject"] = "資料について"
    question.set_content("資料をください")
    box.add(question)

    runner = CliRunner()
    result = runner.invoke(app, ["bounces", "process", "--maildir", str(tmp_path / "bounces")])
    assert result.exit_code == 0, result.output
    assert "4 messages: 1 hard, 0 soft, 1 complaints, 1 unsubscribes" in result.output
    with Session(cli_db) as s:
        suppressed = dict(s.execute(select(Suppression.email, Suppression.reason)).all())
    assert suppressed == {
        "user0@example.jp": "hard_bounce",
        "user1@example.jp": "complaint",
        "user2@example.jp": "unsubscribed",
    }
    # Read messages are marked seen: a second run finds nothing to do.
    second = runner.invoke(app, ["bounces", "process", "--maildir", str(tmp_path / "bounces")])
    assert "0 messages" in second.output
    bad = runner.invoke(app, ["bounces", "process", "--maildir", str(tmp_path / "nowhere")])
    assert bad.exit_code == 2 and "not a Maildir" in bad.output


@pytest.fixture
def imap_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """pymap, a real IMAP server (in-memory mailboxes), with STARTTLS on a self-signed cert."""
    pymap = Path(sys.executable).with_name("pymap")
    openssl = shutil.which("openssl")
    if not pymap.exists() or openssl is None:
        pytest.skip("needs pymap (the test extra) and the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            str(pymap),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--cert",
            str(cert),
            "--key",
            str(key),
            "dict",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("pymap did not start")
                time.sleep(0.1)
        yield port, cert
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_cli_reads_an_imap_folder_over_starttls_and_marks_what_it_read(
    cli_db: Engine, imap_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert = imap_server
    with Session(cli_db) as s:
        add_contacts(s, 2)
        s.commit()
    make_campaign(cli_db)
    with Session(cli_db) as s:
        first_send = s.scalars(select(CampaignSend.id).order_by(CampaignSend.id)).first()
    assert first_send is not None
    client = imaplib.IMAP4("127.0.0.1", port)
    client.starttls(ssl_context=ssl.create_default_context(cafile=str(cert)))
    client.login("demouser", "demopass")
    client.append("INBOX", "", "", dsn("user0@example.jp", "5.1.1", _message_id(first_send), "i1"))
    question = EmailMessage()
    question["From"] = "someone@example.jp"
    question["Subject"] = "お見積りの件"
    question.set_content("ご連絡ありがとうございます")
    client.append("INBOX", "", "", question.as_bytes())
    client.logout()
    for name, value in {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "USERNAME": "demouser",
        "PASSWORD": "demopass",
        "SECURITY": "starttls",
        "CA_FILE": str(cert),
    }.items():
        monkeypatch.setenv(f"MEZAME_BOUNCE_IMAP_{name}", value)
    get_settings.cache_clear()

    runner = CliRunner()
    result = runner.invoke(app, ["bounces", "process", "--imap"])
    assert result.exit_code == 0, result.output
    assert "2 messages: 1 hard" in result.output and "1 not bounces" in result.output
    with Session(cli_db) as s:
        assert dict(s.execute(select(Suppression.email, Suppression.reason)).all()) == {
            "user0@example.jp": "hard_bounce"
        }
    again = runner.invoke(app, ["bounces", "process", "--imap"])
    assert "0 messages" in again.output

    # A server whose certificate is not trusted gets no password, and a clear error.
    monkeypatch.delenv("MEZAME_BOUNCE_IMAP_CA_FILE")
    get_settings.cache_clear()
    refused = runner.invoke(app, ["bounces", "process", "--imap"])
    assert refused.exit_code == 1 and "CERTIFICATE_VERIFY_FAILED" in refused.output
