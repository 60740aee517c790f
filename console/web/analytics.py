"""The analytics dashboard page, ``/console/analytics``: figures, charts and CSV links for a range of days.

The charts are inline SVG drawn here, on the server (no chart library, no JavaScript): bars per day
(conversations by channel, what the questions came to) and the 1-5 rating distribution. Each bar
carries a ``<title>`` (the tooltip) and ``data-value``, which the browser test reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, timedelta
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from console.analytics.report import AnalyticsRangeError, AnalyticsReport, rate
from console.web.analytics_api import CSV_TABLES, parse_range
from console.web.deps import Analytics, Auth, analytics_roles
from console.web.errors import status_of
from console.web.kit import Page, PageRoute, console_templates, open_page
from console.web.labels import REASON_LABELS, channel_label, intent_label

CHANNEL_COLOURS = ("#1f6fb2", "#2e8b57", "#c77c02", "#8e44ad", "#b3261e", "#44556a")
UNDERSTOOD_COLOUR, FALLBACK_COLOUR = "#2e8b57", "#b3261e"
OUT_OF_SCOPE_COLOUR, CHOICE_COLOUR = "#8a6d00", "#5b6b7c"
WEEKDAYS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
CSV_LABELS = {
    "daily": "Theo ngày và kênh",
    "channels": "Theo kênh",
    "summary": "Tổng hợp",
    "procedures": "Thủ tục được hỏi nhiều",
    "intents": "Ý định",
    "unanswered": "Câu chưa trả lời được",
    "ratings": "Điểm đánh giá",
}


# --- Number formats (Vietnamese: decimal comma) -----------------------------------------------------


def percent(value: float | None) -> str:
    """``0.8333`` -> ``"83,3%"``; ``"–"`` when there is nothing to divide."""
    if value is None:
        return "–"
    return f"{value * 100:.1f}".replace(".", ",") + "%"


def decimal(value: float | None, digits: int = 2) -> str:
    """``4.25`` -> ``"4,25"``; ``"–"`` for None."""
    return "–" if value is None else f"{value:.{digits}f}".replace(".", ",")


def duration(seconds: float | None) -> str:
    """``330`` -> ``"5 phút 30 giây"``, ``3900`` -> ``"1 giờ 5 phút"``; ``"–"`` for None."""
    if seconds is None:
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    if minutes:
        return f"{minutes} phút {secs} giây" if secs else f"{minutes} phút"
    return f"{secs} giây"


def day_label(day: date) -> str:
    """``date(2026, 3, 9)`` -> ``"09/03"``."""
    return day.strftime("%d/%m")


# --- SVG charts ---------------------------------------------------------------------------------------

_W, _H, _LEFT, _BOTTOM, _TOP = 640, 220, 36, 28, 12


def _ticks(top: int) -> list[int]:
    """Grid values from 0 to at least ``top`` in round steps (1, 2, 5, 10, 20, 50 …), at most five lines."""
    if top <= 0:
        return [0, 1]
    step, magnitude = 1, 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if top / step <= 4:
                return list(range(0, -(-top // step) * step + 1, step))
        magnitude *= 10


def stacked_bars(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
) -> Markup:
    """A stacked bar chart: one bar per label, one coloured part per series ``(name, colour, values)``."""
    n = max(len(labels), 1)
    totals = [sum(values[i] for _, _, values in series) for i in range(len(labels))]
    ticks = _ticks(max(totals, default=0))
    top = ticks[-1] or 1
    plot_h = _H - _TOP - _BOTTOM
    slot = (_W - _LEFT - 8) / n
    bar = max(min(slot * 0.7, 48), 2)

    def y(value: float) -> float:
        return _TOP + plot_h - value / top * plot_h

    out = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for t in ticks:
        out.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - 4}" y1="{y(t):.1f}" y2="{y(t):.1f}"/>'
            f'<text class="axis" x="{_LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t}</text>'
        )
    every = max(1, round(n / 14))  # at most ~14 day labels under the bars
    for i, label in enumerate(labels):
        x = _LEFT + i * slot + (slot - bar) / 2
        base = 0
        for name, colour, values in series:
            value = values[i]
            if value:
                out.append(
                    f'<rect class="bar" data-label="{escape(label)}" data-series="{escape(name)}" '
                    f'data-value="{value}" x="{x:.1f}" y="{y(base + value):.1f}" width="{bar:.1f}" '
                    f'height="{y(base) - y(base + value):.1f}" fill="{colour}">'
                    f"<title>{escape(label)} – {escape(name)}: {value}</title></rect>"
                )
            base += value
        if i % every == 0:
            out.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{_H - 10}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    out.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{escape(name)}</li>'
        for name, colour, _ in series
    )
    return Markup("".join(out) + f'<ul class="legend">{legend}</ul>')


def rating_bars(chart_id: str, title: str, counts: Sequence[tuple[int, int]]) -> Markup:
    """Horizontal bars, one per rating 1-5, with the count at the end of each."""
    row, left, width = 28, 64, 380
    most = max((c for _, c in counts), default=0) or 1
    height = row * len(counts) + 8
    out = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (rating, count) in enumerate(counts):
        y = 4 + i * row
        w = (width - left - 40) * count / most
        out.append(
            f'<text class="axis" x="{left - 8}" y="{y + 18}" text-anchor="end">{rating} điểm</text>'
            f'<rect class="bar" data-label="{rating}" data-value="{count}" x="{left}" y="{y + 4}" '
            f'width="{w:.1f}" height="{row - 10}" fill="#c77c02"><title>{rating} điểm: {count} lượt</title>'
            f'</rect><text class="axis" x="{left + w + 6:.1f}" y="{y + 18}">{count}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def charts(report: AnalyticsReport) -> dict[str, Markup]:
    """The dashboard's SVG charts for ``report``."""
    labels = [day_label(d.day) for d in report.days]
    index = {d.day: i for i, d in enumerate(report.days)}
    names = [c.channel for c in report.channels]
    per_channel = {name: [0] * len(labels) for name in names}
    for cell in report.daily:
        per_channel[cell.channel][index[cell.day]] = cell.conversations
    conversations = stacked_bars(
        "chart-conversations",
        "Hội thoại mỗi ngày theo kênh",
        labels,
        [
            (channel_label(name), CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)], per_channel[name])
            for i, name in enumerate(names)
        ],
    )
    understanding = stacked_bars(
        "chart-understanding",
        "Câu hỏi mỗi ngày: trả lời được, không hiểu, ngoài phạm vi, chưa chọn",
        labels,
        [
            ("Trả lời được", UNDERSTOOD_COLOUR, [d.understood for d in report.days]),
            ("Không hiểu", FALLBACK_COLOUR, [d.fallbacks for d in report.days]),
            ("Ngoài phạm vi", OUT_OF_SCOPE_COLOUR, [d.out_of_scope for d in report.days]),
            ("Chưa chọn", CHOICE_COLOUR, [d.choices_unanswered for d in report.days]),
        ],
    )
    ratings = rating_bars(
        "chart-ratings",
        "Phân bố điểm đánh giá",
        [(r.rating, r.count) for r in report.satisfaction.distribution],
    )
    return {"conversations": conversations, "understanding": understanding, "ratings": ratings}


# --- Router -------------------------------------------------------------------------------------------

templates = console_templates(
    REASON_LABELS=REASON_LABELS, CSV_LABELS=CSV_LABELS, CSV_TABLES=CSV_TABLES, share=rate
)
templates.env.filters.update(
    percent=percent,
    decimal=decimal,
    duration=duration,
    channel_label=channel_label,
    intent_label=intent_label,
)
router = APIRouter(prefix="/console", include_in_schema=False, route_class=PageRoute)


async def analytics_page(
    request: Request,
    auth: Auth,
    service: Analytics,
    roles: Annotated[tuple[str, ...], Depends(analytics_roles)],
) -> Page:
    """A page for someone who may read the analytics; times in the report's time zone."""
    return await open_page(
        request,
        auth,
        service.zone,
        templates,
        roles=roles,
        forbidden="Tài khoản của bạn không có quyền xem thống kê.",
    )


@router.get("/analytics", response_class=HTMLResponse)
async def dashboard(
    page: Annotated[Page, Depends(analytics_page)],
    service: Analytics,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    today = service.today()
    shortcuts = [
        (label, (today - timedelta(days=days - 1)).isoformat(), today.isoformat())
        for label, days in (("7 ngày", 7), ("30 ngày", 30), ("90 ngày", 90))
    ]
    try:
        first, last = parse_range(start, end)
        report = await asyncio.to_thread(service.report, first, last)
    except AnalyticsRangeError as exc:
        first_default, last_default = service.default_range()
        return page.render(
            "analytics.html",
            {
                "error": str(exc),
                "report": None,
                "start": start or first_default.isoformat(),
                "end": end or last_default.isoformat(),
                "shortcuts": shortcuts,
            },
            status_of(exc),
        )
    query = f"start={report.start.isoformat()}&end={report.end.isoformat()}"
    return page.render(
        "analytics.html",
        {
            "error": None,
            "report": report,
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
            "query": query,
            "charts": charts(report),
            "shortcuts": shortcuts,
        },
    )
