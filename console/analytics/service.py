"""The analytics service: resolves a range of days and puts a report together from
:mod:`console.analytics.queries`; the figures are defined in :mod:`console.analytics.report`."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.core.domain import TicketReason
from bot.handoff.model import RATING_WINDOW
from console.analytics import queries
from console.analytics.report import (
    DEFAULT_DAYS,
    MAX_DAYS,
    RATINGS,
    AnalyticsRangeError,
    AnalyticsReport,
    ChannelTotal,
    DayChannel,
    DayTotal,
    Escalations,
    QuestionCounts,
    RatingCount,
    Satisfaction,
    Totals,
    median,
    percentile,
    rate,
    tally_questions,
)


class AnalyticsService:
    """Computes :class:`AnalyticsReport` from the conversation log and the tickets.

    Args:
        sessions: the database session factory (SQLite or PostgreSQL).
        timezone: the zone whose calendar days the report counts in.
        low_confidence: an understood turn below this confidence is listed among unanswered messages.
        top: length of the top lists.
        clock: the current UTC time; injectable for tests.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        timezone: str = "Asia/Ho_Chi_Minh",
        low_confidence: float = 0.5,
        top: int = 10,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not 0.0 <= low_confidence <= 1.0:
            raise ValueError("low_confidence must be between 0 and 1")
        self._sessions = sessions
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.low_confidence = low_confidence
        self.top = top
        self.clock = clock

    # --- range ------------------------------------------------------------------------------------

    def today(self) -> date:
        """Today's date in the service's time zone."""
        return self.clock().astimezone(self.zone).date()

    def default_range(self) -> tuple[date, date]:
        """The last :data:`DEFAULT_DAYS` days, today included."""
        end = self.today()
        return end - timedelta(days=DEFAULT_DAYS - 1), end

    def resolve_range(self, start: date | None, end: date | None) -> tuple[date, date]:
        """Fill missing ends (a week up to today, or a week around the given end/start) and check the range.

        Raises:
            AnalyticsRangeError: ``start`` after ``end`` or a range longer than :data:`MAX_DAYS` days.
        """
        if start is None and end is None:
            start, end = self.default_range()
        elif start is None:
            assert end is not None
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        elif end is None:
            end = max(start, self.today())
        if start > end:
            raise AnalyticsRangeError(
                f"Ngày bắt đầu ({start:%d/%m/%Y}) phải trước hoặc bằng ngày kết thúc ({end:%d/%m/%Y})."
            )
        if (end - start).days + 1 > MAX_DAYS:
            raise AnalyticsRangeError(
                f"Mỗi lần chỉ xem được tối đa {MAX_DAYS} ngày; hãy chọn khoảng ngắn hơn."
            )
        return start, end

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)

    # --- the report -------------------------------------------------------------------------------

    def report(self, start: date | None = None, end: date | None = None) -> AnalyticsReport:
        """Every figure for the days ``start`` to ``end``, both included (see :mod:`console.analytics.report`).

        Raises:
            AnalyticsRangeError: a bad range (see :meth:`resolve_range`).
        """
        start, end = self.resolve_range(start, end)
        n_days = (end - start).days + 1
        days = [start + timedelta(days=i) for i in range(n_days)]
        boundaries = [self._midnight(d) for d in days]
        since, until = boundaries[0], self._midnight(end + timedelta(days=1))

        with self._sessions() as session:
            daily = queries.daily(session, boundaries, since, until)
            conversations = queries.conversations(session, since, until)
            tickets = queries.tickets(session, since, until)
            feedback = queries.feedback(session, since, until)
            procedures = queries.top_procedures(session, since, until, self.top)
            intents = queries.top_intents(session, since, until, self.top)
            unanswered = queries.unanswered(session, since, until, self.low_confidence, self.top)
            # a day more, to see whether a choice asked on the last evening was answered
            outcomes = queries.outcomes(session, since, until + timedelta(days=1))

        # tickets per day and channel
        escalations_by: Counter[tuple[int, str]] = Counter()
        opened = [t for t in tickets if since <= t["created_at"] < until]
        for t in opened:
            escalations_by[(self._day_index(t["created_at"], boundaries), t["channel"])] += 1
        cells: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
        for (day_index, channel), figures in daily.items():
            cells[(day_index, channel)].update(figures)
        for (day_index, channel), count in escalations_by.items():
            cells[(day_index, channel)]["escalations"] = count
        questions = self._questions(outcomes, boundaries, since, until)
        for (day_index, channel), counts in questions.items():
            cells[(day_index, channel)].update(
                understood=counts.understood,
                fallbacks=counts.fallbacks,
                questions=counts.questions,
                faq=counts.faq,
                out_of_scope=counts.out_of_scope,
                choices_unanswered=counts.choices_unanswered,
            )
        per_day_channel = [
            DayChannel(day=days[i], channel=channel, **cells[(i, channel)]) for i, channel in sorted(cells)
        ]

        day_totals = []
        for day in days:
            rows = [c for c in per_day_channel if c.day == day]
            day_totals.append(
                DayTotal(
                    day=day,
                    conversations=sum(r.conversations for r in rows),
                    messages_in=sum(r.messages_in for r in rows),
                    messages_out=sum(r.messages_out for r in rows),
                    turns=sum(r.turns for r in rows),
                    understood=sum(r.understood for r in rows),
                    fallbacks=sum(r.fallbacks for r in rows),
                    escalations=sum(r.escalations for r in rows),
                    **self._question_sums(rows),
                )
            )

        channel_names = sorted({c.channel for c in per_day_channel} | set(conversations))
        channels = []
        for name in channel_names:
            rows = [c for c in per_day_channel if c.channel == name]
            active, escalated = conversations.get(name, (0, 0))
            channels.append(
                ChannelTotal(
                    channel=name,
                    conversations=active,
                    messages_in=sum(r.messages_in for r in rows),
                    messages_out=sum(r.messages_out for r in rows),
                    turns=sum(r.turns for r in rows),
                    understood=sum(r.understood for r in rows),
                    fallbacks=sum(r.fallbacks for r in rows),
                    escalated=escalated,
                    contained=active - escalated,
                    **self._question_sums(rows),
                )
            )
        turns = sum(c.turns for c in channels)
        asked = QuestionCounts()
        for counts in questions.values():
            asked.add(counts)
        understood, fallbacks = asked.understood, asked.fallbacks
        active_all = sum(c.conversations for c in channels)
        contained = sum(c.contained for c in channels)
        totals = Totals(
            conversations=active_all,
            messages_in=sum(c.messages_in for c in channels),
            messages_out=sum(c.messages_out for c in channels),
            turns=turns,
            understood=understood,
            fallbacks=fallbacks,
            understood_rate=rate(understood, asked.questions),
            fallback_rate=rate(fallbacks, asked.questions),
            contained=contained,
            escalated=active_all - contained,
            containment_rate=rate(contained, active_all),
            questions=asked,
        )

        return AnalyticsReport(
            start=start,
            end=end,
            timezone=self.timezone,
            totals=totals,
            days=day_totals,
            daily=per_day_channel,
            channels=channels,
            escalations=self._escalations(opened),
            satisfaction=self._satisfaction(tickets, feedback, since, until),
            top_procedures=procedures,
            top_intents=intents,
            top_unanswered=unanswered,
        )

    @staticmethod
    def _day_index(at: datetime, boundaries: Sequence[datetime]) -> int:
        index = 0
        for i, boundary in enumerate(boundaries):
            if at >= boundary:
                index = i
        return index

    # --- figures computed here ---------------------------------------------------------------------

    def _questions(
        self,
        outcomes: list[tuple[str, str, datetime, str]],
        boundaries: Sequence[datetime],
        since: datetime,
        until: datetime,
    ) -> dict[tuple[int, str], QuestionCounts]:
        """What the questions asked in the range came to, per (day index, channel)."""
        by_conversation: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
        for channel, chat_id, at, kind in outcomes:
            by_conversation[(channel, chat_id)].append((at, kind))
        cells: dict[tuple[int, str], QuestionCounts] = defaultdict(QuestionCounts)
        for (channel, _), turns in by_conversation.items():
            for (at, _), counts in zip(turns, tally_questions([k for _, k in turns]), strict=True):
                if counts is not None and since <= at < until:
                    cells[(self._day_index(at, boundaries), channel)].add(counts)
        return cells

    @staticmethod
    def _question_sums(rows: Sequence[DayChannel]) -> dict[str, int]:
        return {
            name: sum(getattr(r, name) for r in rows)
            for name in ("questions", "faq", "out_of_scope", "choices_unanswered")
        }

    @staticmethod
    def _escalations(opened: list[dict[str, Any]]) -> Escalations:
        waits = [
            (t["first_reply_at"] - t["created_at"]).total_seconds()
            for t in opened
            if t["first_reply_at"] is not None
        ]
        by_reason = {reason.value: 0 for reason in TicketReason}
        for t in opened:
            by_reason[t["reason"]] = by_reason.get(t["reason"], 0) + 1
        return Escalations(
            tickets=len(opened),
            by_reason=by_reason,
            answered=len(waits),
            unanswered=len(opened) - len(waits),
            median_wait_seconds=median(waits),
            p90_wait_seconds=percentile(waits, 90),
        )

    @staticmethod
    def _satisfaction(
        tickets: list[dict[str, Any]], feedback: list[dict[str, Any]], since: datetime, until: datetime
    ) -> Satisfaction:
        rated = sorted(
            (t for t in tickets if t["rating"] is not None and t["closed_at"] is not None),
            key=lambda t: t["closed_at"],
        )
        # The rating message a ticket's rating came from is not a rating of the bot.
        filed: set[int] = set()
        for t in rated:
            for i, f in enumerate(feedback):
                if (
                    i not in filed
                    and (f["channel"], f["chat_id"]) == (t["channel"], t["chat_id"])
                    and f["rating"] == t["rating"]
                    and t["closed_at"] <= f["at"] <= t["closed_at"] + RATING_WINDOW
                ):
                    filed.add(i)
                    break
        ticket_ratings = [int(t["rating"]) for t in rated if since <= t["closed_at"] < until]
        bot_ratings = [
            f["rating"] for i, f in enumerate(feedback) if i not in filed and since <= f["at"] < until
        ]
        every = ticket_ratings + bot_ratings
        counts = Counter(every)

        def mean(values: list[int]) -> float | None:
            return sum(values) / len(values) if values else None

        return Satisfaction(
            count=len(every),
            average=mean(every),
            distribution=[RatingCount(r, counts.get(r, 0)) for r in RATINGS],
            ticket_count=len(ticket_ratings),
            ticket_average=mean(ticket_ratings),
            bot_count=len(bot_ratings),
            bot_average=mean(bot_ratings),
        )
