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

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import EDITOR, OFFICER, Account, container_with, serve
from tests.e2e.console_pages import SIZES, console_browser, open_as, page_height, page_width, sized_page

pytestmark = pytest.mark.browser

__all__ = ["console_browser", "sized_page"]  # fixtures used by name

BIRTH = "1.001193"
ADMIN = Account("minh", "cay-tre-xanh-2026", "admin", "Lê Văn Minh")


@pytest.fixture(scope="module")
def server(module_real_settings, tmp_path_factory) -> Iterator[str]:
    models = tmp_path_factory.mktemp("editor-fixes") / "models"
    with serve(container_with(module_real_settings, EDITOR, OFFICER, ADMIN, models=models)) as live:
        yield live.url


@pytest.fixture
def page(sized_page):
    return sized_page


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
    assert links.count() == 5  # an admin also has the accounts page
    boxes = [links.nth(i).bounding_box() for i in range(links.count())]
    for left, right in zip(boxes, boxes[1:], strict=False):
        same_line = abs(left["y"] - right["y"]) < 5
        if same_line:  # a gap a reader sees (and a thumb can aim between)
            assert right["x"] - (left["x"] + left["width"]) >= 12, (left, right)
    for box in boxes:
        assert box["height"] >= 44
    # read as text, the links are separate words
    words = [w.strip() for w in page.locator(".top .nav").inner_text().splitlines() if w.strip()]
    assert words == ["Hộp thư", "Thống kê", "Biên tập", "Câu chưa trả lời được", "Tài khoản"], words


def test_the_analytics_page_is_no_wider_than_the_screen(server, page) -> None:
    open_as(page, server + "/console/analytics", OFFICER)
    page.locator("#channels").wait_for()
    assert page_width(page) <= SIZES[page.size]["width"], page_width(page)
    # a wide table scrolls inside its own box instead
    box = page.locator("#channels").locator("xpath=..")
    assert box.evaluate("el => getComputedStyle(el).overflowX") == "auto"
