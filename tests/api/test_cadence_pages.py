"""The contact policy page (/cadence): every role reads it in plain Japanese, marketing and
admin change it through the same validation as the CLI and the API, the sender then reads
the new values, and refused values are explained next to their field and kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.api.app import create_app
from mezame.cadence import CadencePolicy, RestraintFacts, restraint_reason
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import Contact
from mezame.policy.service import load_policy
from tests.mail_helpers import add_contacts

PASSWORD = "correct-horse-battery"
JST = ZoneInfo("Asia/Tokyo")
EVIL = "<script>alert(1)</script>"


@dataclass
class Site:
    client: TestClient
    engine: Engine


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with session_scope(sqlite_engine) as s:
        for role in ("admin", "marketing", "sales"):
            name = f"{EVIL}{role}" if role == "marketing" else role
            create_user(s, email=f"{role}@example.jp", name=name, role=role, password=PASSWORD)
        ids = add_contacts(s, 5)
        s.execute(update(Contact).where(Contact.id.in_(ids[:2])).values(cadence="seasonal"))
        # A contact merged into another is not counted.
        s.execute(update(Contact).where(Contact.id == ids[2]).values(merged_into_id=ids[3]))
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(client, sqlite_engine)


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


def _policy(engine: Engine) -> CadencePolicy:
    """The policy as the sender loads it."""
    with Session(engine) as s:
        return load_policy(s, CadencePolicy)


def _form(**changes: str) -> dict[str, str]:
    """The whole form as the page posts it with the defaults (ticked boxes send "on")."""
    values = {
        "monthly_interval_days": "25",
        "seasonal_interval_days": "84",
        "cap_mails": "4",
        "cap_window_days": "30",
        "reminder_wait_days": "7",
        "quiet_from": "20:00",
        "quiet_until": "08:00",
        "weekends_off": "on",
        "holidays_off": "on",
        "year_end_off": "on",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v != "off"}


def _error(html: str, field: str) -> str:
    match = re.search(rf'<span class="field-error" id="error-{field}">([^<]*)</span>', html)
    assert match, f"no error shown for {field}"
    return match.group(1)


@pytest.mark.parametrize("role", ["admin", "marketing", "sales"])
def test_every_role_reads_the_policy_in_plain_japanese(site: Site, role: str) -> None:
    _login(site.client, role)
    assert 'href="/cadence"' in site.client.get("/").text
    page = site.client.get("/cadence")
    assert page.status_code == 200
    html = page.text
    assert "<h1>配信ルール</h1>" in html
    assert "月1回まで（前回から25日以上空ける）" in html
    assert "約3か月に1回まで（前回から84日以上空ける）" in html
    assert "どの30日間をとっても1人に4通まで" in html
    assert "20:00〜翌08:00は送りません（日本時間）" in html
    assert "土曜・日曜は送りません" in html and "12月29日〜1月3日は送りません" in html
    assert re.search(r'id="count-seasonal">2人<', html)
    assert re.search(r'id="count-monthly">2人<', html)  # the merged contact is not counted
    assert "初期設定のままです" in html
    editable = 'action="/cadence"' in html
    assert editable == (role != "sales")
    assert ('id="read-only"' in html) == (role == "sales")


def test_a_saved_change_is_what_the_sender_uses(site: Site) -> None:
    _login(site.client, "marketing")
    token = _token(site.client.get("/cadence").text)
    saved = site.client.post(
        "/cadence",
        data={
            **_form(
                cap_mails="３",  # full-width digits, as a Japanese IME types them
                cap_window_days="14",
                quiet_from="21:00",
                quiet_until="7:30",
                weekends_off="off",
            ),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/cadence"
    policy = _policy(site.engine)
    assert (policy.cap_mails, policy.cap_window_days) == (3, 14)
    assert (policy.quiet_from, policy.quiet_until) == (time(21), time(7, 30))
    assert policy.weekends_off is False and policy.holidays_off is True
    # The sender's decision follows: a third mail in 14 days is now over the cap …
    facts = RestraintFacts(
        cadence="monthly", first_mail=False, last_other_mail=None, mails_in_window=3
    )
    assert restraint_reason(policy, facts, at=datetime.now(UTC)) == "cap: 3 mails in 14 days"
    # … and a Saturday noon is a send time again.
    assert policy.is_send_time(datetime(2026, 11, 28, 12, tzinfo=JST))
    page = site.client.get("/cadence").text
    assert "保存しました" in page
    assert "どの14日間をとっても1人に3通まで" in page
    assert "21:00〜翌07:30は送りません" in page and "土日も送ります" in page
    # Who changed it, escaped.
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;marketing" in page
    assert "保存しました" not in site.client.get("/cadence").text  # shown once
    no_quiet = site.client.post(
        "/cadence",
        data={**_form(quiet_from="", quiet_until=""), "csrf_token": token},
        follow_redirects=False,
    )
    assert no_quiet.status_code == 303
    assert _policy(site.engine).quiet_from is None
    assert "時間帯の制限はありません" in site.client.get("/cadence").text


def test_bad_values_are_named_explained_and_kept(site: Site) -> None:
    _login(site.client, "admin")
    token = _token(site.client.get("/cadence").text)
    refused = site.client.post(
        "/cadence",
        data={
            **_form(cap_mails="0", quiet_from="25:00", monthly_interval_days="abc"),
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400
    html = refused.text
    assert "保存していません" in html
    summary = html[html.index('id="form-errors"') :]
    summary = summary[: summary.index("</div>")]
    assert "上限：1人あたりの通数" in summary and "送らない時間帯（開始）" in summary
    assert "毎月の連絡先：メールの間隔（日）" in summary
    assert _error(html, "cap_mails") == "1〜100の整数で入力してください。"
    assert _error(html, "monthly_interval_days") == "1〜365の整数で入力してください。"
    assert "時刻で入力してください" in _error(html, "quiet_from")
    assert 'name="cap_mails" min="1" max="100" value="0"' in html
    assert 'name="quiet_from" value="25:00"' in html
    assert 'value="abc"' in html
    assert 'name="seasonal_interval_days" min="1" max="730" value="84"' in html
    assert _policy(site.engine) == CadencePolicy()  # nothing saved

    half = site.client.post(
        "/cadence", data={**_form(quiet_from="", quiet_until="08:00"), "csrf_token": token}
    )
    assert half.status_code == 400
    assert "両方とも空欄" in _error(half.text, "quiet_hours")
    same = site.client.post(
        "/cadence", data={**_form(quiet_from="08:00", quiet_until="08:00"), "csrf_token": token}
    )
    assert same.status_code == 400 and "同じ時刻" in _error(same.text, "quiet_hours")
    assert _policy(site.engine) == CadencePolicy()


def test_sales_may_not_change_the_policy(site: Site) -> None:
    _login(site.client, "sales")
    token = _token(site.client.get("/cadence").text)
    refused = site.client.post("/cadence", data={**_form(cap_mails="1"), "csrf_token": token})
    assert refused.status_code == 403
    assert _policy(site.engine).cap_mails == 4


def test_a_post_without_the_csrf_token_is_refused(site: Site) -> None:
    _login(site.client, "marketing")
    assert site.client.post("/cadence", data=_form(cap_mails="1")).status_code == 403
    forged = site.client.post("/cadence", data={**_form(cap_mails="1"), "csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert _policy(site.engine).cap_mails == 4


def test_logged_out_visitors_go_to_the_login_page(site: Site) -> None:
    response = site.client.get("/cadence", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fcadence"


def test_the_page_in_english(site: Site) -> None:
    _login(site.client, "marketing")
    token = _token(site.client.get("/cadence").text)
    site.client.post("/language", data={"locale": "en", "csrf_token": token})
    html = site.client.get("/cadence").text
    assert "<h1>Contact policy</h1>" in html
    assert "At most once a month (at least 25 days after the previous mail)" in html
    assert "No mail from 20:00 to 08:00 the next morning (Japan time)" in html
    refused = site.client.post("/cadence", data={**_form(cap_mails="0"), "csrf_token": token})
    assert _error(refused.text, "cap_mails") == "Enter a whole number from 1 to 100."
