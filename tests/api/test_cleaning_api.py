"""名寄せ over HTTP: the REST API (marketing only) and the review-queue page with htmx and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import Company, DuplicateDecision

PASSWORD = "correct-horse-battery"


@dataclass
class Site:
    client: TestClient
    engine: Engine
    marketing: dict[str, str]
    sales: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with session_scope(sqlite_engine) as s:
        marketer = create_user(
            s, email="mk@example.jp", name="マーケ 花子", role="marketing", password=PASSWORD
        )
        seller = create_user(
            s, email="sales@example.jp", name="営業 太郎", role="sales", password=PASSWORD
        )
        tokens = (
            create_api_token(s, user_id=marketer.id, name="t"),
            create_api_token(s, user_id=seller.id, name="t"),
        )
        rows = [
            ("C001", "株式会社山田製作所", {"phone": "03-3211-1111"}),
            ("C002", "山田製作所株式会社", {"phone": "(03)3211-1111"}),  # certain: auto
            ("C003", "大和物流株式会社", {"phone": "042-721-2323"}),
            ("C004", "大和物流(株)", {}),  # the name only: review
            ("C005", "株式会社アルファ", {"corporate_number": "5835678256246"}),
            ("C006", "株式会社アルファ", {"corporate_number": "1000013050246"}),
            ("C007", "<script>alert(1)</script>工業株式会社", {"phone": "06-6201-3333"}),
            ("C008", "<script>alert(1)</script>工業(株)", {}),  # review: shown, escaped
        ]
        companies = [Company(import_key=c, external_id=c, name=n, **f) for c, n, f in rows]
        s.add_all(companies)
        s.flush()
        ids = {c.external_id or "": c.id for c in companies}
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(
            client,
            sqlite_engine,
            {"Authorization": f"Bearer {tokens[0]}"},
            {"Authorization": f"Bearer {tokens[1]}"},
            ids,
        )


# --- REST API -------------------------------------------------------------------------


def test_only_marketing_may_see_or_merge_duplicates(site: Site) -> None:
    assert site.client.get("/api/v1/duplicates/companies").status_code == 401
    assert site.client.get("/api/v1/duplicates/companies", headers=site.sales).status_code == 403
    merge = {"kind": "companies", "ids": [site.ids["C001"], site.ids["C002"]]}
    assert site.client.post("/api/v1/merges", json=merge, headers=site.sales).status_code == 403
    assert site.client.post("/api/v1/merges/1/undo", headers=site.sales).status_code == 403


def test_candidates_carry_ids_external_ids_score_and_evidence(site: Site) -> None:
    response = site.client.get("/api/v1/duplicates/companies", headers=site.marketing)
    assert response.status_code == 200
    body = response.json()
    clusters = {tuple(c["external_ids"]): c for c in body["clusters"]}
    assert set(clusters) == {("C001", "C002"), ("C003", "C004"), ("C007", "C008")}
    certain = clusters[("C001", "C002")]
    assert certain["ids"] == [site.ids["C001"], site.ids["C002"]]
    assert certain["auto"] and certain["score"] >= 0.9
    assert "電話番号が一致 (same phone number)" in certain["evidence"]
    assert not clusters[("C003", "C004")]["auto"]
    assert body["stats"]["records"] == 8 and body["stats"]["pairs_after_blocking"] < 28


def test_accept_merges_and_undo_restores(site: Site) -> None:
    ids = [site.ids["C003"], site.ids["C004"]]
    decided = site.client.post(
        "/api/v1/duplicates/companies/decisions",
        json={"ids": ids, "decision": "accept"},
        headers=site.marketing,
    )
    assert decided.status_code == 200, decided.text
    merge = decided.json()["merge"]
    assert merge["method"] == "review" and merge["survivor_external_id"] == "C003"
    assert merge["merged_external_ids"] == ["C004"]
    listing = site.client.get("/api/v1/companies", headers=site.marketing).json()
    assert "C004" not in {c["external_id"] for c in listing["items"]}
    merged_away = site.client.get(f"/api/v1/companies/{ids[1]}", headers=site.marketing).json()
    assert merged_away["merged_into_id"] == ids[0]

    undone = site.client.post(f"/api/v1/merges/{merge['merge_id']}/undo", headers=site.marketing)
    assert undone.status_code == 200 and undone.json()["undone_at"] is not None
    again = site.client.post(f"/api/v1/merges/{merge['merge_id']}/undo", headers=site.marketing)
    assert again.status_code == 422 and "already undone" in again.json()["detail"]
    listing = site.client.get("/api/v1/companies", headers=site.marketing).json()
    assert "C004" in {c["external_id"] for c in listing["items"]}
    merges = site.client.get("/api/v1/merges?kind=companies", headers=site.marketing).json()
    assert [m["merge_id"] for m in merges] == [merge["merge_id"]]


def test_not_duplicate_is_remembered(site: Site) -> None:
    ids = [site.ids["C003"], site.ids["C004"]]
    decided = site.client.post(
        "/api/v1/duplicates/companies/decisions",
        json={"ids": ids, "decision": "not_duplicate"},
        headers=site.marketing,
    )
    assert decided.status_code == 200 and decided.json()["merge"] is None
    clusters = site.client.get("/api/v1/duplicates/companies", headers=site.marketing).json()
    assert ["C003", "C004"] not in [c["external_ids"] for c in clusters["clusters"]]
    with session_scope(site.engine) as s:
        assert s.scalar(select(DuplicateDecision.decision)) == "not_duplicate"


def test_auto_merge_and_bad_requests(site: Site) -> None:
    auto = site.client.post(
        "/api/v1/merges/auto", json={"kind": "companies"}, headers=site.marketing
    )
    assert auto.status_code == 200
    assert [m["merged_external_ids"] for m in auto.json()] == [["C002"]]
    conflict = site.client.post(
        "/api/v1/merges",
        json={"kind": "companies", "ids": [site.ids["C005"], site.ids["C006"]]},
        headers=site.marketing,
    )
    assert conflict.status_code == 422 and "法人番号が異なる" in conflict.json()["detail"]
    one = site.client.post(
        "/api/v1/merges", json={"kind": "companies", "ids": [1]}, headers=site.marketing
    )
    assert one.status_code == 422
    missing = site.client.post(
        "/api/v1/merges", json={"kind": "companies", "ids": [1, 999]}, headers=site.marketing
    )
    assert missing.status_code == 404
    assert site.client.get("/api/v1/duplicates/deals", headers=site.marketing).status_code == 422


# --- the review page ------------------------------------------------------------------------


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _login(client: TestClient, email: str) -> None:
    token = _token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "next": "/", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_the_review_page_is_for_marketing(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    assert site.client.get("/duplicates").status_code == 403
    assert 'href="/duplicates"' not in site.client.get("/").text


def test_the_review_page_shows_the_evidence_and_the_buttons(site: Site) -> None:
    _login(site.client, "mk@example.jp")
    page = site.client.get("/duplicates")
    assert page.status_code == 200
    assert 'href="/duplicates"' in page.text  # in the menu, as 名寄せ候補
    assert "名寄せ候補" in page.text
    assert "法人格を除いた社名が一致 (same name apart from the legal form)" in page.text
    assert "大和物流(株)" in page.text and "C004" in page.text
    for button in ("統合する", "却下", "別のレコード"):
        assert button in page.text
    assert "1 件は自動統合のしきい値以上です" in page.text
    assert "<script>alert(1)</script>" not in page.text  # names are escaped
    contacts = site.client.get("/duplicates?kind=contacts")
    assert contacts.status_code == 200 and "確認待ちの名寄せ候補はありません" in contacts.text


def test_htmx_decisions_need_csrf_and_swap_the_card(site: Site) -> None:
    _login(site.client, "mk@example.jp")
    token = _token(site.client.get("/duplicates").text)
    form = {"ids": [site.ids["C003"], site.ids["C004"]], "decision": "accept"}
    htmx = {"HX-Request": "true"}
    assert (
        site.client.post("/duplicates/companies/decide", data=form, headers=htmx).status_code == 403
    )
    merged = site.client.post(
        "/duplicates/companies/decide", data=form, headers={**htmx, "X-CSRF-Token": token}
    )
    assert merged.status_code == 200
    assert "統合しました" in merged.text and "<html" not in merged.text
    merge_id = int(re.search(r"/merges/(\d+)/undo", merged.text).group(1))  # type: ignore[union-attr]
    stale = site.client.post(
        "/duplicates/companies/decide", data=form, headers={**htmx, "X-CSRF-Token": token}
    )
    assert "何も変更していません" in stale.text  # merged meanwhile: said in place
    undone = site.client.post(f"/merges/{merge_id}/undo", headers={**htmx, "X-CSRF-Token": token})
    assert undone.status_code == 200 and "取り消し済み" in undone.text


def test_plain_form_posts_come_back_to_the_queue(site: Site) -> None:
    _login(site.client, "mk@example.jp")
    token = _token(site.client.get("/duplicates").text)
    response = site.client.post(
        "/duplicates/companies/decide",
        data={
            "ids": [site.ids["C003"], site.ids["C004"]],
            "decision": "reject",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert (
        response.status_code == 303 and response.headers["location"] == "/duplicates?kind=companies"
    )
    page = site.client.get("/duplicates").text
    assert "判断を保存しました" in page and "C004" not in page
    auto = site.client.post(
        "/duplicates/companies/auto", data={"csrf_token": token}, follow_redirects=True
    )
    assert "1 件を自動で統合しました" in auto.text
    assert "統合 #1 を取り消す" in auto.text
