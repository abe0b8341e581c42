"""Email KPIs end to end: a campaign sent over real SMTP, then opens, clicks, an unsubscribe
and a DSN bounce through the public endpoints, and the stats must match to the mail."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.campaigns.kpis import SendCounts
from mezame.campaigns.stats.service import campaign_kpis, kpi_overview, set_conversion_goal
from mezame.cli import app
from mezame.compliance.service import record_events
from mezame.config import Settings, get_settings
from mezame.mail.links import LinkSigner
from mezame.models import (
    Campaign,
    CampaignSend,
    Company,
    Contact,
    Deal,
    EngagementEvent,
    Suppression,
)
from mezame.sending.options import SendOptions
from mezame.sending.service import run_campaign
from tests.mail_helpers import (
    BASE_URL,
    FAST,
    SECRET,
    CollectingHandler,
    add_contacts,
    make_campaign,
    parts_for,
    smtp_server,
)

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
APPLE_PROXY = "Mozilla/5.0"  # what Apple Mail Privacy Protection's prefetch sends


def dsn(recipient: str, message_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.jp\r\nTo: news@mezame.example.jp\r\n"
        "Subject: Undelivered Mail\r\nMessage-ID: <report-1@mx.example.jp>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.jp\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"To: {recipient}\r\nMessage-ID: <{message_id}>\r\n\r\n--B--\r\n"
    ).encode()


@dataclass
class Sent:
    engine: Engine
    campaign_id: int
    send_ids: dict[str, int]  # address → send id
    message_ids: dict[str, str]  # address → Message-ID as received
    sent_at: datetime


def send_campaign(engine: Engine, recipients: int = 6) -> Sent:
    """Send a real campaign over SMTP, then date it an hour back (the reading comes later)."""
    with Session(engine) as s:
        add_contacts(s, recipients)
        s.commit()
    campaign_id = make_campaign(engine)
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        report = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert report.sent == recipients
    message_ids = {}
    for received in handler.messages:
        parsed = message_from_bytes(received.data, policy=policy.default)
        message_ids[received.recipients[0]] = str(parsed["Message-ID"]).strip("<>")
    # Noon in Tokyo yesterday: a fixed day for the daily buckets, and opens well after it.
    sent_at = datetime.combine(
        datetime.now(UTC).date() - timedelta(days=1), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=3)
    with Session(engine) as s:
        s.execute(update(CampaignSend).values(sent_at=sent_at))
        s.commit()
        send_ids = {row.email: row.id for row in s.scalars(select(CampaignSend)) if row.email}
    return Sent(engine, campaign_id, send_ids, message_ids, sent_at)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(
        Settings(database_url=str(engine.url), secret_key=SECRET.decode(), base_url=BASE_URL),
        engine=engine,
    )
    with TestClient(app, base_url=BASE_URL) as c:
        yield c


def _token(engine: Engine, role: str) -> str:
    with Session(engine) as s:
        user = create_user(
            s, email=f"{role}@example.jp", name=role, role=role, password="long-enough-pw"
        )
        token = create_api_token(s, user_id=user.id, name="t")
        s.commit()
        return token


def test_stats_match_what_recipients_did_through_the_public_endpoints(
    engine: Engine, client: TestClient
) -> None:
    sent = send_campaign(engine)
    signer = LinkSigner(SECRET, BASE_URL)
    ids = sent.send_ids

    def open_pixel(address: str, agent: str) -> None:
        url = signer.open_url(ids[address]).removeprefix(BASE_URL)
        assert client.get(url, headers={"User-Agent": agent}).status_code == 200

    def click(address: str) -> None:
        url = signer.click_url(ids[address], "https://www.example.jp/pricing")
        response = client.get(
            url.removeprefix(BASE_URL), headers={"User-Agent": CHROME}, follow_redirects=False
        )
        assert response.status_code == 302

    open_pixel("user0@example.jp", CHROME)
    open_pixel("user0@example.jp", CHROME)
    click("user0@example.jp")
    open_pixel("user1@example.jp", APPLE_PROXY)  # a machine's prefetch only
    click("user2@example.jp")  # images blocked: the click alone proves the reading
    open_pixel("user3@example.jp", CHROME)
    unsubscribe = signer.send_token("unsubscribe", ids["user3@example.jp"])
    one_click = client.post(
        f"/u/{unsubscribe}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    marketing = _token(engine, "marketing")
    bounce = client.post(
        "/api/v1/mail/bounces/raw",
        content=dsn("user4@example.jp", sent.message_ids["user4@example.jp"]),
        headers={"Authorization": f"Bearer {marketing}", "Content-Type": "message/rfc822"},
    )
    assert bounce.status_code == 200 and bounce.json()["hard"] == 1
    # user5 did nothing.

    with Session(engine) as s:
        stats = campaign_kpis(s, sent.campaign_id)
    assert stats.total.counts == SendCounts(
        sent=6,
        bounced=1,
        opened=4,
        human_opened=3,
        opens=4,
        machine_opens=1,
        clicked=2,
        clicks=2,
        unsubscribed=1,
        converted=0,
    )
    k = stats.total
    assert k.delivered == 5
    assert k.bounce_rate == pytest.approx(1 / 6)
    assert k.open_rate == pytest.approx(3 / 5)
    assert k.raw_open_rate == pytest.approx(4 / 5)
    assert k.machine_only_opened == 1
    assert k.ctr == pytest.approx(2 / 5)
    assert k.click_to_open == pytest.approx(2 / 3)
    assert k.unsubscribe_rate == pytest.approx(1 / 5)
    assert k.cvr is None  # no goal set: no CVR, not 0 %
    assert [s.position for s in stats.steps] == [1]
    assert stats.steps[0].kpis.counts == k.counts
    sent_day = sent.sent_at.astimezone(ZoneInfo("Asia/Tokyo")).date()
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    assert [d.day for d in stats.daily] == sorted({sent_day, today})
    by_day = {d.day: d for d in stats.daily}
    assert by_day[sent_day].kpis.counts.sent == 6
    # First human opens and clicks happened today (by their own time), not on the send day.
    assert by_day[today].first_opens == 3 and by_day[today].first_clicks == 2

    # The API says the same, rates included, for any team member.
    sales = _token(engine, "sales")
    body = client.get(
        f"/api/v1/campaigns/{sent.campaign_id}/stats",
        headers={"Authorization": f"Bearer {sales}"},
    ).json()
    assert body["total"]["counts"]["opened"] == 4
    assert body["total"]["delivered"] == 5
    assert body["total"]["rates"]["open_rate"] == pytest.approx(0.6)
    assert body["total"]["rates"]["cvr"] is None
    listed = client.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {sales}"}).json()
    assert [c["id"] for c in listed] == [sent.campaign_id]
    assert listed[0]["kpis"]["rates"]["bounce_rate"] == pytest.approx(1 / 6)


def _goal_event(session: Session, contact_id: int, kind: str, at: datetime, key: str) -> None:
    record_events(
        session,
        [
            {
                "dedupe_key": key.encode().ljust(16, b"-")[:16],
                "type": kind,
                "occurred_at": at,
                "contact_id": contact_id,
                "payload": {},
            }
        ],
    )


def _sent_rows(engine: Engine, count: int) -> tuple[int, list[int], datetime]:
    """A campaign whose `count` mails went out (the send log written as the sender would)."""
    with Session(engine) as s:
        contacts = add_contacts(s, count)
        s.commit()
    campaign_id = make_campaign(engine)
    sent_at = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    with Session(engine) as s:
        s.execute(update(CampaignSend).values(status="sent", sent_at=sent_at))
        s.commit()
    return campaign_id, contacts, sent_at


def test_a_goal_event_converts_only_inside_the_window_after_the_mail(session: Session) -> None:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    campaign_id, contacts, sent_at = _sent_rows(engine, 5)
    set_conversion_goal(session, campaign_id=campaign_id, goal="inquiry", days=14)
    _goal_event(session, contacts[0], "inquiry", sent_at + timedelta(days=3), "in-window")
    _goal_event(session, contacts[1], "demo_request", sent_at + timedelta(days=13), "demo")
    _goal_event(session, contacts[2], "inquiry", sent_at + timedelta(days=14, seconds=1), "late")
    _goal_event(session, contacts[3], "inquiry", sent_at - timedelta(minutes=1), "before")
    _goal_event(session, contacts[4], "document_download", sent_at + timedelta(days=1), "dl")
    session.commit()
    stats = campaign_kpis(session, campaign_id)
    assert stats.total.counts.converted == 2
    assert stats.total.cvr == pytest.approx(2 / 5)

    set_conversion_goal(session, campaign_id=campaign_id, goal="download")
    assert campaign_kpis(session, campaign_id).total.counts.converted == 1
    set_conversion_goal(session, campaign_id=campaign_id, goal="inquiry", days=30)
    session.commit()
    assert campaign_kpis(session, campaign_id).total.counts.converted == 3
    [summary] = kpi_overview(session)
    assert summary.kpis.counts.converted == 3 and summary.goal.value == "inquiry"


def test_a_deal_for_the_contact_or_their_company_converts_within_the_window(
    session: Session,
) -> None:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    campaign_id, contacts, _ = _sent_rows(engine, 3)
    other = Company(import_key="other", name="株式会社べつ")
    session.add(other)
    session.flush()
    company_id = session.get(Contact, contacts[0]).company_id  # type: ignore[union-attr]
    session.add_all(
        [
            # same company (all three contacts share it), opened on the mail's day
            Deal(
                import_key="d1", company_id=company_id, name="再提案", opened_on=date(2026, 11, 2)
            ),
            # another company: converts nobody
            Deal(import_key="d2", company_id=other.id, name="別件", opened_on=date(2026, 11, 3)),
        ]
    )
    set_conversion_goal(session, campaign_id=campaign_id, goal="deal", days=7)
    session.commit()
    assert campaign_kpis(session, campaign_id).total.counts.converted == 3
    session.execute(
        update(Deal).where(Deal.import_key == "d1").values(opened_on=date(2026, 11, 10))
    )
    session.commit()
    # 8 days after the mail's day: outside a 7-day window.
    assert campaign_kpis(session, campaign_id).total.counts.converted == 0
    session.add(
        Deal(import_key="d3", contact_id=contacts[1], name="個人", opened_on=date(2026, 11, 9))
    )
    session.commit()
    assert campaign_kpis(session, campaign_id).total.counts.converted == 1


def test_an_empty_campaign_has_no_rates_and_the_overview_lists_every_campaign(
    session: Session,
) -> None:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    first = make_campaign(engine, name="まだ誰にも")
    second, _, _ = _sent_rows(engine, 2)
    stats = campaign_kpis(session, first)
    assert stats.total.counts == SendCounts()
    assert all(value is None for value in stats.total.rates().values())
    assert stats.daily == []
    overview = kpi_overview(session)
    assert [c.campaign_id for c in overview] == [second, first]
    assert overview[0].kpis.counts.sent == 2 and overview[1].kpis.counts.sent == 0
    assert session.get(Campaign, first) is not None


def test_cli_stats_prints_japanese_percentages_per_step_and_day_and_json(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id, _, _ = _sent_rows(sqlite_engine, 4)
    with Session(sqlite_engine) as s:
        first = s.scalars(select(CampaignSend).order_by(CampaignSend.id)).first()
        assert first is not None
        first.bounced_at = datetime(2026, 11, 2, 2, tzinfo=UTC)
        s.execute(
            update(CampaignSend)
            .where(CampaignSend.id != first.id)
            .values(opened_at=first.bounced_at, opens=1, machine_opens=1)
        )
        s.commit()
    monkeypatch.setenv("MEZAME_DATABASE_URL", f"sqlite:///{sqlite_engine.url.database}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        shown = runner.invoke(
            app,
            ["campaign", "stats", str(campaign_id), "--by-step", "--daily"],
            env={"COLUMNS": "250"},
        )
        as_json = runner.invoke(app, ["campaign", "stats", str(campaign_id), "--json"])
        missing = runner.invoke(app, ["campaign", "stats", "999"])
        goal = runner.invoke(app, ["campaign", "goal", str(campaign_id), "deal", "--days", "30"])
        wrong = runner.invoke(app, ["campaign", "goal", str(campaign_id), "sale"])
        with_goal = runner.invoke(app, ["campaign", "stats", str(campaign_id), "--json"])
    finally:
        get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert "25.0%" in shown.output  # 不達率: 1 of 4
    assert "0.0%" in shown.output  # open rate: the three opens were all machines'
    assert "100.0%" in shown.output  # raw open rate
    assert "—" in shown.output  # no goal: no CVR
    assert "1通目" in shown.output and "2026年11月2日" in shown.output
    assert "機械的な開封のみ 3 通" in shown.output
    body = json.loads(as_json.output)
    assert body["total"]["counts"]["bounced"] == 1
    assert body["total"]["rates"]["raw_open_rate"] == 1.0
    assert missing.exit_code == 2 and "campaign 999 does not exist" in missing.output
    assert goal.exit_code == 0, goal.output
    assert wrong.exit_code == 2 and "conversion goal: 'sale' is not one of" in wrong.output
    body = json.loads(with_goal.output)
    assert body["conversion_goal"] == "deal" and body["conversion_window_days"] == 30
    assert body["total"]["rates"]["cvr"] == 0.0  # a goal now, but no deal yet


def test_days_are_japanese_calendar_days(session: Session) -> None:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    campaign_id, _, _ = _sent_rows(engine, 2)
    first, second = session.scalars(select(CampaignSend).order_by(CampaignSend.id)).all()
    first.sent_at = datetime(2026, 11, 2, 14, 59, tzinfo=UTC)  # 23:59 in Tokyo
    second.sent_at = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 00:00 on the 3rd in Tokyo
    second.clicked_at = second.opened_at = second.human_opened_at = second.sent_at
    second.clicks = 1
    session.commit()
    daily = campaign_kpis(session, campaign_id).daily
    assert [(d.day, d.kpis.counts.sent, d.first_clicks) for d in daily] == [
        (date(2026, 11, 2), 1, 0),
        (date(2026, 11, 3), 1, 1),
    ]


def test_refusals_during_the_conversation_count_as_sent_and_bounced(engine: Engine) -> None:
    # 550 5.1.1 at RCPT is a hard bounce the relay reports at once; 452 4.2.2 until the
    # sender gives up is a soft one. Neither is ever accepted, and 不達率 must count both.
    with Session(engine) as s:
        add_contacts(s, 4)
        s.commit()
    campaign_id = make_campaign(engine)
    refusals = {
        "user0@example.jp": "550 5.1.1 <user0@example.jp>: Recipient address rejected",
        "user1@example.jp": "452 4.2.2 Mailbox full",
    }
    handler = CollectingHandler(refuse_rcpt=refusals.get)
    options = SendOptions(**{**FAST.__dict__, "max_attempts": 2})
    with smtp_server(handler) as port:
        report = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=options)
        )
    assert report.sent == 2 and report.failed == 2
    with Session(engine) as s:
        stats = campaign_kpis(s, campaign_id)
        bounced = s.scalars(
            select(Contact.email)
            .join(CampaignSend, CampaignSend.contact_id == Contact.id)
            .where(CampaignSend.bounced_at.is_not(None))
        ).all()
        kinds = sorted(
            p["kind"] for p in s.scalars(select(EngagementEvent.payload)).all() if "kind" in p
        )
    assert sorted(bounced) == ["user0@example.jp", "user1@example.jp"]
    assert kinds == ["hard", "soft"]
    assert stats.total.counts.sent == 4 and stats.total.counts.delivered == 2
    assert stats.total.counts.bounced == 2
    assert stats.total.bounce_rate == pytest.approx(0.5)


def test_soft_refusals_given_up_on_suppress_after_the_policy_limit(engine: Engine) -> None:
    # mail_bounces: 3 soft bounces in 90 days suppress. A mailbox that answers 452 through
    # every attempt of three campaigns is suppressed after the third, and the fourth
    # campaign skips it as suppressed, never trying again.
    with Session(engine) as s:
        add_contacts(s, 1)
        s.commit()
    handler = CollectingHandler(refuse_rcpt=lambda _address: "452 4.2.2 Mailbox full")
    options = SendOptions(**{**FAST.__dict__, "max_attempts": 1})
    with smtp_server(handler) as port:
        for round_ in range(4):
            campaign_id = make_campaign(engine, name=f"第{round_ + 1}回")
            report = asyncio.run(
                run_campaign(
                    engine, campaign_id=campaign_id, parts=parts_for(port), options=options
                )
            )
            with Session(engine) as s:
                suppressed = s.execute(select(Suppression.email, Suppression.reason)).all()
            assert suppressed == ([] if round_ < 2 else [("user0@example.jp", "soft_bounces")])
    assert report.failed == 0 and handler.messages == []
    with Session(engine) as s:
        [fourth] = s.scalars(select(CampaignSend).where(CampaignSend.campaign_id == campaign_id))
    assert (fourth.status, fourth.detail) == ("skipped", "suppressed")
