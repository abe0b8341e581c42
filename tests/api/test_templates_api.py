"""Templates over HTTP: the API (CRUD, preview, test send through aiosmtpd), the editor pages,
roles (sales is refused) and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.templates.service import install_builtin_templates, list_templates
from tests.mail_helpers import CollectingHandler, smtp_server
from tests.template_helpers import CHANGE, PASSWORD, World, seed_world


@dataclass
class Site:
    client: TestClient
    world: World
    marketing: dict[str, str]
    sales: dict[str, str]
    handler: CollectingHandler
    builtin: dict[str, int]


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with session_scope(sqlite_engine) as s:
        world = seed_world(s)
        marketer = create_user(
            s,
            email="marketing@example.jp",
            name="マーケ 花子",
            role="marketing",
            password=PASSWORD,
        )
        seller = create_user(
            s, email="sales@example.jp", name="営業 太郎", role="sales", password=PASSWORD
        )
        tokens = (
            create_api_token(s, user_id=marketer.id, name="t"),
            create_api_token(s, user_id=seller.id, name="t"),
        )
        install_builtin_templates(s)
        builtin = {t.message_type: t.id for t in list_templates(s)}
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        app = create_app(
            Settings(
                database_url=str(sqlite_engine.url),
                secret_key="test-secret-key-0123456789",
                smtp_port=port,
                sender_name="株式会社めざめ商事",
                sender_email="news@mezame.example.jp",
                sender_address="〒100-0005 東京都千代田区丸の内1-1-1",
            ),
            engine=sqlite_engine,
        )
        with TestClient(app) as client:
            yield Site(
                client,
                world,
                {"Authorization": f"Bearer {tokens[0]}"},
                {"Authorization": f"Bearer {tokens[1]}"},
                handler,
                builtin,
            )


def test_api_crud_and_roles(site: Site) -> None:
    c = site.client
    assert c.get("/api/v1/templates", headers=site.sales).status_code == 403
    listed = c.get("/api/v1/templates", headers=site.marketing).json()
    assert [t["builtin"] for t in listed][:12] == [True] * 12
    body = {
        "name": "展示会のお礼",
        "message_type": "custom",
        "subject": "{{ contact.name }}様 ご来場ありがとうございました",
        "html_body": "<p>{{ company.name }}</p>",
    }
    assert c.post("/api/v1/templates", json=body, headers=site.sales).status_code == 403
    created = c.post("/api/v1/templates", json=body, headers=site.marketing)
    assert created.status_code == 201
    template_id = created.json()["id"]
    broken = c.put(
        f"/api/v1/templates/{template_id}",
        json={**body, "html_body": "<p>\n{% for %}"},
        headers=site.marketing,
    )
    assert broken.status_code == 422 and "html line 2" in broken.json()["detail"]
    builtin_id = site.builtin["newsletter"]
    refused = c.put(f"/api/v1/templates/{builtin_id}", json=body, headers=site.marketing)
    assert refused.status_code == 422 and "duplicate" in refused.json()["detail"]
    copy = c.post(f"/api/v1/templates/{builtin_id}/duplicate", headers=site.marketing).json()
    assert copy["builtin"] is False and copy["name"].endswith("のコピー")
    assert c.delete(f"/api/v1/templates/{template_id}", headers=site.marketing).status_code == 204
    assert c.get(f"/api/v1/templates/{template_id}", headers=site.marketing).status_code == 404


def test_api_preview_for_a_contact(site: Site) -> None:
    c = site.client
    url = f"/api/v1/templates/{site.builtin['reproposal_price']}/preview"
    assert c.get(url, headers=site.sales).status_code == 403
    shown = c.get(url, params={"contact_id": site.world.dormant_contact}, headers=site.marketing)
    assert shown.status_code == 200
    data = shown.json()
    assert data["subject"].startswith("株式会社みなと物流 佐藤 一郎様")
    assert data["html"].count(CHANGE) == 1 and CHANGE in data["text"]
    assert "東京都千代田区丸の内1-1-1" in data["text"]  # the legal footer
    assert data["skipped_because"] is None
    nobody = c.get(url, params={"contact_id": site.world.newcomer}, headers=site.marketing)
    assert nobody.json()["skipped_because"] == "no change to state"
    missing = c.get(url, params={"contact_id": 999_999}, headers=site.marketing)
    assert missing.status_code == 404


def test_api_test_send_arrives_through_smtp(site: Site) -> None:
    url = f"/api/v1/templates/{site.builtin['hisashiburi']}/test-send"
    body = {"to": "me@mezame.example.jp", "contact_id": site.world.dormant_contact}
    assert site.client.post(url, json=body, headers=site.sales).status_code == 403
    sent = site.client.post(url, json=body, headers=site.marketing)
    assert sent.status_code == 200 and sent.json()["result"] == "accepted"
    [mail] = site.handler.to("me@mezame.example.jp")
    message = message_from_bytes(mail.data, policy=policy.default)
    assert message["Subject"].startswith("[テスト] お久しぶりです")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "佐藤 一郎様" in text and "2025年3月31日" in text and "鈴木 花子" in text


def _login(client: TestClient, email: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_sales_cannot_open_the_template_pages(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    assert site.client.get("/templates", follow_redirects=False).status_code == 403
    editor = site.client.get(f"/templates/{site.builtin['newsletter']}", follow_redirects=False)
    assert editor.status_code == 403
    assert "/templates" not in site.client.get("/").text


def test_editor_pages_preview_save_duplicate_and_test_send(site: Site) -> None:
    c = site.client
    _login(c, "marketing@example.jp")
    listing = c.get("/templates")
    assert listing.status_code == 200
    assert "組み込み" in listing.text and "月次ニュースレター（4部構成）" in listing.text
    editor = c.get(f"/templates/{site.builtin['reproposal_price']}")
    assert editor.status_code == 200
    # The preview is a sandboxed iframe; its policy allows the mail's inline styles only here.
    frame = re.search(r'<iframe id="preview-frame"[^>]*>', editor.text)
    assert frame and 'sandbox=""' in frame.group(0)
    assert "'unsafe-inline'" in editor.headers["content-security-policy"]
    assert "'unsafe-inline'" not in c.get("/templates").headers["content-security-policy"]
    assert "readonly" in editor.text  # a built-in
    token = _token(editor.text)

    preview = c.post(
        "/templates/preview",
        data={
            "subject": "{{ contact.name }}様",
            "html_body": "<p>{{ company.name }}: {{ change }}</p><script>alert(1)</script>",
            "contact": "sato@minato.example.jp",
            "requires": "change",
        },
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert 'id="preview-subject">佐藤 一郎様<' in preview.text
    srcdoc = re.search(r'srcdoc="([^"]*)"', preview.text)
    assert srcdoc and "株式会社みなと物流: " + CHANGE in unescape(srcdoc.group(1))
    assert "<script>" not in preview.text  # escaped into the attribute, run nowhere
    problem = c.post(
        "/templates/preview",
        data={"subject": "s", "html_body": "<p>\n{{ 1 / 0 }}</p>"},
        headers={"X-CSRF-Token": token},
    )
    assert "html line 2" in problem.text
    # Without the token every POST is refused.
    assert c.post("/templates/preview", data={"subject": "s"}).status_code == 403
    assert c.post(f"/templates/{site.builtin['newsletter']}/duplicate").status_code == 403

    duplicated = c.post(
        f"/templates/{site.builtin['reproposal_price']}/duplicate",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert duplicated.status_code == 303
    copy_url = duplicated.headers["location"]
    saved = c.post(
        copy_url,
        data={
            "csrf_token": token,
            "name": "価格の再提案（自社版）",
            "message_type": "reproposal_price",
            "requires": "change",
            "subject": "{{ contact.name }}様 お見積りの件",
            "html_body": "<p>{{ change }}</p>",
            "text_body": "",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = c.get(copy_url)
    assert "保存しました" in page.text and "価格の再提案（自社版）" in page.text
    bad = c.post(
        copy_url,
        data={
            "csrf_token": token,
            "name": "x",
            "message_type": "custom",
            "subject": "s",
            "html_body": "{% if %}",
        },
    )
    assert bad.status_code == 400 and "html line 1" in bad.text
    assert "{% if %}" in unescape(bad.text)  # what was typed is kept

    sent = c.post(
        f"{copy_url}/test-send",
        data={"csrf_token": token, "to": "", "contact": str(site.world.dormant_contact)},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    [mail] = site.handler.to("marketing@example.jp")  # empty "to": the user's own address
    message = message_from_bytes(mail.data, policy=policy.default)
    assert message["Subject"] == "[テスト] 佐藤 一郎様 お見積りの件"
    assert "marketing@example.jp" in c.get(copy_url).text


def test_a_template_created_in_the_editor_is_saved_and_a_bad_one_keeps_the_input(
    site: Site,
) -> None:
    c = site.client
    _login(c, "marketing@example.jp")
    token = _token(c.get("/templates/new").text)
    fields = {
        "csrf_token": token,
        "name": "展示会フォロー",
        "message_type": "custom",
        "requires": "",
        "subject": "{{ company.name }} {{ contact.name }}様 展示会のお礼",
        "html_body": "<p>{{ contact.name }}様、先日はありがとうございました。</p>",
        "text_body": "",
    }
    created = c.post("/templates", data=fields, follow_redirects=False)
    assert created.status_code == 303
    page = c.get(created.headers["location"])
    assert page.status_code == 200 and "展示会フォロー" in page.text
    listed = c.get("/api/v1/templates", headers=site.marketing).json()
    assert "展示会フォロー" in [t["name"] for t in listed]
    # The same name again is refused, and the editor shows what was typed.
    again = c.post("/templates", data={**fields, "subject": "二度目の件名"})
    assert again.status_code == 400 and "二度目の件名" in again.text
    assert c.post("/templates", data={**fields, "csrf_token": ""}).status_code == 403


def test_a_test_send_that_fails_says_why_and_sends_nothing(site: Site) -> None:
    c = site.client
    _login(c, "marketing@example.jp")
    url = f"/templates/{site.builtin['hisashiburi']}"
    token = _token(c.get(url).text)
    unknown = c.post(
        f"{url}/test-send",
        data={
            "csrf_token": token,
            "to": "unknown-contact@mezame.example.jp",
            "contact": "nobody@example.jp",
        },
    )
    assert unknown.status_code == 400 and "nobody@example.jp" in unescape(unknown.text)
    site.handler.refuse_rcpt = lambda _address: "550 5.1.1 No such user here"
    try:
        refused = c.post(
            f"{url}/test-send",
            data={"csrf_token": token, "to": "gone@mezame.example.jp", "contact": ""},
        )
    finally:
        site.handler.refuse_rcpt = lambda _address: None
    assert refused.status_code == 502 and "No such user here" in refused.text
    assert site.handler.to("unknown-contact@mezame.example.jp") == []
    assert site.handler.to("gone@mezame.example.jp") == []
