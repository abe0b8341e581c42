"""The web UI over HTTP: login, roles, CSRF, escaping, htmx partials, i18n and security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mezame.accounts.service import create_api_token, create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import Company, Contact, EngagementEvent, Order, User
from mezame.web.auth import safe_next
from mezame.web.csrf import CsrfMiddleware

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mezame"
PASSWORD = "correct-horse-battery"
EVIL = "<script>alert(1)</script>"


@dataclass
class Site:
    client: TestClient
    engine: Engine
    company_id: int
    contact_id: int
    sales_token: str


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with session_scope(sqlite_engine) as s:
        create_user(s, email="admin@example.jp", name="管理 花子", role="admin", password=PASSWORD)
        sales = create_user(
            s, email="sales@example.jp", name="営業 太郎", role="sales", password=PASSWORD
        )
        token = create_api_token(s, user_id=sales.id, name="crm")
        evil = Company(import_key="X1", name=f"{EVIL}株式会社", status="customer")
        s.add(evil)
        s.flush()
        contact = Contact(
            import_key="P1", company_id=evil.id, name="山田 花子", email="hanako@example.jp"
        )
        s.add(contact)
        s.flush()
        s.add(
            EngagementEvent(
                dedupe_key=b"\x01" * 16,
                type="webinar_attended",
                occurred_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),  # 10:00 in Tokyo
                contact_id=contact.id,
                webinar="インボイス制度対応セミナー",
                watch_seconds=2520,
            )
        )
        s.add(
            Order(
                import_key="O1",
                company_id=evil.id,
                ordered_on=date(2025, 4, 1),
                amount=1_234_000,
                product="クラウド会計",
            )
        )
        ids = (evil.id, contact.id)
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(client, sqlite_engine, ids[0], ids[1], token)


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _login(client: TestClient, email: str, password: str = PASSWORD, next_: str = "/") -> Response:
    token = _token(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "next": next_, "csrf_token": token},
        follow_redirects=False,
    )


def _page_token(client: TestClient, path: str = "/") -> str:
    return _token(client.get(path).text)


# --- login -----------------------------------------------------------------------------


def test_pages_send_anonymous_visitors_to_login(site: Site) -> None:
    response = site.client.get("/contacts?q=山田", follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert unquote(parse_qs(location.query)["next"][0]) == "/contacts?q=山田"
    htmx = site.client.get("/companies?q=a", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/login?next=")
    assert site.client.get("/api/v1/companies").status_code == 401


def test_login_then_back_to_the_page_asked_for(site: Site) -> None:
    response = _login(site.client, "sales@example.jp", next_="/contacts?q=山田")
    assert response.status_code == 303
    assert unquote(response.headers["location"]) == "/contacts?q=山田"
    page = site.client.get("/contacts?q=山田")
    assert page.status_code == 200 and "山田 花子" in page.text
    assert site.client.get("/api/v1/companies").status_code == 200  # the cookie works for the API


def test_wrong_password_and_unknown_email_fail_alike(site: Site) -> None:
    wrong = _login(site.client, "sales@example.jp", password="wrong-password-1")
    unknown = _login(site.client, "nobody@example.jp")
    assert wrong.status_code == unknown.status_code == 400
    message = "メールアドレスまたはパスワードが正しくありません。"
    assert message in wrong.text and message in unknown.text
    alerts = [
        re.findall(r'<div class="alert error"[^>]*>(.*?)</div>', r.text) for r in (wrong, unknown)
    ]
    assert alerts[0] == alerts[1] == [message]
    assert site.client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example/x", "/\\evil.example", "https:/evil.example", ""],
)
def test_login_never_redirects_off_site(site: Site, target: str) -> None:
    response = _login(site.client, "sales@example.jp", next_=target)
    assert response.headers["location"] == "/"


def test_safe_next_keeps_local_paths_only() -> None:
    assert safe_next("/contacts/3?tab=timeline") == "/contacts/3?tab=timeline"
    for bad in ["http://evil.example", "//evil.example", "/\\evil", "evil", "/a\r\nSet-Cookie:x"]:
        assert safe_next(bad) == "/", bad


def test_login_rotates_the_session_and_logout_ends_it(site: Site) -> None:
    before = _token(site.client.get("/login").text)
    _login(site.client, "sales@example.jp")
    after = _page_token(site.client)
    assert after != before
    response = site.client.post("/logout", data={"csrf_token": after}, follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert site.client.get("/", follow_redirects=False).status_code == 303


# --- roles -----------------------------------------------------------------------------


def test_sales_may_not_see_or_post_user_administration(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    page = site.client.get("/admin/users")
    assert page.status_code == 403
    assert "アクセス権限がありません" in page.text
    assert 'href="/admin/users"' not in site.client.get("/").text  # not in the menu either
    form = {
        "csrf_token": _page_token(site.client),
        "email": "intruder@example.jp",
        "name": "x",
        "role": "admin",
        "password": "long-enough-password",
    }
    assert site.client.post("/admin/users", data=form).status_code == 403
    with session_scope(site.engine) as s:
        assert s.scalar(select(User).where(User.email == "intruder@example.jp")) is None


def test_admin_adds_a_user(site: Site) -> None:
    _login(site.client, "admin@example.jp")
    page = site.client.get("/admin/users")
    assert page.status_code == 200 and "sales@example.jp" in page.text
    form = {
        "csrf_token": _token(page.text),
        "email": "New.Marketer@example.jp",
        "name": "新人 マーケ",
        "role": "marketing",
        "password": "long-enough-password",
    }
    response = site.client.post("/admin/users", data=form, follow_redirects=False)
    assert response.status_code == 303
    listing = site.client.get("/admin/users").text
    assert "new.marketer@example.jp" in listing and "新人 マーケ" in listing
    too_short = site.client.post(
        "/admin/users", data={**form, "email": "b@example.jp", "password": "short"}
    )
    assert too_short.status_code == 400 and "ユーザーを追加できませんでした" in too_short.text


# --- CSRF ------------------------------------------------------------------------------


def test_cookie_posts_need_the_csrf_token(site: Site) -> None:
    _login(site.client, "admin@example.jp")
    form = {"email": "c@example.jp", "name": "c", "role": "sales", "password": "long-enough-pw"}
    assert site.client.post("/admin/users", data=form).status_code == 403
    bad = site.client.post("/admin/users", data={**form, "csrf_token": "forged"})
    assert bad.status_code == 403
    header = site.client.post(
        "/admin/users",
        data=form,
        headers={"X-CSRF-Token": _page_token(site.client)},
        follow_redirects=False,
    )
    assert header.status_code == 303
    # The API checks cookie-authenticated writes too (here: a path no route owns, after the check).
    api = site.client.post("/api/v1/contacts", json={})
    assert api.status_code == 403 and api.json() == {"detail": "CSRF token missing or invalid"}
    passed = site.client.post(
        "/api/v1/contacts", json={}, headers={"X-CSRF-Token": _page_token(site.client)}
    )
    assert passed.status_code == 405


def test_bearer_token_posts_need_no_csrf_token(site: Site) -> None:
    response = site.client.post(
        "/api/v1/contacts", json={}, headers={"Authorization": f"Bearer {site.sales_token}"}
    )
    assert response.status_code == 405  # reached the router: not stopped by CSRF


def test_the_login_form_is_protected_too(site: Site) -> None:
    site.client.get("/login")
    data = {"email": "sales@example.jp", "password": PASSWORD}
    assert site.client.post("/login", data=data, follow_redirects=False).status_code == 403
    assert site.client.get("/", follow_redirects=False).status_code == 303


def test_csrf_middleware_streams_multipart_bodies_untouched() -> None:
    async def upload(request: Request) -> Response:
        form = await request.form()
        file = form["file"]
        return JSONResponse({"size": len(await file.read()), "note": form["note"]})  # type: ignore[union-attr]

    async def login(request: Request) -> Response:
        request.session["user_id"] = 1
        request.session["csrf_token"] = "t0ken"
        return PlainTextResponse("ok")

    def reject(_request: Request, reason: str) -> Response:
        return PlainTextResponse(reason, status_code=403)

    app = Starlette(
        routes=[Route("/upload", upload, methods=["POST"]), Route("/login", login)],
        middleware=[
            Middleware(SessionMiddleware, secret_key="k"),
            Middleware(CsrfMiddleware, reject=reject),
        ],
    )
    client = TestClient(app)
    client.get("/login")
    payload = b"\x00\xff" * 300_000
    files = {"file": ("events.csv", payload, "text/csv")}
    assert client.post("/upload", files=files, data={"note": "x"}).status_code == 403
    response = client.post(
        "/upload", files=files, data={"note": "日本語"}, headers={"X-CSRF-Token": "t0ken"}
    )
    assert response.json() == {"size": len(payload), "note": "日本語"}


# --- pages -----------------------------------------------------------------------------


def test_untrusted_names_are_escaped(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    for path in ["/companies", f"/companies/{site.company_id}", f"/contacts/{site.contact_id}"]:
        html = site.client.get(path).text
        assert EVIL not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;株式会社" in html, path


def test_search_swaps_only_the_results_for_htmx(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    full = site.client.get("/contacts?q=山田")
    assert "<html" in full.text and 'id="results"' in full.text and "山田 花子" in full.text
    assert 'hx-trigger="input changed delay:300ms' in full.text
    partial = site.client.get("/contacts?q=山田", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "山田 花子" in partial.text
    assert "HX-Request" in partial.headers["Vary"]
    none = site.client.get("/contacts?q=該当なし", headers={"HX-Request": "true"})
    assert "山田 花子" not in none.text and "該当なし" in none.text
    restore = site.client.get(
        "/contacts?q=山田", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


def test_contact_page_shows_the_timeline_in_japanese(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    html = site.client.get(f"/contacts/{site.contact_id}").text
    assert "ウェビナー参加" in html and "インボイス制度対応セミナー" in html
    assert "2026年11月23日 10:00" in html
    assert "42分視聴" in html
    assert "¥1,234,000" in html and "2025年4月1日" in html
    assert site.client.get("/contacts/999999").status_code == 404


def test_security_headers(site: Site) -> None:
    response = site.client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "https://" not in response.text.split("<body")[0]  # no CDN: htmx is served locally
    htmx = site.client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]


# --- i18n ------------------------------------------------------------------------------


def test_login_page_is_japanese_by_default_and_english_after_switching(site: Site) -> None:
    page = site.client.get("/login").text
    assert '<html lang="ja">' in page and "ログイン" in page and "パスワード" in page
    switch = site.client.post(
        "/language", data={"locale": "en", "next": "/login", "csrf_token": _token(page)}
    )
    assert '<html lang="en">' in switch.text
    assert "Log in" in switch.text and "Password" in switch.text and "パスワード" not in switch.text


def test_english_dates_after_switching(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    token = _page_token(site.client)
    site.client.post("/language", data={"locale": "en", "csrf_token": token})
    html = site.client.get(f"/contacts/{site.contact_id}").text
    assert "Webinar attended" in html and "Nov 23, 2026" in html and "Apr 1, 2025" in html


def test_every_message_has_a_japanese_translation() -> None:
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2.ext:babel_extract")]
    msgids = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(PACKAGE), method_map=method_map
        )
    }
    assert len(msgids) > 50  # the extractor found the templates
    with (PACKAGE / "locale" / "ja" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="ja")
    missing = sorted(m for m in msgids if m not in catalog or not catalog[m].string)
    assert missing == [], "add these to locale/ja/LC_MESSAGES/messages.po"
