"""Accounts over HTTP: login throttling, revocable sessions, the account page, user admin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mezame.accounts.service import create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import User
from tests.account_helpers import cheap_hashing

PASSWORD = "correct-horse-battery"
THROTTLED = "ログイン試行が多すぎます。しばらくしてからお試しください"


@dataclass
class Site:
    app: FastAPI
    client: TestClient
    engine: Engine
    ids: dict[str, int]

    def browser(self) -> TestClient:
        """Another browser (or a thief's) on the same site."""
        return TestClient(self.app)


@pytest.fixture
def site(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    cheap_hashing(monkeypatch)
    ids = {}
    with session_scope(sqlite_engine) as s:
        for role in ("admin", "marketing", "sales"):
            email = f"{role}@example.jp"
            ids[role] = create_user(s, email=email, name=role, role=role, password=PASSWORD).id
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="test-secret-key-0123456789"),
        engine=sqlite_engine,
    )
    with TestClient(app) as client:
        yield Site(app, client, sqlite_engine, ids)


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def _login(client: TestClient, email: str, password: str = PASSWORD) -> int:
    token = _token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def _logged_in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def _post(client: TestClient, path: str, data: dict[str, str], page: str = "/") -> int:
    token = _token(client.get(page).text)
    response = client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
    return response.status_code


def _steal_cookie(site: Site) -> TestClient:
    thief = site.browser()
    thief.cookies.set("mezame_session", site.client.cookies["mezame_session"])
    assert _logged_in(thief)
    return thief


# --- throttling -----------------------------------------------------------------------


def test_the_sixth_attempt_gets_429_even_with_the_right_password(site: Site) -> None:
    for _ in range(5):
        assert _login(site.client, "sales@example.jp", "wrong-password") == 400
    token = _token(site.client.get("/login").text)
    response = site.client.post(
        "/login",
        data={"email": "sales@example.jp", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 429
    assert THROTTLED in response.text and "約15分後" in response.text
    assert 14 * 60 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert not _logged_in(site.client)
    # The same for an address nobody has: a refusal tells nothing about accounts.
    for _ in range(5):
        _login(site.client, "nobody@example.jp", "wrong-password")
    unknown = site.client.post(
        "/login",
        data={"email": "nobody@example.jp", "password": PASSWORD, "csrf_token": token},
    )
    assert unknown.status_code == 429
    alert = re.compile(r'<div class="alert error"[^>]*>(.*?)</div>')
    assert alert.findall(unknown.text) == alert.findall(response.text)


def test_the_throttle_speaks_english_after_switching(site: Site) -> None:
    token = _token(site.client.get("/login").text)
    site.client.post("/language", data={"locale": "en", "next": "/login", "csrf_token": token})
    for _ in range(6):
        status = _login(site.client, "sales@example.jp", "wrong-password")
    assert status == 429
    page = site.client.post(
        "/login",
        data={"email": "sales@example.jp", "password": "x", "csrf_token": token},
    )
    assert "Too many login attempts." in page.text and "in about 15 minutes" in page.text


# --- revocable sessions ---------------------------------------------------------------


def test_a_stolen_cookie_stops_working_after_a_password_change(site: Site) -> None:
    _login(site.client, "marketing@example.jp")
    thief = _steal_cookie(site)
    assert thief.get("/api/v1/companies").status_code == 200
    form = {
        "current_password": PASSWORD,
        "new_password": "a-brand-new-password",
        "new_password_confirm": "a-brand-new-password",
    }
    assert _post(site.client, "/account/password", form, "/account") == 303
    assert "パスワードを変更しました" in site.client.get("/account").text
    assert _logged_in(site.client)  # the browser that changed it stays logged in
    assert not _logged_in(thief)
    assert thief.get("/api/v1/companies").status_code == 401
    assert _login(site.browser(), "marketing@example.jp", "a-brand-new-password") == 303


def test_log_out_everywhere_ends_every_session(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    other = _steal_cookie(site)
    page = site.client.get("/")
    assert 'href="/account"' in page.text  # the user menu links the account page
    account = site.client.get("/account").text
    assert "他の端末からもログアウト" in account
    assert _post(site.client, "/account/logout-everywhere", {}, "/account") == 303
    assert "すべての端末でログアウトしました" in site.client.get("/login").text
    assert not _logged_in(site.client) and not _logged_in(other)


def test_deactivation_logs_the_user_out_at_once(site: Site) -> None:
    sales = site.browser()
    _login(sales, "sales@example.jp")
    assert _logged_in(sales)
    _login(site.client, "admin@example.jp")
    path = f"/admin/users/{site.ids['sales']}/active"
    assert _post(site.client, path, {"active": "false"}, "/admin/users") == 303
    assert not _logged_in(sales)
    assert sales.get("/api/v1/companies").status_code == 401
    assert _login(sales, "sales@example.jp") == 400
    assert _post(site.client, path, {"active": "true"}, "/admin/users") == 303
    assert _login(sales, "sales@example.jp") == 303


def test_a_role_change_takes_effect(site: Site) -> None:
    marketer = site.browser()
    _login(marketer, "marketing@example.jp")
    assert marketer.get("/quality").status_code == 200
    _login(site.client, "admin@example.jp")
    path = f"/admin/users/{site.ids['marketing']}/role"
    assert _post(site.client, path, {"role": "sales"}, "/admin/users") == 303
    listing = site.client.get("/admin/users").text
    assert "ユーザー marketing@example.jp を変更しました。" in listing
    assert marketer.get("/quality", follow_redirects=False).status_code == 303  # logged out
    _login(marketer, "marketing@example.jp")
    assert marketer.get("/quality").status_code == 403  # and a salesperson now


def test_sales_cannot_open_or_use_user_administration(site: Site) -> None:
    _login(site.client, "sales@example.jp")
    assert site.client.get("/admin/users").status_code == 403
    me, admin = site.ids["sales"], site.ids["admin"]
    assert _post(site.client, f"/admin/users/{me}/role", {"role": "admin"}) == 403
    assert _post(site.client, f"/admin/users/{admin}/active", {"active": "false"}) == 403
    with session_scope(site.engine) as s:
        assert s.get(User, me).role == "sales"  # type: ignore[union-attr]
        assert s.get(User, admin).is_active  # type: ignore[union-attr]


def test_the_last_admin_cannot_lock_everyone_out(site: Site) -> None:
    _login(site.client, "admin@example.jp")
    path = f"/admin/users/{site.ids['admin']}/active"
    token = _token(site.client.get("/admin/users").text)
    response = site.client.post(path, data={"active": "false", "csrf_token": token})
    assert response.status_code == 400
    assert "admin@example.jp は有効な最後の管理者です" in response.text
    assert _logged_in(site.client)
    missing = site.client.post("/admin/users/999/role", data={"role": "sales", "csrf_token": token})
    assert missing.status_code == 404


# --- the password form ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {"current_password": "wrong-password", "new_password": "n" * 12},
            "current_password",
            "現在のパスワードが正しくありません。",
        ),
        (
            {"current_password": "", "new_password": "n" * 12},
            "current_password",
            "現在のパスワードを入力してください。",
        ),
        ({"current_password": PASSWORD, "new_password": "short"}, "new_password", "10文字以上"),
        (
            {
                "current_password": PASSWORD,
                "new_password": "n" * 12,
                "new_password_confirm": "m" * 12,
            },
            "new_password_confirm",
            "新しいパスワードが一致しません。",
        ),
    ],
)
def test_the_password_form_says_which_field_is_wrong_and_keeps_nothing_secret(
    site: Site, form: dict[str, str], field: str, message: str
) -> None:
    _login(site.client, "marketing@example.jp")
    data = {"new_password_confirm": form["new_password"], **form}
    token = _token(site.client.get("/account").text)
    response = site.client.post("/account/password", data={**data, "csrf_token": token})
    assert response.status_code == 400
    errors = re.findall(r'<span class="field-error" id="error-(\w+)">(.*?)</span>', response.text)
    assert len(errors) == 1 and errors[0][0] == field and message in errors[0][1]
    for secret in {v for v in data.values() if v}:
        assert f'value="{secret}"' not in response.text
    assert _login(site.browser(), "marketing@example.jp") == 303  # the password is unchanged


def test_the_password_form_needs_the_csrf_token(site: Site) -> None:
    _login(site.client, "marketing@example.jp")
    data = {
        "current_password": PASSWORD,
        "new_password": "n" * 12,
        "new_password_confirm": "n" * 12,
    }
    assert site.client.post("/account/password", data=data).status_code == 403
    assert site.client.post("/account/logout-everywhere").status_code == 403
    assert _logged_in(site.client)
