"""An editor changes a procedure's fee in the editor console and the web chat answers with it, no restart.

Real server (uvicorn on a loopback port), real NLU and seed, private SQLite database and model folder,
headless Chromium: the citizen asks the fee of birth registration (free), the editor logs in, finds
1.001193, types a fee on every channel, saves, checks the "try it" box and the live status, and the
citizen, asking again in the same web chat, gets the new fee.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BOT_BUBBLE, EDITOR, ask, log_in, second_page

pytestmark = pytest.mark.browser

QUESTION = "đăng ký khai sinh lệ phí bao nhiêu"
NEW_FEE = "Lệ phí : 8.000 Đồng"


def test_editor_changes_a_fee_and_the_web_chat_answers_with_it(editor_server, browser_page, tmp_path) -> None:
    citizen = browser_page
    url = editor_server.url
    citizen.goto(url + "/")
    citizen.locator(BOT_BUBBLE).first.wait_for()
    citizen.fill("#text", QUESTION)
    citizen.click("#send")
    first = citizen.locator(BOT_BUBBLE, has_text="khai sinh").last
    first.wait_for()
    assert "8.000" not in first.inner_text()

    editor = second_page(citizen)
    log_in(editor, url + "/console/login", EDITOR)
    editor.locator("#nav-editor", has_text="Biên tập").wait_for()
    editor.locator("h1", has_text="Thử câu hỏi").wait_for()

    editor.click(".ed-nav a[href='/console/editor/procedures']")
    editor.fill("#q", "1.001193")
    editor.press("#q", "Enter")
    editor.locator("#procedures a", has_text="1.001193").click()
    editor.locator("h1", has_text="Sửa thủ tục 1.001193").wait_for()
    # a typo first: the form says what is wrong, opens the section holding it and keeps what was typed
    editor.click("#section-documents > summary")
    editor.fill("#documents-0-originals", "hai")
    editor.click("#save")
    editor.locator("#error", has_text="số bản chính phải là một số nguyên").wait_for()
    editor.fill("#documents-0-originals", "1")
    editor.click("#section-channels > summary")
    fees = editor.locator("textarea[name$='-fee_text']")
    for i in range(fees.count()):
        if editor.locator(f"#channels-{i}-fee_text").input_value() or i == 0:
            editor.fill(f"#channels-{i}-fee_text", NEW_FEE)
    editor.click("#save")
    editor.locator("#notice", has_text="Đã lưu").wait_for()
    assert editor.locator("#channels-0-fee_text").input_value() == NEW_FEE
    assert editor.locator("#channels-0-fee_vnd").input_value() == "8000"  # read again from the new text

    # the background rebuild finishes and the page says so (at most 15 s)
    editor.locator("#live-status[data-state='idle']", has_text="nội dung mới nhất").wait_for(timeout=20_000)

    editor.click(".ed-nav a[href='/console/editor']")
    editor.fill("#try-text", QUESTION)
    editor.click("#try-send")
    editor.locator("#try-replies .reply", has_text="8.000").wait_for()

    citizen.bring_to_front()
    ask(citizen, QUESTION)
    citizen.locator(BOT_BUBBLE, has_text="8.000").wait_for()

    editor.click(".ed-nav a[href='/console/editor/audit']")
    editor.locator("#audit a", has_text="Sửa Thủ tục 1.001193").first.click()
    editor.locator("#diff .add", has_text="8.000").first.wait_for()
    citizen.screenshot(path=str(tmp_path / "citizen.png"), full_page=True)
    editor.screenshot(path=str(tmp_path / "editor.png"), full_page=True)
