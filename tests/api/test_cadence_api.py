"""Schedules and the contact policy over HTTP (roles, validation), and the CLI commands."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.campaigns.service import StepContent, create_campaign
from mezame.cli import app as cli
from mezame.config import Settings, get_settings
from mezame.db import session_scope
from mezame.models import Campaign, CampaignStep, Contact
from tests.mail_helpers import add_contacts

PASSWORD = "correct-horse-battery"


@dataclass
class Site:
    client: TestClient
    sales: dict[str, str]
    marketing: dict[str, str]
    campaign_id: int
    recurring_id: int
    contact_id: int


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with session_scope(sqlite_engine) as s:
        sales = create_user(s, email="s@example.jp", name="営業", role="sales", password=PASSWORD)
        marketer = create_user(
            s, email="m@example.jp", name="マーケ", role="marketing", password=PASSWORD
        )
        tokens = (
            create_api_token(s, user_id=sales.id, name="crm"),
            create_api_token(s, user_id=marketer.id, name="ma"),
        )
        mail = StepContent(subject="件名", html="<p>本文</p>")
        one_off = create_campaign(s, name="12月のご案内", steps=[mail])
        recurring = create_campaign(s, name="月刊", kind="recurring", steps=[mail])
        [contact] = add_contacts(s, 1)
        ids = one_off.id, recurring.id, contact
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(
            client,
            {"Authorization": f"Bearer {tokens[0]}"},
            {"Authorization": f"Bearer {tokens[1]}"},
            *ids,
        )


def test_marketing_schedules_a_campaign_in_japan_time(site: Site) -> None:
    url = f"/api/v1/campaigns/{site.campaign_id}/schedule"
    body = {"at": "2099-12-01T09:00"}
    assert site.client.post(url, json=body, headers=site.sales).status_code == 403
    response = site.client.post(url, json=body, headers=site.marketing)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["status"] == "scheduled" and data["kind"] == "one_off"
    assert data["scheduled_at"].startswith("2099-12-01T00:00:00")  # 09:00 JST in UTC
    assert site.client.get(url, headers=site.sales).json()["scheduled_at"] == data["scheduled_at"]
    past = site.client.post(url, json={"at": "2020-01-01T09:00"}, headers=site.marketing)
    assert past.status_code in (400, 422) and "in the past" in past.text


def test_a_recurring_campaign_takes_its_recurrence(site: Site) -> None:
    url = f"/api/v1/campaigns/{site.recurring_id}/schedule"
    bad = site.client.post(
        url, json={"at": "2099-01-01T00:00", "recurrence": {"day": 31}}, headers=site.marketing
    )
    assert bad.status_code == 422 and "day" in bad.text
    ok = site.client.post(
        url,
        json={"at": "2099-01-01T00:00", "recurrence": {"day": 1, "hour": 9}},
        headers=site.marketing,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["recurrence"] == {"day": 1, "hour": 9, "minute": 0, "timezone": "Asia/Tokyo"}


def test_the_cadence_policy_reads_and_changes(site: Site) -> None:
    url = "/api/v1/mail/cadence-policy"
    current = site.client.get(url, headers=site.sales).json()
    assert current["policy"]["monthly_interval_days"] == 25
    assert current["policy"]["quiet_from"] == "20:00:00"
    changed = {**current["policy"], "cap_mails": 3, "quiet_from": "21:00:00"}
    assert site.client.put(url, json=changed, headers=site.sales).status_code == 403
    response = site.client.put(url, json=changed, headers=site.marketing)
    assert response.status_code == 200, response.text
    assert site.client.get(url, headers=site.sales).json()["policy"]["cap_mails"] == 3
    bad = site.client.put(url, json={**changed, "quiet_until": None}, headers=site.marketing)
    assert bad.status_code == 422 and "quiet_from and quiet_until" in bad.text


def test_a_contact_is_marked_seasonal_and_back(site: Site) -> None:
    url = f"/api/v1/contacts/{site.contact_id}/cadence"
    assert site.client.put(url, json={"cadence": "seasonal"}, headers=site.sales).status_code == 403
    marked = site.client.put(url, json={"cadence": "seasonal"}, headers=site.marketing)
    assert marked.json()["cadence"] == "seasonal" and marked.json()["cadence_changed_at"]
    back = site.client.put(url, json={"cadence": "monthly"}, headers=site.marketing)
    assert back.json()["cadence"] == "monthly"
    assert (
        site.client.put(url, json={"cadence": "weekly"}, headers=site.marketing).status_code == 422
    )
    missing = site.client.put(
        "/api/v1/contacts/999/cadence", json={"cadence": "monthly"}, headers=site.marketing
    )
    assert missing.status_code == 404


@pytest.fixture
def cli_db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MEZAME_DATABASE_URL", f"sqlite:///{sqlite_engine.url.database}")
    get_settings.cache_clear()
    yield sqlite_engine
    get_settings.cache_clear()


def test_the_cli_creates_a_sequence_from_a_steps_file_and_schedules_it(
    cli_db: Engine, tmp_path: Path
) -> None:
    (tmp_path / "followup.html").write_text("<p>{{ contact.name }}様 資料です</p>", "utf-8")
    steps = tmp_path / "steps.yaml"
    steps.write_text(
        """
- subject: "{{ contact.name }}様 お久しぶりです"
  html: "<p>ご無沙汰しております</p>"
- subject: "詳しい資料をお送りしますか?"
  html_file: followup.html
  wait_days: 2
  branch: opened
- subject: "念のためのご連絡"
  html: "<p>リマインド</p>"
  wait_days: 7
  branch: not_clicked
  then_seasonal: true
""",
        "utf-8",
    )
    runner = CliRunner()
    made = runner.invoke(
        cli,
        [
            "campaign",
            "create",
            "再接触シナリオ",
            "--kind",
            "sequence",
            "--steps",
            str(steps),
            "--priority",
            "3",
        ],
    )
    assert made.exit_code == 0, made.output
    with Session(cli_db) as s:
        campaign = s.scalars(select(Campaign).where(Campaign.name == "再接触シナリオ")).one()
        rows = s.execute(
            select(
                CampaignStep.position,
                CampaignStep.wait_days,
                CampaignStep.branch,
                CampaignStep.then_seasonal,
                CampaignStep.html_body,
            )
            .where(CampaignStep.campaign_id == campaign.id)
            .order_by(CampaignStep.position)
        ).all()
        campaign_id, priority = campaign.id, campaign.priority
    assert priority == 3
    assert [(p, w, b, t) for p, w, b, t, _ in rows] == [
        (1, 0, "always", False),
        (2, 2, "opened", False),
        (3, 7, "not_clicked", True),
    ]
    assert "資料です" in rows[1][4]
    scheduled = runner.invoke(
        cli, ["campaign", "schedule", str(campaign_id), "--at", "2099-12-01T09:00"]
    )
    assert scheduled.exit_code == 0, scheduled.output
    assert "2099年12月1日 09:00" in scheduled.output
    bad = steps.with_name("bad.yaml")
    bad.write_text("- subject: a\n  html: b\n- subject: c\n  html: d\n  branch: maybe\n", "utf-8")
    refused = runner.invoke(
        cli, ["campaign", "create", "x", "--kind", "sequence", "--steps", str(bad)]
    )
    assert refused.exit_code == 2 and "step 2: branch" in refused.output


def test_the_cli_shows_and_sets_the_policy_and_marks_contacts(cli_db: Engine) -> None:
    runner = CliRunner()
    with Session(cli_db) as s:
        [contact] = add_contacts(s, 1)
        s.commit()
    shown = runner.invoke(cli, ["cadence", "show"])
    assert shown.exit_code == 0 and "monthly_interval_days" in shown.output
    assert (
        runner.invoke(
            cli, ["cadence", "set", "cap_mails=3", "quiet_from=none", "quiet_until=none"]
        ).exit_code
        == 0
    )
    assert "cap_mails                3" in runner.invoke(cli, ["cadence", "show"]).output
    refused = runner.invoke(cli, ["cadence", "set", "cap_mails=0"])
    assert refused.exit_code == 2 and "cap_mails" in refused.output
    unknown = runner.invoke(cli, ["cadence", "set", "colour=red"])
    assert unknown.exit_code == 2 and "unknown field" in unknown.output
    marked = runner.invoke(cli, ["cadence", "contact", str(contact), "--seasonal"])
    assert marked.exit_code == 0, marked.output
    with Session(cli_db) as s:
        assert s.get(Contact, contact).cadence == "seasonal"  # type: ignore[union-attr]
    assert runner.invoke(cli, ["cadence", "contact", "999"]).exit_code == 2
