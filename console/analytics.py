"""Figures for the analytics dashboard: how much the help line is used and how well it helps.

:meth:`AnalyticsService.report` computes every figure for a range of days (days in the service's time
zone, ``Asia/Ho_Chi_Minh`` by default) from three tables: ``messages`` and ``conversations``
(:mod:`bot.storage.sql`) and ``tickets`` (:mod:`console.tickets`). Seven SQL statements per report, each
restricted to the range on an indexed ``created_at`` (``ix_messages_created``); only the rows that have
to be looked at one by one (tickets and ratings, both few) are read into Python.

Definitions (the dashboard and the CSV repeat them in plain Vietnamese):

* **conversation**: a chat (channel + chat id) counted on a day when the citizen wrote at least once
  that day; over the range, when they wrote at least once in the range.
* **turn**: a citizen message the bot interpreted (it has an intent; messages sent while an officer
  handles the chat have none). **Understood**: a turn whose intent is not ``nlu_fallback``;
  **fallback**: a turn whose intent is ``nlu_fallback``. Both rates are shares of turns.
* **contained**: a conversation of the range for which no ticket was opened in the range.
* **escalation**: a ticket opened in the range. **Waiting time**: ``first_reply_at - created_at`` of
  those an officer answered; median (mean of the two middle values for an even count) and p90 by the
  nearest-rank method (the ``ceil(0.9 n)``-th smallest value).
* **ratings** (1-5): ratings filed on tickets (``tickets.rating``, counted on the day the ticket was
  closed) and ratings of the bot. The latter are not stored on their own: they are the citizen's
  ``give_feedback`` messages carrying a rating, a ``/give_feedback{"rating":"4"}`` button payload or
  the number of the button typed on a channel without buttons (then logged as read from the buttons,
  with confidence 1). A rating message that :meth:`console.tickets.TicketService.record_rating` filed
  on a ticket (same chat, same value, within ``RATING_WINDOW`` after the close) counts once, as the
  ticket's rating.
* **unanswered messages**: turns that fell back or whose confidence is below ``low_confidence``,
  grouped by text (already redacted in the log), ignoring case and repeated spaces.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, and_, case, distinct, exists, func, literal, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.responses import parse_payload
from bot.core.timeutil import as_utc
from bot.storage.sql import ConversationRow, MessageRow
from console.tickets import RATING_WINDOW, REASONS, TicketRow
from knowledge.models import ProcedureRow

FALLBACK_INTENT = "nlu_fallback"
FEEDBACK_INTENT = "give_feedback"
DEFAULT_DAYS = 7
"""The dashboard's default range: the last seven days, today included."""
MAX_DAYS = 366
"""The longest range one report covers (one statement buckets rows into days)."""
RATINGS = (1, 2, 3, 4, 5)

_NUMBER_REPLY = re.compile(r"(?:số\s*)?([1-5])")


class AnalyticsRangeError(ValueError):
    """A date range the report cannot cover; the message is plain Vietnamese, shown as is."""


# --- What a report holds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayChannel:
    """The figures of one day on one channel (days and channels without activity are left out).

    Attributes:
        conversations: chats in which the citizen wrote that day.
        messages_in: messages from citizens.
        messages_out: messages to citizens (bot and officers).
        turns: citizen messages the bot interpreted.
        understood: turns with an intent other than ``nlu_fallback``.
        fallbacks: turns with ``nlu_fallback``.
        escalations: tickets opened that day.
    """

    day: date
    channel: str
    conversations: int = 0
    messages_in: int = 0
    messages_out: int = 0
    turns: int = 0
    understood: int = 0
    fallbacks: int = 0
    escalations: int = 0


@dataclass(frozen=True)
class DayTotal:
    """One day over every channel (every day of the range is listed, quiet days with zeros)."""

    day: date
    conversations: int
    messages_in: int
    messages_out: int
    turns: int
    understood: int
    fallbacks: int
    escalations: int


@dataclass(frozen=True)
class ChannelTotal:
    """One channel over the whole range.

    Attributes:
        escalated: conversations of the range with a ticket opened in the range.
        contained: conversations of the range without one.
    """

    channel: str
    conversations: int
    messages_in: int
    messages_out: int
    turns: int
    understood: int
    fallbacks: int
    escalated: int
    contained: int


@dataclass(frozen=True)
class Totals:
    """The whole range over every channel; rates are fractions (0-1), None when there is nothing to divide."""

    conversations: int
    messages_in: int
    messages_out: int
    turns: int
    understood: int
    fallbacks: int
    understood_rate: float | None
    fallback_rate: float | None
    contained: int
    escalated: int
    containment_rate: float | None


@dataclass(frozen=True)
class Escalations:
    """Tickets opened in the range and how long citizens waited for an officer's first reply.

    Attributes:
        tickets: tickets opened.
        by_reason: tickets per reason (every reason listed).
        answered: tickets an officer has replied to.
        unanswered: tickets without an officer reply yet.
        median_wait_seconds: median of ``first_reply_at - created_at`` over the answered tickets.
        p90_wait_seconds: its 90th percentile (nearest rank).
    """

    tickets: int
    by_reason: dict[str, int]
    answered: int
    unanswered: int
    median_wait_seconds: float | None
    p90_wait_seconds: float | None


@dataclass(frozen=True)
class RatingCount:
    """How many ratings gave ``rating`` points."""

    rating: int
    count: int


@dataclass(frozen=True)
class Satisfaction:
    """Ratings 1-5 given in the range: all of them, and split by what was rated.

    Attributes:
        count: ratings given.
        average: their mean, None without ratings.
        distribution: count per rating 1 to 5.
        ticket_count, ticket_average: ratings of an officer's help (filed on tickets).
        bot_count, bot_average: ratings of the bot.
    """

    count: int
    average: float | None
    distribution: list[RatingCount]
    ticket_count: int
    ticket_average: float | None
    bot_count: int
    bot_average: float | None


@dataclass(frozen=True)
class RankedItem:
    """One line of a top list: a procedure code or an intent.

    Attributes:
        key: the procedure code or the intent name.
        label: the procedure's name ("" for intents and unknown codes).
        turns: citizen messages about it.
        conversations: conversations with at least one of them.
    """

    key: str
    label: str
    turns: int
    conversations: int


@dataclass(frozen=True)
class UnansweredMessage:
    """A message the bot did not understand (or barely), with how often it was sent.

    Attributes:
        text: the text as logged (ID and phone numbers redacted), the most frequent spelling.
        count: times sent in the range.
        fallbacks: of those, how many fell back (the others had a low confidence).
        last_seen: the latest time it was sent (UTC).
    """

    text: str
    count: int
    fallbacks: int
    last_seen: datetime


@dataclass(frozen=True)
class AnalyticsReport:
    """Every figure of the dashboard for the days ``start`` to ``end`` (both included) in ``timezone``."""

    start: date
    end: date
    timezone: str
    totals: Totals
    days: list[DayTotal]
    daily: list[DayChannel]
    channels: list[ChannelTotal]
    escalations: Escalations
    satisfaction: Satisfaction
    top_procedures: list[RankedItem]
    top_intents: list[RankedItem]
    top_unanswered: list[UnansweredMessage]


# --- Helpers ------------------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def median(values: Sequence[float]) -> float | None:
    """The median of ``values`` (mean of the two middle ones for an even count); None when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile by the nearest-rank method (``ceil(p/100 * n)``-th smallest); None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def rating_of(text: str, confidence: float | None) -> int | None:
    """The 1-5 rating a logged ``give_feedback`` message carries, or None (a comment, or a typed number
    the bot read as a comment because no rating buttons were showing)."""
    payload = parse_payload(text)
    if payload is not None:
        intent, entities = payload
        value = entities.get("rating", "").strip()
        if intent == FEEDBACK_INTENT and value.isdigit() and 1 <= int(value) <= 5:
            return int(value)
        return None
    # A number replying to the rating buttons is read from the buttons, with confidence 1.
    match = _NUMBER_REPLY.fullmatch(text.strip().casefold())
    if match and confidence is not None and confidence >= 1.0:
        return int(match.group(1))
    return None


def _day_bucket(column: Any, boundaries: Sequence[datetime], lo: int = 0, hi: int | None = None) -> Any:
    """A portable SQL expression giving the index of the day ``column`` falls in.

    ``boundaries[i]`` is the start of day ``i`` (UTC); rows are already limited to the range. A balanced
    tree of ``CASE`` expressions: each row is compared about log2(days) times, with no date function
    (they differ between SQLite and PostgreSQL).
    """
    hi = len(boundaries) if hi is None else hi
    if hi - lo <= 1:
        return literal(lo, Integer)
    mid = (lo + hi) // 2
    return case(
        (column < boundaries[mid], _day_bucket(column, boundaries, lo, mid)),
        else_=_day_bucket(column, boundaries, mid, hi),
    )


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.count(case((condition, 1)))


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def text_key(text: str) -> str:
    """What unanswered messages are grouped by: the text ignoring case and repeated spaces."""
    return _normal(text)


def unanswered_condition(low_confidence: float) -> ColumnElement[bool]:
    """The SQL test of an unanswered message (see the module docstring): a citizen's turn that fell
    back or whose confidence is below ``low_confidence``. The editors' inbox (console/learning.py)
    uses the same test."""
    m = MessageRow
    return and_(
        m.direction == "in",
        m.intent.is_not(None),
        or_(m.intent == FALLBACK_INTENT, m.confidence < low_confidence),
    )


# --- Service ------------------------------------------------------------------------------------------


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
        """Every figure for the days ``start`` to ``end``, both included (see the module docstring).

        Raises:
            AnalyticsRangeError: a bad range (see :meth:`resolve_range`).
        """
        start, end = self.resolve_range(start, end)
        n_days = (end - start).days + 1
        days = [start + timedelta(days=i) for i in range(n_days)]
        boundaries = [self._midnight(d) for d in days]
        since, until = boundaries[0], self._midnight(end + timedelta(days=1))

        with self._sessions() as session:
            daily = self._daily(session, boundaries, since, until)
            conversations = self._conversations(session, since, until)
            tickets = self._tickets(session, since, until)
            feedback = self._feedback(session, since, until)
            procedures = self._top_procedures(session, since, until)
            intents = self._top_intents(session, since, until)
            unanswered = self._unanswered(session, since, until)

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
                )
            )
        turns = sum(c.turns for c in channels)
        understood = sum(c.understood for c in channels)
        fallbacks = sum(c.fallbacks for c in channels)
        active_all = sum(c.conversations for c in channels)
        contained = sum(c.contained for c in channels)
        totals = Totals(
            conversations=active_all,
            messages_in=sum(c.messages_in for c in channels),
            messages_out=sum(c.messages_out for c in channels),
            turns=turns,
            understood=understood,
            fallbacks=fallbacks,
            understood_rate=_rate(understood, turns),
            fallback_rate=_rate(fallbacks, turns),
            contained=contained,
            escalated=active_all - contained,
            containment_rate=_rate(contained, active_all),
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

    # --- statements -------------------------------------------------------------------------------

    @staticmethod
    def _in_range(column: Any, since: datetime, until: datetime) -> ColumnElement[bool]:
        return and_(column >= since, column < until)

    def _daily(
        self, session: Session, boundaries: Sequence[datetime], since: datetime, until: datetime
    ) -> dict[tuple[int, str], dict[str, int]]:
        """Message counts per (day index, channel): one pass over the range's messages."""
        m = MessageRow
        rows = (
            select(
                _day_bucket(m.created_at, boundaries).label("day"),
                ConversationRow.channel.label("channel"),
                m.conversation_id.label("conversation_id"),
                m.direction.label("direction"),
                m.intent.label("intent"),
            )
            .join(ConversationRow, ConversationRow.id == m.conversation_id)
            .where(self._in_range(m.created_at, since, until))
            .subquery()
        )
        incoming = rows.c.direction == "in"
        turn = and_(incoming, rows.c.intent.is_not(None))
        stmt = select(
            rows.c.day,
            rows.c.channel,
            func.count(distinct(case((incoming, rows.c.conversation_id)))),
            _count_if(incoming),
            _count_if(rows.c.direction == "out"),
            _count_if(turn),
            _count_if(and_(turn, rows.c.intent != FALLBACK_INTENT)),
            _count_if(and_(incoming, rows.c.intent == FALLBACK_INTENT)),
        ).group_by(rows.c.day, rows.c.channel)
        out: dict[tuple[int, str], dict[str, int]] = {}
        for day, channel, convs, m_in, m_out, turns, understood, fallbacks in session.execute(stmt):
            out[(int(day), str(channel))] = {
                "conversations": int(convs),
                "messages_in": int(m_in),
                "messages_out": int(m_out),
                "turns": int(turns),
                "understood": int(understood),
                "fallbacks": int(fallbacks),
            }
        return out

    def _conversations(
        self, session: Session, since: datetime, until: datetime
    ) -> dict[str, tuple[int, int]]:
        """Per channel: conversations in which the citizen wrote in the range, and how many were escalated."""
        active = (
            select(MessageRow.conversation_id.label("id"))
            .where(MessageRow.direction == "in", self._in_range(MessageRow.created_at, since, until))
            .distinct()
            .subquery()
        )
        ticket_opened = (
            exists()
            .where(
                TicketRow.channel == ConversationRow.channel,
                TicketRow.chat_id == ConversationRow.chat_id,
                self._in_range(TicketRow.created_at, since, until),
            )
            .correlate(ConversationRow)
        )
        stmt = (
            select(ConversationRow.channel, func.count(), _count_if(ticket_opened))
            .join(active, active.c.id == ConversationRow.id)
            .group_by(ConversationRow.channel)
        )
        return {str(ch): (int(n), int(esc)) for ch, n, esc in session.execute(stmt)}

    def _tickets(self, session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Tickets opened in the range, and rated tickets closed in it or just before (their ratings
        may have been given in the range)."""
        t = TicketRow
        stmt = select(
            t.channel, t.chat_id, t.reason, t.created_at, t.first_reply_at, t.closed_at, t.rating
        ).where(
            or_(
                self._in_range(t.created_at, since, until),
                and_(
                    t.rating.is_not(None),
                    t.outcome == "closed",
                    self._in_range(t.closed_at, since - RATING_WINDOW, until),
                ),
            )
        )
        return [
            {
                "channel": row.channel,
                "chat_id": row.chat_id,
                "reason": row.reason,
                "created_at": as_utc(row.created_at),
                "first_reply_at": as_utc(row.first_reply_at) if row.first_reply_at else None,
                "closed_at": as_utc(row.closed_at) if row.closed_at else None,
                "rating": row.rating,
            }
            for row in session.execute(stmt)
        ]

    def _feedback(self, session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Ratings of ``give_feedback`` messages from the range (and the rating window before it)."""
        m = MessageRow
        stmt = (
            select(ConversationRow.channel, ConversationRow.chat_id, m.text, m.confidence, m.created_at)
            .join(ConversationRow, ConversationRow.id == m.conversation_id)
            .where(
                m.direction == "in",
                m.intent == FEEDBACK_INTENT,
                self._in_range(m.created_at, since - RATING_WINDOW, until),
            )
            .order_by(m.created_at, m.id)
        )
        out = []
        for channel, chat_id, text, confidence, created_at in session.execute(stmt):
            rating = rating_of(text, confidence)
            if rating is not None:
                out.append(
                    {"channel": channel, "chat_id": chat_id, "rating": rating, "at": as_utc(created_at)}
                )
        return out

    def _top_procedures(self, session: Session, since: datetime, until: datetime) -> list[RankedItem]:
        m = MessageRow
        turns = func.count().label("turns")
        convs = func.count(distinct(m.conversation_id)).label("convs")
        stmt = (
            select(m.procedure_code, ProcedureRow.name, turns, convs)
            .outerjoin(ProcedureRow, ProcedureRow.code == m.procedure_code)
            .where(
                m.direction == "in",
                m.procedure_code.is_not(None),
                self._in_range(m.created_at, since, until),
            )
            .group_by(m.procedure_code, ProcedureRow.name)
            .order_by(convs.desc(), turns.desc(), m.procedure_code)
            .limit(self.top)
        )
        return [
            RankedItem(key=code, label=name or "", turns=int(n), conversations=int(c))
            for code, name, n, c in session.execute(stmt)
        ]

    def _top_intents(self, session: Session, since: datetime, until: datetime) -> list[RankedItem]:
        m = MessageRow
        turns = func.count().label("turns")
        convs = func.count(distinct(m.conversation_id)).label("convs")
        stmt = (
            select(m.intent, turns, convs)
            .where(m.direction == "in", m.intent.is_not(None), self._in_range(m.created_at, since, until))
            .group_by(m.intent)
            .order_by(turns.desc(), convs.desc(), m.intent)
            .limit(self.top)
        )
        return [
            RankedItem(key=intent, label="", turns=int(n), conversations=int(c))
            for intent, n, c in session.execute(stmt)
        ]

    def _unanswered(self, session: Session, since: datetime, until: datetime) -> list[UnansweredMessage]:
        """Fallback and low-confidence turns grouped by text in SQL, then by normalised text here."""
        m = MessageRow
        fell_back = m.intent == FALLBACK_INTENT
        stmt = (
            select(m.text, func.count(), _count_if(fell_back), func.max(m.created_at))
            .where(unanswered_condition(self.low_confidence), self._in_range(m.created_at, since, until))
            .group_by(m.text)
        )
        groups: dict[str, dict[str, Any]] = {}
        for text, count, fallbacks, last in session.execute(stmt):
            key = _normal(text)
            if not key:
                continue
            group = groups.setdefault(key, {"spellings": Counter(), "count": 0, "fallbacks": 0, "last": None})
            group["spellings"][text] += int(count)
            group["count"] += int(count)
            group["fallbacks"] += int(fallbacks)
            last = as_utc(last)
            group["last"] = last if group["last"] is None else max(group["last"], last)
        items = [
            UnansweredMessage(
                # the most frequent spelling; ties go to the alphabetically first
                text=min(g["spellings"].items(), key=lambda kv: (-kv[1], kv[0]))[0],
                count=g["count"],
                fallbacks=g["fallbacks"],
                last_seen=g["last"],
            )
            for g in groups.values()
        ]
        items.sort(key=lambda u: (-u.count, -u.last_seen.timestamp(), u.text))
        return items[: self.top]

    # --- figures computed here ---------------------------------------------------------------------

    @staticmethod
    def _escalations(opened: list[dict[str, Any]]) -> Escalations:
        waits = [
            (t["first_reply_at"] - t["created_at"]).total_seconds()
            for t in opened
            if t["first_reply_at"] is not None
        ]
        by_reason = {reason: 0 for reason in REASONS}
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
