"""An officer takes over a web-chat conversation in headless Chromium, end to end.

The citizen asks for an officer in the web chat, an officer logs in to the console, claims the ticket
and replies; the reply appears in the citizen's chat; the officer closes the ticket and the citizen rates
the help with a button. Real server (uvicorn on a loopback port), real NLU, private SQLite database.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.e2e.conftest import BOT_BUBBLE, OFFICER, container_with, log_in, second_page, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def officer_server(real_settings):
    with serve(container_with(real_settings, OFFICER)) as server:
        yield server


def test_officer_answers_in_the_citizens_web_chat(officer_server, browser_page, tmp_path) -> None:
    citizen = browser_page
    url = officer_server.url
    citizen.goto(url + "/")
    citizen.locator(".msg--bot .msg__buttons button", has_text="Gặp cán bộ").first.click()
    citizen.locator(BOT_BUBBLE, has_text="đã chuyển câu hỏi của bạn cho cán bộ").wait_for()
    citizen.fill("#text", "Tôi cần hỏi về hồ sơ đất đai của gia đình")
    citizen.press("#text", "Enter")
    citizen.locator(".msg--user", has_text="hồ sơ đất đai").wait_for()

    officer = second_page(citizen)
    log_in(officer, url + "/console", replace(OFFICER, password="sai-mat-khau"))
    officer.locator(".error", has_text="không đúng").wait_for()
    officer.fill("#password", OFFICER.password)
    officer.click("#login")
    officer.locator(".who", has_text=OFFICER.display_name).wait_for()
    # the inbox lists the waiting ticket and counts it in the title
    officer.locator(".ticket", has_text="Người dân muốn gặp cán bộ").first.wait_for()
    officer.wait_for_function("document.title.startsWith('(1)')")
    officer.locator(".ticket a").first.click()
    officer.locator(".message--citizen", has_text="hồ sơ đất đai").wait_for()
    officer.click("#claim")
    officer.locator("#status", has_text="Đang xử lý").wait_for()
    officer.fill("#reply-text", "Chào bạn, tôi là cán bộ Lan. Bạn cho tôi biết số thửa đất nhé.")
    officer.click("#send-reply")
    officer.locator(".message--officer", has_text="số thửa đất").wait_for()
    assert officer.locator(".message--undelivered").count() == 0

    citizen.locator(".msg--officer .msg__bubble", has_text="số thửa đất").wait_for()

    officer.fill("#close-note", "Đã hướng dẫn người dân tra cứu thông tin thửa đất")
    officer.click("#close")
    officer.locator("#status", has_text="Đã đóng").wait_for()

    rating = citizen.locator(".msg--bot", has_text="chấm giúp chất lượng hỗ trợ của cán bộ")
    rating.wait_for()
    rating.locator(".msg__buttons button", has_text="5").click()
    citizen.locator(BOT_BUBBLE, has_text="5 điểm").wait_for()

    officer.reload()
    officer.locator("#rating", has_text="5").wait_for()
    citizen.screenshot(path=str(tmp_path / "citizen.png"), full_page=True)
    officer.screenshot(path=str(tmp_path / "officer.png"), full_page=True)
