"""What a recipient reaches from a mail (unsubscribe, click, pixel) and the bounce webhook."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.mail.links import LinkSigner
from mezame.models import CampaignSend, Contact, EngagementEvent, Suppression
from tests.mail_helpers import add_contacts, make_campaign

SECRET = "public-endpoints-secret-0123456789"
BASE = "https://mezame.example.jp"


@dataclass
class Mailing:
    client: TestClient
    engine: Engine
    signer: LinkSigner
    send_id: int
    token: str  # API token of a marketing user


@pytest.fixture
def mailing(sqlite_engine: Engine) -> Iterator[Mailing]:
    with session_scope(sqlite_engine) as s:
        add_contacts(s, 2)
        marketer = create_user(
            s, email="m@example.jp", name="m", role="marketing", password="long-enough-pw"
        )
        create_user(s, email="admin@example.jp", name="a", role="admin", password="long-enough-pw")
        token = create_api_token(s, user_id=marketer.id, name="esp")
    make_campaign(sqlite_engine)
    with Session(sqlite_engine) as s:
        send_id = s.scalar(select(CampaignSend.id).order_by(CampaignSend.id))
        s.execute(CampaignSend.__table__.update().values(email=None))
        s.commit()
    assert send_id is not None
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key=SECRET, base_url=BASE),
        engine=sqlite_engine,
    )
    with TestClient(app, base_url=BASE) as client:
        yield Mailing(client, sqlite_engine, LinkSigner(SECRET.encode(), BASE), send_id, token)


def _suppressed(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return [(r.email, r.reason) for r in s.scalars(select(Suppression))]


def _send(mailing: Mailing) -> CampaignSend:
    with Session(mailing.engine) as s:
        row = s.get(CampaignSend, mailing.send_id)
        assert row is not None
        return row


def _events(engine: Engine, kind: str) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).where(EngagementEvent.type == kind)) or 0)


def test_get_shows_a_japanese_confirmation_and_unsubscribes_nobody(mailing: Mailing) -> None:
    token = mailing.signer.send_token("unsubscribe", mailing.send_id)
    page = mailing.client.get(f"/u/{token}")
    assert page.status_code == 200
    assert "配信停止" in page.text and "u***@example.jp" in page.text
    assert f'action="/u/{token}"' in page.text
    assert "set-cookie" not in page.headers
    assert _suppressed(mailing.engine) == []


def test_one_click_post_without_cookies_works_at_once_never_redirects_and_repeats_safely(
    mailing: Mailing,
) -> None:
    token = mailing.signer.send_token("unsubscribe", mailing.send_id)
    mailing.client.cookies.clear()
    for _ in range(2):
        response = mailing.client.post(
            f"/u/{token}",
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert response.status_code == 200
        assert "location" not in response.headers and "set-cookie" not in response.headers
        assert "配信を停止しました" in response.text
    assert _suppressed(mailing.engine) == [("user0@example.jp", "unsubscribed")]
    assert _events(mailing.engine, "mail_unsubscribed") == 1
    assert _send(mailing).unsubscribed_at is not None


def test_the_unsubscribe_form_works_for_a_logged_in_staff_member_without_a_csrf_token(
    mailing: Mailing,
) -> None:
    login = mailing.client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert csrf
    mailing.client.post(
        "/login",
        data={
            "email": "admin@example.jp",
            "password": "long-enough-pw",
            "next": "/",
            "csrf_token": csrf.group(1),
        },
    )
    token = mailing.signer.send_token("unsubscribe", mailing.send_id)
    assert mailing.client.post(f"/u/{token}").status_code == 200
    assert len(_suppressed(mailing.engine)) == 1
    # …while every other cookie-authenticated POST still needs its token.
    assert mailing.client.post("/admin/users", data={"email": "x@example.jp"}).status_code == 403


def test_forged_or_foreign_tokens_unsubscribe_nobody(mailing: Mailing) -> None:
    click_token = mailing.signer.send_token("open", mailing.send_id)
    for token in (click_token, "AAAAAAAAAAEAAAAAAAAAAAAAAAAA", "x" * 500):
        assert mailing.client.post(f"/u/{token}").status_code == 404
    assert _suppressed(mailing.engine) == []


def test_a_signed_click_redirects_and_is_recorded_a_forged_one_goes_nowhere(
    mailing: Mailing,
) -> None:
    url = mailing.signer.click_url(mailing.send_id, "https://www.example.jp/pricing?x=1")
    response = mailing.client.get(url.removeprefix(BASE), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://www.example.jp/pricing?x=1"
    assert _events(mailing.engine, "mail_clicked") == 1
    row = _send(mailing)
    # A click counts as an open too: images may have been blocked.
    assert (row.clicks, row.opens) == (1, 0)
    assert row.clicked_at is not None and row.human_opened_at == row.clicked_at
    evil = LinkSigner(b"attacker", BASE).click_url(mailing.send_id, "https://evil.example/")
    bad = mailing.client.get(evil.removeprefix(BASE), follow_redirects=False)
    assert bad.status_code == 400 and "location" not in bad.headers
    assert "無効なリンク" in bad.text
    assert _events(mailing.engine, "mail_clicked") == 1


def test_the_open_pixel_is_a_gif_and_records_an_open(mailing: Mailing) -> None:
    url = mailing.signer.open_url(mailing.send_id).removeprefix(BASE)
    response = mailing.client.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert "no-store" in response.headers["cache-control"]
    assert _events(mailing.engine, "mail_opened") == 1
    assert mailing.client.get("/o/forged.gif").status_code == 200
    assert _events(mailing.engine, "mail_opened") == 1
    row = _send(mailing)
    # TestClient's agent "testclient" is not a proxy or scanner: a human open.
    assert (row.opens, row.machine_opens) == (1, 0) and row.human_opened_at is not None
    with Session(mailing.engine) as s:
        contact = s.get(Contact, row.contact_id)
        assert contact is not None and contact.last_seen_at == row.opened_at


def test_machine_opens_count_as_opens_but_not_as_human_ones(mailing: Mailing) -> None:
    url = mailing.signer.open_url(mailing.send_id).removeprefix(BASE)
    mailing.client.get(url, headers={"User-Agent": "Mozilla/5.0"})  # Apple's MPP proxy
    row = _send(mailing)
    assert (row.opens, row.machine_opens) == (1, 1)
    assert row.opened_at is not None and row.human_opened_at is None
    mailing.client.get(url, headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1)"})
    row = _send(mailing)
    assert (row.opens, row.machine_opens) == (2, 1) and row.human_opened_at is not None
    with Session(mailing.engine) as s:
        flags = s.scalars(
            select(EngagementEvent.payload["machine"]).where(EngagementEvent.type == "mail_opened")
        ).all()
    assert sorted(map(bool, flags)) == [False, True]


def test_bounce_webhook_suppresses_hard_bounces_once(mailing: Mailing) -> None:
    headers = {"Authorization": f"Bearer {mailing.token}"}
    body = {
        "events": [{"email": "USER1@example.jp", "kind": "hard", "status": "5.1.1", "id": "evt-1"}]
    }
    first = mailing.client.post("/api/v1/mail/bounces", json=body, headers=headers)
    assert first.status_code == 200 and first.json()["suppressed"] == 1
    again = mailing.client.post("/api/v1/mail/bounces", json=body, headers=headers)
    assert again.json()["duplicates"] == 1 and again.json()["suppressed"] == 0
    assert _suppressed(mailing.engine) == [("user1@example.jp", "hard_bounce")]
    assert mailing.client.post("/api/v1/mail/bounces", json=body).status_code == 401


def test_manual_suppressions_and_the_consent_policy_over_the_api(mailing: Mailing) -> None:
    headers = {"Authorization": f"Bearer {mailing.token}"}
    added = mailing.client.post(
        "/api/v1/mail/suppressions",
        json={"email": " Kaiyaku@Example.jp ", "detail": "電話で依頼"},
        headers=headers,
    )
    assert added.status_code == 201 and added.json()["email"] == "kaiyaku@example.jp"
    assert (
        mailing.client.post(
            "/api/v1/mail/suppressions", json={"email": "nope"}, headers=headers
        ).status_code
        == 422
    )
    listed = mailing.client.get("/api/v1/mail/suppressions?q=kaiyaku", headers=headers).json()
    assert [(r["email"], r["reason"]) for r in listed] == [("kaiyaku@example.jp", "manual")]
    policy = mailing.client.get("/api/v1/mail/consent-policy", headers=headers).json()
    assert policy["policy"]["existing_transaction_max_months"] == 24
    # The warning reaches the marketer in their language (Japanese by default).
    assert len(policy["warnings"]) == 1 and "名刺交換" in policy["warnings"][0]
    loosened = {**policy["policy"], "existing_transaction_max_months": None}
    # A marketer may read the rules; only an admin may change them.
    assert (
        mailing.client.put(
            "/api/v1/mail/consent-policy", json=loosened, headers=headers
        ).status_code
        == 403
    )
