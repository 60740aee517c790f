"""The analytics JSON API (``GET /api/analytics``) and its CSV export (``GET /api/analytics.csv``).

Both take ``start`` and ``end`` (``YYYY-MM-DD``, or ``DD/MM/YYYY``; days in Vietnam time, both
included; default the last 7 days). Authentication is the console's session cookie; editors and admins
may read the figures, and officers too (:data:`console.web.deps.ANALYTICS_ROLES`). A bad date or range
answers 422 with ``{"detail": "..."}`` in Vietnamese. The definitions of the figures are in
:mod:`console.analytics.report`.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from console.analytics.report import AnalyticsRangeError, AnalyticsReport
from console.analytics.service import AnalyticsService
from console.spreadsheet import spreadsheet_safe
from console.web.deps import Analytics, AnalyticsReader
from console.web.errors import ApiRoute
from console.web.labels import REASON_LABELS, channel_label, intent_label

CSV_TABLES = {
    "daily": "theo-ngay",
    "channels": "theo-kenh",
    "summary": "tong-hop",
    "procedures": "thu-tuc",
    "intents": "y-dinh",
    "unanswered": "chua-tra-loi",
    "ratings": "danh-gia",
}
"""CSV tables (``table=``) and the file name part of each."""


# --- Response models -----------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class QuestionsOut(_Out):
    """What the citizens' questions came to: questions = understood + fallbacks + out_of_scope +
    choices_unanswered; understood = procedure_answers + faq + flows + choices_answered."""

    questions: int = Field(
        description="turns the bot had to answer (not greetings, ratings, officer requests)"
    )
    understood: int = Field(description="answered: a procedure answer, an FAQ answer, a look-up done")
    procedure_answers: int
    faq: int = Field(description="answered from the FAQ")
    flows: int = Field(description="dossier look-ups completed")
    choices_answered: int = Field(description="choices asked back that the next turn answered")
    fallbacks: int = Field(description="not understood")
    out_of_scope: int = Field(description="refused as out of the bot's scope")
    choices_unanswered: int = Field(description="choices asked back that the next turn did not answer")


class TotalsOut(_Out):
    """The whole range over every channel."""

    conversations: int = Field(description="chats in which the citizen wrote in the range")
    messages_in: int = Field(description="messages from citizens")
    messages_out: int = Field(description="messages to citizens (bot and officers)")
    turns: int = Field(description="citizen messages the bot interpreted (it found an intent)")
    understood: int = Field(description="questions answered (see questions)")
    fallbacks: int = Field(description="questions not understood")
    understood_rate: float | None = Field(description="understood / questions (0-1)")
    fallback_rate: float | None = Field(description="fallbacks / questions (0-1)")
    contained: int = Field(description="conversations without a ticket opened in the range")
    escalated: int = Field(description="conversations with a ticket opened in the range")
    containment_rate: float | None = Field(description="contained / conversations (0-1)")
    questions: QuestionsOut


class DayOut(_Out):
    """One day over every channel (every day of the range)."""

    day: date
    conversations: int
    messages_in: int
    messages_out: int
    turns: int
    understood: int
    fallbacks: int
    escalations: int = Field(description="tickets opened that day")
    questions: int
    faq: int
    out_of_scope: int
    choices_unanswered: int


class DayChannelOut(DayOut):
    """One day on one channel (only days and channels with activity)."""

    channel: str


class ChannelOut(_Out):
    """One channel over the range."""

    channel: str
    conversations: int
    messages_in: int
    messages_out: int
    turns: int
    understood: int
    fallbacks: int
    escalated: int
    contained: int
    questions: int
    faq: int
    out_of_scope: int
    choices_unanswered: int


class EscalationsOut(_Out):
    """Tickets opened in the range; waiting time from the ticket to the officer's first reply."""

    tickets: int
    by_reason: dict[str, int] = Field(description="request_human, repeated_fallback, negative_rating")
    answered: int
    unanswered: int
    median_wait_seconds: float | None
    p90_wait_seconds: float | None = Field(description="90th percentile, nearest-rank method")


class RatingCountOut(_Out):
    """How many ratings gave this many points."""

    rating: int = Field(ge=1, le=5)
    count: int


class SatisfactionOut(_Out):
    """Ratings 1-5 given in the range: officers' help (tickets) and the bot together and apart."""

    count: int
    average: float | None
    distribution: list[RatingCountOut] = Field(description="ratings 1 to 5, in order")
    ticket_count: int
    ticket_average: float | None
    bot_count: int
    bot_average: float | None


class RankedOut(_Out):
    """A line of a top list."""

    key: str = Field(description="procedure code or intent name")
    label: str = Field(description="procedure name ('' for intents)")
    turns: int
    conversations: int


class UnansweredOut(_Out):
    """A message the bot did not understand, or understood with a low confidence."""

    text: str = Field(description="as logged: ID and phone numbers redacted")
    count: int
    fallbacks: int
    last_seen: datetime


class AnalyticsOut(_Out):
    """Every figure of the analytics dashboard for a range of days."""

    start: date
    end: date
    timezone: str
    totals: TotalsOut
    days: list[DayOut]
    daily: list[DayChannelOut]
    channels: list[ChannelOut]
    escalations: EscalationsOut
    satisfaction: SatisfactionOut
    top_procedures: list[RankedOut]
    top_intents: list[RankedOut]
    top_unanswered: list[UnansweredOut]


class ErrorOut(BaseModel):
    """An error, in Vietnamese."""

    detail: str


# --- Dates ---------------------------------------------------------------------------------------------


def parse_day(value: str | None, what: str) -> date | None:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY`` to a date; None for an empty value.

    Raises:
        AnalyticsRangeError: anything else (the message names ``what``, e.g. "bắt đầu").
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise AnalyticsRangeError(
        f"Ngày {what} “{text[:40]}” không hợp lệ. Hãy nhập theo dạng năm-tháng-ngày (ví dụ 2026-03-01) "
        "hoặc ngày/tháng/năm (ví dụ 01/03/2026)."
    )


def parse_range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """Both ends of a range from query strings (see :func:`parse_day`)."""
    return parse_day(start, "bắt đầu"), parse_day(end, "kết thúc")


# --- CSV -----------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def csv_rows(report: AnalyticsReport, table: str, timezone: str) -> list[list[Any]]:
    """The rows (header first) of one CSV table of ``report``."""
    if table == "daily":
        rows: list[list[Any]] = [
            [
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
        ]
        rows += [
            [
                d.day.isoformat(),
                channel_label(d.channel),
                d.conversations,
                d.messages_in,
                d.messages_out,
                d.questions,
                d.understood,
                d.fallbacks,
                d.out_of_scope,
                d.choices_unanswered,
                d.faq,
                d.escalations,
            ]
            for d in report.daily
        ]
        return rows
    if table == "channels":
        rows = [
            [
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
                "Hội thoại chuyển cán bộ",
                "Hội thoại trợ lý ảo tự xử lý",
            ]
        ]
        rows += [
            [
                channel_label(c.channel),
                c.conversations,
                c.messages_in,
                c.messages_out,
                c.questions,
                c.understood,
                c.fallbacks,
                c.out_of_scope,
                c.choices_unanswered,
                c.faq,
                c.escalated,
                c.contained,
            ]
            for c in report.channels
        ]
        return rows
    if table == "summary":
        t, e, s = report.totals, report.escalations, report.satisfaction
        pairs: list[tuple[str, Any]] = [
            ("Từ ngày", report.start.isoformat()),
            ("Đến ngày", report.end.isoformat()),
            ("Hội thoại", t.conversations),
            ("Tin nhắn đến", t.messages_in),
            ("Tin nhắn đi", t.messages_out),
            ("Tin nhắn được phân tích", t.turns),
            ("Câu hỏi", t.questions.questions),
            ("Trả lời được", t.understood),
            ("Tỷ lệ trả lời được (%)", _pct(t.understood_rate)),
            ("Trả lời theo thủ tục", t.questions.procedure_answers),
            ("Trả lời bằng câu hỏi thường gặp", t.questions.faq),
            ("Tra cứu hồ sơ xong", t.questions.flows),
            ("Hỏi lại để chọn, rồi trả lời được", t.questions.choices_answered),
            ("Không hiểu", t.fallbacks),
            ("Tỷ lệ không hiểu (%)", _pct(t.fallback_rate)),
            ("Ngoài phạm vi", t.questions.out_of_scope),
            ("Hỏi lại để chọn, chưa được chọn", t.questions.choices_unanswered),
            ("Hội thoại trợ lý ảo tự xử lý", t.contained),
            ("Tỷ lệ tự xử lý (%)", _pct(t.containment_rate)),
            ("Yêu cầu chuyển cán bộ", e.tickets),
            *((f"Yêu cầu: {REASON_LABELS.get(r, r)}", n) for r, n in e.by_reason.items()),
            ("Yêu cầu đã được trả lời", e.answered),
            ("Yêu cầu chưa được trả lời", e.unanswered),
            ("Thời gian chờ trung vị (giây)", _num(e.median_wait_seconds, 0)),
            ("Thời gian chờ P90 (giây)", _num(e.p90_wait_seconds, 0)),
            ("Lượt đánh giá", s.count),
            ("Điểm trung bình", _num(s.average)),
            ("Lượt đánh giá cán bộ", s.ticket_count),
            ("Điểm trung bình cán bộ", _num(s.ticket_average)),
            ("Lượt đánh giá trợ lý ảo", s.bot_count),
            ("Điểm trung bình trợ lý ảo", _num(s.bot_average)),
        ]
        return [["Chỉ số", "Giá trị"], *([k, v] for k, v in pairs)]
    if table == "procedures":
        return [
            ["Mã thủ tục", "Tên thủ tục", "Lượt hỏi", "Hội thoại"],
            *([p.key, p.label, p.turns, p.conversations] for p in report.top_procedures),
        ]
    if table == "intents":
        return [
            ["Ý định", "Mã ý định", "Lượt hỏi", "Hội thoại"],
            *([intent_label(i.key), i.key, i.turns, i.conversations] for i in report.top_intents),
        ]
    if table == "unanswered":
        zone = ZoneInfo(timezone)
        return [
            ["Tin nhắn", "Số lần", "Số lần không hiểu", "Lần gần nhất"],
            *(
                [u.text, u.count, u.fallbacks, u.last_seen.astimezone(zone).strftime("%Y-%m-%d %H:%M")]
                for u in report.top_unanswered
            ),
        ]
    if table == "ratings":
        return [["Điểm", "Số lượt"], *([r.rating, r.count] for r in report.satisfaction.distribution)]
    raise ValueError(f"unknown CSV table {table!r}")


def report_csv(report: AnalyticsReport, table: str = "daily") -> str:
    """One table of ``report`` as CSV text (comma-separated, CRLF line ends, no BOM). Citizens' messages
    appear in it (the unanswered table), so every text cell is made :func:`spreadsheet_safe`."""
    out = io.StringIO()
    rows = csv_rows(report, table, report.timezone)
    csv.writer(out).writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue()


# --- Router --------------------------------------------------------------------------------------------

_START = Query(
    description="first day (Vietnam time), YYYY-MM-DD or DD/MM/YYYY; default 6 days before the end",
    examples=["2026-03-01"],
)
_END = Query(
    description="last day (Vietnam time, included), YYYY-MM-DD or DD/MM/YYYY; default today",
    examples=["2026-03-07"],
)
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not logged in"},
    403: {"model": ErrorOut, "description": "the account's role may not read analytics"},
    422: {"model": ErrorOut, "description": "a bad date or range (message in Vietnamese)"},
}

router = APIRouter(prefix="/api", tags=["analytics"], route_class=ApiRoute)


async def build_report(service: AnalyticsService, start: str | None, end: str | None) -> AnalyticsReport:
    """The report for the range typed (see :func:`parse_range`), computed in a worker thread.

    Raises:
        AnalyticsRangeError: a bad date or range.
    """
    first, last = parse_range(start, end)
    return await asyncio.to_thread(service.report, first, last)


@router.get(
    "/analytics", response_model=AnalyticsOut, responses=_ERRORS, summary="Analytics for a range of days"
)
async def analytics(
    user: AnalyticsReader,
    service: Analytics,
    start: Annotated[str | None, _START] = None,
    end: Annotated[str | None, _END] = None,
) -> AnalyticsOut:
    return AnalyticsOut.model_validate(await build_report(service, start, end))


@router.get(
    "/analytics.csv",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8"}},
    summary="Analytics as CSV (one table at a time)",
)
async def analytics_csv(
    user: AnalyticsReader,
    service: Analytics,
    start: Annotated[str | None, _START] = None,
    end: Annotated[str | None, _END] = None,
    table: Annotated[
        str, Query(description="daily, channels, summary, procedures, intents, unanswered or ratings")
    ] = "daily",
) -> Response:
    if table not in CSV_TABLES:
        raise HTTPException(
            status_code=422,
            detail=f"Không có bảng “{table[:40]}”. Chọn một trong: {', '.join(CSV_TABLES)}.",
        )
    report = await build_report(service, start, end)
    name = f"thong-ke-{CSV_TABLES[table]}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    # A BOM so that spreadsheet programs read the Vietnamese text as UTF-8.
    return Response(
        content="\ufeff" + report_csv(report, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
