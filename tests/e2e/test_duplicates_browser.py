"""Real browser: marketing works through the 名寄せ候補 review queue (htmx, CSRF) and undo.

Set MEZAME_SCREENSHOT_DIR to keep a screenshot of the queue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from mezame.accounts.service import create_user
from mezame.db import session_scope
from mezame.models import Company, Contact
from tests.e2e.browser import CHROMIUM_ARGS, chromium_executable, served

pytestmark = pytest.mark.browser

EMAIL = "marketing@example.jp"
PASSWORD = "correct-horse-battery"


def _seed(engine: Engine) -> None:
    with session_scope(engine) as s:
        create_user(s, email=EMAIL, name="マーケ 花子", role="marketing", password=PASSWORD)
        companies = [
            Company(
                import_key="C1", external_id="C1", name="大和物流株式会社", phone="042-721-2323"
            ),
            Company(import_key="C2", external_id="C2", name="大和物流(株)"),
            Company(
                import_key="C3", external_id="C3", name="株式会社みなと製菓", phone="03-1234-5678"
            ),
            Company(import_key="C4", external_id="C4", name="みなと製菓(株)"),
        ]
        s.add_all(companies)
        s.flush()
        s.add(Contact(import_key="P1", company_id=companies[1].id, name="佐藤 一郎"))


@pytest.fixture
def base_url(sqlite_engine: Engine) -> Iterator[str]:
    _seed(sqlite_engine)
    with served(sqlite_engine) as url:
        yield url


def test_review_queue_merge_undo_and_not_duplicate(base_url: str, sqlite_engine: Engine) -> None:
    chromium = chromium_executable()
    from playwright.sync_api import expect, sync_playwright

    shots = os.environ.get("MEZAME_SCREENSHOT_DIR")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(f"{base_url}/duplicates")
            page.get_by_label("メールアドレス").fill(EMAIL)
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            expect(page).to_have_url(f"{base_url}/duplicates")
            menu = page.get_by_role("navigation", name="メインメニュー")
            # The page's entry is lit in its menu (顧客データ), which shows it is open here.
            expect(menu.locator("details.navgroup.active > summary")).to_have_text("顧客データ")
            expect(menu.locator('a[href="/duplicates"]')).to_have_attribute("aria-current", "page")
            cards = page.locator("article.dup-card")
            expect(cards).to_have_count(2)
            daiwa = cards.filter(has_text="大和物流(株)")
            expect(daiwa).to_contain_text("法人格を除いた社名が一致")
            if shots:
                page.screenshot(path=f"{shots}/duplicates.png", full_page=True)

            page.evaluate("window.mezameMarker = 1")
            daiwa.get_by_role("button", name="統合する").click()
            done = page.locator("article.dup-done")
            expect(done).to_contain_text("統合しました")
            assert page.evaluate("window.mezameMarker") == 1, "the decision reloaded the page"
            done.get_by_role("button", name="統合 #1 を取り消す").click()
            expect(done).to_contain_text("取り消し済み")

            minato = cards.filter(has_text="みなと製菓(株)")
            minato.get_by_role("button", name="別のレコード").click()
            expect(page.locator("article.dup-done").last).to_contain_text(
                "別のレコードとして記録しました"
            )

            page.reload()
            expect(page.locator("article.dup-card")).to_have_count(0)
            expect(page.locator(".dup-queue")).to_contain_text("確認待ちの名寄せ候補はありません")
            expect(page.locator("table.data")).to_contain_text("取り消し済み")
            assert problems == []
        finally:
            browser.close()
    with session_scope(sqlite_engine) as s:
        hidden = s.scalars(select(Company.id).where(Company.merged_into_id.is_not(None))).all()
        assert hidden == []  # merged, then undone
