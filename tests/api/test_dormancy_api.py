"""The reactivation list over HTTP: API and pages, roles, CSRF, escaping, the Excel CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.dormancy.changes import Change, ChangeKind, ChangesPolicy
from mezame.dormancy.service import recompute
from mezame.models import Company, Contact, Deal, Order
from mezame.policy.service import save_policy

PASSWORD = "correct-horse-battery"
EVIL = "<script>alert(1)</script>"


@dataclass
class Site:
    client: TestClient
    sales_token: str
    marketing_token: str
    sales_id: int


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with session_scope(sqlite_engine) as s:
        sales = create_user(
            s, email="sales@example.jp", name="営業 太郎", role="sales", password=PASSWORD
        )
        marketing = create_user(
            s, email="mk@example.jp", name="マーケ 花子", role="marketing", password=PASSWORD
        )
        tokens = (
            create_api_token(s, user_id=sales.id, name="crm"),
            create_api_token(s, user_id=marketing.id, name="ma"),
        )
        for n in range(30):
            # Thirty buyers with a monthly rhythm: enough history to suggest a threshold.
            c = Company(import_key=f"B{n}", name=f"定期購入{n}株式会社", owner_id=sales.id)
            s.add(c)
            s.flush()
            for k in range(6):
                s.add(
                    Order(
                        import_key=f"B{n}-{k}",
                        company_id=c.id,
                        ordered_on=date(2024, 1 + k, 10) if n % 3 else date(2025, 5 + k, 10),
                        amount=50_000,
                    )
                )
        evil = Company(
            import_key="X", name=f"{EVIL}株式会社", owner_id=sales.id, phone="03-0000-0000"
        )
        s.add(evil)
        s.flush()
        s.add_all(
            [
                Contact(
                    import_key="XP", company_id=evil.id, name="山田 花子", email="h@x.example.jp"
                ),
                Deal(
                    import_key="XD",
                    company_id=evil.id,
                    name="導入",
                    outcome="lost",
                    lost_reason="価格",
                    amount=1_000_000,
                    opened_on=date(2026, 5, 1),
                    closed_on=date(2026, 7, 1),
                ),
            ]
        )
        save_policy(
            s,
            ChangesPolicy(
                changes=(
                    Change(on=date(2026, 9, 1), kind=ChangeKind.PRICE_CUT, description="10%値下げ"),
                )
            ),
        )
        recompute(s, as_of=date(2026, 11, 23))
        sales_id = sales.id
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(client, tokens[0], tokens[1], sales_id)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _login(client: TestClient, email: str) -> Response:
    token = _token(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "next": "/", "csrf_token": token},
        follow_redirects=False,
    )


def test_the_list_through_the_api_with_reasons_in_both_languages(site: Site) -> None:
    response = site.client.get("/api/v1/dormant?per_page=5", headers=_bearer(site.sales_token))
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == "2026-11-23" and body["total"] == 31
    first = body["items"][0]
    assert first["rank"] == 1 and first["kind"] == "lost_deal" and first["reason"] == "price"
    assert first["company"] == f"{EVIL}株式会社"  # JSON carries it as data
    assert first["factors"][0]["factor"] == "change"
    assert "値下げ" in first["factors"][0]["ja"] and "price cut" in first["factors"][0]["en"]
    assert first["channel"] == "phone" or first["band"] != "high"
    filtered = site.client.get(
        "/api/v1/dormant?kind=former_customer&reason=price", headers=_bearer(site.sales_token)
    ).json()
    assert filtered["total"] == 0
    bad = site.client.get("/api/v1/dormant?kind=asleep", headers=_bearer(site.sales_token))
    assert bad.status_code == 422
    run = site.client.get("/api/v1/dormancy/run", headers=_bearer(site.sales_token)).json()
    assert run["counts"]["dormant.former_customer"] == 30


def test_settings_are_marketing_s_to_change(site: Site) -> None:
    sales, marketing = _bearer(site.sales_token), _bearer(site.marketing_token)
    body = {"after_months": 6, "exclude_after_months": 48}
    assert (
        site.client.put(
            "/api/v1/dormancy/policy/former_customer", json=body, headers=sales
        ).status_code
        == 403
    )
    saved = site.client.put("/api/v1/dormancy/policy/former_customer", json=body, headers=marketing)
    assert saved.status_code == 200 and saved.json()["former_customer"]["after_months"] == 6
    bad = site.client.put(
        "/api/v1/dormancy/policy/contact_only", json={"after_months": 30}, headers=marketing
    )
    assert bad.status_code == 422 and "upper bound" in bad.json()["detail"]
    suggestion = site.client.get("/api/v1/dormancy/suggestions", headers=sales).json()
    months = suggestion["former_customer"]["suggested_months"]
    assert months is not None
    used = site.client.post(
        "/api/v1/dormancy/policy/former_customer/use-suggestion", headers=marketing
    )
    assert used.json()["former_customer"]["after_months"] == months
    change = {"on": "2026-10-01", "kind": "new_feature", "description": "在庫連携API"}
    assert (
        site.client.post("/api/v1/dormancy/changes", json=change, headers=sales).status_code == 403
    )
    added = site.client.post("/api/v1/dormancy/changes", json=change, headers=marketing)
    assert added.status_code == 201 and len(added.json()["changes"]) == 2
    assert site.client.delete("/api/v1/dormancy/changes/7", headers=marketing).status_code == 404
    recomputed = site.client.post("/api/v1/dormancy/recompute?as_of=2026-11-23", headers=marketing)
    assert recomputed.status_code == 200 and recomputed.json()["as_of"] == "2026-11-23"
    assert site.client.post("/api/v1/dormancy/recompute", headers=sales).status_code == 403


def test_the_page_filters_explains_and_escapes(site: Site) -> None:
    assert _login(site.client, "sales@example.jp").status_code == 303
    page = site.client.get("/reactivation")
    assert page.status_code == 200
    assert "掘り起こしリスト" in page.text and EVIL not in page.text
    assert "&lt;script&gt;" in page.text
    assert "値下げ・キャンペーン" in page.text  # the explanation, in Japanese
    assert "今すぐ再計算" not in page.text  # sales sees no recompute button
    partial = site.client.get("/reactivation?kind=lost_deal", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and partial.text.count("<tr>") == 2  # head + one row
    owner = site.client.get(f"/reactivation?owner={site.sales_id}&band=gone")
    assert "この条件に当てはまる休眠顧客はいません。" in owner.text
    assert site.client.get("/reactivation?kind=nope").status_code == 404
    english = site.client.post(
        "/language", data={"locale": "en", "next": "/reactivation", "csrf_token": _token(page.text)}
    )
    assert "Reactivation list" in english.text and "price cut" in english.text


def test_csv_download_for_excel(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    response = site.client.get("/reactivation.csv?encoding=cp932&kind=lost_deal")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.content.decode("cp932"))))
    assert rows[0][0] == "順位" and len(rows) == 2
    assert rows[1][5] == f"{EVIL}株式会社"  # not a formula: kept as it is
    utf8 = site.client.get("/reactivation.csv")
    assert utf8.content.startswith(b"\xef\xbb\xbf")


def test_threshold_page_use_this_and_changes_need_marketing_and_csrf(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    page = site.client.get("/reactivation/thresholds")
    assert page.status_code == 200 and "<svg" in page.text and "この値を使う" not in page.text
    token = _token(page.text)
    assert (
        site.client.post(
            "/reactivation/thresholds/former_customer/use", data={"csrf_token": token}
        ).status_code
        == 403
    )
    site.client.post("/logout", data={"csrf_token": token})
    _login(site.client, "mk@example.jp")
    page = site.client.get("/reactivation/thresholds")
    assert "この値を使う" in page.text
    no_csrf = site.client.post("/reactivation/thresholds/former_customer/use")
    assert no_csrf.status_code == 403
    used = site.client.post(
        "/reactivation/thresholds/former_customer/use",
        data={"csrf_token": _token(page.text)},
        follow_redirects=True,
    )
    assert "保存しました。" in used.text
    bad = site.client.post(
        "/reactivation/thresholds/contact_only",
        data={"csrf_token": _token(page.text), "after_months": "30", "exclude_after_months": "24"},
    )
    assert bad.status_code == 400
    changes = site.client.get("/reactivation/changes")
    added = site.client.post(
        "/reactivation/changes",
        data={
            "csrf_token": _token(changes.text),
            "on": "2026-10-01",
            "kind": "case_study",
            "description": f"{EVIL}事例",
            "product_line": "",
        },
        follow_redirects=True,
    )
    assert "&lt;/script&gt;事例" in added.text and EVIL not in added.text
    deleted = site.client.post(
        "/reactivation/changes/0/delete",
        data={"csrf_token": _token(added.text)},
        follow_redirects=True,
    )
    assert deleted.status_code == 200 and "&lt;/script&gt;事例" in deleted.text
    invalid = site.client.post(
        "/reactivation/changes",
        data={
            "csrf_token": _token(added.text),
            "on": "2026-13-01",
            "kind": "price_cut",
            "description": "x",
        },
    )
    assert invalid.status_code == 400
