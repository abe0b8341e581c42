"""Real browser: a step sequence built on /campaigns/new — kind switch, add and remove a step.

The page's script (static/campaign_new.js) shows only the rows in use; removing a step moves
the later ones up. Set MEZAME_SCREENSHOT_DIR to keep screenshots.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.campaigns.service import get_campaign, step_of
from mezame.db import session_scope
from mezame.models import CampaignStep
from mezame.templates.service import TemplateFields, create_template
from tests.e2e.browser import CHROMIUM_ARGS, chromium_executable, served

pytestmark = pytest.mark.browser

EMAIL = "marketing@example.jp"
PASSWORD = "correct-horse-battery"
NAMES = ("資料のご案内", "詳しい資料をお送りしますか?", "一週間後のリマインド")


def _seed(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        create_user(s, email=EMAIL, name="マーケ 花子", role="marketing", password=PASSWORD)
        return {
            name: create_template(
                s,
                TemplateFields(
                    name=name,
                    message_type="hisashiburi",
                    subject=f"{{{{ contact.name }}}}様 {name}",
                    html=f"<p>{name}</p>",
                ),
            ).id
            for name in NAMES
        }


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[tuple[str, dict[str, int]]]:
    templates = _seed(sqlite_engine)
    with served(sqlite_engine) as url:
        yield url, templates


def test_build_a_two_step_sequence(site: tuple[str, dict[str, int]], sqlite_engine: Engine) -> None:
    base_url, templates = site
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

            page.goto(f"{base_url}/campaigns/new")
            page.get_by_label("メールアドレス").fill(EMAIL)
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            expect(page.locator("h1")).to_have_text("新しいキャンペーン")

            # One-off first: the one mail's fields, no steps.
            expect(page.locator("#single-mail")).to_be_visible()
            expect(page.locator("#sequence-steps")).to_be_hidden()
            page.get_by_label("キャンペーン名").fill("資料請求のフォロー")
            page.get_by_label("種類").select_option(label="ステップ配信")
            expect(page.locator("#single-mail")).to_be_hidden()
            expect(page.locator("#sequence-steps")).to_be_visible()
            # Two rows to start with; the other three wait behind "add a step".
            expect(page.locator("#step-1")).to_be_visible()
            expect(page.locator("#step-2")).to_be_visible()
            expect(page.locator("#step-3")).to_be_hidden()

            step = page.locator("#step-1")
            step.locator("select[name=step1_template]").select_option(label=NAMES[0])
            step = page.locator("#step-2")
            step.locator("select[name=step2_template]").select_option(label=NAMES[1])
            step.get_by_label("前のメールから何日後").fill("2")
            step.get_by_label("送る相手").select_option(label="前のメールを開封した人だけ")

            page.get_by_role("button", name="ステップを追加").click()
            step = page.locator("#step-3")
            expect(step).to_be_visible()
            step.locator("select[name=step3_template]").select_option(label=NAMES[2])
            step.get_by_label("前のメールから何日後").fill("7")
            step.get_by_label("早めて送る条件").select_option(label="クリックされたらその時点で")
            step.get_by_label("このメールに反応").check()

            # Removing mail 2 moves mail 3 up into its place.
            page.locator("#step-2").get_by_role("button", name="このステップを削除").click()
            expect(page.locator("#step-3")).to_be_hidden()
            step = page.locator("#step-2")
            expect(step.locator("select[name=step2_template]")).to_have_value(
                str(templates[NAMES[2]])
            )
            expect(step.get_by_label("前のメールから何日後")).to_have_value("7")
            expect(step.get_by_label("送る相手")).to_have_value("always")
            if shots:
                page.screenshot(path=f"{shots}/campaign_sequence.png", full_page=True)

            page.get_by_role("button", name="下書きを作成").click()
            expect(page.locator("h1")).to_have_text("資料請求のフォロー")
            campaign_id = int(page.url.rsplit("/", 1)[1])
            assert problems == [], f"browser console errors: {problems}"
        finally:
            browser.close()
    with Session(sqlite_engine) as s:
        assert get_campaign(s, campaign_id).kind == "sequence"
        count = s.scalar(select(func.count()).where(CampaignStep.campaign_id == campaign_id))
        first, second = step_of(s, campaign_id, 1), step_of(s, campaign_id, 2)
    assert count == 2
    assert (first.template_id, first.wait_days, first.branch) == (templates[NAMES[0]], 0, "always")
    assert second.template_id == templates[NAMES[2]]
    assert (second.wait_days, second.wait_until, second.branch) == (7, "clicked", "always")
    assert second.then_seasonal is True
