"""Real browser: marketing works through the 名寄せ候補 review queue (htmx, CSRF) and undo.

Set MEZAME_SCREENSHOT_DIR to keep a screenshot of the queue.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, select

from mezame.accounts.service import create_user
from mezame.api.app import create_app
from mezame.config import Settings
from mezame.db import session_scope
from mezame.models import Company, Contact

pytestmark = pytest.mark.browser

EMAIL = "marketing@example.jp"
PASSWORD = "correct-horse-battery"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


def _chromium() -> str:
    candidates = [os.environ.get("MEZAME_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    reason = "chromium not found: apt-get install chromium (or set MEZAME_CHROMIUM)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI requires the browser tests")
    pytest.skip(reason)


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
    app = create_app(
        Settings(database_url=str(sqlite_engine.url), secret_key="browser-test-secret-0123"),
        engine=sqlite_engine,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 15 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_review_queue_merge_undo_and_not_duplicate(base_url: str, sqlite_engine: Engine) -> None:
    chromium = _chromium()
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
            expect(page.get_by_role("link", name="名寄せ候補")).to_have_attribute(
                "aria-current", "page"
            )
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
