"""Real browser (Debian's chromium via Playwright): log in, search, read a contact's timeline.

Set MEZAME_CHROMIUM to use another chromium binary, and MEZAME_SCREENSHOT_DIR to keep
screenshots of the pages the test visits.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from mezame.accounts.service import create_user
from mezame.db import session_scope
from mezame.models import Company, Contact, Deal, EngagementEvent, SalesActivity
from tests.e2e.browser import CHROMIUM_ARGS, chromium_executable, served

pytestmark = pytest.mark.browser

EMAIL = "sales@example.jp"
PASSWORD = "correct-horse-battery"


def _seed(engine: Engine) -> None:
    def at(day: int, hour: int) -> datetime:
        return datetime(2026, 11, day, hour, 0, tzinfo=UTC)

    with session_scope(engine) as s:
        create_user(s, email=EMAIL, name="営業 太郎", role="sales", password=PASSWORD)
        company = Company(import_key="C1", external_id="C1", name="株式会社ひかり製作所")
        other = Company(import_key="C2", external_id="C2", name="みなと商事株式会社")
        s.add_all([company, other])
        s.flush()
        yamada = Contact(
            import_key="P1",
            company_id=company.id,
            name="山田 花子",
            email="hanako.yamada@hikari.example.jp",
            department="情報システム部",
            title="課長",
        )
        sato = Contact(import_key="P2", company_id=other.id, name="佐藤 一郎", email="sato@x.jp")
        s.add_all([yamada, sato])
        s.flush()
        events = [
            ("mail_opened", at(2, 0), {"campaign": "11月ニュースレター"}),
            ("mail_clicked", at(2, 1), {"url": "https://hikari.example.jp/pricing"}),
            ("document_download", at(5, 3), {"document": "導入事例集.pdf"}),
            ("webinar_attended", at(12, 5), {"webinar": "経理DXセミナー", "watch_seconds": 2700}),
            ("site_visit", at(20, 6), {"url": "https://mezame.example.jp/pricing"}),
            ("inquiry", at(23, 1), {"payload": {"message": "見積もりをお願いします"}}),
        ]
        for n, (kind, when, fields) in enumerate(events, start=1):
            s.add(
                EngagementEvent(
                    dedupe_key=n.to_bytes(16, "big"),
                    type=kind,
                    occurred_at=when,
                    contact_id=yamada.id,
                    **fields,
                )
            )
        s.add(
            SalesActivity(
                import_key="A1",
                company_id=company.id,
                contact_id=yamada.id,
                kind="call",
                occurred_at=at(24, 2),
                subject="お見積もりのご連絡",
                note="来期4月導入で検討中。価格がネック。",
            )
        )
        s.add(
            Deal(
                import_key="D1",
                company_id=company.id,
                contact_id=yamada.id,
                name="会計クラウド 再提案",
                outcome="lost",
                lost_reason="価格",
                amount=1_800_000,
                opened_on=date(2025, 2, 1),
                closed_on=date(2025, 3, 28),
            )
        )


@pytest.fixture
def base_url(sqlite_engine: Engine) -> Iterator[str]:
    """mezame served by uvicorn on a free local port, in a background thread."""
    _seed(sqlite_engine)
    with served(sqlite_engine) as url:
        yield url


def test_log_in_search_and_read_a_contact_timeline(base_url: str) -> None:
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

            page.goto(f"{base_url}/contacts")
            expect(page).to_have_url(re.compile(r"/login\?next=%2Fcontacts$"))
            page.get_by_label("メールアドレス").fill(EMAIL)
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            expect(page).to_have_url(f"{base_url}/contacts")
            results = page.locator("#results")
            expect(results).to_contain_text("佐藤 一郎")

            # Typing swaps the results in place: the page (and this marker) stays.
            page.evaluate("window.mezameMarker = 1")
            page.get_by_role("searchbox").press_sequentially("山田", delay=50)
            expect(results).not_to_contain_text("佐藤 一郎")
            expect(results).to_contain_text("山田 花子")
            expect(page).to_have_url(re.compile(r"/contacts\?q="))
            assert page.evaluate("window.mezameMarker") == 1, "the search reloaded the page"

            results.get_by_role("link", name="山田 花子").click()
            expect(page.locator("h1")).to_have_text("山田 花子")
            timeline = page.locator("ol.timeline")
            for label in [
                "開封",
                "クリック",
                "資料DL",
                "ウェビナー参加",
                "サイト訪問",
                "問い合わせ",
            ]:
                expect(timeline.locator(".tl-label", has_text=label)).to_have_count(1)
            expect(timeline.locator(".tl-label", has_text="電話")).to_have_count(1)
            expect(timeline.locator(".tl-label", has_text="失注")).to_have_count(1)
            first = timeline.locator("li").first
            expect(first).to_contain_text("電話")
            expect(first.locator("time")).to_have_text(
                re.compile(r"^2026年11月24日 \d{1,2}:\d{2}$")
            )
            expect(timeline).to_contain_text("導入事例集.pdf")
            expect(timeline).to_contain_text("45分視聴")
            expect(timeline).to_contain_text("2025年3月28日")
            if shots:
                page.screenshot(path=f"{shots}/contact.png", full_page=True)
                page.goto(f"{base_url}/companies")
                page.screenshot(path=f"{shots}/companies.png", full_page=True)
            assert problems == [], f"browser console errors: {problems}"
        finally:
            browser.close()
