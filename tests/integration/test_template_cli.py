"""`mezame template list|show|preview|install-builtin` over a real database file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.cli import app
from mezame.config import get_settings
from mezame.models import CampaignStep, MailTemplate
from tests.template_helpers import CHANGE, World, seed_world


@pytest.fixture
def world(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("MEZAME_DATABASE_URL", f"sqlite:///{sqlite_engine.url.database}")
    monkeypatch.setenv("MEZAME_SENDER_ADDRESS", "東京都千代田区丸の内1-1-1")
    get_settings.cache_clear()
    with Session(sqlite_engine) as s:
        seeded = seed_world(s)
        s.commit()
    yield seeded
    get_settings.cache_clear()


def test_install_list_show_and_preview(sqlite_engine: Engine, world: World) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["template", "install-builtin"])
    assert first.exit_code == 0, first.output
    assert "12 added, 0 updated, 0 unchanged" in first.output
    again = runner.invoke(app, ["template", "install-builtin"])
    assert "0 added, 0 updated, 12 unchanged" in again.output
    listed = runner.invoke(app, ["template", "list"])
    assert listed.exit_code == 0 and "再提案（価格）" in listed.output
    with Session(sqlite_engine) as s:
        price = s.scalar(
            select(MailTemplate.id).where(MailTemplate.message_type == "reproposal_price")
        )
    shown = runner.invoke(app, ["template", "show", str(price)])
    assert shown.exit_code == 0 and "{{ change }}" in shown.output
    preview = runner.invoke(
        app, ["template", "preview", str(price), "--contact", str(world.dormant_contact)]
    )
    assert preview.exit_code == 0, preview.output
    assert "件名: 株式会社みなと物流 佐藤 一郎様" in preview.output
    assert preview.output.count(CHANGE) == 1
    skipped = runner.invoke(
        app, ["template", "preview", str(price), "--contact", str(world.newcomer)]
    )
    assert "would be skipped: no change to state" in skipped.output
    missing = runner.invoke(app, ["template", "preview", "999"])
    assert missing.exit_code == 2 and "template 999 does not exist" in missing.output


def test_a_campaign_is_created_from_a_library_template(sqlite_engine: Engine, world: World) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["template", "install-builtin"]).exit_code == 0
    with Session(sqlite_engine) as s:
        price = s.scalars(
            select(MailTemplate).where(MailTemplate.message_type == "reproposal_price")
        ).one()
        price_id, price_subject = price.id, price.subject
    made = runner.invoke(
        app, ["campaign", "create", "価格で離れたお客様へ", "--template", str(price_id)]
    )
    assert made.exit_code == 0, made.output
    with Session(sqlite_engine) as s:
        step = s.scalars(select(CampaignStep)).one()
        # The mail is the template's snapshot, and keeps its rule: no change, no mail.
        assert (step.template_id, step.subject, step.requires) == (
            price_id,
            price_subject,
            "change",
        )
    both = runner.invoke(
        app, ["campaign", "create", "x", "--template", str(price_id), "--subject", "s"]
    )
    assert both.exit_code == 2 and "give --template ID" in both.output
    missing = runner.invoke(app, ["campaign", "create", "x", "--template", "999"])
    assert missing.exit_code == 2 and "template 999 does not exist" in missing.output
