"""Real browser: build a segment row by row, watch the live count follow, save it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from mezame.accounts.service import create_user
from mezame.db import session_scope
from mezame.models import Company, Contact
from tests.e2e.browser import CHROMIUM_ARGS, chromium_executable, served

pytestmark = pytest.mark.browser

EMAIL = "marketing@example.jp"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def base_url(sqlite_engine: Engine) -> Iterator[str]:
    with session_scope(sqlite_engine) as s:
        create_user(s, email=EMAIL, name="マーケ 花子", role="marketing", password=PASSWORD)
        for n in range(12):
            company = Company(
                import_key=f"C{n}", name=f"会社{n}", industry="製造業" if n < 8 else "小売業"
            )
            s.add(company)
            s.flush()
            s.add(
                Contact(
                    import_key=f"P{n}",
                    company_id=company.id,
                    name=f"担当{n}",
                    lead_band="hot" if n % 4 == 0 else "cold",
                )
            )
    with served(sqlite_engine) as url:
        yield url


def test_build_a_segment_with_a_live_count(base_url: str) -> None:
    chromium = chromium_executable()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(f"{base_url}/segments/new")
            page.get_by_label("メールアドレス").fill(EMAIL)
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            expect(page.locator("h1")).to_have_text("新しいセグメント")
            count = page.locator("#live-count")
            expect(count).to_have_text("12")  # one row, industry "is" nothing yet: counted on load

            first = page.locator(".rule-row").first
            first.get_by_label("値").fill("製造業")
            first.get_by_label("値").press("Tab")
            expect(count).to_have_text("8")

            page.get_by_role("button", name=re.compile("条件を追加")).click()
            expect(page.locator(".rule-row")).to_have_count(2)
            # htmx binds a new row's controls when it settles (and then drops `htmx-added`):
            # a change before that would go unheard (failed under CI load).
            expect(page.locator(".rule-row.htmx-added")).to_have_count(0)
            second = page.locator(".rule-row").nth(1)
            second.get_by_label("項目").select_option("lead.band")
            # Choosing the field swaps the value box for a list: wait for the list itself.
            band = second.locator("select[aria-label='値']")
            expect(band).to_have_count(1)
            band.select_option("hot")
            expect(count).to_have_text("2")  # 製造業 and hot: companies 0 and 4

            second.get_by_role("button", name="この条件を削除").click()
            expect(page.locator(".rule-row")).to_have_count(1)
            expect(count).to_have_text("8")

            page.get_by_label("セグメント名").fill("製造業の担当者")
            page.get_by_role("button", name="セグメントを保存").click()
            expect(page.locator(".alert.ok")).to_contain_text("保存しました")
            expect(page.locator("h1")).to_have_text("製造業の担当者")
            expect(page.locator("table.data tbody tr")).to_have_count(8)

            page.get_by_role("link", name="セグメント").first.click()
            expect(page.locator("#count-1")).to_have_text("8")
            assert problems == [], f"browser console errors: {problems}"
        finally:
            browser.close()
