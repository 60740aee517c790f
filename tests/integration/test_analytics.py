"""Analytics on SQLite and PostgreSQL: every figure of a known week (tests/analytics_data.py), day
boundaries in Vietnam time, the CSV tables, and the /api/analytics routes over HTTP (login, roles, bad
dates)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session

from console.analytics.report import AnalyticsRangeError, median, percentile, rating_of
from console.analytics.service import AnalyticsService
from console.auth.sessions import COOKIE_NAME, ConsoleAuth
from console.auth.users import UserService
from console.web.analytics_api import report_csv
from knowledge.db import make_session_factory
from knowledge.models import ProcedureRow
from tests.analytics_data import expected_daily, local, seed_week
from tests.console_app import console_app

LAST = date(2026, 3, 10)
P1, P2 = "1.013225", "9.999999"
NOW = local(LAST, 10, 0)  # 10:00 on L in Vietnam = 03:00 UTC


@pytest.fixture
def sessions(db_engine):
    sessions = make_session_factory(db_engine)
    with Session(db_engine) as session, session.begin():
        session.add(ProcedureRow(code=P1, name="Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ"))
    seed_week(sessions, LAST, P1, P2)
    return sessions


@pytest.fixture
def service(sessions) -> AnalyticsService:
    return AnalyticsService(sessions, clock=lambda: NOW)


def d(n: int) -> date:
    return LAST - timedelta(days=n)


# --- the week ---------------------------------------------------------------------------------------------


def test_default_range_is_the_last_seven_days_in_vietnam(service: AnalyticsService) -> None:
    assert service.default_range() == (d(6), LAST)
    # 20:00 UTC on the 10th is already the 11th in Vietnam
    late = AnalyticsService(service._sessions, clock=lambda: datetime(2026, 3, 10, 20, 0, tzinfo=UTC))
    assert late.default_range() == (date(2026, 3, 5), date(2026, 3, 11))
    report = service.report()
    assert (report.start, report.end, report.timezone) == (d(6), LAST, "Asia/Ho_Chi_Minh")


def test_totals_rates_and_containment(service: AnalyticsService) -> None:
    t = service.report().totals
    assert (t.conversations, t.messages_in, t.messages_out) == (9, 23, 30)  # 3 claim notices
    assert (t.contained, t.escalated, t.containment_rate) == (5, 4, 5 / 9)


def test_understood_means_answered_and_the_rest_is_counted_apart(service: AnalyticsService) -> None:
    # issue 14, item 4: the seeded week's 11 questions (see tests/analytics_data.py). Read from the
    # intent, 18 of its 22 turns looked understood (82%): the FAQ answer and the refusal (intent
    # out_of_scope), the greetings, thanks and ratings all counted.
    t = service.report().totals
    q = t.questions
    assert t.turns == 22
    assert (q.questions, q.understood, q.fallbacks, q.out_of_scope, q.choices_unanswered) == (11, 5, 4, 1, 1)
    assert (q.procedure_answers, q.faq, q.flows, q.choices_answered) == (3, 1, 0, 1)
    assert (t.understood, t.fallbacks) == (5, 4)
    assert t.understood_rate == 5 / 11 and t.fallback_rate == 4 / 11


def test_counts_per_day_and_channel(service: AnalyticsService) -> None:
    report = service.report()
    got = [
        (c.day, c.channel, {k: v for k, v in vars(c).items() if k not in ("day", "channel")})
        for c in report.daily
    ]
    assert got == expected_daily(LAST)
    # every day of the range is listed, quiet ones with zeros
    assert [x.day for x in report.days] == [d(n) for n in range(6, -1, -1)]
    assert [x.conversations for x in report.days] == [1, 0, 0, 0, 1, 3, 4]
    assert [x.messages_in for x in report.days] == [1, 0, 0, 0, 2, 12, 8]
    assert [x.questions for x in report.days] == [0, 0, 0, 0, 0, 7, 4]
    assert [x.understood for x in report.days] == [0, 0, 0, 0, 0, 3, 2]
    assert [x.fallbacks for x in report.days] == [0, 0, 0, 0, 0, 2, 2]
    assert [x.escalations for x in report.days] == [0, 0, 0, 0, 1, 1, 2]


def test_totals_per_channel(service: AnalyticsService) -> None:
    channels = {c.channel: c for c in service.report().channels}
    assert list(channels) == ["rest", "telegram", "zalo"]
    rest, tg, zalo = channels["rest"], channels["telegram"], channels["zalo"]
    assert (rest.conversations, rest.escalated, rest.contained) == (3, 2, 1)  # B, E escalated; G not
    # F's ticket was opened before the range: F counts as contained in it
    assert (tg.conversations, tg.escalated, tg.contained) == (3, 1, 2)
    assert (zalo.conversations, zalo.escalated, zalo.contained) == (3, 1, 2)
    assert (
        rest.messages_in,
        rest.messages_out,
        rest.turns,
        rest.questions,
        rest.understood,
        rest.fallbacks,
    ) == (
        8,
        10,
        7,
        4,
        0,
        4,
    )
    assert (tg.messages_in, tg.messages_out, tg.turns, tg.questions, tg.understood, tg.fallbacks) == (
        6,
        8,
        6,
        2,
        2,
        0,
    )
    assert (zalo.messages_in, zalo.messages_out, zalo.turns, zalo.questions, zalo.understood) == (
        9,
        12,
        9,
        5,
        3,
    )
    assert (zalo.faq, zalo.out_of_scope, zalo.choices_unanswered) == (1, 1, 1)


def test_escalations_and_waiting_times(service: AnalyticsService) -> None:
    e = service.report().escalations
    assert e.tickets == 4
    assert e.by_reason == {"request_human": 2, "repeated_fallback": 1, "negative_rating": 1}
    assert (e.answered, e.unanswered) == (3, 1)
    # waits 60 s (H), 300 s (B), 1800 s (D): median the middle one, p90 the 3rd of 3 (nearest rank)
    assert (e.median_wait_seconds, e.p90_wait_seconds) == (300.0, 1800.0)


def test_satisfaction_counts_ticket_and_bot_ratings_once(service: AnalyticsService) -> None:
    s = service.report().satisfaction
    # tickets: B 5, H 3; bot: C 4 (button), D 2 (button number). B's and H's rating messages are the
    # tickets' ratings, not the bot's; D's typed "5" was read as a comment.
    assert (s.ticket_count, s.ticket_average) == (2, 4.0)
    assert (s.bot_count, s.bot_average) == (2, 3.0)
    assert (s.count, s.average) == (4, 3.5)
    assert [(r.rating, r.count) for r in s.distribution] == [(1, 0), (2, 1), (3, 1), (4, 1), (5, 1)]


def test_top_procedures_and_intents(service: AnalyticsService) -> None:
    report = service.report()
    assert [(p.key, p.label, p.turns, p.conversations) for p in report.top_procedures] == [
        (P1, "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", 5, 3),  # A once, D three times, K's pick
        (P2, "", 2, 1),  # C; not in the knowledge base
    ]
    assert [(i.key, i.turns, i.conversations) for i in report.top_intents] == [
        ("give_feedback", 5, 4),
        ("nlu_fallback", 4, 2),
        ("ask_documents", 3, 3),
        ("ask_procedure_overview", 2, 2),
        ("greet", 2, 2),
        ("request_human", 2, 2),
        ("out_of_scope", 2, 1),
        ("choose", 1, 1),
        ("thank", 1, 1),
    ]
    short = AnalyticsService(service._sessions, clock=lambda: NOW, top=2).report()
    assert [i.key for i in short.top_intents] == ["give_feedback", "nlu_fallback"]


def test_top_unanswered_messages(service: AnalyticsService) -> None:
    got = [(u.text, u.count, u.fallbacks, u.last_seen) for u in service.report().top_unanswered]
    assert got == [
        ("abc xyz", 3, 3, local(LAST, 8, 58)),  # "ABC   xyz" is the same question
        ("alo???", 1, 1, local(LAST, 8, 59)),
        ("thủ tục khai sinh cho con", 1, 0, local(LAST, 7, 0)),  # understood, confidence 0.45
    ]
    strict = AnalyticsService(service._sessions, clock=lambda: NOW, low_confidence=0.4).report()
    assert [u.text for u in strict.top_unanswered] == ["abc xyz", "alo???"]


def test_day_boundaries_are_vietnam_midnights(service: AnalyticsService) -> None:
    # F wrote at 23:59 on L-7 and 00:00 on L-6 (both 16:59 / 17:00 UTC on L-7)
    before = service.report(d(7), d(7))
    assert (before.totals.messages_in, before.escalations.tickets) == (1, 1)
    first = service.report(d(6), d(6))
    assert (first.totals.messages_in, first.totals.conversations, first.escalations.tickets) == (1, 1, 0)
    # G wrote at 23:59:59 on L (inside) and 00:00 on L+1 (outside)
    last = service.report(LAST, LAST)
    assert last.totals.messages_in == 8 and last.totals.conversations == 4
    after = service.report(d(-1), d(-1))
    assert after.totals.messages_in == 1 and [c.channel for c in after.channels] == ["rest"]
    # a long range sums the same messages once
    assert service.report(d(30), d(-1)).totals.messages_in == 23 + 2


def test_ratings_filed_on_tickets_before_the_range_are_not_the_bots(service: AnalyticsService) -> None:
    # B's ticket was closed and rated on L-1: a range of L-1 only still tells them apart
    s = service.report(d(1), d(1)).satisfaction
    assert (s.ticket_count, s.bot_count, s.average) == (1, 0, 5.0)
    quiet = service.report(d(5), d(3))
    assert quiet.satisfaction.count == 0 and quiet.satisfaction.average is None
    assert quiet.totals.understood_rate is None and quiet.totals.containment_rate is None
    assert quiet.escalations.median_wait_seconds is None and quiet.top_unanswered == []


def test_bad_ranges_are_refused_in_vietnamese(service: AnalyticsService) -> None:
    with pytest.raises(AnalyticsRangeError, match="phải trước hoặc bằng"):
        service.report(LAST, d(1))
    with pytest.raises(AnalyticsRangeError, match="tối đa 366 ngày"):
        service.report(date(2024, 1, 1), LAST)
    assert service.resolve_range(None, d(3)) == (d(9), d(3))
    assert service.resolve_range(d(3), None) == (d(3), LAST)


# --- helpers ----------------------------------------------------------------------------------------------


def test_median_and_percentile() -> None:
    assert median([]) is None and percentile([], 90) is None
    assert median([5, 1, 3]) == 3 and median([4, 1, 3, 2]) == 2.5
    assert percentile(list(range(1, 11)), 90) == 9 and percentile(list(range(1, 12)), 90) == 10
    assert percentile([7], 90) == 7


def test_rating_of_logged_feedback() -> None:
    assert rating_of('/give_feedback{"rating":"4"}', 1.0) == 4
    assert rating_of('/give_feedback{"rating":"9"}', 1.0) is None
    assert rating_of("/give_feedback", 1.0) is None
    assert rating_of("số 2", 1.0) == 2 and rating_of("2", 0.8) is None
    assert rating_of("rất tốt", 0.9) is None


# --- CSV --------------------------------------------------------------------------------------------------


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_tables(service: AnalyticsService) -> None:
    report = service.report()
    daily = rows(report_csv(report, "daily"))
    assert daily[0] == [
        "Ngày",
        "Kênh",
        "Hội thoại",
        "Tin nhắn đến",
        "Tin nhắn đi",
        "Câu hỏi",
        "Trả lời được",
        "Không hiểu",
        "Ngoài phạm vi",
        "Chưa chọn",
        "Trả lời bằng câu hỏi thường gặp",
        "Chuyển cán bộ",
    ]
    assert daily[1] == [d(6).isoformat(), "Telegram", "1", "1", "1", "0", "0", "0", "0", "0", "0", "0"]
    assert daily[3] == [d(1).isoformat(), "Trang web", "1", "5", "7", "2", "0", "2", "0", "0", "0", "1"]
    assert daily[5] == [d(1).isoformat(), "Zalo OA", "1", "5", "5", "4", "2", "0", "1", "1", "1", "0"]
    assert len(daily) == 1 + 8
    summary = dict(rows(report_csv(report, "summary"))[1:])
    assert summary["Tỷ lệ trả lời được (%)"] == "45.45" and summary["Tỷ lệ không hiểu (%)"] == "36.36"
    assert (summary["Câu hỏi"], summary["Trả lời bằng câu hỏi thường gặp"], summary["Ngoài phạm vi"]) == (
        "11",
        "1",
        "1",
    )
    assert summary["Tỷ lệ tự xử lý (%)"] == "55.56" and summary["Điểm trung bình"] == "3.50"
    assert summary["Thời gian chờ trung vị (giây)"] == "300" and summary["Thời gian chờ P90 (giây)"] == "1800"
    assert summary["Yêu cầu: Người dân chấm điểm thấp"] == "1"
    assert rows(report_csv(report, "ratings")) == [
        ["Điểm", "Số lượt"],
        ["1", "0"],
        ["2", "1"],
        ["3", "1"],
        ["4", "1"],
        ["5", "1"],
    ]
    assert rows(report_csv(report, "unanswered"))[1] == ["abc xyz", "3", "3", f"{LAST.isoformat()} 08:58"]
    assert rows(report_csv(report, "intents"))[1] == ["Góp ý, chấm điểm", "give_feedback", "5", "4"]
    assert rows(report_csv(report, "procedures"))[2] == [P2, "", "2", "1"]
    assert rows(report_csv(report, "channels"))[1][:3] == ["Trang web", "3", "8"]


# --- over HTTP --------------------------------------------------------------------------------------------


class Http:
    """The analytics routes (all console roles) and, under /strict, the same for editors only."""

    def __init__(self, sessions, service: AnalyticsService) -> None:
        users = UserService(sessions)
        self.users = {
            "hoa": users.add("hoa", "lua-vang-2026", "editor", "Phạm Hoa"),
            "lan": users.add("lan", "sen-hong-2026", "officer", "Trần Thị Lan"),
            "quan": users.add("quan", "song-dai-2026", "admin", "Ngô Quân"),
        }
        self.auth = ConsoleAuth(users, "test-secret")
        self.app = console_app(self.auth, analytics=service)
        strict = console_app(self.auth, analytics=service, analytics_roles=("editor",))
        self.app.mount("/strict", strict)

    def client(self, username: str | None = None) -> httpx.AsyncClient:
        """A client logged in as ``username`` (a session opened as the login route opens it)."""
        cookies = {}
        if username is not None:
            cookies[COOKIE_NAME] = self.auth.cookie_for(self.users[username])
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test", cookies=cookies
        )


@pytest.fixture
def http(sessions, service) -> Http:
    return Http(sessions, service)


async def test_api_needs_a_login_and_a_role(http: Http) -> None:
    async with http.client() as c:
        res = await c.get("/api/analytics")
        assert res.status_code == 401 and res.json() == {"detail": "Bạn cần đăng nhập."}
        assert (await c.get("/api/analytics.csv")).status_code == 401
        page = await c.get("/console/analytics")
        assert page.status_code == 303 and page.headers["location"] == "/console/login"
    for name in ("hoa", "lan", "quan"):
        async with http.client(name) as c:
            assert (await c.get("/api/analytics")).status_code == 200
    async with http.client("lan") as c:
        res = await c.get("/strict/api/analytics")
        assert res.status_code == 403 and "không có quyền" in res.json()["detail"]
        page = await c.get("/strict/console/analytics")
        assert page.status_code == 403 and "không có quyền xem thống kê" in page.text
    for name in ("hoa", "quan"):
        async with http.client(name) as c:
            assert (await c.get("/strict/api/analytics")).status_code == 200


async def test_api_figures_match_the_report(http: Http) -> None:
    async with http.client("hoa") as c:
        res = await c.get("/api/analytics")
    assert res.status_code == 200
    body = res.json()
    assert (body["start"], body["end"]) == (d(6).isoformat(), LAST.isoformat())
    assert body["totals"]["understood_rate"] == 5 / 11 and body["totals"]["containment_rate"] == 5 / 9
    assert body["totals"]["questions"] == {
        "questions": 11,
        "understood": 5,
        "procedure_answers": 3,
        "faq": 1,
        "flows": 0,
        "choices_answered": 1,
        "fallbacks": 4,
        "out_of_scope": 1,
        "choices_unanswered": 1,
    }
    assert (
        body["escalations"]["median_wait_seconds"] == 300 and body["escalations"]["p90_wait_seconds"] == 1800
    )
    assert [r["count"] for r in body["satisfaction"]["distribution"]] == [0, 1, 1, 1, 1]
    assert body["satisfaction"]["average"] == 3.5
    assert len(body["days"]) == 7 and len(body["daily"]) == 8
    assert body["top_unanswered"][0]["text"] == "abc xyz" and body["top_procedures"][0]["key"] == P1
    async with http.client("hoa") as c:
        one = (await c.get("/api/analytics", params={"start": "09/03/2026", "end": "2026-03-09"})).json()
    assert (one["start"], one["end"]) == ("2026-03-09", "2026-03-09") and one["totals"]["messages_in"] == 12


async def test_api_bad_dates_answer_422_in_vietnamese(http: Http) -> None:
    async with http.client("hoa") as c:
        res = await c.get("/api/analytics", params={"start": "2026-13-01"})
        assert res.status_code == 422 and "Ngày bắt đầu “2026-13-01” không hợp lệ" in res.json()["detail"]
        res = await c.get("/api/analytics", params={"end": "hôm qua"})
        assert res.status_code == 422 and res.json()["detail"].startswith("Ngày kết thúc “hôm qua”")
        res = await c.get("/api/analytics", params={"start": "2026-03-10", "end": "2026-03-01"})
        assert res.status_code == 422 and "phải trước hoặc bằng ngày kết thúc" in res.json()["detail"]
        res = await c.get("/api/analytics", params={"start": "2020-01-01", "end": "2026-03-01"})
        assert res.status_code == 422 and "tối đa 366 ngày" in res.json()["detail"]
        res = await c.get("/api/analytics.csv", params={"table": "khac"})
        assert res.status_code == 422 and "Không có bảng “khac”" in res.json()["detail"]
        page = await c.get("/console/analytics", params={"start": "abc"})
        assert page.status_code == 422 and "Ngày bắt đầu “abc” không hợp lệ" in page.text


async def test_csv_download(http: Http) -> None:
    async with http.client("hoa") as c:
        res = await c.get("/api/analytics.csv", params={"start": "2026-03-04", "end": "2026-03-10"})
    assert res.status_code == 200 and res.headers["content-type"] == "text/csv; charset=utf-8"
    assert res.headers["content-disposition"] == (
        'attachment; filename="thong-ke-theo-ngay-2026-03-04-2026-03-10.csv"'
    )
    assert res.content.startswith("\ufeff".encode())
    table = rows(res.content.decode("utf-8-sig"))
    assert table[0][:3] == ["Ngày", "Kênh", "Hội thoại"] and len(table) == 9


async def test_openapi_documents_the_routes(http: Http) -> None:
    async with http.client() as c:
        spec = (await c.get("/openapi.json")).json()
    route = spec["paths"]["/api/analytics"]["get"]
    assert [p["name"] for p in route["parameters"]] == ["start", "end"]
    assert route["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("AnalyticsOut")
    assert route["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorOut")
    assert "text/csv" in spec["paths"]["/api/analytics.csv"]["get"]["responses"]["200"]["content"]


async def test_dashboard_page(http: Http) -> None:
    async with http.client("hoa") as c:
        page = await c.get("/console/analytics")
    assert page.status_code == 200
    html = page.text
    assert "Thống kê hoạt động" in html and 'id="nav-analytics"' in html
    assert "45,5%" in html and "55,6%" in html and "5 phút" in html and "30 phút" in html
    # the figure is defined on the page, and each kind of question is counted on its own line
    assert 'id="defs-understood"' in html and "Tỷ lệ trả lời được = trả lời được / tổng số câu hỏi" in html
    for kind, count in [
        ("understood", 5),
        ("faq", 1),
        ("fallbacks", 4),
        ("out_of_scope", 1),
        ("choices_unanswered", 1),
        ("questions", 11),
    ]:
        assert re.search(rf'data-kind="{kind}">.*?<t[dh] class="num">{count}</t[dh]>', html), kind
    # conversations (8 day-channel bars), what the questions came to (answered 2 days, fallbacks 2,
    # out of scope 1, choice left 1), ratings (5)
    assert html.count('<rect class="bar"') == 8 + 6 + 5
    assert 'data-series="Telegram" data-value="1"' in html


@pytest.mark.parametrize(
    ("written", "exported"),
    [
        ('=HYPERLINK("http://evil.example","bấm")', '\'=HYPERLINK("http://evil.example","bấm")'),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("+84 912 345 678 gọi lại", "'+84 912 345 678 gọi lại"),
        ("-1+2", "'-1+2"),
        ("lệ phí = bao nhiêu", "lệ phí = bao nhiêu"),
    ],
)
def test_csv_cells_a_spreadsheet_would_run_are_exported_as_text(written: str, exported: str) -> None:
    # a citizen's message lands in the "unanswered" table; opened in a spreadsheet it must stay text
    from console.web.analytics_api import spreadsheet_safe

    assert spreadsheet_safe(written) == exported
    assert spreadsheet_safe(-3) == -3  # counts stay numbers
