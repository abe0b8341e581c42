"""Campaign pages and KPI endpoints: who may read, who may act, CSRF, the queue, escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from huey import SqliteHuey
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import Campaign, CampaignSend, CampaignStep
from mezame.queue import use_huey
from tests.mail_helpers import add_contacts, add_sample10_segment_and_template, make_campaign

PASSWORD = "correct-horse-battery"
EVIL = "<script>alert(1)</script>"


@dataclass
class Site:
    client: TestClient
    engine: Engine
    campaign_id: int
    tokens: dict[str, str]  # role → API token
    huey: SqliteHuey


@pytest.fixture
def site(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    tokens = {}
    with session_scope(sqlite_engine) as s:
        for role in ("admin", "marketing", "sales"):
            user = create_user(
                s, email=f"{role}@example.jp", name=role, role=role, password=PASSWORD
            )
            tokens[role] = create_api_token(s, user_id=user.id, name="t")
        add_contacts(s, 4)
    campaign_id = make_campaign(sqlite_engine, name=f"{EVIL}11月号")
    with Session(sqlite_engine) as s:
        rows = s.scalars(select(CampaignSend).order_by(CampaignSend.id)).all()
        sent_at = datetime(2026, 11, 20, 1, tzinfo=UTC)
        for i, row in enumerate(rows):
            row.status, row.sent_at = "sent", sent_at
            if i < 2:  # two opened; one of them only by Apple's proxy
                row.opened_at, row.opens = sent_at, 1
                row.human_opened_at = sent_at if i == 0 else None
                row.machine_opens = 0 if i == 0 else 1
        s.execute(update(Campaign).values(status="sending"))
        s.commit()
    # The app queues on the process-wide Huey: a throwaway one, put back afterwards.
    monkeypatch.setattr("mezame.queue._huey", None)
    monkeypatch.setattr("mezame.queue._tasks", {})
    huey = use_huey(SqliteHuey("test", filename=str(tmp_path / "queue.db")))
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(client, sqlite_engine, campaign_id, tokens, huey)


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _login(client: TestClient, role: str) -> None:
    token = _token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": f"{role}@example.jp", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def _status(engine: Engine, campaign_id: int) -> str:
    with Session(engine) as s:
        return s.get(Campaign, campaign_id).status  # type: ignore[union-attr]


def test_sales_reads_the_figures_but_cannot_act(site: Site) -> None:
    _login(site.client, "sales")
    home = site.client.get("/").text
    assert 'href="/campaigns"' in home and "キャンペーン" in home
    listing = site.client.get("/campaigns")
    assert listing.status_code == 200
    assert EVIL not in listing.text and "&lt;script&gt;" in listing.text
    assert "25.0%" in listing.text  # open rate: one person of four delivered
    page = site.client.get(f"/campaigns/{site.campaign_id}")
    assert page.status_code == 200
    assert "一時停止" not in page.text and "/pause" not in page.text
    token = _token(page.text)
    refused = site.client.post(f"/campaigns/{site.campaign_id}/pause", data={"csrf_token": token})
    assert refused.status_code == 403
    assert site.client.get("/campaigns/new").status_code == 403
    assert _status(site.engine, site.campaign_id) == "sending"


def test_the_campaign_page_shows_kpis_flags_machine_opens_and_draws_the_days(site: Site) -> None:
    _login(site.client, "marketing")
    html = site.client.get(f"/campaigns/{site.campaign_id}").text
    assert re.search(r'id="kpi-open">25\.0%<', html)
    assert re.search(r'id="kpi-bounce">0\.0%<', html)
    assert re.search(r'id="kpi-cvr">—<', html)  # no goal: no CVR
    assert 'id="machine-opens"' in html and "50.0%" in html  # the raw open rate, explained
    assert "2026年11月20日" in html
    assert html.count('<rect class="bar sent"') == 1


def test_marketing_pauses_resumes_and_stops_with_the_csrf_token_only(site: Site) -> None:
    _login(site.client, "marketing")
    url = f"/campaigns/{site.campaign_id}"
    assert site.client.post(f"{url}/pause").status_code == 403  # no token
    assert _status(site.engine, site.campaign_id) == "sending"
    token = _token(site.client.get(url).text)
    paused = site.client.post(f"{url}/pause", data={"csrf_token": token}, follow_redirects=False)
    assert paused.status_code == 303 and _status(site.engine, site.campaign_id) == "paused"
    assert "一時停止しました" in site.client.get(url).text
    assert site.huey.pending_count() == 0
    resumed = site.client.post(f"{url}/send", data={"csrf_token": token}, follow_redirects=False)
    assert resumed.status_code == 303 and _status(site.engine, site.campaign_id) == "sending"
    assert site.huey.pending_count() == 1  # the worker's send_campaign task
    stopped = site.client.post(f"{url}/stop", data={"csrf_token": token}, follow_redirects=False)
    assert stopped.status_code == 303 and _status(site.engine, site.campaign_id) == "stopped"
    again = site.client.post(f"{url}/send", data={"csrf_token": token})
    assert again.status_code == 400 and "cannot become sending" in again.text


def test_marketing_creates_a_draft_with_a_goal(site: Site) -> None:
    _login(site.client, "marketing")
    form = site.client.get("/campaigns/new").text
    assert "キャンペーン名" in form
    data = {
        "csrf_token": _token(form),
        "name": "12月 お久しぶりです",
        "kind": "one_off",
        "subject": "{{ contact.name }}様 お久しぶりです",
        "html": "<p>{{ company.name }} {{ contact.name }}様</p>",
        "goal": "reply",
        "window_days": "10",
    }
    created = site.client.post("/campaigns", data=data, follow_redirects=False)
    assert created.status_code == 303
    page = site.client.get(created.headers["location"]).text
    assert "12月 お久しぶりです" in page and "下書き" in page and "今すぐ配信" in page
    assert "配信後10日以内の返信" in page
    assert 'id="sequence-steps"' not in page  # one mail: no table of steps
    broken = site.client.post("/campaigns", data={**data, "html": "{% for %}"})
    assert broken.status_code == 400 and "mail 1" in broken.text


def test_api_lists_and_reads_stats_for_every_role_and_only_marketing_sets_the_goal(
    site: Site,
) -> None:
    site.client.cookies.clear()
    assert site.client.get("/api/v1/campaigns").status_code == 401
    for role in ("sales", "marketing", "admin"):
        headers = {"Authorization": f"Bearer {site.tokens[role]}"}
        listed = site.client.get("/api/v1/campaigns", headers=headers)
        assert listed.status_code == 200
        assert listed.json()[0]["kpis"]["rates"]["open_rate"] == 0.25
        one = site.client.get(f"/api/v1/campaigns/{site.campaign_id}/stats", headers=headers)
        assert one.json()["total"]["machine_only_opened"] == 1
    goal = {"goal": "deal", "window_days": 30}
    url = f"/api/v1/campaigns/{site.campaign_id}/goal"
    sales = {"Authorization": f"Bearer {site.tokens['sales']}"}
    assert site.client.put(url, json=goal, headers=sales).status_code == 403
    marketing = {"Authorization": f"Bearer {site.tokens['marketing']}"}
    saved = site.client.put(url, json=goal, headers=marketing)
    assert saved.status_code == 200
    assert saved.json()["conversion_goal"] == "deal" and saved.json()["total"]["rates"]["cvr"] == 0
    bad = site.client.put(url, json={"goal": "sale"}, headers=marketing)
    assert bad.status_code == 422
    missing = site.client.get("/api/v1/campaigns/999/stats", headers=marketing)
    assert missing.status_code == 404


def test_a_draft_from_a_template_and_a_segment_sends_to_the_segment_only(site: Site) -> None:
    with session_scope(site.engine) as s:
        add_contacts(s, 3, start=10)  # 株式会社サンプル10: the segment
        segment, template = add_sample10_segment_and_template(s)
    _login(site.client, "marketing")
    form = site.client.get("/campaigns/new").text
    assert "サンプル10の担当者" in form and "お久しぶりです（自社版）" in form
    created = site.client.post(
        "/campaigns",
        data={
            "csrf_token": _token(form),
            "name": "久しぶりの方へ",
            "kind": "one_off",
            "segment_id": str(segment),
            "template_id": str(template),
            "goal": "reply",
            "window_days": "14",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    url = created.headers["location"]
    campaign_id = int(url.rsplit("/", 1)[1])
    sent = site.client.post(f"{url}/send", data={"csrf_token": _token(site.client.get(url).text)})
    assert sent.status_code == 200 and "配信を受け付けました" in sent.text
    with Session(site.engine) as s:
        rows = s.scalars(select(CampaignSend).where(CampaignSend.campaign_id == campaign_id)).all()
        subjects = set(
            s.scalars(select(CampaignStep.subject).where(CampaignStep.campaign_id == campaign_id))
        )
    assert len(rows) == 3 and {r.status for r in rows} == {"pending"}
    assert subjects == {"{{ contact.name }}様 お久しぶりです"}
    assert site.huey.pending_count() == 1


def test_a_draft_is_scheduled_in_japan_time(site: Site) -> None:
    _login(site.client, "marketing")
    form = site.client.get("/campaigns/new").text
    created = site.client.post(
        "/campaigns",
        data={
            "csrf_token": _token(form),
            "name": "年末のご挨拶",
            "subject": "年末のご挨拶",
            "html": "<p>本年もお世話になりました。</p>",
            "goal": "none",
            "window_days": "14",
            "send_at": "2099-12-25T09:30",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
    with Session(site.engine) as s:
        campaign = s.get(Campaign, campaign_id)
        assert campaign is not None and campaign.status == "scheduled"
        assert campaign.scheduled_at == datetime(2099, 12, 25, 0, 30, tzinfo=UTC)
    page = site.client.get(created.headers["location"]).text
    assert "2099年12月25日 9:30 開始" in page
    past = site.client.post(
        "/campaigns",
        data={
            "csrf_token": _token(form),
            "name": "過去",
            "subject": "s",
            "html": "<p>x</p>",
            "send_at": "2001-01-01T09:00",
        },
    )
    assert past.status_code == 400 and "is in the past" in past.text


def test_a_recurring_campaign_is_never_sent_itself(site: Site) -> None:
    _login(site.client, "marketing")
    form = site.client.get("/campaigns/new").text
    created = site.client.post(
        "/campaigns",
        data={
            "csrf_token": _token(form),
            "name": "月刊ニュースレター",
            "kind": "recurring",
            "subject": "今月のお知らせ",
            "html": "<p>今月のワンポイント</p>",
            "monthly_day": "1",
            "monthly_time": "09:00",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    url = created.headers["location"]
    page = site.client.get(url).text
    assert "今すぐ配信" not in page and f'action="{url}/send"' not in page  # its runs are sent
    refused = site.client.post(f"{url}/send", data={"csrf_token": _token(page)})
    assert refused.status_code == 400 and "each month&#39;s run is sent" in refused.text
    assert site.huey.pending_count() == 0


# ---------------------------------------------------------------------------------------------
# A step sequence built on the page: the rows go through campaigns.kinds.check_steps.


def _templates(engine: Engine) -> dict[str, int]:
    """The built-in templates, installed, plus one of the team's: name → id."""
    from mezame.templates.service import (
        TemplateFields,
        create_template,
        install_builtin_templates,
        list_templates,
    )

    with session_scope(engine) as s:
        install_builtin_templates(s)
        create_template(
            s,
            TemplateFields(
                name="資料のご案内（自社版）",
                message_type="hisashiburi",
                subject="{{ contact.name }}様 資料のご案内",
                html="<p>資料をお送りします。</p>",
            ),
        )
        return {t.name: t.id for t in list_templates(s)}


def _sequence_form(token: str, **steps: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "資料請求のフォロー",
        "kind": "sequence",
        "goal": "reply",
        "window_days": "14",
        **steps,
    }


def test_marketing_builds_a_three_step_sequence_with_waits_and_branches(site: Site) -> None:
    from mezame.campaigns.service import get_campaign, step_of

    ids = _templates(site.engine)
    builtin = [name for name in ids if name != "資料のご案内（自社版）"]
    first, second, third = ids["資料のご案内（自社版）"], ids[builtin[0]], ids[builtin[1]]
    _login(site.client, "marketing")
    page = site.client.get("/campaigns/new").text
    assert '<option value="sequence"' in page and "ステップ配信" in page
    assert 'name="step5_template"' in page and "前のメールを開封した人だけ" in page
    assert '<script src="/static/campaign_new.js"' in page
    assert site.client.get("/static/campaign_new.js").status_code == 200
    created = site.client.post(
        "/campaigns",
        data=_sequence_form(
            _token(page),
            step1_template=str(first),
            step2_template=str(second),
            step2_wait_days="2",
            step2_wait_until="clicked",
            step2_branch="opened",
            step3_template=str(third),
            step3_subject="念のためのご連絡",
            step3_wait_days="7",
            step3_branch="not_clicked",
            step3_then_seasonal="1",
            step4_branch="always",  # an untouched row: ignored
        ),
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
    with Session(site.engine) as s:
        campaign = get_campaign(s, campaign_id)
        assert campaign.kind == "sequence" and campaign.status == "draft"
        steps = [step_of(s, campaign_id, n) for n in (1, 2, 3)]
        count = s.scalar(select(func.count()).where(CampaignStep.campaign_id == campaign_id))
    assert count == 3
    assert [st.template_id for st in steps] == [first, second, third]
    assert [st.wait_days for st in steps] == [0, 2, 7]
    assert [st.wait_until for st in steps] == [None, "clicked", None]
    assert [st.branch for st in steps] == ["always", "opened", "not_clicked"]
    assert [st.then_seasonal for st in steps] == [False, False, True]
    assert steps[0].subject == "{{ contact.name }}様 資料のご案内"  # the template's own
    assert steps[2].subject == "念のためのご連絡"  # overridden on the page
    page = site.client.get(created.headers["location"]).text
    assert "資料請求のフォロー" in page and "ステップ配信のメール" in page
    # The campaign's page lists the mails: when each goes out and to whom.
    rows = dict(re.findall(r'<tr id="sequence-step-(\d)">(.*?)</tr>', page, re.S))
    assert sorted(rows) == ["1", "2", "3"]
    assert "配信開始時" in rows["1"] and "配信対象の全員" in rows["1"]
    assert "前のメールの2日後" in rows["2"] and "クリックされたらその時点で" in rows["2"]
    assert "前のメールを開封した人だけ" in rows["2"] and "反応がなければ" not in rows["2"]
    assert "念のためのご連絡" in rows["3"] and "前のメールの7日後" in rows["3"]
    assert "前のメールのリンクをクリックしていない人だけ" in rows["3"]
    assert "反応がなければ季節ごとに" in rows["3"]


def test_a_bad_step_is_named_and_what_was_typed_is_kept(site: Site) -> None:
    ids = _templates(site.engine)
    template = ids["資料のご案内（自社版）"]
    _login(site.client, "marketing")
    token = _token(site.client.get("/campaigns/new").text)
    with Session(site.engine) as s:
        before = s.scalar(select(func.count()).select_from(Campaign))
    refused = site.client.post(
        "/campaigns",
        data=_sequence_form(
            token,
            step1_template=str(template),
            step2_template=str(template),
            step2_wait_days="-3",
            step2_branch="opened",
            # row 3 left empty: ignored, and the rows keep their numbers
            step4_wait_days="5",  # no template
            step4_subject="リマインド",
        ),
    )
    assert refused.status_code == 400
    html = refused.text
    assert 'id="form-errors"' in html
    assert 'href="#step2-wait_days"' in html and 'href="#step4-template"' in html
    assert "#step3-" not in html
    assert re.search(r'id="error-step2-wait_days">日数は0〜365の整数で入力してください', html)
    assert re.search(r'id="error-step4-template">このメールのテンプレートを選んでください', html)
    # What was typed is still there.
    assert 'name="step2_wait_days" min="0" max="365" step="1" placeholder="0" value="-3"' in html
    assert 'value="リマインド"' in html and 'value="資料請求のフォロー"' in html
    assert re.search(r'<option value="opened" selected>', html)
    assert re.search(rf'<option value="{template}" selected>', html)
    gone = site.client.post("/campaigns", data=_sequence_form(token, step1_template="99999"))
    assert gone.status_code == 400
    assert re.search(r'id="error-step1-template">このテンプレートはもうありません', gone.text)
    empty = site.client.post("/campaigns", data=_sequence_form(token))
    assert empty.status_code == 400 and 'id="error-step1-template"' in empty.text
    with Session(site.engine) as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == before


def test_sales_cannot_create_a_sequence(site: Site) -> None:
    ids = _templates(site.engine)
    _login(site.client, "sales")
    token = _token(site.client.get("/campaigns").text)
    with Session(site.engine) as s:
        before = s.scalar(select(func.count()).select_from(Campaign))
    refused = site.client.post(
        "/campaigns",
        data=_sequence_form(
            token,
            step1_template=str(ids["資料のご案内（自社版）"]),
            step2_template=str(ids["資料のご案内（自社版）"]),
            step2_wait_days="2",
        ),
    )
    assert refused.status_code == 403
    with Session(site.engine) as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == before
