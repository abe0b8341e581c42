"""Real browser: the campaign list leads to a campaign's KPIs, and "pause" pauses it.

Set MEZAME_SCREENSHOT_DIR to keep screenshots of the pages the test visits.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.db import session_scope
from mezame.models import Campaign, CampaignSend
from tests.e2e.browser import CHROMIUM_ARGS, chromium_executable, served
from tests.mail_helpers import add_contacts, make_campaign

pytestmark = pytest.mark.browser

EMAIL = "marketing@example.jp"
PASSWORD = "correct-horse-battery"


def _seed(engine: Engine) -> int:
    with session_scope(engine) as s:
        create_user(s, email=EMAIL, name="マーケ 花子", role="marketing", password=PASSWORD)
        add_contacts(s, 10)
    campaign_id = make_campaign(engine, name="11月ニュースレター")
    with Session(engine) as s:
        rows = s.scalars(select(CampaignSend).order_by(CampaignSend.id)).all()
        first = datetime(2026, 11, 16, 1, tzinfo=UTC)
        for i, row in enumerate(rows[:8]):  # eight sent over two days; two still waiting
            row.status, row.sent_at = "sent", first + timedelta(days=i // 4)
            if i == 0:
                row.bounced_at = row.sent_at
            elif i <= 4:  # four opened by people, one of them clicked
                row.opened_at = row.human_opened_at = row.sent_at + timedelta(hours=3)
                row.opens = 1
            elif i == 5:  # a privacy proxy's prefetch only
                row.opened_at, row.opens, row.machine_opens = row.sent_at, 1, 1
            if i == 1:
                row.clicked_at, row.clicks = row.sent_at + timedelta(hours=4), 1
        s.execute(update(Campaign).values(status="sending"))
        s.commit()
    return campaign_id


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[tuple[str, int]]:
    campaign_id = _seed(sqlite_engine)
    with served(sqlite_engine) as url:
        yield url, campaign_id


def test_see_the_kpis_and_pause_the_campaign(site: tuple[str, int], sqlite_engine: Engine) -> None:
    base_url, campaign_id = site
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

            page.goto(f"{base_url}/campaigns")
            page.get_by_label("メールアドレス").fill(EMAIL)
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            expect(page.locator("h1")).to_have_text("キャンペーン")
            row = page.locator("table.campaigns tbody tr").first
            # 8 sent, 1 bounced: 12.5 % 不達率; 4 people of 7 delivered opened: 57.1 %.
            expect(row).to_contain_text("12.5%")
            expect(row).to_contain_text("57.1%")
            row.get_by_role("link", name="11月ニュースレター").click()

            expect(page.locator("h1")).to_have_text("11月ニュースレター")
            expect(page.locator("#kpi-sent")).to_have_text("8")
            expect(page.locator("#kpi-open")).to_have_text("57.1%")
            expect(page.locator("#kpi-ctr")).to_have_text("14.3%")
            expect(page.locator("#kpi-cvr")).to_have_text("—")
            expect(page.locator("#machine-opens")).to_contain_text("Apple Mail")
            expect(page.locator("svg rect.bar.sent")).to_have_count(2)
            expect(page.locator("#campaign-status")).to_have_text("配信中")
            if shots:
                page.screenshot(path=f"{shots}/campaign.png", full_page=True)

            page.get_by_role("button", name="一時停止").click()
            expect(page.locator(".alert.ok")).to_contain_text("一時停止しました")
            expect(page.locator("#campaign-status")).to_have_text("一時停止中")
            expect(page.get_by_role("button", name="配信を再開")).to_be_visible()
            assert problems == [], f"browser console errors: {problems}"
        finally:
            browser.close()
    with Session(sqlite_engine) as s:
        assert s.get(Campaign, campaign_id).status == "paused"  # type: ignore[union-attr]
