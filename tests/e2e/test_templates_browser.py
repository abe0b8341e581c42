"""Real browser: typing a merge field in the template editor updates the sandboxed preview.

Set MEZAME_SCREENSHOT_DIR to keep a screenshot of the editor.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from mezame.accounts.service import create_user
from mezame.db import session_scope
from mezame.templates.service import install_builtin_templates, list_templates
from tests.e2e.browser import CHROMIUM_ARGS, chromium_executable, served
from tests.template_helpers import PASSWORD, seed_world

pytestmark = pytest.mark.browser

EMAIL = "marketing@example.jp"


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[tuple[str, int]]:
    with session_scope(sqlite_engine) as s:
        seed_world(s)
        create_user(s, email=EMAIL, name="マーケ 花子", role="marketing", password=PASSWORD)
        install_builtin_templates(s)
        newsletter = next(t.id for t in list_templates(s) if t.message_type == "newsletter")
    with served(sqlite_engine) as url:
        yield url, newsletter


def test_typing_a_merge_field_updates_the_preview(site: tuple[str, int]) -> None:
    base_url, newsletter = site
    chromium = chromium_executable()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(f"{base_url}/templates")
            page.get_by_label("メールアドレス").fill(EMAIL)
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            expect(page.locator("h1")).to_have_text("テンプレート")
            expect(page.locator("tbody tr").first).to_contain_text("組み込み")

            # A built-in opens read-only; its duplicate is editable.
            page.goto(f"{base_url}/templates/{newsletter}")
            page.get_by_role("button", name="複製").click()
            expect(page.locator("h1")).to_contain_text("のコピー")
            frame = page.frame_locator("#preview-frame")
            expect(frame.locator("body")).to_contain_text("ワンポイント知識")

            page.get_by_label("プレビューする担当者（IDまたはメールアドレス）").fill(
                "sato@minato.example.jp"
            )
            html = page.locator("textarea[name=html_body]")
            html.fill("<p>{{ company.name }}</p>\n<p>")
            html.press("End")
            html.type("{{ contact.name }}様 {{ last_purchase.amount|yen }}</p>")
            expect(frame.locator("body")).to_contain_text("株式会社みなと物流", timeout=10_000)
            expect(frame.locator("body")).to_contain_text("佐藤 一郎様 ¥2,400,000")
            expect(frame.locator("body")).to_contain_text("配信停止")  # the legal footer
            assert page.locator("#preview-frame").get_attribute("sandbox") == ""

            # A mistake shows where it is, live.
            html.fill("<p>\n{{ contact.name }</p>")
            expect(page.locator("#preview-problem")).to_contain_text("html line 2")
            if shots := os.environ.get("MEZAME_SCREENSHOT_DIR"):
                page.screenshot(path=f"{shots}/template-editor.png", full_page=True)
            assert problems == []
        finally:
            browser.close()
