"""A campaign from its plan and read back, on SQLite and PostgreSQL; send now from the service."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mezame.campaigns.definition.service import (
    StepTemplatesMissing,
    create_from_plan,
    read_definition,
)
from mezame.campaigns.plan import CampaignPlan
from mezame.campaigns.service import start_sending, stop_campaign
from mezame.errors import ConflictError
from mezame.models import Campaign, CampaignSend
from mezame.templates.service import TemplateFields, create_template
from tests.mail_helpers import add_contacts

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)


def _template(session: Session) -> int:
    return create_template(
        session,
        TemplateFields(
            name="お久しぶりです（自社版）",
            message_type="hisashiburi",
            subject="{{ contact.name }}様 お久しぶりです",
            html="<p>ご無沙汰しております。</p>",
        ),
    ).id


def test_a_plan_becomes_a_campaign_that_reads_back_the_same(session: Session) -> None:
    template = _template(session)
    recurring = create_from_plan(
        session,
        CampaignPlan(
            name="月刊",
            kind="recurring",
            template_id=template,
            recurrence={"day": 1, "hour": 9},
            goal="reply",
            send_at=datetime(2026, 12, 15, 9, 0),  # naive: Japan time
        ),
        user_id=None,
        tz=TOKYO,
        now=NOW,
    )
    sequence = create_from_plan(
        session,
        CampaignPlan(
            name="フォロー",
            kind="sequence",
            steps=[
                {"template_id": template},
                {"subject": "その後", "html": "<p>x</p>", "wait_days": 3, "branch": "not_opened"},
            ],
        ),
        user_id=None,
        tz=TOKYO,
        now=NOW,
    )
    session.commit()
    session.expire_all()  # read what the database holds
    found = read_definition(session, recurring.id, now=NOW)
    assert found.status == "scheduled" and found.conversion_goal == "reply"
    assert found.scheduled_at == datetime(2026, 12, 15, 0, 0, tzinfo=UTC)
    # Runs start on the 1st from the start on: the first is 1 January, 09:00 in Tokyo.
    assert found.next_run_at == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert found.recurrence is not None and found.recurrence.day == 1
    steps = read_definition(session, sequence.id, now=NOW).steps
    assert [(s.position, s.template_id, s.wait_days, s.branch) for s in steps] == [
        (1, template, 0, "always"),
        (2, None, 3, "not_opened"),
    ]


def test_missing_step_templates_are_all_named(session: Session) -> None:
    template = _template(session)
    plan = CampaignPlan(
        name="x",
        kind="sequence",
        steps=[
            {"template_id": template},
            {"template_id": 9998, "wait_days": 1},
            {"template_id": 9999, "wait_days": 1},
        ],
    )
    with pytest.raises(StepTemplatesMissing) as caught:
        create_from_plan(session, plan, user_id=None, tz=TOKYO, now=NOW)
    assert caught.value.missing == {2: 9998, 3: 9999}
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_start_sending_freezes_once_and_refuses_a_stopped_campaign(session: Session) -> None:
    add_contacts(session, 2)  # opted in 30 days before the real today
    now = datetime.now(UTC)
    plan = CampaignPlan(name="今すぐ", subject="件名", html="<p>本文</p>")
    campaign = create_from_plan(session, plan, user_id=None, tz=TOKYO, now=now)
    start_sending(session, campaign_id=campaign.id, as_of=now)
    start_sending(session, campaign_id=campaign.id, as_of=now)  # a repeat: no second audience
    rows = session.scalar(select(func.count()).where(CampaignSend.campaign_id == campaign.id))
    assert campaign.status == "sending" and rows == 2
    stop_campaign(session, campaign_id=campaign.id)
    with pytest.raises(ConflictError, match="stopped: cannot become sending"):
        start_sending(session, campaign_id=campaign.id, as_of=now)
