"""The officer console as a help desk (issue 14, item 3), in headless Chromium at 390×844 and 1280×800.

A citizen writes through the web chat's REST channel (the browser side of the chat is the web-chat
tests' subject): "/start" (a reload), a question about marriage registration, then asks for an officer.
An editor keeps a canned reply in the console; the officer sees the waiting conversation by the
citizen's question (not "/start"), the procedure's name, the waiting time and the unread count; opens
it and sees the whole conversation; claims it (the citizen is told who); inserts the canned reply and
the bot's own fee answer, sends; writes a private note the citizen never gets; a new message of the
citizen scrolls into view. Nothing is wider than the screen and the buttons are thumb-sized.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import EDITOR, OFFICER, container_with, serve
from tests.e2e.console_pages import SIZES, console_browser, open_as, page_width, sized_page

pytestmark = pytest.mark.browser

__all__ = ["console_browser", "sized_page"]  # fixtures used by name

QUESTION = "đăng ký kết hôn cần giấy tờ gì"
CANNED = "Bộ phận một cửa làm việc từ thứ Hai đến thứ Sáu, sáng 7 giờ 30, chiều 13 giờ 30."


@pytest.fixture(scope="module")
def server(module_real_settings) -> Iterator[str]:
    with serve(container_with(module_real_settings, OFFICER, EDITOR)) as live:
        yield live.url


class Citizen:
    """A web-chat visitor on the REST channel (one client: the chat's cookie names the conversation)."""

    def __init__(self, url: str, sender: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.sender = sender

    def say(self, text: str) -> list[str]:
        res = self.http.post("/webhooks/rest/webhook", json={"sender": self.sender, "message": text})
        res.raise_for_status()
        return [m.get("text", "") for m in res.json()]

    def received(self) -> list[str]:
        """Messages delivered outside a request (officer replies, the bot's notices)."""
        res = self.http.get("/webhooks/rest/poll", params={"after": 0})  # the chat's cookie says whose
        return [m.get("text", "") for m in res.json()]


@pytest.fixture
def citizen(server, sized_page) -> Iterator[Citizen]:
    visitor = Citizen(server, f"helpdesk-{sized_page.size}")
    yield visitor
    visitor.http.close()


def test_editors_keep_the_canned_replies(server, sized_page) -> None:
    page = sized_page
    open_as(page, server + "/console/editor/canned", EDITOR)
    page.fill("#f-title", f"Giờ làm việc ({page.size})")
    page.fill("#f-text", CANNED)
    page.click("#canned-save")
    page.locator("#notice", has_text="Đã lưu câu trả lời mẫu").wait_for()
    page.locator("#canned-list a", has_text=f"Giờ làm việc ({page.size})").click()
    assert page.locator("#f-text").input_value() == CANNED
    page.fill("#f-title", "")
    page.click("#canned-save")  # the browser asks for a title before anything is sent
    assert page.locator("#f-title").evaluate("el => el.validity.valueMissing")
    assert page_width(page) <= SIZES[page.size]["width"]


def test_an_officer_works_a_conversation_like_a_help_desk(server, sized_page, citizen) -> None:
    page = sized_page
    size = SIZES[page.size]
    citizen.say("/start")
    citizen.say(QUESTION)
    assert any("cán bộ" in t for t in citizen.say("/request_human"))

    open_as(page, server + "/console", OFFICER)
    item = page.locator(".ticket", has_text=QUESTION).first
    item.wait_for()
    assert item.locator(".ticket__question").inner_text() == QUESTION  # not "/start"
    assert item.locator(".ticket__procedure").inner_text() == "Đăng ký kết hôn"  # not "1.000894"
    assert item.locator(".ticket__wait").inner_text().startswith("chờ ")
    assert item.locator(".ticket__unread").inner_text() == "3 tin mới"
    assert page_width(page) <= size["width"]
    page.screenshot(path=f"/tmp/helpdesk-inbox-{page.size}.png", full_page=True)

    item.locator("a").click()
    page.locator("#claim").wait_for()
    # the whole conversation, the bot's answer included
    texts = page.locator("#messages .message__text").all_inner_texts()
    assert texts[0] == "[Bấm nút] bắt đầu trò chuyện" and QUESTION in texts
    assert any("kết hôn" in t for t in texts[2:])
    page.click("#claim")
    page.locator("#status", has_text="Đang xử lý").wait_for()
    assert "Dạ, cán bộ Trần Thị Lan đang hỗ trợ bạn." in " ".join(citizen.received())

    # a canned reply and the bot's own answer, inserted; the officer edits and sends
    page.select_option(
        "#canned", label="Giờ làm việc (phone)" if page.size == "phone" else "Giờ làm việc (desktop)"
    )
    assert page.locator("#reply-text").input_value() == CANNED
    page.select_option("#bot-topic", "fee")
    page.wait_for_function(f"document.getElementById('reply-text').value.length > {len(CANNED)}")
    reply = page.locator("#reply-text").input_value()
    assert reply.startswith(CANNED) and "kết hôn" in reply[len(CANNED) :]
    page.click("#send-reply")
    page.locator(".message--officer", has_text="Bộ phận một cửa").wait_for()
    assert any(t.startswith(CANNED) for t in citizen.received())

    # a private note: on the ticket, never in the citizen's chat
    page.fill("#note-text", f"Đã gọi bộ phận hộ tịch ({page.size})")
    page.click("#add-note")
    page.locator("#notes .note", has_text="Đã gọi bộ phận hộ tịch").wait_for()
    assert not any("hộ tịch" in t for t in citizen.received())

    # the citizen writes again: the new message comes into view by itself
    citizen.say("cảm ơn cán bộ, cho tôi hỏi thêm lệ phí có được miễn không")
    newest = page.locator(".message--citizen", has_text="có được miễn không")
    newest.wait_for()
    in_view = """() => { const li = [...document.querySelectorAll('.message--citizen')].pop();
        const box = li.getBoundingClientRect(), list = document.getElementById('messages').getBoundingClientRect();
        return box.bottom <= Math.min(window.innerHeight, list.bottom) + 1 && box.top >= Math.max(0, list.top) - 1; }"""
    page.wait_for_function(in_view)
    page.wait_for_timeout(3500)  # the page's next poll redraws the conversation: it stays in view
    assert page.evaluate(in_view)

    # a phone layout: nothing wider than the screen, thumb-sized buttons
    assert page_width(page) <= size["width"]
    for button in ("#send-reply", "#add-note", "#hand-back", "#close"):
        box = page.locator(button).bounding_box()
        assert box is not None and box["height"] >= 44, button
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], button
    page.screenshot(path=f"/tmp/helpdesk-ticket-{page.size}.png", full_page=True)
