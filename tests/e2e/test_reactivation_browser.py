"""Real browser: the reactivation list filters in place, explains each row, and "use this" saves.

Set MEZAME_SCREENSHOT_DIR to keep screenshots of the pages the test visits.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine

from mezame.accounts.service import create_user
from mezame.db import session_scope
from mezame.dormancy.changes import Change, ChangeKind, ChangesPolicy
from mezame.dormancy.service import recompute
from mezame.models import Company, Contact, Deal, Order
from mezame.policy.service import save_policy
from tests.e2e.browser import CHROMIUM_ARGS, chromium_executable, served

pytestmark = pytest.mark.browser

EMAIL = "marketing@example.jp"
PASSWORD = "correct-horse-battery"


def _seed(engine: Engine) -> None:
    with session_scope(engine) as s:
        create_user(s, email=EMAIL, name="マーケ 花子", role="marketing", password=PASSWORD)
        for n in range(40):
            # Regular buyers; a third stopped in 2024 and never came back.
            company = Company(import_key=f"K{n}", name=f"定期購入{n}株式会社")
            s.add(company)
            s.flush()
            year = 2024 if n % 3 == 0 else 2026
            for k in range(6):
                s.add(
                    Order(
                        import_key=f"K{n}-{k}",
                        company_id=company.id,
                        ordered_on=date(year, 1 + k, 15),
                        amount=80_000,
                    )
                )
        lost = Company(import_key="L", name="株式会社みなと物流")
        s.add(lost)
        s.flush()
        person = Contact(import_key="LP", company_id=lost.id, name="佐藤 一郎", email="s@m.jp")
        s.add(person)
        s.flush()
        s.add(
            Deal(
                import_key="LD",
                company_id=lost.id,
                contact_id=person.id,
                name="受発注クラウド",
                outcome="lost",
                lost_reason="価格",
                amount=2_400_000,
                opened_on=date(2026, 6, 1),
                closed_on=date(2026, 8, 31),
            )
        )
        save_policy(
            s,
            ChangesPolicy(
                changes=(
                    Change(
                        on=date(2026, 10, 1),
                        kind=ChangeKind.PRICE_CUT,
                        description="年間プランを10%値下げ",
                    ),
                )
            ),
        )
        recompute(s, as_of=date(2026, 11, 23))


@pytest.fixture
def base_url(sqlite_engine: Engine) -> Iterator[str]:
    _seed(sqlite_engine)
    with served(sqlite_engine) as url:
        yield url


def test_filter_the_list_read_why_and_use_the_suggestion(base_url: str) -> None:
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

            page.goto(f"{base_url}/reactivation")
            page.get_by_label("メールアドレス").fill(EMAIL)
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            expect(page).to_have_url(f"{base_url}/reactivation")
            expect(page.locator("h1")).to_have_text("掘り起こしリスト")
            rows = page.locator("#results tbody tr")
            # The lost deal on price, with a price cut since, leads and says why.
            first = rows.first
            expect(first).to_contain_text("株式会社みなと物流")
            expect(first).to_contain_text("佐藤 一郎")
            expect(first.locator(".factors li").first).to_contain_text("価格が理由で離脱")
            expect(first.locator(".factors li").first.locator(".pts")).to_have_text(
                re.compile(r"^\+\d+\.\d$")
            )
            expect(first).to_contain_text("年間プランを10%値下げ")

            # Choosing a kind swaps the results in place (htmx) and keeps it in the URL.
            page.evaluate("window.mezameMarker = 1")
            page.get_by_label("種類").select_option("former_customer")
            expect(page).to_have_url(re.compile(r"kind=former_customer"))
            expect(page.locator("#results")).not_to_contain_text("株式会社みなと物流")
            expect(rows).to_have_count(14)
            assert page.evaluate("window.mezameMarker") == 1, "filtering reloaded the page"
            if shots:
                page.screenshot(path=f"{shots}/reactivation.png", full_page=True)

            page.get_by_role("link", name="休眠の基準").first.click()
            expect(page.locator("h1")).to_have_text("休眠の基準")
            card = page.locator("#kind-former_customer")
            expect(card.locator("svg polyline.rate")).to_have_count(1)
            use = card.get_by_role("button", name=re.compile(r"この値を使う（\d+か月）"))
            months = re.search(r"（(\d+)か月）", use.inner_text())
            assert months is not None
            use.click()
            expect(page.locator(".alert.ok")).to_contain_text("保存しました")
            expect(card.locator("input[name=after_months]")).to_have_value(months.group(1))
            if shots:
                page.screenshot(path=f"{shots}/thresholds.png", full_page=True)
            assert problems == [], f"browser console errors: {problems}"
        finally:
            browser.close()
