"""Campaigns over the JSON API: create each kind, read the definition back, send and resume.

The same service path as the web form (campaigns.definition.service); bad steps are named
by index and field, and nothing is written when anything is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from huey import SqliteHuey
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import Campaign, CampaignSend, CampaignStep
from mezame.queue import use_huey
from tests.mail_helpers import add_contacts, add_sample10_segment_and_template

PASSWORD = "correct-horse-battery"
HTML = "<p>{{ company.name }} {{ contact.name }}様</p>"


@dataclass
class Api:
    client: TestClient
    engine: Engine
    huey: SqliteHuey
    headers: dict[str, dict[str, str]]  # role → Authorization header
    segment_id: int
    template_id: int

    def post(self, url: str, body: dict[str, Any] | None = None, *, role: str = "marketing"):  # type: ignore[no-untyped-def]
        return self.client.post(url, json=body, headers=self.headers[role])

    def get(self, url: str, *, role: str = "marketing"):  # type: ignore[no-untyped-def]
        return self.client.get(url, headers=self.headers[role])


@pytest.fixture
def api(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    headers = {}
    with session_scope(sqlite_engine) as s:
        for role in ("admin", "marketing", "sales"):
            user = create_user(
                s, email=f"{role}@example.jp", name=role, role=role, password=PASSWORD
            )
            token = create_api_token(s, user_id=user.id, name="t")
            headers[role] = {"Authorization": f"Bearer {token}"}
        add_contacts(s, 3)  # 株式会社サンプル0
        add_contacts(s, 2, start=10)  # 株式会社サンプル10: the segment
        segment, template = add_sample10_segment_and_template(s)
    # The app queues on the process-wide Huey: a throwaway one, put back afterwards.
    monkeypatch.setattr("mezame.queue._huey", None)
    monkeypatch.setattr("mezame.queue._tasks", {})
    huey = use_huey(SqliteHuey("test", filename=str(tmp_path / "queue.db")))
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Api(client, sqlite_engine, huey, headers, segment, template)


def _counts(engine: Engine) -> tuple[int, int]:
    """Campaigns and campaign mails in the database."""
    with Session(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Campaign)) or 0,
            s.scalar(select(func.count()).select_from(CampaignStep)) or 0,
        )


def _status(engine: Engine, campaign_id: int) -> str:
    with Session(engine) as s:
        return s.get(Campaign, campaign_id).status  # type: ignore[union-attr]


def test_a_one_off_from_written_mail_is_created_scheduled_and_read_back(api: Api) -> None:
    body = {
        "name": "12月 お久しぶりです",
        "kind": "one_off",
        "priority": 5,
        "segment_id": api.segment_id,
        "subject": "{{ contact.name }}様 お久しぶりです",
        "html": HTML,
        "text": "{{ contact.name }}様",
        "goal": "reply",
        "window_days": 10,
        "send_at": "2099-12-25T09:30",  # no offset: Japan time
    }
    created = api.post("/api/v1/campaigns", body)
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["name"] == "12月 お久しぶりです" and data["kind"] == "one_off"
    assert data["status"] == "scheduled" and data["priority"] == 5
    assert data["segment"] == {"id": api.segment_id, "name": "サンプル10の担当者"}
    assert data["conversion_goal"] == "reply" and data["conversion_window_days"] == 10
    assert data["scheduled_at"].startswith("2099-12-25T00:30:00")  # 09:30 JST in UTC
    assert data["next_run_at"] == data["scheduled_at"] and data["recurrence"] is None
    assert [s["subject"] for s in data["steps"]] == ["{{ contact.name }}様 お久しぶりです"]
    assert data["steps"][0]["template_id"] is None and data["steps"][0]["branch"] == "always"
    # Every role reads it; the same definition as the creation answered.
    read = api.get(f"/api/v1/campaigns/{data['id']}", role="sales")
    assert read.status_code == 200 and read.json() == data
    with Session(api.engine) as s:
        step = s.scalars(select(CampaignStep).where(CampaignStep.campaign_id == data["id"])).one()
        assert step.html_body == HTML and step.text_body == "{{ contact.name }}様"
    assert api.get("/api/v1/campaigns/99999").status_code == 404


def test_a_recurring_campaign_from_a_template_is_scheduled_at_once(api: Api) -> None:
    created = api.post(
        "/api/v1/campaigns",
        {
            "name": "月刊ニュースレター",
            "kind": "recurring",
            "template_id": api.template_id,
            "recurrence": {"day": 1, "hour": 9, "minute": 0},
        },
    )
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["status"] == "scheduled" and data["segment"] is None
    assert data["recurrence"]["day"] == 1 and data["recurrence"]["timezone"] == "Asia/Tokyo"
    assert data["conversion_goal"] == "none"
    assert data["steps"][0]["template_id"] == api.template_id
    assert data["steps"][0]["subject"] == "{{ contact.name }}様 お久しぶりです"
    # The next run: the 1st of a month at 09:00 Japan time, from now on.
    next_run = datetime.fromisoformat(data["next_run_at"])
    assert next_run > datetime.now(UTC)
    assert (next_run.day, next_run.hour, next_run.minute) in {(1, 0, 0)}  # 09:00 JST = 00:00 UTC
    assert api.get(f"/api/v1/campaigns/{data['id']}").json() == data


def test_a_sequence_keeps_each_mails_wait_branch_and_template(api: Api) -> None:
    created = api.post(
        "/api/v1/campaigns",
        {
            "name": "資料請求のフォロー",
            "kind": "sequence",
            "steps": [
                {"template_id": api.template_id},
                {
                    "subject": "資料はご覧いただけましたか",
                    "html": HTML,
                    "wait_days": 2,
                    "wait_until": "clicked",
                    "branch": "opened",
                },
                {
                    "template_id": api.template_id,
                    "subject": "念のためのご連絡",
                    "wait_days": 7,
                    "branch": "not_clicked",
                    "then_seasonal": True,
                },
            ],
        },
    )
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["kind"] == "sequence" and data["status"] == "draft"
    assert data["next_run_at"] is None
    steps = data["steps"]
    assert [s["position"] for s in steps] == [1, 2, 3]
    assert [s["template_id"] for s in steps] == [api.template_id, None, api.template_id]
    assert [s["subject"] for s in steps] == [
        "{{ contact.name }}様 お久しぶりです",
        "資料はご覧いただけましたか",
        "念のためのご連絡",
    ]
    assert [s["wait_days"] for s in steps] == [0, 2, 7]
    assert [s["wait_until"] for s in steps] == [None, "clicked", None]
    assert [s["branch"] for s in steps] == ["always", "opened", "not_clicked"]
    assert [s["then_seasonal"] for s in steps] == [False, False, True]
    assert api.get(f"/api/v1/campaigns/{data['id']}").json() == data


def test_a_bad_step_is_named_by_index_and_field_and_nothing_is_written(api: Api) -> None:
    before = _counts(api.engine)
    good = {"template_id": api.template_id}
    refused = api.post(
        "/api/v1/campaigns",
        {
            "name": "壊れたステップ",
            "kind": "sequence",
            "steps": [
                good,
                {**good, "wait_days": 2},
                {**good, "wait_days": -3, "branch": "opened"},
                {"subject": "本文がない", "wait_days": 5},
            ],
        },
    )
    assert refused.status_code == 422
    errors = refused.json()["detail"]
    by_loc = {tuple(e["loc"]): e for e in errors}
    assert ("body", "steps", 2, "wait_days") in by_loc
    assert by_loc[("body", "steps", 2, "wait_days")]["type"] == "greater_than_equal"
    assert ("body", "steps", 3) in by_loc and "needs html" in by_loc[("body", "steps", 3)]["msg"]
    assert not any(loc[2] in (0, 1) for loc in by_loc)  # the good steps are not blamed
    # The first mail has no wait; a step never names a file on the server.
    first = api.post(
        "/api/v1/campaigns",
        {"name": "x", "kind": "sequence", "steps": [{**good, "wait_days": 1}]},
    )
    assert first.status_code == 422
    assert first.json()["detail"][0]["loc"] == ["body", "steps", 0]
    assert first.json()["detail"][0]["type"] == "first_step"
    files = api.post(
        "/api/v1/campaigns",
        {"name": "x", "kind": "sequence", "steps": [{"subject": "s", "html_file": "/etc/passwd"}]},
    )
    assert files.status_code == 422
    assert files.json()["detail"][0]["loc"] == ["body", "steps", 0, "html_file"]
    # A template that does not exist: 404, naming the step.
    gone = api.post(
        "/api/v1/campaigns",
        {"name": "x", "kind": "sequence", "steps": [good, {"template_id": 99999, "wait_days": 1}]},
    )
    assert gone.status_code == 404 and "step 2: template 99999" in gone.json()["detail"]
    # Refused after the campaign was flushed (the start is in the past): rolled back too.
    past = api.post(
        "/api/v1/campaigns",
        {"name": "過去", "subject": "s", "html": HTML, "send_at": "2001-01-01T09:00+09:00"},
    )
    assert past.status_code == 422 and "is in the past" in past.json()["detail"]
    assert _counts(api.engine) == before


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"name": "x"}, 422, "mail: choose a template"),
        ({"name": "x", "template_id": 0}, 422, "greater than or equal to 1"),
        ({"subject": "s", "html": HTML}, 422, "Field required"),
        ({"name": "x", "template_id": "{t}", "subject": "s"}, 422, "(template_id, subject)"),
        ({"name": "x", "subject": "s", "steps": [{"template_id": "{t}"}]}, 422, "not several"),
        ({"name": "x", "subject": "s"}, 422, "html: empty"),
        ({"name": "x", "html": HTML}, 422, "subject: empty"),
        ({"name": "x", "kind": "sequence", "steps": []}, 422, "at least one mail"),
        ({"name": " ", "subject": "s", "html": HTML}, 422, "campaign name: empty"),
        (
            {"name": "x", "template_id": "{t}", "recurrence": {"day": 1}},
            422,
            "only a recurring campaign",
        ),
        ({"name": "x", "kind": "recurring", "template_id": "{t}"}, 422, "needs its day and time"),
        ({"name": "x", "kind": "weekly", "template_id": "{t}"}, 422, "one_off"),
        ({"name": "x", "template_id": "{t}", "audience": "all"}, 422, "Extra inputs"),
        ({"name": "x", "subject": "s", "html": "{% for %}"}, 422, "mail 1"),
        ({"name": "x", "segment_id": 99999, "template_id": "{t}"}, 404, "segment 99999"),
        ({"name": "x", "template_id": 99999}, 404, "template 99999"),
    ],
)
def test_wrong_combinations_are_refused_with_a_clear_message(
    api: Api, body: dict[str, Any], status: int, words: str
) -> None:
    before = _counts(api.engine)
    body = {k: api.template_id if v == "{t}" else v for k, v in body.items()}
    if "steps" in body:
        body["steps"] = [{"template_id": api.template_id} for _ in body["steps"]]
    refused = api.post("/api/v1/campaigns", body)
    assert refused.status_code == status, refused.text
    assert words in refused.text
    assert _counts(api.engine) == before


def test_sales_may_read_but_not_create_or_send(api: Api) -> None:
    body = {"name": "営業が作る", "template_id": api.template_id}
    before = _counts(api.engine)
    assert api.post("/api/v1/campaigns", body, role="sales").status_code == 403
    assert api.client.post("/api/v1/campaigns", json=body).status_code == 401
    assert _counts(api.engine) == before
    created = api.post("/api/v1/campaigns", body).json()
    url = f"/api/v1/campaigns/{created['id']}"
    assert api.get(url, role="sales").status_code == 200
    assert api.post(f"{url}/send", role="sales").status_code == 403
    assert _status(api.engine, created["id"]) == "draft"
    assert api.huey.pending_count() == 0


def test_send_freezes_the_audience_moves_to_sending_and_queues_the_sender(api: Api) -> None:
    created = api.post(
        "/api/v1/campaigns",
        {"name": "久しぶりの方へ", "segment_id": api.segment_id, "template_id": api.template_id},
    ).json()
    url = f"/api/v1/campaigns/{created['id']}"
    sent = api.post(f"{url}/send")
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "sending" and sent.json()["counts"] == {"pending": 2}
    assert _status(api.engine, created["id"]) == "sending"
    assert api.huey.pending_count() == 1  # the worker's send_campaign task
    with Session(api.engine) as s:
        rows = s.scalars(select(CampaignSend).where(CampaignSend.campaign_id == created["id"]))
        assert len(rows.all()) == 2  # the segment only
    # A repeated request is harmless: the audience is not frozen twice.
    again = api.post(f"{url}/send")
    assert again.status_code == 202 and again.json()["counts"] == {"pending": 2}
    # Pause, then send resumes.
    assert api.post(f"{url}/pause").json()["status"] == "paused"
    resumed = api.post(f"{url}/send")
    assert resumed.status_code == 202 and resumed.json()["status"] == "sending"
    assert api.huey.pending_count() == 3
    # Stopped for good: refused with the service's words, nothing queued.
    assert api.post(f"{url}/stop").json()["status"] == "stopped"
    refused = api.post(f"{url}/send")
    assert refused.status_code == 409 and "cannot become sending" in refused.json()["detail"]
    assert api.huey.pending_count() == 3
    # Every move the campaign's state forbids is a conflict, pause included.
    not_paused = api.post(f"{url}/pause")
    assert not_paused.status_code == 409 and "cannot become paused" in not_paused.json()["detail"]
    assert api.post("/api/v1/campaigns/99999/send").status_code == 404


def test_a_recurring_campaign_is_never_sent_itself(api: Api) -> None:
    created = api.post(
        "/api/v1/campaigns",
        {
            "name": "月刊",
            "kind": "recurring",
            "template_id": api.template_id,
            "recurrence": {"day": 1},
        },
    ).json()
    refused = api.post(f"/api/v1/campaigns/{created['id']}/send")
    assert refused.status_code == 409 and "recurring" in refused.json()["detail"]
    assert _status(api.engine, created["id"]) == "scheduled"
    assert api.huey.pending_count() == 0


def test_openapi_documents_create_read_and_send(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    create = paths["/api/v1/campaigns"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CampaignPlan"
    )
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CampaignDefinitionOut"
    )
    assert {"404", "422"} <= set(create["responses"])
    assert "get" in paths["/api/v1/campaigns/{campaign_id}"]
    send = paths["/api/v1/campaigns/{campaign_id}/send"]["post"]
    assert {"202", "409"} <= set(send["responses"])
    plan = spec["components"]["schemas"]["CampaignPlan"]["properties"]
    assert {"template_id", "subject", "html", "steps", "recurrence", "send_at"} <= set(plan)
