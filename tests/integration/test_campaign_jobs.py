"""Campaigns through the task queue and the CLI: queued sending, resuming, test sends."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.cadence import CadencePolicy
from mezame.cli import app
from mezame.config import Settings, get_settings
from mezame.models import Campaign, CampaignSend
from mezame.policy.service import save_policy
from mezame.queue import build_huey, register_tasks, resume_campaigns_job
from mezame.worker import start_embedded_consumer
from tests.mail_helpers import CollectingHandler, add_contacts, make_campaign, smtp_server


@pytest.fixture
def smtp() -> Iterator[tuple[CollectingHandler, int]]:
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        yield handler, port


@pytest.fixture
def settings(
    sqlite_engine: Engine,
    smtp: tuple[CollectingHandler, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
) -> Iterator[Settings]:
    for name, value in {
        "MEZAME_DATABASE_URL": f"sqlite:///{sqlite_engine.url.database}",
        "MEZAME_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
        "MEZAME_SMTP_HOST": "127.0.0.1",
        "MEZAME_SMTP_PORT": str(smtp[1]),
        "MEZAME_SENDER_NAME": "株式会社めざめ商事",
        "MEZAME_SENDER_EMAIL": "news@mezame-shoji.example.jp",
        "MEZAME_SENDER_ADDRESS": "東京都千代田区丸の内1-1-1",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with Session(sqlite_engine) as s:
        # These tests are about the queue, not the clock: no quiet hours or holidays.
        save_policy(s, CadencePolicy.always_open())
        s.commit()
    yield get_settings()
    get_settings.cache_clear()


def test_the_queue_sends_a_campaign(sqlite_engine: Engine, settings: Settings, smtp) -> None:  # type: ignore[no-untyped-def]
    with Session(sqlite_engine) as s:
        add_contacts(s, 5)
        s.commit()
    campaign_id = make_campaign(sqlite_engine)
    huey = build_huey(settings)
    result = register_tasks(huey)["send_campaign"](campaign_id)
    consumer = start_embedded_consumer(huey)
    try:
        report = result.get(blocking=True, timeout=60)
    finally:
        consumer.stop(graceful=True)
    assert report["sent"] == 5 and report["status"] == "finished"
    assert len(smtp[0].messages) == 5


def test_a_campaign_left_sending_without_a_sender_is_resumed(
    sqlite_engine: Engine,
    settings: Settings,
    smtp,  # type: ignore[no-untyped-def]
) -> None:
    with Session(sqlite_engine) as s:
        add_contacts(s, 3)
        s.commit()
    waiting = make_campaign(sqlite_engine, name="取り残された配信")
    make_campaign(sqlite_engine, name="下書き")  # a draft is not touched
    with Session(sqlite_engine) as s:
        s.execute(update(Campaign).where(Campaign.id == waiting).values(status="sending"))
        s.commit()
    assert resume_campaigns_job(settings) == [waiting]
    assert sorted(r for m in smtp[0].messages for r in m.recipients) == [
        "user0@example.jp",
        "user1@example.jp",
        "user2@example.jp",
    ]
    assert resume_campaigns_job(settings) == []  # finished: nothing left to resume


def test_send_test_renders_for_a_contact_and_marks_the_subject(
    sqlite_engine: Engine,
    settings: Settings,
    smtp,  # type: ignore[no-untyped-def]
) -> None:
    with Session(sqlite_engine) as s:
        [contact_id] = add_contacts(s, 1)
        s.commit()
    campaign_id = make_campaign(sqlite_engine)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "send-test",
            "me@example.jp",
            "--campaign",
            str(campaign_id),
            "--contact",
            str(contact_id),
        ],
    )
    assert result.exit_code == 0, result.output
    [received] = smtp[0].messages
    assert received.recipients == ["me@example.jp"]
    message = message_from_bytes(received.data, policy=policy.default)
    assert message["Subject"] == "[テスト] 佐藤 太郎0様 今月のワンポイント知識"
    with Session(sqlite_engine) as s:  # a test send is not a campaign send
        assert s.scalar(select(CampaignSend.status)) == "pending"


def test_campaign_send_without_the_postal_address_refuses_to_send(
    sqlite_engine: Engine,
    settings: Settings,
    smtp,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    with Session(sqlite_engine) as s:
        add_contacts(s, 1)
        s.commit()
    campaign_id = make_campaign(sqlite_engine)
    monkeypatch.setenv("MEZAME_SENDER_ADDRESS", "")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["campaign", "send", str(campaign_id)])
    assert result.exit_code == 2
    assert "postal address" in result.output
    assert smtp[0].messages == []
    with Session(sqlite_engine) as s:  # left as it was: not half-started
        assert s.scalar(select(Campaign.status)) == "draft"
        assert s.scalar(select(Campaign.sender_run)) is None
