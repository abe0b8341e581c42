"""Campaign kinds and restraint on SQLite and PostgreSQL: cadence, priority and the cap at
freeze, sequences through a real SMTP conversation, recurring runs, schedules through the
queue, and quiet hours that defer without losing or doubling a mail."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from mezame.adapters.smtp import RecordingTransport
from mezame.cadence import CadencePolicy
from mezame.cadence.service import set_cadence, settle_reminders
from mezame.campaigns.kinds import Branch, CampaignKind, Recurrence, WaitEvent
from mezame.campaigns.service import (
    StepContent,
    create_campaign,
    freeze_audience,
    pause_campaign,
)
from mezame.config import Settings, get_settings
from mezame.errors import InvalidInputError
from mezame.models import Campaign, CampaignSend, Contact
from mezame.policy.service import save_policy
from mezame.queue import build_huey, register_tasks
from mezame.scheduling.service import advance_campaigns, schedule_campaign, waiting_until
from mezame.sending.service import SenderParts, SendOptions, run_campaign
from mezame.sendlog.service import campaigns_to_resume
from mezame.tracking.service import record_open
from mezame.worker import start_embedded_consumer
from tests.mail_helpers import (
    FAST,
    IDENTITY,
    CollectingHandler,
    add_contacts,
    parts_for,
    smtp_server,
)

JST = ZoneInfo("Asia/Tokyo")
MAIL = StepContent(subject="{{ contact.name }}様 ご案内", html="<p>{{ contact.name }} 様</p>")
OPEN = CadencePolicy.always_open()


def _jst(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=JST)  # type: ignore[misc]


def _rows(session: Session, campaign_id: int) -> dict[int, tuple[str, str | None]]:
    return {
        contact: (status, detail)
        for contact, status, detail in session.execute(
            select(CampaignSend.contact_id, CampaignSend.status, CampaignSend.detail).where(
                CampaignSend.campaign_id == campaign_id
            )
        )
    }


def _mark_sent(session: Session, campaign_id: int, contacts: list[int], at: datetime) -> None:
    session.execute(
        update(CampaignSend)
        .where(
            CampaignSend.campaign_id == campaign_id,
            CampaignSend.contact_id.in_(contacts),
            CampaignSend.status == "pending",
        )
        .values(status="sent", sent_at=at)
    )


def test_freeze_skips_by_cadence_priority_and_cap_with_reasons(engine: Engine) -> None:
    now = _jst(2026, 11, 24, 10)
    with Session(engine) as s:
        a, b, c, d, e = add_contacts(s, 5)
        set_cadence(s, contacts=[b], cadence="seasonal", at=now)
        first = create_campaign(s, name="10月号", steps=[MAIL])
        freeze_audience(s, campaign_id=first.id, as_of=now - timedelta(days=60))
        # a: mailed 14 days ago (monthly: too soon); b: 60 days ago but seasonal (too soon);
        # c: 30 days ago (monthly: fine).
        _mark_sent(s, first.id, [a], now - timedelta(days=14))
        _mark_sent(s, first.id, [b], now - timedelta(days=60))
        _mark_sent(s, first.id, [c], now - timedelta(days=30))
        s.execute(
            update(CampaignSend)
            .where(CampaignSend.campaign_id == first.id, CampaignSend.contact_id.in_([d, e]))
            .values(status="skipped")
        )
        low = create_campaign(s, name="セミナー案内", steps=[MAIL], priority=1)
        freeze_audience(s, campaign_id=low.id, as_of=now)
        rows = _rows(s, low.id)
        assert rows[a] == ("skipped", "cadence: last mail 2026年11月10日 (monthly)")
        assert rows[b] == ("skipped", "cadence: last mail 2026年9月25日 (seasonal)")
        assert rows[c] == rows[d] == rows[e] == ("pending", None)
        # Same priority, frozen later: the first campaign keeps them.
        same = create_campaign(s, name="同じ優先度", steps=[MAIL], priority=1)
        freeze_audience(s, campaign_id=same.id, as_of=now)
        assert _rows(s, same.id)[c] == (
            "skipped",
            f"priority: campaign {low.id} (priority 1) mails them first",
        )
        # Higher priority: takes them, and the waiting rows of the lower one are skipped.
        high = create_campaign(s, name="再提案", steps=[MAIL], priority=5)
        freeze_audience(s, campaign_id=high.id, as_of=now)
        assert _rows(s, high.id)[c] == ("pending", None)
        assert _rows(s, low.id)[c] == (
            "skipped",
            f"priority: campaign {high.id} (priority 5) mails them first",
        )
        s.commit()


def test_the_cap_counts_every_mail_in_the_window_across_campaigns(engine: Engine) -> None:
    now = _jst(2026, 11, 24, 10)
    with Session(engine) as s:
        save_policy(s, CadencePolicy(cap_mails=2, cap_window_days=30, monthly_interval_days=1))
        [contact] = add_contacts(s, 1)
        sequence = create_campaign(
            s,
            name="シナリオ",
            kind="sequence",
            steps=[MAIL, StepContent(subject="2通目", html="<p>2</p>", wait_days=2)],
        )
        old = create_campaign(s, name="先々月", steps=[MAIL])
        freeze_audience(s, campaign_id=old.id, as_of=now - timedelta(days=40))
        _mark_sent(s, old.id, [contact], now - timedelta(days=40))  # outside the window
        freeze_audience(s, campaign_id=sequence.id, as_of=now - timedelta(days=5))
        _mark_sent(s, sequence.id, [contact], now - timedelta(days=5))
        # A follow-up: one mail in the window, so it may go (no interval for follow-ups).
        assert freeze_audience(s, campaign_id=sequence.id, position=2, as_of=now).queued == 1
        _mark_sent(s, sequence.id, [contact], now)
        third = create_campaign(s, name="別件", steps=[MAIL])
        freeze_audience(s, campaign_id=third.id, as_of=now + timedelta(days=2))
        assert _rows(s, third.id)[contact] == ("skipped", "cap: 2 mails in 30 days")
        # Later the window has room again.
        fourth = create_campaign(s, name="翌月", steps=[MAIL])
        freeze_audience(s, campaign_id=fourth.id, as_of=now + timedelta(days=26))
        assert _rows(s, fourth.id)[contact] == ("pending", None)


def _open_token(message: bytes) -> str:
    html = message_from_bytes(message, policy=policy.default).get_body(("html",))
    assert html is not None
    found = re.search(r"/o/([A-Za-z0-9_\-]+)\.gif", html.get_content())
    assert found, "no open pixel in the mail"
    return found.group(1)


def test_a_sequence_mails_the_second_step_only_to_openers_after_the_wait(engine: Engine) -> None:
    with Session(engine) as s:
        save_policy(s, OPEN)
        contacts = add_contacts(s, 6)
        campaign = create_campaign(
            s,
            name="資料請求フォロー",
            kind=CampaignKind.SEQUENCE,
            steps=[
                MAIL,
                StepContent(
                    subject="詳しい資料をお送りしますか?",
                    html="<p>資料</p>",
                    wait_days=2,
                    branch=Branch.OPENED,
                ),
            ],
        )
        freeze_audience(s, campaign_id=campaign.id, as_of=datetime.now(UTC))
        s.commit()
        campaign_id = campaign.id
    handler = CollectingHandler()
    options = SendOptions(**{**FAST.__dict__, "cadence": OPEN})
    with smtp_server(handler) as port:
        parts = parts_for(port)
        report = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts, options=options)
        )
        assert report.sent == 6
        # Waiting for the second mail: still sending, not finished.
        assert report.status == "sending"
        openers = {f"user{i}@example.jp" for i in (0, 2, 3)}
        with Session(engine) as s:
            for message in handler.messages:
                if message.recipients[0] in openers:
                    assert record_open(
                        s,
                        signer=parts.signer,
                        token=_open_token(message.data),
                        at=datetime.now(UTC),
                        user_agent="Mozilla/5.0 (Windows NT 10.0)",
                    )
            s.commit()
        with Session(engine) as s:
            early = advance_campaigns(s, now=datetime.now(UTC) + timedelta(days=1))
            assert early.next_mails == {}
            due = advance_campaigns(s, now=datetime.now(UTC) + timedelta(days=2, minutes=1))
            assert due.next_mails == {campaign_id: 3}
            again = advance_campaigns(s, now=datetime.now(UTC) + timedelta(days=3))
            assert again.next_mails == {}  # idempotent: the rows exist
            s.commit()
        report = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=options)
        )
    assert report.sent == 3 and report.status == "finished"
    second = [m.recipients[0] for m in handler.messages[6:]]
    assert sorted(second) == sorted(openers)
    with Session(engine) as s:
        skipped = s.scalars(
            select(CampaignSend.detail).where(
                CampaignSend.campaign_id == campaign_id, CampaignSend.status == "skipped"
            )
        ).all()
    assert skipped == ["branch: did not open mail 1"] * 3
    assert len(contacts) == 6


def test_a_reminder_left_unanswered_moves_the_contact_to_seasonal(engine: Engine) -> None:
    now = _jst(2026, 11, 24, 10)
    with Session(engine) as s:
        quiet, opener, reset_by_hand = add_contacts(s, 3)
        campaign = create_campaign(
            s,
            name="お久しぶりです",
            kind="sequence",
            steps=[
                MAIL,
                StepContent(
                    subject="リマインド",
                    html="<p>念のため</p>",
                    wait_days=7,
                    branch=Branch.NOT_CLICKED,
                    then_seasonal=True,
                ),
            ],
        )
        freeze_audience(s, campaign_id=campaign.id, position=2, as_of=now)
        _mark_sent(s, campaign.id, [quiet, opener, reset_by_hand], now)
        s.execute(
            update(CampaignSend)
            .where(CampaignSend.contact_id == opener)
            .values(opened_at=now + timedelta(days=1))
        )
        policy_ = CadencePolicy()
        assert settle_reminders(s, now=now + timedelta(days=6), policy=policy_) == 0
        set_cadence(s, contacts=[reset_by_hand], cadence="seasonal", at=now + timedelta(days=1))
        set_cadence(s, contacts=[reset_by_hand], cadence="monthly", at=now + timedelta(days=2))
        assert settle_reminders(s, now=now + timedelta(days=7), policy=policy_) == 1
        assert settle_reminders(s, now=now + timedelta(days=8), policy=policy_) == 0
        cadences = dict(s.execute(select(Contact.id, Contact.cadence)).all())
    assert cadences == {quiet: "seasonal", opener: "monthly", reset_by_hand: "monthly"}


def test_recurring_runs_are_created_once_per_occurrence(engine: Engine) -> None:
    with Session(engine) as s:
        add_contacts(s, 3)
        newsletter = create_campaign(
            s,
            name="月刊ニュースレター",
            kind="recurring",
            steps=[MAIL],
            priority=2,
            recurrence=Recurrence.parse("monthly:1@09:00"),
        )
        schedule_campaign(s, campaign_id=newsletter.id, at=_jst(2026, 11, 2), now=_jst(2026, 11, 2))
        assert advance_campaigns(s, now=_jst(2026, 12, 1, 8, 59)).runs == []
        first = advance_campaigns(s, now=_jst(2026, 12, 1, 9, 1))
        assert len(first.runs) == 1 and first.to_send == first.runs
        assert advance_campaigns(s, now=_jst(2026, 12, 1, 9, 2)).runs == []
        assert advance_campaigns(s, now=_jst(2026, 12, 20)).runs == []
        run = s.get(Campaign, first.runs[0])
        assert run is not None
        assert (run.name, run.parent_id, run.occurrence_key, run.status, run.priority) == (
            "月刊ニュースレター 2026年12月",
            newsletter.id,
            "2026-12",
            "sending",
            2,
        )
        assert len(_rows(s, run.id)) == 3
        _mark_sent(s, run.id, list(_rows(s, run.id)), _jst(2026, 12, 1, 9, 5))
        pause_campaign(s, campaign_id=newsletter.id)
        assert advance_campaigns(s, now=_jst(2027, 1, 1, 9, 1)).runs == []
        newsletter.status = "scheduled"
        january = advance_campaigns(s, now=_jst(2027, 1, 1, 9, 1)).runs
        assert len(january) == 1
        # The January run: its contacts got December's 31 days ago (monthly: fine).
        assert {status for status, _ in _rows(s, january[0]).values()} == {"pending"}
        keys = s.scalars(
            select(Campaign.occurrence_key).where(Campaign.parent_id == newsletter.id)
        ).all()
        assert sorted(keys) == ["2026-12", "2027-01"]


def test_schedule_refuses_what_cannot_be_scheduled(engine: Engine) -> None:
    now = _jst(2026, 11, 24, 10)
    with Session(engine) as s:
        campaign = create_campaign(s, name="単発", steps=[MAIL])
        with pytest.raises(InvalidInputError, match="in the past"):
            schedule_campaign(s, campaign_id=campaign.id, at=now - timedelta(hours=1), now=now)
        with pytest.raises(InvalidInputError, match="not recurring"):
            schedule_campaign(
                s, campaign_id=campaign.id, at=now, now=now, recurrence=Recurrence(day=1)
            )
        recurring = create_campaign(s, name="定期", kind="recurring", steps=[MAIL])
        with pytest.raises(InvalidInputError, match="needs a recurrence"):
            schedule_campaign(s, campaign_id=recurring.id, at=now, now=now)
        with pytest.raises(InvalidInputError, match="mail 2: waits and branches"):
            create_campaign(
                s,
                name="x",
                steps=[MAIL, StepContent(subject="s", html="<p>h</p>", wait_days=3)],
            )
        with pytest.raises(InvalidInputError, match="kind"):
            create_campaign(s, name="x", kind="weekly", steps=[MAIL])
        schedule_campaign(s, campaign_id=campaign.id, at=now + timedelta(days=1), now=now)
        assert advance_campaigns(s, now=now).started == []
        assert advance_campaigns(s, now=now + timedelta(days=1)).started == [campaign.id]
        assert campaign.status == "sending"


def test_quiet_hours_defer_the_rest_and_nothing_is_lost_or_doubled(engine: Engine) -> None:
    with Session(engine) as s:
        add_contacts(s, 5)
        campaign = create_campaign(s, name="夕方の配信", steps=[MAIL])
        freeze_audience(s, campaign_id=campaign.id, as_of=_jst(2026, 11, 24, 19))
        s.commit()
        campaign_id = campaign.id
    clock = {"now": _jst(2026, 11, 24, 19, 59, 50)}
    transport = RecordingTransport(connections=1)

    def close_the_window(_recipient: str) -> None:
        # The first body is leaving; the producer has claimed at most the pages the bounded
        # queue holds, the rest must wait.
        clock["now"] = _jst(2026, 11, 24, 20, 0, 0)

    transport.on_body = close_the_window
    parts = SenderParts(transport=transport, identity=IDENTITY, signer=parts_for(1).signer)
    options = SendOptions(**{**FAST.__dict__, "page_size": 2, "cadence": CadencePolicy()})
    report = asyncio.run(
        run_campaign(
            engine,
            campaign_id=campaign_id,
            parts=parts,
            options=options,
            clock=lambda: clock["now"],
        )
    )
    # What was claimed before 20:00 finishes on the wire; the rest waits.
    first_run = report.sent
    assert 1 <= first_run < 5 and report.status == "sending"
    assert report.waiting_until == _jst(2026, 11, 25, 8, 0)
    with Session(engine) as s:
        assert waiting_until(s, campaign_id=campaign_id, now=clock["now"]) == _jst(2026, 11, 25, 8)
        night = campaigns_to_resume(s, now=_jst(2026, 11, 25, 7, 59), options=options)
        morning = campaigns_to_resume(s, now=_jst(2026, 11, 25, 8, 0), options=options)
    assert night == [] and morning == [campaign_id]
    clock["now"] = _jst(2026, 11, 25, 8, 0, 1)
    transport.on_body = lambda _r: None
    parts = SenderParts(transport=transport, identity=IDENTITY, signer=parts_for(1).signer)
    report = asyncio.run(
        run_campaign(
            engine,
            campaign_id=campaign_id,
            parts=parts,
            options=options,
            clock=lambda: clock["now"],
        )
    )
    assert report.sent == 5 - first_run and report.status == "finished"
    counts = Counter(recipient for recipient, _ in transport.delivered)
    assert counts == Counter({f"user{i}@example.jp": 1 for i in range(5)})


def test_a_holiday_defers_from_the_first_page(engine: Engine) -> None:
    with Session(engine) as s:
        add_contacts(s, 2)
        campaign = create_campaign(s, name="祝日", steps=[MAIL])
        freeze_audience(s, campaign_id=campaign.id, as_of=_jst(2026, 11, 23, 10))
        s.commit()
        campaign_id = campaign.id
    transport = RecordingTransport(connections=1)
    parts = SenderParts(transport=transport, identity=IDENTITY, signer=parts_for(1).signer)
    options = SendOptions(**{**FAST.__dict__, "cadence": CadencePolicy()})
    report = asyncio.run(
        run_campaign(
            engine,
            campaign_id=campaign_id,
            parts=parts,
            options=options,
            clock=lambda: _jst(2026, 11, 23, 10),  # 勤労感謝の日
        )
    )
    assert (report.sent, report.remaining, report.status) == (0, 2, "sending")
    assert report.waiting_until == _jst(2026, 11, 24, 8)
    assert transport.delivered == []


@pytest.fixture
def queue_settings(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> Iterator[tuple[Settings, CollectingHandler]]:  # type: ignore[no-untyped-def]
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        for name, value in {
            "MEZAME_DATABASE_URL": f"sqlite:///{sqlite_engine.url.database}",
            "MEZAME_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
            "MEZAME_SMTP_HOST": "127.0.0.1",
            "MEZAME_SMTP_PORT": str(port),
            "MEZAME_SENDER_NAME": "株式会社めざめ商事",
            "MEZAME_SENDER_EMAIL": "news@mezame-shoji.example.jp",
            "MEZAME_SENDER_ADDRESS": "東京都千代田区丸の内1-1-1",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        with Session(sqlite_engine) as s:
            save_policy(s, OPEN)  # about the queue, not the clock
            s.commit()
        yield get_settings(), handler
        get_settings.cache_clear()


def test_a_scheduled_campaign_starts_through_the_queue_task(
    sqlite_engine: Engine, queue_settings: tuple[Settings, CollectingHandler]
) -> None:
    settings_, handler = queue_settings
    now = datetime.now(UTC)
    with Session(sqlite_engine) as s:
        add_contacts(s, 4)
        campaign = create_campaign(s, name="予約配信", steps=[MAIL])
        schedule_campaign(
            s,
            campaign_id=campaign.id,
            at=now - timedelta(seconds=1),
            now=now - timedelta(minutes=1),
        )
        later = create_campaign(s, name="来週の配信", steps=[MAIL])
        schedule_campaign(s, campaign_id=later.id, at=now + timedelta(days=7), now=now)
        s.commit()
        campaign_id, later_id = campaign.id, later.id
    huey = build_huey(settings_)
    tasks = register_tasks(huey)
    tasks["advance_campaigns"]()  # what the every-minute schedule does
    consumer = start_embedded_consumer(huey)
    try:
        deadline = time.monotonic() + 60
        while len(handler.messages) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        consumer.stop(graceful=True)
    assert sorted(m.recipients[0] for m in handler.messages) == [
        f"user{i}@example.jp" for i in range(4)
    ]
    with Session(sqlite_engine) as s:
        assert s.get(Campaign, campaign_id).status == "finished"  # type: ignore[union-attr]
        assert s.get(Campaign, later_id).status == "scheduled"  # type: ignore[union-attr]


def test_waits_until_an_event_end_early(engine: Engine) -> None:
    now = _jst(2026, 11, 24, 10)
    with Session(engine) as s:
        save_policy(s, OPEN)
        clicker, idle = add_contacts(s, 2)
        campaign = create_campaign(
            s,
            name="クリックで次へ",
            kind="sequence",
            steps=[
                MAIL,
                StepContent(
                    subject="2通目",
                    html="<p>2</p>",
                    wait_days=5,
                    wait_until=WaitEvent.CLICKED,
                ),
            ],
        )
        freeze_audience(s, campaign_id=campaign.id, as_of=now)
        campaign.status = "sending"
        _mark_sent(s, campaign.id, [clicker, idle], now)
        s.execute(
            update(CampaignSend)
            .where(CampaignSend.contact_id == clicker)
            .values(clicked_at=now + timedelta(hours=1))
        )
        assert advance_campaigns(s, now=now + timedelta(hours=2)).next_mails == {campaign.id: 1}
        assert advance_campaigns(s, now=now + timedelta(days=5)).next_mails == {campaign.id: 1}
        pause_campaign(s, campaign_id=campaign.id)
        assert advance_campaigns(s, now=now + timedelta(days=9)).next_mails == {}
