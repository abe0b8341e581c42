"""Segments and tags over HTTP: CRUD, the live count, preview, roles, bad input; the web pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import Company, Contact

PASSWORD = "correct-horse-battery"
MANUFACTURING = {
    "match": "all",
    "rules": [{"field": "company.industry", "op": "eq", "value": "製造業"}],
}


@dataclass
class Site:
    client: TestClient
    marketing: dict[str, str]
    sales: dict[str, str]
    contacts: list[int]


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with session_scope(sqlite_engine) as s:
        marketing = create_user(
            s, email="m@example.jp", name="マーケ 花子", role="marketing", password=PASSWORD
        )
        sales = create_user(
            s, email="s@example.jp", name="営業 太郎", role="sales", password=PASSWORD
        )
        tokens = (
            create_api_token(s, user_id=marketing.id, name="ma"),
            create_api_token(s, user_id=sales.id, name="crm"),
        )
        ids = []
        for n, industry in enumerate(["製造業", "製造業", "IT"]):
            company = Company(import_key=f"C{n}", name=f"<b>会社{n}</b>", industry=industry)
            s.add(company)
            s.flush()
            contact = Contact(
                import_key=f"P{n}", company_id=company.id, name=f"担当{n}", email=f"p{n}@x.jp"
            )
            s.add(contact)
            s.flush()
            ids.append(contact.id)
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(
            client,
            {"Authorization": f"Bearer {tokens[0]}"},
            {"Authorization": f"Bearer {tokens[1]}"},
            ids,
        )


def test_crud_count_and_preview(site: Site) -> None:
    c, auth = site.client, site.marketing
    made = c.post(
        "/api/v1/segments", json={"name": "製造業", "definition": MANUFACTURING}, headers=auth
    )
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert c.post("/api/v1/segments/count", json=MANUFACTURING, headers=auth).json()["count"] == 2
    preview = c.get(f"/api/v1/segments/{sid}/preview", headers=auth).json()
    assert preview["count"] == 2
    assert [p["id"] for p in preview["contacts"]] == site.contacts[:2]
    assert preview["contacts"][0]["company_name"] == "<b>会社0</b>"
    listed = c.get("/api/v1/segments", headers=auth).json()
    assert [(s["name"], s["last_count"]) for s in listed] == [("製造業", 2)]

    it = {"match": "all", "rules": [{"field": "company.industry", "op": "eq", "value": "IT"}]}
    patched = c.patch(f"/api/v1/segments/{sid}", json={"definition": it}, headers=auth)
    assert patched.json()["last_count"] is None  # a new definition forgets the old count
    assert c.get(f"/api/v1/segments/{sid}/preview", headers=auth).json()["count"] == 1
    assert c.delete(f"/api/v1/segments/{sid}", headers=auth).status_code == 204
    assert c.get(f"/api/v1/segments/{sid}", headers=auth).status_code == 404


def test_bad_definitions_say_where(site: Site) -> None:
    c, auth = site.client, site.marketing
    bad = {
        "match": "all",
        "rules": [
            {"field": "tag", "op": "eq", "value": "VIP"},
            {"match": "any", "rules": [{"field": "company.status", "op": "eq", "value": "x"}]},
        ],
    }
    r = c.post("/api/v1/segments/count", json=bad, headers=auth)
    assert r.status_code == 422
    assert "rules[1].rules[0].value: expected one of prospect" in r.json()["detail"]
    sql = {"match": "all", "rules": [{"field": "1=1; DROP TABLE contacts", "op": "eq", "value": 1}]}
    r = c.post("/api/v1/segments", json={"name": "x", "definition": sql}, headers=auth)
    assert r.status_code == 422 and "rules[0].field: unknown field" in r.json()["detail"]
    c.post("/api/v1/segments", json={"name": "dup", "definition": MANUFACTURING}, headers=auth)
    r = c.post("/api/v1/segments", json={"name": "dup", "definition": MANUFACTURING}, headers=auth)
    assert r.status_code == 422 and "already exists" in r.json()["detail"]
    r = c.post(
        "/api/v1/segments",
        json={
            "name": "ref",
            "definition": {"rules": [{"field": "segment", "op": "eq", "value": 99}]},
        },
        headers=auth,
    )
    assert r.status_code == 422 and "no segment 99" in r.json()["detail"]


def test_sales_may_not_use_segments_but_may_tag(site: Site) -> None:
    c = site.client
    assert c.get("/api/v1/segments", headers=site.sales).status_code == 403
    assert (
        c.post("/api/v1/segments/count", json=MANUFACTURING, headers=site.sales).status_code == 403
    )
    assert c.get("/api/v1/segments").status_code == 401
    contact = site.contacts[0]
    r = c.put(f"/api/v1/contacts/{contact}/tags/展示会2026", headers=site.sales)
    assert r.status_code == 200 and r.json()["tags"] == ["展示会2026"]
    c.put(f"/api/v1/contacts/{contact}/tags/展示会2026", headers=site.sales)  # repeat: no change
    assert c.get("/api/v1/tags", headers=site.sales).json() == [
        {"tag": "展示会2026", "contacts": 1}
    ]
    tagged = {"match": "all", "rules": [{"field": "tag", "op": "eq", "value": "展示会2026"}]}
    assert (
        c.post("/api/v1/segments/count", json=tagged, headers=site.marketing).json()["count"] == 1
    )
    r = c.delete(f"/api/v1/contacts/{contact}/tags/展示会2026", headers=site.sales)
    assert r.json()["tags"] == []
    assert c.put("/api/v1/contacts/999999/tags/x", headers=site.sales).status_code == 404


# --- web pages --------------------------------------------------------------------------------


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _login(client: TestClient, email: str) -> str:
    token = _token(client.get("/login").text)
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    return _token(client.get("/").text)


def test_builder_counts_saves_and_lists(site: Site) -> None:
    c = site.client
    token = _login(c, "m@example.jp")
    page = c.get("/segments/new")
    assert page.status_code == 200 and "業種" in page.text  # rows come from the whitelist
    row = re.search(r'name="rules-([0-9a-f]+)-field"', page.text)
    assert row
    t = row.group(1)
    form = {
        "csrf_token": token,
        "name": "製造業の担当者",
        "match": "all",
        f"rules-{t}-field": "company.industry",
        f"rules-{t}-op": "in",
        f"rules-{t}-value": "製造業, 建設業",
    }
    counted = c.post("/segments/count", data=form, headers={"HX-Request": "true"})
    assert '<span class="count-value">2</span>' in counted.text
    wrong = c.post(
        "/segments/count", data={**form, f"rules-{t}-op": "gt"}, headers={"HX-Request": "true"}
    )
    assert "rules[0].op: company.industry takes" in wrong.text
    saved = c.post("/segments/new", data=form, follow_redirects=False)
    assert saved.status_code == 303
    detail = c.get(saved.headers["location"])
    assert "保存しました" in detail.text and "&lt;b&gt;会社0&lt;/b&gt;" in detail.text
    listing = c.get("/segments")
    assert "製造業の担当者" in listing.text and "セグメント" in listing.text
    # Changing a row's field re-renders it with that field's operators.
    swapped = c.get("/segments/row", params={"token": t, f"rules-{t}-field": "tag"})
    assert "has any of" not in swapped.text and "いずれかを持つ" in swapped.text


def test_sales_gets_403_on_segment_pages(site: Site) -> None:
    c = site.client
    token = _login(c, "s@example.jp")
    assert c.get("/segments").status_code == 403
    assert c.get("/segments/new").status_code == 403
    r = c.post("/segments/count", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert r.status_code == 403
    assert "セグメント" not in c.get("/").text
