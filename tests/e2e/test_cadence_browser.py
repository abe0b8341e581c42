"""Real browser: marketing opens the contact policy from the menu, a half-filled pair of
quiet hours is explained next to the field, and a corrected edit is saved and shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.cadence import CadencePolicy
from mezame.db import session_scope
from mezame.policy.service import load_policy
from tests.e2e.browser import CHROMIUM_ARGS, chromium_executable, served

pytestmark = pytest.mark.browser

EMAIL = "marketing@example.jp"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def served_engine(sqlite_engine: Engine) -> Iterator[tuple[str, Engine]]:
    with session_scope(sqlite_engine) as s:
        create_user(s, email=EMAIL, name="マーケ 花子", role="marketing", password=PASSWORD)
    with served(sqlite_engine) as url:
        yield url, sqlite_engine


def test_edit_the_contact_policy(served_engine: tuple[str, Engine]) -> None:
    base_url, engine = served_engine
    chromium = chromium_executable()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(f"{base_url}/")
            page.get_by_label("メールアドレス").fill(EMAIL)
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            menu = page.get_by_role("navigation", name="メインメニュー")
            policy_link = menu.get_by_role("link", name="配信ルール")
            expect(policy_link).to_be_hidden()  # in the メール配信 menu, closed
            menu.locator("summary", has_text="メール配信").click()
            expect(policy_link).to_be_visible()
            page.keyboard.press("Escape")
            expect(policy_link).to_be_hidden()
            menu.locator("summary", has_text="メール配信").click()
            policy_link.click()
            expect(page.locator("h1")).to_have_text("配信ルール")
            expect(page.locator("#sum-monthly")).to_have_text("月1回まで（前回から25日以上空ける）")

            # Only one end of the quiet hours: nothing saved, the pair explained, input kept.
            page.get_by_label("上限：1人あたりの通数").fill("3")
            page.get_by_label("送らない時間帯（終了）").fill("")
            page.get_by_role("button", name="保存").click()
            expect(page.locator("#form-errors")).to_contain_text("送らない時間帯")
            expect(page.locator("#error-quiet_hours")).to_contain_text("両方とも空欄")
            expect(page.get_by_label("上限：1人あたりの通数")).to_have_value("3")
            # The refused form comes back as 400, which chromium logs; nothing else may.
            assert [m for m in problems if "status of 400" not in m] == [], problems
            problems.clear()

            page.get_by_label("送らない時間帯（開始）").fill("21:00")
            page.get_by_label("送らない時間帯（終了）").fill("07:30")
            page.get_by_label("土日は送らない").uncheck()
            page.get_by_role("button", name="保存").click()
            expect(page.locator(".alert.ok")).to_contain_text("保存しました")
            expect(page.locator("#sum-cap")).to_contain_text("1人に3通まで")
            expect(page.locator("#sum-quiet")).to_have_text(
                "21:00〜翌07:30は送りません（日本時間）"
            )
            expect(page.locator("#sum-weekends")).to_have_text("土日も送ります")
            expect(page.locator("#last-change")).to_contain_text("マーケ 花子")
            assert problems == [], f"browser console errors: {problems}"
        finally:
            browser.close()

    with Session(engine) as s:
        policy = load_policy(s, CadencePolicy)
    assert policy.cap_mails == 3 and policy.weekends_off is False
    assert (policy.quiet_from, policy.quiet_until) == (time(21), time(7, 30))
