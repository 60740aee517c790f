"""The web chat in headless Chromium: ask a question, read the answer, click a button."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BOT_BUBBLE

pytestmark = pytest.mark.browser


def test_ask_read_answer_and_click_a_button(live_server, browser_page, tmp_path) -> None:
    page = browser_page
    page.goto(live_server.url + "/")
    # the greeting with its menu of topics arrives by itself
    page.locator(BOT_BUBBLE).first.wait_for()
    assert "xin chào" in page.locator(BOT_BUBBLE).first.inner_text().lower()
    menu = page.locator(".msg--bot .msg__buttons button")
    assert menu.count() >= 3

    page.fill("#text", "đăng ký kết hôn cần giấy tờ gì")
    page.click("#send")
    page.locator(".msg--user", has_text="đăng ký kết hôn").wait_for()
    answer = page.locator(BOT_BUBBLE).nth(1)
    answer.wait_for()
    assert "kết hôn" in answer.inner_text().lower()

    # a follow-up uses the same procedure
    page.fill("#text", "lệ phí bao nhiêu")
    page.press("#text", "Enter")
    fee = page.locator(BOT_BUBBLE).nth(2)
    fee.wait_for()
    assert "kết hôn" in fee.inner_text().lower()

    # clicking a button sends its payload and shows its title as the user's message
    bot_count = page.locator(".msg--bot").count()
    first_button = page.locator(".msg--bot .msg__buttons button").first
    title = first_button.inner_text()
    first_button.click()
    page.locator(".msg--user", has_text=title).wait_for()
    page.wait_for_function(f"document.querySelectorAll('.msg--bot').length > {bot_count}")
    page.screenshot(path=str(tmp_path / "web-chat.png"), full_page=True)
    if shot_dir := __import__("os").environ.get("HELPLINE_SCREENSHOT_DIR"):
        page.screenshot(path=f"{shot_dir}/web-chat.png", full_page=True)
    assert page.locator("#status").inner_text() == ""
