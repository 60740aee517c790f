"""An editor opens the analytics dashboard in headless Chromium and sees the figures of a known week.

The week of tests/analytics_data.py is written through the real stores into the server's database
(ending today, Vietnam time); the editor logs in, follows the "Thống kê" link, reads the key figures,
the charts and the top lists, narrows the range to one day and downloads the CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from tests.analytics_data import VN, seed_week
from tests.e2e.conftest import EDITOR, container_with, log_in, serve

pytestmark = pytest.mark.browser

MARRIAGE, BIRTH = "1.000894", "1.001193"


@pytest.fixture
def analytics_server(real_settings):
    container = container_with(real_settings, EDITOR)
    today = datetime.now(VN).date()
    seed_week(container.adapters.sessions, today, MARRIAGE, BIRTH)
    procedure = container.knowledge.get(MARRIAGE)
    assert procedure is not None
    with serve(container) as server:
        yield server, today, procedure.name


def test_dashboard_shows_the_weeks_figures_and_charts(analytics_server, browser_page, tmp_path) -> None:
    server, today, marriage_name = analytics_server
    page = browser_page
    log_in(page, server.url + "/console/analytics", EDITOR)
    page.locator(".who", has_text=EDITOR.display_name).wait_for()
    page.click("#nav-analytics")
    page.locator("h1", has_text="Thống kê hoạt động").wait_for()

    def kpi(name: str) -> str:
        return page.locator(f"#kpi-{name} .kpi__value").inner_text().strip()

    week_start = today - timedelta(days=6)
    assert (
        page.input_value("#start") == week_start.isoformat() and page.input_value("#end") == today.isoformat()
    )
    assert kpi("conversations") == "9"
    assert kpi("understood") == "45,5%" and kpi("fallback") == "36,4%"  # 5 and 4 of 11 questions
    assert kpi("containment") == "55,6%" and kpi("escalations") == "4"
    assert kpi("wait") == "5 phút" and "30 phút" in page.locator("#kpi-wait .kpi__note").inner_text()
    assert kpi("satisfaction") == "3,50"
    assert "4 lượt đánh giá" in page.locator("#kpi-satisfaction").inner_text()

    # the charts are drawn: bars with a size, one per day and channel / per series / per rating
    conversations = page.locator("#chart-conversations rect.bar")
    assert conversations.count() == 8
    box = conversations.first.bounding_box()
    assert box is not None and box["height"] > 5 and box["width"] > 5
    assert page.locator("#chart-understanding rect.bar").count() == 6
    assert page.locator('#chart-understanding rect.bar[data-series="Không hiểu"]').count() == 2
    ratings = page.locator("#chart-ratings rect.bar")
    assert [ratings.nth(i).get_attribute("data-value") for i in range(5)] == ["0", "1", "1", "1", "1"]
    assert "Telegram" in page.locator(".legend").first.inner_text()

    marriage = page.locator(f'#top-procedures tr[data-key="{MARRIAGE}"]')
    assert marriage_name[:30] in marriage.inner_text() and marriage.locator("td.num").all_inner_texts() == [
        "3",
        "5",
    ]
    first_unanswered = page.locator("#top-unanswered tr").nth(1).locator("td").all_inner_texts()
    assert first_unanswered[:3] == ["abc xyz", "3", "3"]
    assert page.locator('#channels tr[data-channel="rest"] td').all_inner_texts()[:2] == ["Trang web", "3"]
    page.screenshot(path=str(tmp_path / "analytics-week.png"), full_page=True)

    # one day: today
    page.fill("#start", today.isoformat())
    page.click("#show")
    page.wait_for_url(f"**start={today.isoformat()}**")
    assert kpi("conversations") == "4" and kpi("escalations") == "2"
    assert page.locator("#chart-conversations rect.bar").count() == 3

    # CSV of the day
    with page.expect_download() as download:
        page.locator("#csv-links a", has_text="Theo ngày và kênh").click()
    path = tmp_path / "daily.csv"
    download.value.save_as(path)
    table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert table[0][:4] == ["Ngày", "Kênh", "Hội thoại", "Tin nhắn đến"]
    assert [row[1] for row in table[1:]] == ["Trang web", "Telegram", "Zalo OA"]
    assert (
        download.value.suggested_filename == f"thong-ke-theo-ngay-{today.isoformat()}-{today.isoformat()}.csv"
    )

    # a bad range is explained on the page
    page.goto(server.url + f"/console/analytics?start={today.isoformat()}&end={week_start.isoformat()}")
    assert "phải trước hoặc bằng ngày kết thúc" in page.locator("#range-error").inner_text()
