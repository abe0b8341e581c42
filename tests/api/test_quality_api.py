"""The data-quality report over HTTP: the JSON API and the データ品質 pages, and who may see them.

Marketing and admin may; sales may not (403): cleaning the list is marketing's job, and the
lists cross every owner's contacts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import Company, Contact, Deal, Order
from mezame.quality.report import QualityCheck

PASSWORD = "correct-horse-battery"
EVIL = "<script>alert(1)</script>"
AS_OF = "2026-11-23"


@dataclass
class Site:
    client: TestClient
    tokens: dict[str, str]
    company_id: int
    contact_ids: list[int]


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with session_scope(sqlite_engine) as s:
        tokens = {}
        for role in ("admin", "marketing", "sales"):
            user = create_user(
                s, email=f"{role}@example.jp", name=f"{role} 太郎", role=role, password=PASSWORD
            )
            tokens[role] = create_api_token(s, user_id=user.id, name="test")
        company = Company(
            import_key="C1",
            external_id="C1",
            name=f"{EVIL}株式会社",
            status="customer",
            status_updated_at=date(2026, 10, 1),
        )
        s.add(company)
        s.flush()
        s.add(Order(import_key="O1", company_id=company.id, ordered_on=date(2025, 1, 1), amount=1))
        s.add(Deal(import_key="D1", company_id=company.id, name="商談", outcome="lost"))
        contacts = [
            Contact(
                import_key=f"P{i}",
                external_id=f"P{i}",
                company_id=company.id,
                name=f"担当 {i}",
                email=f"info{i}@example.jp" if i < 3 else None,
                phone="03-0000-0000",
                hearing_notes="聞き取り済",
            )
            for i in range(5)
        ]
        s.add_all(contacts)
        s.flush()
        ids = (company.id, [c.id for c in contacts])
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(client, tokens, ids[0], ids[1])


def _auth(site: Site, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[role]}"}


def _csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def _login(client: TestClient, email: str) -> None:
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": "/",
            "csrf_token": _csrf(client, "/login"),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303


# --- API ----------------------------------------------------------------------------------


def test_marketing_gets_counts_fix_first_and_samples(site: Site) -> None:
    response = site.client.get(
        f"/api/v1/quality?as_of={AS_OF}&sample=2", headers=_auth(site, "marketing")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"report", "samples"}
    report = body["report"]
    assert report["as_of"] == AS_OF and report["stale_before"] == "2025-11-23"
    assert report["totals"] == {"company": 1, "contact": 5, "deal": 1}
    counts = {c["check"]: c["count"] for c in report["checks"]}
    assert counts["role_address"] == 3
    assert counts["contact_no_email"] == 2
    assert counts["lost_deal_no_reason"] == 1
    assert counts["status_stale"] == 0
    # Two contacts nobody can mail outweigh three mailed at a shared box.
    first, second = report["fix_first"][:2]
    assert (first["rank"], first["check"], second["check"]) == (
        1,
        "contact_no_email",
        "role_address",
    )
    assert first["reason"]["ja"] == (
        "2名（うち取引実績のある会社2名）。メールが一切届きません。メールは掘り起こしの主な手段です。"
    )
    assert first["reason"]["en"].startswith("2 contacts (2 at past customers). They cannot")
    assert set(body["samples"]) == {c.value for c in QualityCheck}
    roles = body["samples"]["role_address"]
    assert roles["total"] == 3 and len(roles["records"]) == 2
    assert roles["records"][0] == {
        "kind": "contact",
        "id": site.contact_ids[2],
        "external_id": "P2",
        "name": "担当 2",
        "company_id": site.company_id,
        "company_name": f"{EVIL}株式会社",
        "status": None,
        "status_updated_at": None,
        "corporate_number": None,
        "email": "info2@example.jp",
        "outcome": None,
    }


def test_a_check_list_pages(site: Site) -> None:
    page = site.client.get(
        "/api/v1/quality/role_address?page=2&per_page=2", headers=_auth(site, "admin")
    )
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 2, 2)
    assert [r["id"] for r in body["records"]] == [site.contact_ids[0]]
    assert body["title"]["en"] == "Role addresses (info@, sales@ …)"
    unknown = site.client.get("/api/v1/quality/no_such_check", headers=_auth(site, "admin"))
    assert unknown.status_code == 422
    too_many = site.client.get(
        "/api/v1/quality/role_address?per_page=201", headers=_auth(site, "admin")
    )
    assert too_many.status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/quality", "/api/v1/quality/role_address"])
def test_sales_and_strangers_may_not_read_the_report(site: Site, path: str) -> None:
    assert site.client.get(path).status_code == 401
    forbidden = site.client.get(path, headers=_auth(site, "sales"))
    assert forbidden.status_code == 403
    assert "marketing" in forbidden.json()["detail"]
    assert site.client.get(path, headers=_auth(site, "admin")).status_code == 200


# --- pages ----------------------------------------------------------------------------------


def test_the_page_shows_counts_and_what_to_fix_first(site: Site) -> None:
    _login(site.client, "marketing@example.jp")
    html = site.client.get("/quality").text
    assert "<h1>データ品質</h1>" in html
    assert 'href="/quality"' in html  # in the menu
    assert "まず直すもの" in html
    fix_first = html.split('id="fix-first"')[1].split("</section>")[0]
    assert fix_first.index('href="/quality/contact_no_email"') < fix_first.index(
        'href="/quality/role_address"'
    )
    assert "3名（うち取引実績のある会社3名）。特定の個人に届かず" in fix_first
    assert "ステータスが不明・未更新" in html  # the four faults, even when clean
    assert 'href="/quality/status_stale"' not in html  # nothing to drill into


def test_drill_down_links_to_the_records_and_escapes_names(site: Site) -> None:
    _login(site.client, "admin@example.jp")
    html = site.client.get("/quality/role_address").text
    for contact_id in site.contact_ids[:3]:
        assert f'href="/contacts/{contact_id}"' in html
    assert f'href="/companies/{site.company_id}"' in html
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;株式会社" in html
    assert "info2@example.jp" in html and 'href="/quality"' in html
    lost = site.client.get("/quality/lost_deal_no_reason").text
    assert "商談" in lost and "失注" in lost
    assert site.client.get("/quality/no_such_check").status_code == 404


def test_drill_down_pages_swap_only_the_results_for_htmx(site: Site) -> None:
    _login(site.client, "marketing@example.jp")
    partial = site.client.get("/quality/contact_no_email", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "担当 4" in partial.text
    assert "HX-Request" in partial.headers["Vary"]
    assert "<html" in site.client.get("/quality/contact_no_email").text


def test_sales_gets_403_and_no_menu_entry(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    assert site.client.get("/quality").status_code == 403
    assert site.client.get("/quality/role_address").status_code == 403
    assert 'href="/quality"' not in site.client.get("/").text


def test_the_page_in_english(site: Site) -> None:
    _login(site.client, "marketing@example.jp")
    token = _csrf(site.client, "/quality")
    site.client.post("/language", data={"locale": "en", "csrf_token": token})
    html = site.client.get("/quality").text
    assert "What to fix first" in html and "Data quality" in html
    assert "3 contacts (3 at past customers). They reach no one in particular" in html
    assert "まず直すもの" not in html
