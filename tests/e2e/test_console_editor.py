"""The editor's rough edges of issue 14 (item 5), in headless Chromium on a phone (390×844) and a desktop.

* the procedure form is folded into sections, so it is short (it was 11,000 px tall, 17,400 on a phone),
  and a section holding a problem opens by itself;
* the fee is a multi-line box and keeps the lines typed;
* a fee change is live at once and the status line says so at once (it said only "Đang cập nhật…" for
  the ~14 s of the background rebuild while citizens already got the new fee);
* the console's page links are apart ("Hộp thư", "Thống kê", not "Hộp thưThống kê");
* the analytics page is no wider than the phone (its tables scroll inside their box; it was 884 px).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EDITOR,
    OFFICER,
    Account,
    container_with,
    log_in,
    serve,
)

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
BIRTH = "1.001193"
ADMIN = Account("minh", "cay-tre-xanh-2026", "admin", "Lê Văn Minh")


@pytest.fixture(scope="module")
def server(module_real_settings, tmp_path_factory) -> Iterator[str]:
    models = tmp_path_factory.mktemp("editor-fixes") / "models"
    with serve(container_with(module_real_settings, EDITOR, OFFICER, ADMIN, models=models)) as live:
        yield live.url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make test installs it)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(params=list(SIZES))
def page(request, browser):
    context = browser.new_context(locale="vi-VN", viewport=SIZES[request.param])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.size = request.param
    yield page
    context.close()


def open_as(page, url: str, account: Account) -> None:
    """Log in as ``account`` and open ``url`` (the login page leads to the account's home)."""
    log_in(page, url, account)
    page.locator(".who", has_text=account.display_name).wait_for()
    page.goto(url)


def page_height(page) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))


def page_width(page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_the_procedure_form_is_short_and_opens_the_section_with_a_problem(server, page) -> None:
    open_as(page, server + f"/console/editor/procedures/{BIRTH}", EDITOR)
    page.locator("h1", has_text=f"Sửa thủ tục {BIRTH}").wait_for()
    # every section folded: the whole form fits in about two screens, on either size
    assert page.locator("details.section").count() == 6
    assert page.locator("details.section[open]").count() == 0
    assert page_height(page) < 1700, page_height(page)
    assert page_width(page) <= SIZES[page.size]["width"]

    page.click("#section-documents > summary")
    page.fill("#documents-0-originals", "hai")
    page.click("#save")
    page.locator("#error", has_text="số bản chính phải là một số nguyên").wait_for()
    # the section with the problem is open after the refusal, the others stay folded
    assert page.locator("#section-documents").get_attribute("open") is not None
    assert page.locator("#section-channels").get_attribute("open") is None
    assert page.locator("#documents-0-originals").input_value() == "hai"


def test_the_fee_is_a_multi_line_box_and_live_at_once(server, page) -> None:
    open_as(page, server + f"/console/editor/procedures/{BIRTH}", EDITOR)
    page.click("#section-channels > summary")
    fee = page.locator("#channels-0-fee_text")
    assert fee.evaluate("el => el.tagName") == "TEXTAREA"
    lines = f"Lệ phí: 9.000 đồng ({page.size})\nMiễn lệ phí cho trẻ em hộ nghèo"
    fee.fill(lines)
    page.click("#save")
    page.locator("#notice", has_text="Đã lưu").wait_for()
    assert page.locator("#channels-0-fee_text").input_value() == lines
    # the answers already read the new record: the status line says so at once, not only "updating"
    status = page.locator("#live-status")
    text = status.inner_text()
    assert "nội dung mới" in text, text
    assert status.get_attribute("data-state") in ("running", "idle")
    page.click(".ed-nav a[href='/console/editor']")
    page.fill("#try-text", "đăng ký khai sinh lệ phí bao nhiêu")
    page.click("#try-send")
    page.locator("#try-replies .reply", has_text="9.000").wait_for()
    # and the background round (search index, NLU) ends with the page saying so
    page.locator("#live-status[data-state='idle']", has_text="nội dung mới nhất").wait_for(timeout=30_000)


def test_the_page_links_are_apart(server, page) -> None:
    open_as(page, server + "/console/analytics", ADMIN)
    links = page.locator(".top .nav a")
    links.first.wait_for()
    assert links.count() == 4
    boxes = [links.nth(i).bounding_box() for i in range(links.count())]
    for left, right in zip(boxes, boxes[1:], strict=False):
        same_line = abs(left["y"] - right["y"]) < 5
        if same_line:  # a gap a reader sees (and a thumb can aim between)
            assert right["x"] - (left["x"] + left["width"]) >= 12, (left, right)
    for box in boxes:
        assert box["height"] >= 44
    # read as text, the links are separate words
    words = [w.strip() for w in page.locator(".top .nav").inner_text().splitlines() if w.strip()]
    assert words == ["Hộp thư", "Thống kê", "Biên tập", "Câu chưa trả lời được"], words


def test_the_analytics_page_is_no_wider_than_the_screen(server, page) -> None:
    open_as(page, server + "/console/analytics", OFFICER)
    page.locator("#channels").wait_for()
    assert page_width(page) <= SIZES[page.size]["width"], page_width(page)
    # a wide table scrolls inside its own box instead
    box = page.locator("#channels").locator("xpath=..")
    assert box.evaluate("el => getComputedStyle(el).overflowX") == "auto"
