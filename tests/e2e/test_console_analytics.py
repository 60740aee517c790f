"""Honest analytics (issue 14, item 4) in headless Chromium on a phone (390×844) and a desktop.

The week of tests/analytics_data.py (11 questions: 5 answered, 4 not understood, 1 refused, 1 choice
left unanswered; the FAQ answer counted among the answered, apart) is seeded into the server's database,
ending today. "Tỷ lệ trả lời được" reads 5/11 = 45,5% (read from the intent it was 82%), every kind has
its own line, the figure is defined on the page, and the page is no wider than the screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.analytics_data import VN, seed_week
from tests.e2e.conftest import OFFICER, container_with, serve
from tests.e2e.console_pages import SIZES, console_browser, open_as, page_width, sized_page

pytestmark = pytest.mark.browser

__all__ = ["console_browser", "sized_page"]  # fixtures used by name

MARRIAGE, BIRTH = "1.000894", "1.001193"


@pytest.fixture(scope="module")
def server(module_real_settings) -> Iterator[str]:
    container = container_with(module_real_settings, OFFICER)
    seed_week(container.adapters.sessions, datetime.now(VN).date(), MARRIAGE, BIRTH)
    with serve(container) as live:
        yield live.url


def test_understood_is_answered_and_each_kind_is_counted_apart(server, sized_page) -> None:
    page = sized_page
    open_as(page, server + "/console/analytics", OFFICER)
    page.locator("h1", has_text="Thống kê hoạt động").wait_for()
    assert page.locator("#kpi-understood .kpi__value").inner_text().strip() == "45,5%"
    assert "5/11 câu hỏi" in page.locator("#kpi-understood .kpi__note").inner_text()

    def line(kind: str) -> list[str]:
        return [c.strip() for c in page.locator(f'#questions tr[data-kind="{kind}"] > *').all_inner_texts()]

    assert line("understood") == ["Trả lời được", "5", "45,5%"]
    assert line("procedure_answers")[1] == "3"
    assert line("faq")[1] == "1"
    assert line("choices_answered")[1] == "1"
    assert line("fallbacks") == ["Không hiểu", "4", "36,4%"]
    assert line("out_of_scope")[1:] == ["1", "9,1%"]
    assert line("choices_unanswered")[1:] == ["1", "9,1%"]
    assert line("questions")[1] == "11"

    # the figure is defined on the page: the KPI links to its definition
    page.click("#kpi-understood a[href='#defs-understood']")
    definition = page.locator("#defs-understood + dd")
    assert "trả lời được / tổng số câu hỏi" in definition.inner_text()
    assert definition.is_visible()
    assert page_width(page) <= SIZES[page.size]["width"]
